"""Render a model card (README.md) for a saved model folder from a family template.

The templates live in `recexplain/hub/templates/<family>.md` (Jinja2, the
format of `huggingface_hub.ModelCard.from_template`); the YAML metadata
(`library_name`, `tags`, `datasets`, `metrics`, `base_model`, `model-index`) is
built with `huggingface_hub.ModelCardData` so that the hub parses it.
"""
import math
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class CardFamily:
    """What differs between model families on a card."""

    task_type: str
    task_name: str
    tags: tuple
    auto_class: str


FAMILIES = {
    "srp4ctr": CardFamily(
        "click-through-rate-prediction", "CTR prediction",
        ("recommendation", "ctr-prediction", "sequential-recommendation", "srp4ctr", "pretraining"),
        "AutoModelForSequenceClassification",
    ),
    "ctr_baseline": CardFamily(
        "click-through-rate-prediction", "CTR prediction",
        ("recommendation", "ctr-prediction", "din", "bst", "querying-transformer"),
        "AutoModelForSequenceClassification",
    ),
    "explainer": CardFamily(
        "text-generation", "Explanation generation",
        ("recommendation", "explainable-recommendation", "peter", "mmi", "text-generation"), "AutoModelForCausalLM",
    ),
    "mi_estimator": CardFamily(
        "text-classification", "Mutual-information estimation",
        ("recommendation", "explainable-recommendation", "mutual-information", "mine", "reward-model", "mmi"),
        "AutoModelForSequenceClassification",
    ),
}

# Display names for the metric keys the project's metrics return.
METRIC_NAMES = {
    "auc": "AUC", "gauc": "GAUC", "logloss": "LogLoss", "rmse": "RMSE", "mae": "MAE",
    "bleu1": "BLEU-1", "bleu4": "BLEU-4", "rouge1": "ROUGE-1 F", "rouge2": "ROUGE-2 F", "rougeL": "ROUGE-L F",
    "usr": "USR", "fmr": "FMR", "fcr": "FCR", "div": "DIV", "distinct2": "distinct-2", "repeat_rate": "repeat rate",
}


def template_path(family: str) -> Path:
    """Path of the Jinja2 model-card template of `family`."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model-card family {family!r}; available: {', '.join(FAMILIES)}")
    return TEMPLATES_DIR / f"{family}.md"


def _check_metrics(metrics: dict) -> dict:
    if not metrics:
        raise ValueError("a model card needs at least one measured metric; got none")
    clean = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"metric {name!r} must be a finite number, got {value!r}")
        clean[str(name)] = float(value)
    return clean


def _results_table(metrics: dict, dataset: str, split: str) -> str:
    rows = [f"| {METRIC_NAMES.get(k, k)} | {v:.4f} |" for k, v in metrics.items()]
    return "\n".join([f"| Metric ({dataset}, {split} split) | Value |", "|---|---|", *rows])


def render_model_card(
    family: str,
    output_dir,
    metrics: dict,
    dataset: str,
    command: str,
    base_model=None,
    extra=None,
) -> Path:
    """Write `output_dir/README.md`: the `family` template filled with this run's results.

    Args:
        family: `"srp4ctr"`, `"ctr_baseline"`, `"explainer"` or `"mi_estimator"`.
        output_dir: the saved model folder (created if missing).
        metrics: measured test metrics, name -> number (e.g. `{"auc": 0.79}`);
            they become the card's `model-index` and its results table.
        dataset: the evaluation/training dataset name (e.g. `"movielens-100k"`).
        command: the exact command that reproduces the model.
        base_model: hub id or local path of the model this one was fine-tuned
            from; named in the text, and in the YAML `base_model` unless it is
            an existing local path (the hub only accepts hub model ids there).
        extra: more template variables; recognised keys: `model_name` (default: `repo_id`, else the
            folder's name, or its parent's for a `final` folder), `repo_id` (used in the loading snippet;
            default: the model name), `split` (of the metrics, default `"test"`), `auto_class`, `model_class`,
            `license`, `tags` (added to the family's), `training_data`
            (a sentence on the data), `notes` (free text); the template sees
            the whole dict as `extra`.
    Returns:
        The path of the written `README.md`.
    """
    template = template_path(family)  # raises on an unknown family
    fam = FAMILIES[family]
    metrics = _check_metrics(metrics)
    if not dataset or not command:
        raise ValueError("dataset and command must be non-empty strings")
    extra = dict(extra or {})
    output_dir = Path(output_dir)
    folder_name = output_dir.parent.name if output_dir.name == "final" else output_dir.name
    model_name = extra.get("model_name") or extra.get("repo_id") or folder_name
    split = extra.get("split", "test")
    eval_results = [
        EvalResult(
            task_type=fam.task_type, task_name=fam.task_name, dataset_type=dataset, dataset_name=dataset,
            dataset_split=split, metric_type=name, metric_name=METRIC_NAMES.get(name, name), metric_value=value,
        )
        for name, value in metrics.items()
    ]
    card_data = ModelCardData(
        library_name="transformers",
        license=extra.get("license"),  # the project declares no license yet: only what the caller states
        tags=[*fam.tags, *extra.get("tags", ())],
        datasets=[dataset],
        metrics=list(metrics),
        base_model=None if base_model is None or Path(base_model).exists() else base_model,
        model_name=model_name,
        eval_results=eval_results,
    )
    card = ModelCard.from_template(
        card_data,
        template_path=str(template),
        model_name=model_name,
        repo_id=extra.get("repo_id") or model_name,
        auto_class=extra.get("auto_class", fam.auto_class),
        model_class=extra.get("model_class"),
        dataset=dataset,
        command=command,
        base_model=base_model,
        results_table=_results_table(metrics, dataset, split),
        training_data=extra.get("training_data"),
        notes=extra.get("notes"),
        extra=extra,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "README.md"
    card.save(path)
    return path
