"""Upload a saved model folder to the Hugging Face Hub (or any `HF_ENDPOINT`)."""
import glob
import json
from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

# Training by-products that do not belong in a model repository.
IGNORE_PATTERNS = [
    "checkpoint-*", "runs/*", "optimizer.pt", "scheduler.pt", "rng_state*.pth", "scaler.pt",
    "trainer_state.json", "training_args.bin", "*.pyc", "*/__pycache__/*", "__pycache__/*",
]
WEIGHT_FILES = (
    "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
    "adapter_model.safetensors",
)


def _auto_map_modules(config: dict) -> set:
    """File names of the local remote-code modules named in a config's `auto_map`.

    References to another repository (`"owner/repo--module.Class"`) need no local file.
    """
    modules = set()
    for ref in (config.get("auto_map") or {}).values():
        for item in ref if isinstance(ref, (list, tuple)) else [ref]:
            if item and "--" not in item:
                modules.add(item.rsplit(".", 1)[0] + ".py")
    return modules


def upload_plan(folder) -> list:
    """The files `push_model_folder(folder, ...)` uploads, after checking the folder is complete.

    Raises `FileNotFoundError`/`ValueError` naming what is missing: the folder,
    `config.json` (or `adapter_config.json`), a weights file, the model card
    `README.md`, or a remote-code module that `auto_map` refers to.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    files = list(filter_repo_objects(files, ignore_patterns=IGNORE_PATTERNS + DEFAULT_IGNORE_PATTERNS))
    config_name = "config.json" if "config.json" in files else "adapter_config.json"
    if config_name not in files:
        raise FileNotFoundError(f"{folder} has no config.json: save the model with save_pretrained first")
    if not any(w in files for w in WEIGHT_FILES):
        raise FileNotFoundError(f"{folder} has no weights (expected one of {', '.join(WEIGHT_FILES)})")
    if "README.md" not in files:
        raise FileNotFoundError(f"{folder} has no README.md: render one with recexplain.hub.render_model_card")
    try:
        config = json.loads((folder / config_name).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{folder / config_name} is not valid JSON: {err}") from err
    for name in ("config.json", "tokenizer_config.json"):
        if name in files:
            cfg = config if name == config_name else json.loads((folder / name).read_text(encoding="utf-8"))
            missing = sorted(_auto_map_modules(cfg) - set(files))
            if missing:
                raise FileNotFoundError(
                    f"{folder / name} auto_map refers to {', '.join(missing)}, missing from the folder; "
                    "call register_for_auto_class() before save_pretrained"
                )
    return files


def push_model_folder(folder, repo_id: str, token=None, private: bool = False, commit_message: str = None):
    """Create `repo_id` if needed and upload a saved model folder in one go.

    Uploads weights, config, remote-code modules, tokenizer or feature map,
    generation config and model card: every file of `upload_plan(folder)`
    (training by-products such as checkpoints and optimizer states are left
    out). The endpoint is `HF_ENDPOINT` (default: huggingface.co); the token is
    `token`, else the saved login / `HF_TOKEN`. Returns the `CommitInfo`.
    """
    files = upload_plan(folder)
    api = HfApi(token=token)
    repo_url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    return api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_url.repo_id,
        repo_type="model",
        allow_patterns=[glob.escape(f) for f in files],
        commit_message=commit_message or f"Upload {Path(folder).name} with recexplain",
    )
