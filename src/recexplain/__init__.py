"""recexplain: SRP4CTR (side-information pre-training for CTR) and MMI
(mutual-information-aligned explanations) as Hugging Face-style models."""

__version__ = "0.1.0"
