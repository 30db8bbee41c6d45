"""Named ablation grids of the CTR benchmark (issue 13: why side-information pre-training does or does not pay
off). Each variant overrides some `BenchmarkSettings`, runs the grid's models on the same data, splits,
negatives and seeds (`run_benchmark`), and the variants are compared on **validation** AUC; test AUC is
recorded beside it, never used to choose. Used by `scripts/benchmark_ctr.py --ablation NAME`.

    from recexplain.training.ctr_ablation import ABLATIONS, run_ablation
    run_ablation("loss_weights", ["amazon-beauty"], "../shared/data", [0, 1, 2], FULL, "ablation.json")
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from .ctr_benchmark import BenchmarkSettings, run_benchmark

_FIELDS_ONLY_ITEMS = {"behavior": 0.0, "time_gap": 0.0}
# name -> (models compared, {variant: settings overrides}); `{}` is the preset itself
ABLATIONS = {
    "loss_weights": (("srp4ctr_fgbert",), {
        "sum": {}, "log_vocab": {"loss_weights": "log_vocab"},
        "no_behavior_time": {"loss_weights": _FIELDS_ONLY_ITEMS, "behavior_mask_prob": 0.0},
        "attr_half": {"loss_weights": {"item_attr": 0.5}},
    }),
    "mask_rates": (("srp4ctr_fgbert",), {
        "default": {}, "item0.1": {"item_mask_prob": 0.1}, "item0.2": {"item_mask_prob": 0.2},
        "item0.4": {"item_mask_prob": 0.4}, "behavior0": {"behavior_mask_prob": 0.0},
    }),
    "attr_loss": (("srp4ctr_fgbert",), {"softmax": {}, "bce": {"attr_loss": "bce"}}),
    "attribute_input": (("srp4ctr_fgbert",), {"sum": {}, "token": {"attribute_input": "token"}}),
    "encoder_learning_rate": (("srp4ctr_fgbert",), {  # the pre-trained encoder's share of the CTR learning rate
        "1": {}, "0.3": {"encoder_learning_rate_ratio": 0.3}, "0.1": {"encoder_learning_rate_ratio": 0.1},
    }),
    "pretrain_length": (("srp4ctr_bert", "srp4ctr_fgbert"), {  # the budget in use (steps, else epochs) x factor
        "default": {}, **{name: {"pretrain_steps": f, "pretrain_epochs": f}
                          for name, f in (("half", 0.5), ("double", 2.0), ("x4", 4.0), ("x8", 8.0))},
    }),
    "freeze": (("srp4ctr_fgbert", "din_qformer"), {  # defaults: srp4ctr fine-tuned, din_qformer frozen
        "fine_tuned": {"freeze_encoder": False}, "frozen": {"freeze_encoder": True},
    }),
    "query_tokens": (("din_qformer",), {
        "4": {}, "2": {"num_query_tokens": 2}, "8": {"num_query_tokens": 8}, "16": {"num_query_tokens": 16},
    }),
    "ctr_learning_rate": (("srp4ctr_bert", "srp4ctr_fgbert", "din_qformer"), {
        "default": {}, "half": {"ctr_learning_rate": 0.5}, "double": {"ctr_learning_rate": 2.0},
    }),
}
RELATIVE = ("pretrain_steps", "pretrain_epochs", "ctr_learning_rate")  # overrides that are factors of the preset's value


def variant_settings(base: BenchmarkSettings, overrides: dict) -> BenchmarkSettings:
    """`base` with `overrides` applied (`RELATIVE` fields multiply the preset's value; one that is unset stays so)."""
    def resolve(key, value):
        if key not in RELATIVE:
            return value
        preset = getattr(base, key)
        return None if preset is None else type(preset)(preset * value)

    resolved = {k: resolve(k, v) for k, v in overrides.items()}
    return dataclasses.replace(base, **resolved)


def run_ablation(name: str, datasets: Sequence[str], data_dir: Optional[str], seeds: Sequence[int],
                 base: BenchmarkSettings, output, progress: Optional[Callable] = None, header: Optional[dict] = None,
                 grid: Optional[tuple] = None) -> dict:
    """Run every variant of `ABLATIONS[name]` (or `grid`: `(models, {variant: overrides})`) and write one JSON:
    per variant its overrides, settings and per dataset and model the validation and test AUC (mean and sample
    std over seeds), and `best`: per dataset and model the variant with the highest mean validation AUC. Each
    variant's full benchmark JSON is kept next to `output` (`OUTPUT.VARIANT.json`)."""
    if grid is None and name not in ABLATIONS:
        raise ValueError(f"unknown ablation {name!r}; known: {sorted(ABLATIONS)}")
    models, variants = grid or ABLATIONS[name]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    result = {**(header or {}), "ablation": name, "models": list(models), "seeds": list(seeds),
              "datasets": list(datasets), "variants": {}}
    started = time.perf_counter()
    for variant, overrides in variants.items():
        settings = variant_settings(base, overrides)
        part = run_benchmark(datasets, data_dir, seeds, settings, output.with_suffix(f".{variant}.json"),
                             models=models, progress=progress and (lambda d, v=variant: progress(f"{v}: {d}")))
        result["variants"][variant] = {"overrides": overrides, "settings": dataclasses.asdict(settings), "datasets": {
            ds: {m: _scores(scores["runs"]) for m, scores in entry["models"].items()}
            for ds, entry in part["datasets"].items()}}
        result["best"] = best_variants(result["variants"])
        result["total_seconds"] = round(time.perf_counter() - started, 1)
        output.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def _scores(runs: Sequence[dict]) -> dict:
    """Validation and test AUC over a model's seeds: mean, sample std, per seed."""
    out = {}
    for key in ("validation_auc", "auc"):
        values = np.array([r[key] for r in runs], dtype=float)
        out[key] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[f"{key}_per_seed"] = values.tolist()
    return out


def best_variants(variants: dict) -> dict:
    """Per dataset and model, the variant with the highest mean validation AUC (and that AUC)."""
    best = {}
    for variant, entry in variants.items():
        for ds, models in entry["datasets"].items():
            for model, scores in models.items():
                current = best.setdefault(ds, {}).get(model)
                if current is None or scores["validation_auc"] > current["validation_auc"]:
                    best[ds][model] = {"variant": variant, "validation_auc": scores["validation_auc"]}
    return best


def ablation_table(result: dict) -> str:
    """Markdown: one row per (dataset, model, variant), validation AUC ± std (the criterion) and test AUC."""
    lines = ["| dataset | model | variant | validation AUC | test AUC |", "|---|---|---|---|---|"]
    for ds in result["datasets"]:
        for model in result["models"]:
            for variant, entry in result["variants"].items():
                s = entry["datasets"].get(ds, {}).get(model)
                if s is None:
                    continue
                mark = " (best)" if result["best"][ds][model]["variant"] == variant else ""
                lines.append(f"| {ds} | {model} | {variant}{mark} | {s['validation_auc']:.4f} ± "
                             f"{s['validation_auc_std']:.4f} | {s['auc']:.4f} ± {s['auc_std']:.4f} |")
    return "\n".join(lines)
