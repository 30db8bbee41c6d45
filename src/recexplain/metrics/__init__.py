"""Project metrics as local `evaluate` modules, shipped inside the package.

`load("ctr" | "explanation" | "rating")` is `evaluate.load(metric_path(name))`;
the hub versions of these metrics cannot be downloaded offline. The plain
functions behind the modules are re-exported for direct use (imported on first
access: the module files import `evaluate`, which takes seconds).
"""
import importlib
from pathlib import Path

METRICS = ("ctr", "explanation", "rating")

_FUNCTIONS = {
    "ctr": ("auc_bootstrap", "auc_bootstrap_ci", "paired_bootstrap_ci", "percentile_ci", "gauc", "logloss"),
    "explanation": (
        "bleu", "rouge", "unique_sentence_ratio", "feature_matching_ratio", "detected_features",
        "feature_coverage_ratio", "feature_diversity", "distinct_n", "phrase_precision", "loop_positions", "loops",
        "repeat_rate",
    ),
    "rating": ("rating_errors",),
}
_SOURCE = {fn: metric for metric, fns in _FUNCTIONS.items() for fn in fns}


def metric_path(name: str) -> str:
    """Folder of the local `evaluate` module `name` (pass it to `evaluate.load`)."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; available: {', '.join(METRICS)}")
    return str(Path(__file__).resolve().parent / name)


def load(name: str, **kwargs):
    """`evaluate.load` of a project metric by path; kwargs go to `evaluate.load`."""
    import evaluate

    return evaluate.load(metric_path(name), **kwargs)


def __getattr__(attr):
    if attr in _SOURCE:
        module = importlib.import_module(f"{__name__}.{_SOURCE[attr]}.{_SOURCE[attr]}")
        return getattr(module, attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["METRICS", "metric_path", "load", *_SOURCE]
