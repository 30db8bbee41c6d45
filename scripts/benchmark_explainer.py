"""Benchmark PETER and PETER+ against non-neural baselines on the test split of a review dataset.

    python scripts/benchmark_explainer.py --output benchmark_explainer.json [--quick] \
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz
    python scripts/benchmark_explainer.py --output synthetic.json --quick        # SYNTHETIC reviews
    accelerate launch scripts/benchmark_explainer.py --data_file FILE --output FILE.json
    python scripts/benchmark_explainer.py config.yaml                          # the same arguments as YAML keys
    python scripts/benchmark_explainer.py --merge s0.json,s1.json,s2.json --output all.json  # runs side by side

Reports `rmse, mae, bleu1, bleu4, rouge1, rouge2, rougeL, usr, distinct1, distinct2, phrase_precision, repeat_rate, div,
fcr, fmr`
on the test split (mean, std and per-seed values over `--seeds`; each seed also keeps its `validation_history`, the
validation metrics of every epoch) for
`peter` (user + item prefix, PETER's plain greedy decoding), `peter/chosen_decoding` (the same model with the
decoding `choose_decoding` picks on the validation split, the one `train_explainer.py` saves as the default),
`peter_plus` (+ the test record's feature as input), `item_retrieval` (per
test pair, the training explanation of the same item closest in TF-IDF to the user's own training
explanations), `mean_rating` (the training mean) and `bias_rating` (mean + user and item biases).
Both models train with `transformers.Trainer`, keeping the checkpoint with the best validation text score (BLEU-1 and
ROUGE-L of greedy validation explanations, discounted for loops and stock phrases: `text_score`) and stopping after
`--early_stopping_patience` epochs without
a better one; `--lm_pretraining_epochs 0,N` adds `MODEL/lm_pretrained` rows: the same model first pre-trained as a
language model on every sentence of the training reviews. `--quick` uses a small model and few epochs so that it
finishes in minutes on 2 CPU cores.
"""
import itertools
import json
import logging
import shlex
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np
import transformers
from accelerate import PartialState
from transformers import HfArgumentParser, set_seed

from recexplain.training.cli import comma_list, parse_dataclasses
from recexplain.training.explainer import (
    ExplainerModelArguments,
    ExplainerTrainingArguments,
    ExplanationDataArguments,
    build_explainer,
    prepare_explanation_data,
    train_explainer,
    training_features,
)
from recexplain.training.explainer_baselines import bias_rating, item_retrieval, mean_rating
from recexplain.training.explainer_evaluation import (
    PLAIN_GREEDY,
    choose_decoding,
    explanation_scores,
    generate_explanations,
)

logger = logging.getLogger("benchmark_explainer")
METRICS = ("rmse", "mae", "bleu1", "bleu4", "rouge1", "rouge2", "rougeL", "usr", "distinct1", "distinct2",
           "phrase_precision", "repeat_rate", "div", "fcr", "fmr")
FRACTIONS = ("rmse", "mae", "usr", "distinct1", "distinct2", "phrase_precision", "repeat_rate", "div", "fcr", "fmr")
# The original PETER code (github lileipisces/PETER, its defaults, epoch 9 = its best validation loss) trained on this
# benchmark's split of the Musical Instruments reviews and scored with this package's metric modules (issue 10).
ORIGINAL_PETER_DATA = "reviews_Musical_Instruments_5.json.gz"
ORIGINAL_PETER = {"peter": {"bleu1": 14.65, "rougeL": 13.76, "usr": 0.188},
                  "peter_plus": {"bleu1": 20.59, "rougeL": 21.65}}
QUICK = {"hidden_size": 128, "intermediate_size": 512, "num_train_epochs": 12, "learning_rate": 2e-3}


@dataclass
class BenchmarkArguments:
    """Benchmark settings; model sizes come from the model arguments (PETER's by default)."""

    output: str = field(default="benchmark_explainer.json", metadata={"help": "JSON file for the results"})
    quick: bool = field(default=False, metadata={"help": f"small and short: {QUICK}"})
    models: str = field(default="peter,peter_plus", metadata={"help": "comma-separated model types to train"})
    work_dir: Optional[str] = field(default=None, metadata={"help": "checkpoint folder (default: a temporary one)"})
    num_train_epochs: float = field(default=20.0, metadata={"help": "most epochs per model (best validation text kept)"})
    early_stopping_patience: int = field(
        default=3, metadata={"help": "stop after this many epochs without a better validation text score"}
    )
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    batch_size: int = field(default=128, metadata={"help": "training batch size (PETER: 128)"})
    seeds: str = field(default="0,1,2", metadata={"help": "comma-separated training seeds (the split stays fixed)"})
    lm_pretraining_epochs: str = field(
        default="0", metadata={"help": "comma-separated epochs of language-model pre-training on the training reviews' "
                                       "sentences, one set of rows per value: 0 = none (rows MODEL), N > 0 (rows "
                                       "MODEL/lm_pretrained); e.g. 0,1 for both"}
    )
    selection_decoding: str = field(
        default=ExplainerTrainingArguments.selection_decoding,
        metadata={"help": "decoding of the validation explanations checkpoint selection scores (loop_blocked, greedy)"},
    )
    sequence_unlikelihood_weight: float = field(
        default=ExplainerTrainingArguments.sequence_unlikelihood_weight,
        metadata={"help": "weight of the sequence-level unlikelihood loss on the model's own greedy loops"},
    )
    num_samples: int = field(default=10, metadata={"help": "test explanations stored next to the real ones"})
    merge: Optional[str] = field(
        default=None, metadata={"help": "comma-separated reports of this script on the same data and split (e.g. one "
                                        "seed or model each, run side by side): write their union, re-summarised "
                                        "over seeds, to --output instead of training"}
    )
    no_repeat_ngram_size: int = field(
        default=0, metadata={"help": "also score greedy decoding that never repeats an n-gram of this size (rows "
                                     "`MODEL/no_repeat_N`, same trained model); 0: PETER's plain greedy only"}
    )


def parse_args():
    parser = HfArgumentParser((BenchmarkArguments, ExplanationDataArguments, ExplainerModelArguments))
    return parse_dataclasses(parser)


def train_and_score(bench, model_args, splits, tokenizer, tokenized, work_dir, seed, lm_pretraining_epochs=0.0):
    """Train one explainer on the split and score it on the test records: `{row name: (scores, texts)}`, one row
    per decoding (plain greedy under the model type's name, plus `MODEL/no_repeat_N` when asked for)."""
    name = model_args.model_type + ("/lm_pretrained" if lm_pretraining_epochs else "")
    training_args = ExplainerTrainingArguments(
        output_dir=str(Path(work_dir) / f"{name.replace('/', '-')}-seed{seed}"), num_train_epochs=bench.num_train_epochs,
        learning_rate=bench.learning_rate, per_device_train_batch_size=bench.batch_size, seed=seed,
        save_total_limit=1, logging_steps=50, disable_tqdm=True, lm_pretraining_epochs=lm_pretraining_epochs,
        sequence_unlikelihood_weight=bench.sequence_unlikelihood_weight, selection_decoding=bench.selection_decoding,
    )
    set_seed(seed)
    started = time.time()
    max_new_tokens = model_args.max_explanation_length + 1
    trainer = train_explainer(
        build_explainer(model_args, tokenizer), tokenizer, tokenized, training_args,
        early_stopping_patience=bench.early_stopping_patience, splits=splits, max_new_tokens=max_new_tokens,
    )
    seconds = time.time() - started
    test = splits["test"].to_list()
    features = training_features(splits)
    chosen, table = choose_decoding(trainer.model, tokenizer, splits["validation"].to_list(), features, max_new_tokens)
    greedy = next(row for row in table if row["generation_kwargs"] == PLAIN_GREEDY)  # validation, plain greedy
    validation = {f"validation_greedy_{k}": greedy[k]
                  for k in ("text_score", "bleu1", "rougeL", "phrase_precision", "repeat_rate")}
    decodings = {name: {}, f"{name}/chosen_decoding": chosen}
    if bench.no_repeat_ngram_size:
        n = bench.no_repeat_ngram_size
        decodings[f"{name}/no_repeat_{n}"] = {"no_repeat_ngram_size": n}
    rows = {}
    for row, generation_kwargs in decodings.items():
        texts, ratings = generate_explanations(trainer.model, tokenizer, test, max_new_tokens, **generation_kwargs)
        scores = explanation_scores(texts, ratings, test, features)
        scores.update(**validation, train_seconds=round(seconds, 1),
                      best_eval_text_score=trainer.state.best_metric, epochs_run=trainer.state.epoch,
                      validation_history=[e for e in trainer.state.log_history if "eval_text_score" in e],
                      **{f"decoding_{k}": v for k, v in {**PLAIN_GREEDY, **generation_kwargs}.items()})
        rows[row] = scores, texts
    return rows


def summarize_seeds(per_seed: dict) -> dict:
    """`{seed: scores}` -> the mean of every score, plus `std` (sample std over seeds, as `benchmark_mmi.py`; 0.0
    for one seed) and `per_seed`."""
    keys = [k for k in next(iter(per_seed.values())) if all(isinstance(s.get(k), (int, float)) for s in per_seed.values())]
    values = {k: np.array([float(s[k]) for s in per_seed.values()]) for k in keys}
    return {**{k: float(v.mean()) for k, v in values.items()},
            "std": {k: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for k, v in values.items()},
            "per_seed": per_seed, "seeds": list(per_seed)}


def benchmark_goals(results: dict, data_file: Optional[str]) -> dict:
    """The issue's goals for this report's rows: `{goal name: met (bool) or the measured difference}`."""
    goals = {}
    if "peter" in results:
        goals["peter_bleu1_above_item_retrieval"] = results["peter"]["bleu1"] > results["item_retrieval"]["bleu1"]
        goals["peter_rougeL_above_item_retrieval"] = results["peter"]["rougeL"] > results["item_retrieval"]["rougeL"]
        goals["peter_rmse_below_mean_rating"] = results["peter"]["rmse"] < results["mean_rating"]["rmse"]
    if "peter" in results and "peter_plus" in results:
        goals["peter_plus_fmr_minus_peter_fmr"] = results["peter_plus"]["fmr"] - results["peter"]["fmr"]
    for name in ("peter", "peter/lm_pretrained"):
        if name in results:
            goals[f"{name}_repeat_rate_below_5pct"] = results[name]["repeat_rate"] < 0.05
    if Path(data_file or "").name == ORIGINAL_PETER_DATA:
        for name, scores in results.items():
            reference = ORIGINAL_PETER.get(name.split("/")[0])
            for metric, value in (reference or {}).items():
                goals[f"{name}_{metric}_at_least_original"] = scores[metric] >= value
    return goals


def markdown_table(results):
    """Mean (± std over seeds where there are several) of every metric, one row per method."""
    rows = ["| method | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    for name, scores in results.items():
        cells = []
        for m in METRICS:
            if m not in scores:
                cells.append("-")
                continue
            digits = 4 if m in FRACTIONS else 2
            spread = scores.get("std", {}).get(m)
            cells.append(f"{scores[m]:.{digits}f}" + (f" ± {spread:.{digits}f}" if spread else ""))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main():
    bench, data_args, model_args = parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    if bench.merge:
        write_report(merge_reports(comma_list(bench.merge)), bench.output)
        return
    if bench.quick:
        model_args = replace(model_args, hidden_size=QUICK["hidden_size"], intermediate_size=QUICK["intermediate_size"])
        bench = replace(bench, num_train_epochs=min(bench.num_train_epochs, QUICK["num_train_epochs"]),
                        learning_rate=QUICK["learning_rate"])
    started = time.time()
    pretraining_options = [float(e) for e in comma_list(bench.lm_pretraining_epochs)]
    if len({e > 0 for e in pretraining_options}) != len(pretraining_options):
        raise ValueError(f"--lm_pretraining_epochs: at most one value above 0 and one 0, got {bench.lm_pretraining_epochs}")
    splits, tokenizer, tokenized = prepare_explanation_data(
        data_args, model_args.max_explanation_length, lm_pretraining=max(pretraining_options) > 0
    )
    train, test = splits["train"].to_list(), splits["test"].to_list()
    features = training_features(splits)
    seeds = [int(s) for s in comma_list(bench.seeds)]
    per_seed, samples = {}, {"real": [r["explanation"] for r in test[: bench.num_samples]]}
    with tempfile.TemporaryDirectory() as tmp:
        for model_type in comma_list(bench.models):
            for epochs, seed in itertools.product(pretraining_options, seeds):
                logger.info("training %s (seed %d, %s epochs of LM pre-training)", model_type, seed, epochs)
                rows = train_and_score(bench, replace(model_args, model_type=model_type), splits, tokenizer,
                                       tokenized, bench.work_dir or tmp, seed, epochs)
                for name, (scores, texts) in rows.items():
                    per_seed.setdefault(name, {})[seed] = scores
                    samples.setdefault(name, texts[: bench.num_samples])  # the first seed's
    results = {name: summarize_seeds(runs) for name, runs in per_seed.items()}
    retrieved = item_retrieval(train, test)
    results["item_retrieval"] = explanation_scores(retrieved, None, test, features)
    samples["item_retrieval"] = retrieved[: bench.num_samples]
    for name, predict in (("mean_rating", mean_rating), ("bias_rating", bias_rating)):
        results[name] = _rating_scores(predict(train, test), test)

    goals = benchmark_goals(results, data_args.data_file)
    report = {
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "data_file": data_args.data_file or "synthetic",
        "split_sizes": {name: len(part) for name, part in splits.items()},
        "num_features": len(features), "vocab_size": len(tokenizer),
        "reference_avg_length": float(np.mean([len(r["explanation"].split()) for r in test])),
        "settings": {"benchmark": asdict(bench), "data": asdict(data_args), "model": asdict(model_args)},
        "results": results, "goals": goals, "samples": samples,
        "total_seconds": round(time.time() - started, 1),
    }
    if PartialState().is_main_process:
        write_report(report, bench.output)


def write_report(report: dict, output: str):
    """Write the JSON report and print its table and goals."""
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(markdown_table(report["results"]))
    print(json.dumps(report["goals"], indent=1))
    logger.info("wrote %s", output)


def merge_reports(paths: list) -> dict:
    """One report from several of this script's reports on the same data and split: every trained row's seeds
    pooled and re-summarised, the baselines (deterministic) and each row's samples from the first report that has
    them, `merged_from` holding each part's command."""
    parts = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    first = parts[0]
    per_seed, samples = {}, {}
    for path, part in zip(paths, parts):
        for key in ("data_file", "split_sizes", "vocab_size"):
            if part[key] != first[key]:
                raise ValueError(f"--merge: {path} has {key}={part[key]!r}, {paths[0]} has {first[key]!r}: "
                                 "reports of different data or splits cannot be merged")
        for name, scores in part["results"].items():
            for seed, run in scores.get("per_seed", {}).items():
                if int(seed) in per_seed.get(name, {}):
                    raise ValueError(f"--merge: {path} repeats row {name!r} seed {seed}")
                per_seed.setdefault(name, {})[int(seed)] = run
        for name, texts in part["samples"].items():
            samples.setdefault(name, texts)
    results = {name: summarize_seeds(dict(sorted(runs.items()))) for name, runs in per_seed.items()}
    results.update({name: scores for name, scores in first["results"].items() if "per_seed" not in scores})
    return {**{k: first[k] for k in ("data_file", "split_sizes", "num_features", "vocab_size",
                                      "reference_avg_length", "settings")},
            "merged_from": [part["command"] for part in parts], "results": results,
            "goals": benchmark_goals(results, first["data_file"]), "samples": samples,
            "total_seconds": sum(part["total_seconds"] for part in parts)}


def _rating_scores(predictions, test):
    from recexplain import metrics

    return metrics.load("rating").compute(predictions=predictions, references=[float(r["rating"]) for r in test])


if __name__ == "__main__":
    main()
