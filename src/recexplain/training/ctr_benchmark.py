"""The CTR benchmark: per dataset, the same splits, feature map and negatives for every model; per seed, two
pre-trainings (item-id BERT, FG-BERT) and seven CTR models trained in-process, selected on validation AUC,
evaluated once on test. Used by `scripts/benchmark_ctr.py`.

Models:
- `din`, `bst`: the baselines, from scratch (with side information).
- `srp4ctr_scratch`: the SRP4CTR cross-attention model, encoder randomly initialised.
- `srp4ctr_sasrec`: the same with a unidirectional (SASRec-style, causal) encoder: the sequence model
  practitioners already use, in the same harness.
- `srp4ctr_bert`: its encoder pre-trained on item ids only (`use_side_info=False`); fine-tuned with the
  side-information embeddings added fresh, so it differs from `srp4ctr_fgbert` only in pre-training.
- `srp4ctr_fgbert`: its encoder pre-trained with side information (FG-BERT).
- `din_qformer`: DIN + querying transformer over the FG-BERT encoder of the same seed.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
from transformers import set_seed

from ..data import BEHAVIOR_MASK_PROB, ITEM_MASK_PROB
from ..models.srp4ctr import CTRTransformerConfig, SRP4CTRConfig
from .ctr import (
    PRETRAIN_EPOCHS,
    CTRModelArguments,
    CTRTrainingArguments,
    PretrainingModelArguments,
    PretrainingTrainingArguments,
    build_ctr_model,
    build_pretraining_model,
    evaluate_ctr,
    pretrain_srp4ctr,
    train_ctr,
    unwrap,
)
from .ctr_data import (
    BehaviorDataArguments,
    CTRDataArguments,
    PretrainingDataArguments,
    build_ctr_splits,
    build_pretraining_splits,
    load_behavior_splits,
)

logger = logging.getLogger(__name__)

BENCHMARK_MODELS = ("din", "bst", "srp4ctr_scratch", "srp4ctr_sasrec", "srp4ctr_bert", "srp4ctr_fgbert", "din_qformer")
PRETRAININGS = {"bert": False, "fgbert": True}  # name -> use_side_info
NEEDS = {"srp4ctr_bert": "bert", "srp4ctr_fgbert": "fgbert", "din_qformer": "fgbert"}


@dataclass
class BenchmarkSettings:
    """Every setting of a benchmark run (written into the result JSON)."""

    max_seq_len: int = 50
    hidden_size: int = CTRTransformerConfig.hidden_size
    num_hidden_layers: int = CTRTransformerConfig.num_hidden_layers
    num_attention_heads: int = CTRTransformerConfig.num_attention_heads
    intermediate_size: int = 128
    hidden_dropout_prob: float = CTRTransformerConfig.hidden_dropout_prob
    # pre-training
    pretrain_steps: Optional[int] = None  # a fixed step budget instead of `pretrain_epochs` passes over the windows
    pretrain_epochs: Optional[float] = PRETRAIN_EPOCHS
    pretrain_batch_size: int = 128
    pretrain_learning_rate: float = 1e-3
    item_mask_prob: float = ITEM_MASK_PROB
    behavior_mask_prob: float = BEHAVIOR_MASK_PROB
    max_windows_per_user: int = 4
    attr_loss: str = SRP4CTRConfig.attr_loss
    attribute_input: str = SRP4CTRConfig.attribute_input  # of the pre-trained encoders
    loss_weights: Optional[Union[dict, str]] = None  # per-field weights ({"behavior": 0, ...}; others 1), or
    # "log_vocab": each field's loss divided by the log of its vocabulary size (scaled so item_id's weight is 1)
    # CTR
    ctr_epochs: int = 10
    ctr_max_steps: Optional[int] = None  # a fixed step budget instead of epochs
    ctr_eval_steps: Optional[int] = None  # with ctr_max_steps: validate every N steps (default: twice per run)
    ctr_batch_size: int = 256
    ctr_learning_rate: float = 1e-3
    early_stopping_patience: int = 2
    num_negatives: int = 1
    num_eval_negatives: int = 99
    max_train_targets_per_user: Optional[int] = None
    max_validation_users: Optional[int] = 5000
    max_test_users: Optional[int] = None
    eval_batch_size: int = 64
    freeze_encoder: Optional[bool] = None  # None: each model's default (din_qformer frozen, srp4ctr fine-tuned)
    encoder_learning_rate_ratio: float = CTRTrainingArguments.encoder_learning_rate_ratio  # of the pre-trained encoders
    num_query_tokens: int = SRP4CTRConfig.num_query_tokens
    n_bootstrap: int = 1000
    negative_seed: int = 0


QUICK = BenchmarkSettings(
    max_seq_len=30, hidden_size=32, intermediate_size=64, pretrain_steps=200, max_windows_per_user=2,
    ctr_max_steps=150, ctr_learning_rate=3e-3, early_stopping_patience=0, num_eval_negatives=19,
    max_train_targets_per_user=20, max_validation_users=1000, max_test_users=3000, eval_batch_size=128, n_bootstrap=200,
)
# Trained to convergence (since 2026-12-06): pre-training for PRETRAIN_EPOCHS, CTR for up to 5 epochs with early
# stopping on validation AUC (patience 2), test on a seeded subset of at most 5,000 users (only Amazon Beauty has
# more). The former budget (600 pre-training steps, 400 CTR steps validated every 100: `--pretrain_steps 600
# --ctr_max_steps 400 --item_mask_prob 0.2`) under-trained: 0.4 CTR epochs and 3.4 pre-training epochs on Beauty.
# On the 2-core machine a Beauty encoder then takes ~9 min to pre-train and ~13 min to fine-tune (one thread).
FULL = BenchmarkSettings(
    max_seq_len=50, hidden_size=32, intermediate_size=64, max_windows_per_user=4,
    ctr_epochs=5, ctr_eval_steps=100, ctr_learning_rate=2e-3, early_stopping_patience=2, num_eval_negatives=99,
    max_train_targets_per_user=50, max_validation_users=1000, max_test_users=5000, eval_batch_size=64, n_bootstrap=500,
)


def _training_args(output_dir, seed: int, **kwargs) -> dict:
    return dict(output_dir=str(output_dir), seed=seed, data_seed=seed, disable_tqdm=True, report_to="none",
                logging_strategy="no", save_only_model=True, dataloader_pin_memory=False, **kwargs)


def field_loss_weights(loss_weights: Optional[Union[dict, str]], feature_map) -> dict:
    """`BenchmarkSettings.loss_weights` -> `PretrainingModelArguments` keyword arguments (`item_id_loss_weight`,
    ...); `"log_vocab"` weighs field f by log(V_item_id) / log(V_f) (V: vocabulary size)."""
    fields = ("item_id", "item_attr", "behavior", "time_gap")
    if loss_weights == "log_vocab":
        loss_weights = {f: math.log(feature_map.vocab_size("item_id")) / math.log(feature_map.vocab_size(f))
                        for f in fields}
    elif isinstance(loss_weights, str) or set(loss_weights or {}) - set(fields):
        raise ValueError(f"loss_weights: expected 'log_vocab' or a dict over {fields}, got {loss_weights!r}")
    return {f"{f}_loss_weight": float(w) for f, w in (loss_weights or {}).items()}


def pretrain(data, settings: BenchmarkSettings, use_side_info: bool, seed: int, output_dir: Path) -> float:
    """Pre-train an encoder on the train split into `output_dir`; returns the seconds it took."""
    start = time.perf_counter()
    data_args = PretrainingDataArguments(max_seq_len=settings.max_seq_len, item_mask_prob=settings.item_mask_prob,
                                         behavior_mask_prob=settings.behavior_mask_prob if use_side_info else 0.0,
                                         max_windows_per_user=settings.max_windows_per_user)
    model_args = PretrainingModelArguments(
        use_side_info=use_side_info, hidden_size=settings.hidden_size, num_hidden_layers=settings.num_hidden_layers,
        num_attention_heads=settings.num_attention_heads, intermediate_size=settings.intermediate_size,
        hidden_dropout_prob=settings.hidden_dropout_prob, attr_loss=settings.attr_loss,
        attribute_input=settings.attribute_input,
        item_loss="sampled_softmax" if data.feature_map.vocab_size("item_id") > 20000 else "full_softmax",
        **(field_loss_weights(settings.loss_weights, data.feature_map) if use_side_info else {}))
    training_args = PretrainingTrainingArguments(**_training_args(
        output_dir / "checkpoints", seed, save_strategy="no",
        **(dict(max_steps=settings.pretrain_steps) if settings.pretrain_steps else
           dict(num_train_epochs=settings.pretrain_epochs)),
        per_device_train_batch_size=settings.pretrain_batch_size, learning_rate=settings.pretrain_learning_rate))
    set_seed(seed)
    model = build_pretraining_model(model_args, data.feature_map)
    trainer = pretrain_srp4ctr(model, data.feature_map, build_pretraining_splits(data, data_args), data_args,
                               training_args)
    unwrap(trainer).save_pretrained(output_dir)
    data.feature_map.save_pretrained(output_dir)
    return time.perf_counter() - start


def finetune(data, examples, settings: BenchmarkSettings, model: str, seed: int, work_dir: Path,
             pretrained: Optional[dict] = None) -> dict:
    """Train one benchmark model, select on validation, evaluate on test; returns its test scores."""
    name = "srp4ctr" if model.startswith("srp4ctr") else model
    model_args = CTRModelArguments(
        causal_attention=model == "srp4ctr_sasrec",
        model=name, pretrained_dir=str(pretrained[NEEDS[model]]) if model in NEEDS else None,
        freeze_encoder=settings.freeze_encoder if model in NEEDS else None, use_side_info=True,
        hidden_size=settings.hidden_size, num_hidden_layers=settings.num_hidden_layers,
        num_attention_heads=settings.num_attention_heads, intermediate_size=settings.intermediate_size,
        hidden_dropout_prob=settings.hidden_dropout_prob, num_query_tokens=settings.num_query_tokens)
    if model == "din_qformer":
        model_args.use_side_info = None  # the FG-BERT checkpoint's (true)
    budget = dict(num_train_epochs=settings.ctr_epochs)
    if settings.ctr_max_steps:
        every = settings.ctr_eval_steps or max(1, settings.ctr_max_steps // 2)
        budget = dict(max_steps=settings.ctr_max_steps, eval_strategy="steps", save_strategy="steps", eval_steps=every,
                      save_steps=every)
    training_args = CTRTrainingArguments(**_training_args(
        work_dir / model, seed, **budget, learning_rate=settings.ctr_learning_rate,
        encoder_learning_rate_ratio=settings.encoder_learning_rate_ratio if model in NEEDS else 1.0,
        per_device_train_batch_size=settings.ctr_batch_size, per_device_eval_batch_size=settings.eval_batch_size,
        early_stopping_patience=settings.early_stopping_patience, save_total_limit=1))
    set_seed(seed)
    start = time.perf_counter()
    trainer = train_ctr(build_ctr_model(model_args, data.feature_map), data.feature_map, examples, training_args)
    seconds = time.perf_counter() - start
    scores = evaluate_ctr(trainer, examples.test, n_boot=settings.n_bootstrap, seed=seed, keep_replicates=True)
    state = trainer.state
    best_step = int(state.best_model_checkpoint.rsplit("-", 1)[1]) if state.best_model_checkpoint else None
    return {"seed": seed, "auc": scores["auc"], "gauc": scores["gauc"], "logloss": scores["logloss"],
            "auc_ci": scores["auc_ci"], "validation_auc": state.best_metric, "epochs": state.epoch,
            "steps": state.global_step, "best_step": best_step,  # best_step == steps: still improving at the end
            "train_seconds": round(seconds, 1),
            # the paired differences' bootstrap AUCs (same user draws for every model of a seed), kept so that runs
            # of other processes or sessions can be pooled (`merge_benchmark_results`)
            "auc_replicates": [round(float(x), 6) for x in scores["auc_replicates"]]}


def summarize(runs: Sequence[dict]) -> dict:
    """Mean over seeds (`auc_std`: sample std over seeds, 0 for one seed; `auc_ci`: mean of the per-seed CIs;
    `pretrain_seconds`: of the runs' pre-trainings, where they had one)."""
    def mean(key):
        values = [r[key] for r in runs if r[key] is not None]
        return float(np.mean(values)) if values else None

    aucs = [r["auc"] for r in runs]
    out = {"auc": mean("auc"), "gauc": mean("gauc"), "logloss": mean("logloss"),
           "validation_auc": mean("validation_auc"),
           "auc_std": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else 0.0,
           "auc_ci": [float(np.mean([r["auc_ci"][0] for r in runs])), float(np.mean([r["auc_ci"][1] for r in runs]))],
           "train_seconds": mean("train_seconds"), "runs": list(runs)}
    pretrain_seconds = [r["pretrain_seconds"] for r in runs if r.get("pretrain_seconds") is not None]
    if pretrain_seconds:
        out["pretrain_seconds"] = float(np.mean(pretrain_seconds))
    return out


def paired_differences(runs: dict) -> dict:
    """Every pair of models, the later in `BENCHMARK_MODELS` order minus the earlier (key `"b-a"`): per seed the
    AUC difference on the same test rows with its paired bootstrap 95% CI over users (both models' replicates
    use the same draws of users), and over the seeds both ran the `mean` difference with the CI of that mean
    (`ci_low`, `ci_high`: the replicates' differences averaged over seeds, i.e. test-user uncertainty with the
    training seeds fixed). `runs`: model -> runs (each with `seed`, `auc` and `auc_replicates [n_boot]`)."""
    from ..metrics import paired_bootstrap_ci, percentile_ci

    def significant(d):
        return d["ci_low"] > 0 or d["ci_high"] < 0

    names = [m for m in BENCHMARK_MODELS if m in runs]
    by_seed = {m: {r["seed"]: r for r in runs[m]} for m in names}
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pairs = [(by_seed[a][seed], by_seed[b][seed]) for seed in sorted(set(by_seed[a]) & set(by_seed[b]))]
            if not pairs:
                continue
            replicates = [np.asarray(rb["auc_replicates"]) - np.asarray(ra["auc_replicates"]) for ra, rb in pairs]
            per_seed = [dict(zip(("seed", "diff", "ci_low", "ci_high"), (rb["seed"], rb["auc"] - ra["auc"], *(
                paired_bootstrap_ci(rb["auc_replicates"], ra["auc_replicates"]))))) for ra, rb in pairs]
            pair = dict(zip(("ci_low", "ci_high"), percentile_ci(np.mean(replicates, axis=0))))
            pair = {"mean": float(np.mean([r["diff"] for r in per_seed])), **pair, "significant": significant(pair),
                    "seeds_significant": sum(map(significant, per_seed)), "per_seed": per_seed}
            out[f"{b}-{a}"] = pair
    return out


def _clean(value):
    """JSON-safe: NaN/inf -> None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def run_benchmark(datasets: Sequence[str], data_dir: Optional[str], seeds: Sequence[int], settings: BenchmarkSettings,
                  output: Path, models: Sequence[str] = BENCHMARK_MODELS, progress: Optional[Callable] = None,
                  header: Optional[dict] = None) -> dict:
    """Run every (dataset, seed, model); the JSON at `output` is rewritten after each model, so a long
    run can be inspected (and partial results survive). `progress(description)` is called per job."""
    unknown = set(models) - set(BENCHMARK_MODELS)
    if unknown:
        raise ValueError(f"unknown benchmark models {sorted(unknown)}; known: {BENCHMARK_MODELS}")
    result = {**(header or {}), "settings": dataclasses.asdict(settings), "seeds": list(seeds), "models": list(models),
              "datasets": {}}
    started = time.perf_counter()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)

    def write():
        result["total_seconds"] = round(time.perf_counter() - started, 1)
        output.write_text(json.dumps(_clean(result), indent=1), encoding="utf-8")

    for name in datasets:
        progress and progress(f"{name}: data")
        data_start = time.perf_counter()
        data = load_behavior_splits(BehaviorDataArguments(dataset=name, data_dir=data_dir, max_seq_len=settings.max_seq_len))
        ctr_args = CTRDataArguments(
            dataset=name, data_dir=data_dir, max_seq_len=settings.max_seq_len, num_negatives=settings.num_negatives,
            num_eval_negatives=settings.num_eval_negatives, max_train_targets_per_user=settings.max_train_targets_per_user,
            max_validation_users=settings.max_validation_users, max_test_users=settings.max_test_users,
            negative_seed=settings.negative_seed)
        examples = build_ctr_splits(data, ctr_args)
        entry = result["datasets"][name] = {
            "n_users": data.n_users, "n_items": data.n_items, "n_test": len(examples.test),
            "label_mode": examples.label_mode, "eval_candidates_per_row": len(examples.test[0]["labels"]),
            "n_train_rows": len(examples.train), "n_validation_rows": len(examples.validation),
            "data_seconds": round(time.perf_counter() - data_start, 1), "models": {}}
        runs = {m: [] for m in models}
        needed = {NEEDS[m] for m in models if m in NEEDS}
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix=f"ctr-bench-{name}-{seed}-") as tmp:
                tmp, pretrained, pretrain_seconds = Path(tmp), {}, {}
                for key in (k for k in PRETRAININGS if k in needed):
                    progress and progress(f"{name} seed {seed}: pre-train {key}")
                    pretrained[key] = tmp / f"pretrained-{key}"
                    pretrain_seconds[key] = round(pretrain(data, settings, PRETRAININGS[key], seed, pretrained[key]), 1)
                for model in models:
                    progress and progress(f"{name} seed {seed}: {model}")
                    run = finetune(data, examples, settings, model, seed, tmp, pretrained)
                    if model in NEEDS:
                        run["pretrain_seconds"] = pretrain_seconds[NEEDS[model]]
                    logger.info("%s seed %d %s: test AUC %.4f [%.4f, %.4f]", name, seed, model, run["auc"], *run["auc_ci"])
                    runs[model].append(run)
                    entry["models"][model] = summarize(runs[model])
                    write()
            entry["paired"] = paired_differences(runs)
            write()
    write()
    return result


DATASET_FACTS = ("n_users", "n_items", "n_test", "label_mode", "eval_candidates_per_row", "n_train_rows",
                 "n_validation_rows")  # what parts that pool a dataset must agree on (the same splits and negatives)


def merge_benchmark_results(parts: Sequence[dict]) -> dict:
    """One benchmark result from runs over disjoint (dataset, seed, model) cells: datasets run side by side in two
    processes, or the seeds or models of one dataset run in different processes or sessions. A dataset that one
    part ran keeps its entry; one that several parts ran is pooled: their settings and dataset facts must agree,
    each (seed, model) may come from one part only, and the summaries and paired differences are recomputed from
    the runs (their `auc_replicates`). Each dataset entry keeps its `command` (a list when pooled) and `settings`;
    the top-level `settings` are kept only where every part has the same (else `None`), `seeds` and `models` are
    the parts' union, `command` the list of the parts' commands and `total_seconds` the longest part's wall time."""
    if not parts:
        raise ValueError("nothing to merge")
    for index, part in enumerate(parts):
        if part.get("quick") != parts[0].get("quick"):
            raise ValueError(f"part {index} differs in `quick`: {part.get('quick')!r} vs {parts[0].get('quick')!r}")
    merged = {"seeds": sorted({s for p in parts for s in p["seeds"]}),
              "models": [m for m in BENCHMARK_MODELS if any(m in p["models"] for p in parts)],
              "quick": parts[0].get("quick"), "command": [p.get("command") for p in parts],
              "started": min(p.get("started", "") for p in parts),
              "total_seconds": max(p.get("total_seconds", 0) for p in parts),
              "settings": parts[0]["settings"] if all(p["settings"] == parts[0]["settings"] for p in parts) else None,
              "datasets": {}}
    by_dataset: dict = {}
    for index, part in enumerate(parts):
        for name, entry in part["datasets"].items():
            by_dataset.setdefault(name, []).append((index, part, entry))
    for name, items in by_dataset.items():
        if len(items) == 1:
            _, part, entry = items[0]
            merged["datasets"][name] = {**entry, "command": part.get("command"), "settings": part["settings"]}
        else:
            merged["datasets"][name] = _pool_dataset(name, items)
    return merged


def _pool_dataset(name: str, items: Sequence[tuple]) -> dict:
    """The entry of dataset `name` from several parts' entries (`(part index, part, entry)`), pooled by runs."""
    first_index, first, first_entry = items[0]
    runs: dict = {}
    for index, part, entry in items:
        if part["settings"] != first["settings"]:
            differing = sorted(k for k in part["settings"] if part["settings"][k] != first["settings"].get(k))
            raise ValueError(f"{name}: part {index} ran with other settings than part {first_index} ({differing})")
        facts = {k: entry.get(k) for k in DATASET_FACTS}
        if facts != {k: first_entry.get(k) for k in DATASET_FACTS}:
            raise ValueError(f"{name}: part {index} has other splits or negatives than part {first_index} ({facts})")
        for model, summary in entry["models"].items():
            for run in summary["runs"]:
                if any(r["seed"] == run["seed"] for r in runs.get(model, ())):
                    raise ValueError(f"{name}: {model} seed {run['seed']} is in more than one part (part {index})")
                if "auc_replicates" not in run:
                    raise ValueError(f"{name}: part {index}'s {model} run has no auc_replicates (written before they "
                                     f"were kept), so it cannot be pooled with other runs of {name}")
                runs.setdefault(model, []).append(run)
    runs = {m: sorted(runs[m], key=lambda r: r["seed"]) for m in BENCHMARK_MODELS if m in runs}
    return {**{k: first_entry[k] for k in first_entry if k not in ("models", "paired")},
            "data_seconds": max(entry.get("data_seconds", 0) for _, _, entry in items),
            "models": {m: summarize(model_runs) for m, model_runs in runs.items()},
            "paired": paired_differences(runs), "command": [part.get("command") for _, part, _ in items],
            "settings": first["settings"]}


def count_jobs(datasets: Sequence[str], seeds: Sequence[int], models: Sequence[str] = BENCHMARK_MODELS) -> int:
    """Progress-bar length: per dataset one data job, per seed the pre-trainings and the models."""
    needed = {NEEDS[m] for m in models if m in NEEDS}
    return len(datasets) * (1 + len(seeds) * (len(needed) + len(models)))
