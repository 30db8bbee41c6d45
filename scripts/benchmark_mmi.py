"""Benchmark MMI: does PPO with the MI reward align explanations with the predicted rating / the feature?

    python scripts/benchmark_mmi.py \\
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz \\
        --output benchmark_mmi.json [--quick]
    python scripts/benchmark_mmi.py --output synthetic_mmi.json --quick            # SYNTHETIC reviews
    accelerate launch --config_file scripts/configs/cpu_single.yaml scripts/benchmark_mmi.py --data_file FILE --output FILE.json
    python scripts/benchmark_mmi.py config.yaml                                    # the same arguments as YAML keys
    python scripts/benchmark_mmi.py --data_file FILE --output FILE.json --runs mmi_rating,mmi_feature  # some runs

Steps, all on one seeded 8:1:1 split: train the PETER+ explainer (`backbone`, feature as input) and a
causal-LM (GPT-2 built from a config, no pretrained weights exist offline) explainer (`lm_backbone`), or
reuse trained ones (`--backbone_path`, `--lm_backbone_path`, folders of `scripts/train_explainer.py`
with the same data settings); train the MINE estimator on the training split's real explanations; run
PPO (`recexplain.mmi.ppo`) with the rating, feature and joint (eps = 0.2) rewards on the backbone and
with the rating reward + LoRA on the LM backbone (`--runs` selects a subset; only the backbones the
selected runs need are trained and scored); score every model on the test split:
`rating_alignment_acc`, `rating_alignment_acc_3class` (independent TF-IDF judge trained on the
validation split's real sentences; `judge_accuracy` = its accuracy on the real test sentences),
`mi_rating_normalized` (I(R;E)/H(R) by fresh cross-fitted MINE estimators on the generated test
explanations), `fmr, bleu1, bleu4, rougeL, usr, rmse, mae` (and the other explanation metrics).
"""
import json
import logging
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
from transformers import AutoTokenizer, HfArgumentParser, set_seed

from recexplain.data.explanation_tokenizer import save_vocabularies
from recexplain.mmi import ppo
from recexplain.mmi.alignment import METRIC_KEYS, evaluate_explainer
from recexplain.mmi.judge import RatingJudge, three_class
from recexplain.mmi.mine import MINETrainingArguments
from recexplain.mmi.train_estimator import MIEstimatorScriptArguments
from recexplain.mmi.train_estimator import main as train_mi_estimator
from recexplain.models.explainer import RecExplainerForConditionalGeneration
from recexplain.training import atomic_output_dir
from recexplain.training.cli import parse_dataclasses
from recexplain.training.explainer import (
    ExplainerModelArguments,
    ExplainerTrainingArguments,
    ExplanationDataArguments,
    build_explainer,
    prepare_explanation_data,
    train_explainer,
    unwrap_explainer,
)

logger = logging.getLogger("benchmark_mmi")
MAX_WORDS = 15  # PETER's explanation length
QUICK = dict(hidden_size=64, explainer_epochs=3.0, ppo_updates=6, mine_epochs=6, eval_mine_epochs=6, eval_folds=3)
RUNS = {  # name: (backbone, reward type, LoRA)
    "mmi_rating": ("backbone", "rating", False),
    "mmi_feature": ("backbone", "feature", False),
    "mmi_joint": ("backbone", "joint", False),
    "lm_mmi_rating": ("lm_backbone", "rating", True),
}


@dataclass
class MMIBenchmarkArguments:
    """Benchmark settings (`--quick` replaces the sizes by `QUICK`)."""

    output: str = field(default="benchmark_mmi.json", metadata={"help": "JSON file for the results"})
    quick: bool = field(default=False, metadata={"help": f"small and short: {QUICK}"})
    work_dir: Optional[str] = field(default=None, metadata={"help": "models and runs (default: a temporary folder)"})
    backbone_path: Optional[str] = field(default=None, metadata={"help": "trained PETER+ explainer to reuse"})
    lm_backbone_path: Optional[str] = field(default=None, metadata={"help": "trained causal-LM explainer to reuse"})
    mi_estimator_path: Optional[str] = field(
        default=None, metadata={"help": "trained MI estimator to reuse (scripts/train_mi_estimator.py, same tokenizer)"}
    )
    hidden_size: int = field(default=256, metadata={"help": "explainer width (PETER: 512)"})
    explainer_epochs: float = field(default=10.0, metadata={"help": "explainer epochs (best validation loss kept)"})
    mine_epochs: int = field(default=10, metadata={"help": "MINE epochs of the reward estimator"})
    ppo_updates: int = field(default=30, metadata={"help": "PPO updates per run"})
    ppo_batch_size: int = field(default=64, metadata={"help": "prompts per PPO update"})
    ppo_learning_rate: float = field(default=2e-4, metadata={"help": "PPO learning rate"})
    num_ppo_epochs: int = field(default=4, metadata={"help": "PPO epochs per rollout"})
    kl_coef: float = field(default=0.02, metadata={"help": "KL penalty coefficient"})
    eps: float = field(default=0.2, metadata={"help": "feature weight of the joint reward"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank of the LM backbone's PPO run"})
    eval_mine_epochs: int = field(default=10, metadata={"help": "epochs of the fresh MINE estimators of I(R;E)"})
    eval_folds: int = field(default=5, metadata={"help": "cross-fitting folds of I(R;E)"})
    seed: int = field(default=42, metadata={"help": "seed"})
    runs: str = field(default=",".join(RUNS), metadata={"help": f"comma-separated PPO runs, a subset of {list(RUNS)}"})

    @property
    def selected_runs(self) -> list:
        return self.runs.split(",")

    @property
    def selected_backbones(self) -> list:
        """The backbones the selected runs fine-tune (`backbone` always: it provides the tokenizer)."""
        return [key for key in ("backbone", "lm_backbone")
                if key == "backbone" or any(RUNS[name][0] == key for name in self.selected_runs)]

    def __post_init__(self):
        names = [name.strip() for name in self.runs.split(",") if name.strip()]
        unknown = [name for name in names if name not in RUNS]
        if unknown or not names:
            raise ValueError(f"--runs: unknown or no runs {unknown or self.runs!r}; choose from {list(RUNS)}")
        self.runs = ",".join(name for name in RUNS if name in names)  # canonical order, no duplicates
        if self.quick:
            for key, value in QUICK.items():
                setattr(self, key, min(getattr(self, key), value))


def train_backbone(bench, model_type, tokenizer, tokenized, work_dir) -> Path:
    """Train an explainer (`peter_plus`, or `causal_lm` with the feature visible) and save it."""
    kwargs = dict(model_type=model_type, hidden_size=bench.hidden_size, intermediate_size=4 * bench.hidden_size,
                  max_explanation_length=MAX_WORDS)
    if model_type == "causal_lm":
        kwargs["visible_prefix_slots"] = "peter_plus"
    training_args = ExplainerTrainingArguments(
        output_dir=str(work_dir / f"train_{model_type}"), num_train_epochs=bench.explainer_epochs, seed=bench.seed,
        save_total_limit=1, logging_steps=50, disable_tqdm=True,
    )
    set_seed(bench.seed)
    trainer = train_explainer(build_explainer(ExplainerModelArguments(**kwargs), tokenizer), tokenizer, tokenized,
                              training_args)
    model = unwrap_explainer(trainer.model)
    target = work_dir / model_type
    with atomic_output_dir(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_vocabularies(tokenizer, tmp)
    return target


def run_ppo(bench, name, policy_dir, reward_dir, splits, work_dir) -> Path:
    _, reward_type, lora = RUNS[name]
    output = work_dir / name
    argv = ["--sft_model_path", str(policy_dir), "--reward_model_path", str(reward_dir), "--reward_type", reward_type,
            "--eps", str(bench.eps), "--output_dir", str(output), "--seed", str(bench.seed),
            "--total_episodes", str(bench.ppo_updates * bench.ppo_batch_size),
            "--per_device_train_batch_size", str(bench.ppo_batch_size), "--num_ppo_epochs", str(bench.num_ppo_epochs),
            "--learning_rate", str(bench.ppo_learning_rate), "--kl_coef", str(bench.kl_coef),
            "--response_length", str(MAX_WORDS + 1), "--alignment_eval_steps", str(max(1, bench.ppo_updates // 4)),
            "--disable_tqdm", "true"]
    if lora:
        argv += ["--use_peft", "--lora_r", str(bench.lora_r), "--lora_alpha", str(2 * bench.lora_r)]
    ppo.main(*ppo.make_parser().parse_args_and_config(argv), splits=splits)
    return output


def markdown_table(results) -> str:
    keys = METRIC_KEYS
    lines = ["| model | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, row in results.items():
        if isinstance(row, dict) and "bleu1" in row:
            lines.append(f"| {name} | " + " | ".join(f"{row[k]:.4f}" for k in keys) + " |")
    return "\n".join(lines)


def main():
    bench, data_args = parse_dataclasses(HfArgumentParser((MMIBenchmarkArguments, ExplanationDataArguments)))
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    started, timings = time.time(), {}
    temporary = tempfile.TemporaryDirectory() if bench.work_dir is None else None
    work_dir = Path(bench.work_dir or temporary.name)
    work_dir.mkdir(parents=True, exist_ok=True)
    set_seed(bench.seed)

    splits, tokenizer, tokenized = prepare_explanation_data(data_args, MAX_WORDS)
    paths = {}
    for key, model_type, given in (("backbone", "peter_plus", bench.backbone_path),
                                   ("lm_backbone", "causal_lm", bench.lm_backbone_path)):
        if key not in bench.selected_backbones:
            continue
        t = time.time()
        if given:
            if AutoTokenizer.from_pretrained(given).get_vocab() != tokenizer.get_vocab():
                raise ValueError(f"{given} was trained with another tokenizer (other data settings or split)")
            paths[key] = Path(given)
        else:
            paths[key] = train_backbone(bench, model_type, tokenizer, tokenized, work_dir)
        timings[f"train_{key}"] = time.time() - t

    t = time.time()
    if bench.mi_estimator_path:
        estimator_dir = Path(bench.mi_estimator_path)
        estimator = json.loads((estimator_dir / "mine_history.json").read_text())
    else:
        estimator_dir = work_dir / "mi_estimator"
        estimator = train_mi_estimator(MIEstimatorScriptArguments(
            output_dir=str(estimator_dir), tokenizer_name_or_path=str(paths["backbone"]),
            max_explanation_length=MAX_WORDS, seed=bench.seed), MINETrainingArguments(mine_epochs=bench.mine_epochs),
            splits)
    timings["train_mi_estimator"] = time.time() - t

    for name in bench.selected_runs:
        base = RUNS[name][0]
        t = time.time()
        paths[name] = run_ppo(bench, name, paths[base], estimator_dir, splits, work_dir)
        timings[f"ppo_{name}"] = time.time() - t

    judge = RatingJudge().fit(splits["validation"]["explanation"], splits["validation"]["rating"])
    real = judge.agreement(splits["test"]["explanation"], splits["test"]["rating"])
    test_ratings = np.asarray(splits["test"]["rating"])
    majority = np.bincount(splits["validation"]["rating"]).argmax()
    results = {
        "judge_accuracy": real["acc"], "judge_accuracy_3class": real["acc_3class"],
        "judge_majority_baseline": float(np.mean(test_ratings == majority)),
        "judge_majority_baseline_3class": float(np.mean(three_class(test_ratings) == three_class([majority])[0])),
    }
    eval_mine = MINETrainingArguments(mine_epochs=bench.eval_mine_epochs, mine_feature=False, mine_keep_best=False)
    features = sorted(set(splits["train"]["feature"]))
    for name in ("backbone", "mmi_rating", "mmi_feature", "mmi_joint", "lm_backbone", "lm_mmi_rating"):
        if name not in paths:  # a run not selected, or a backbone no selected run needs
            continue
        t = time.time()
        model = RecExplainerForConditionalGeneration.from_pretrained(paths[name])
        scores = evaluate_explainer(model, tokenizer, splits["test"], judge, features, max_new_tokens=MAX_WORDS + 1,
                                    mine_args=eval_mine, seed=bench.seed, mi_folds=bench.eval_folds)
        timings[f"eval_{name}"] = time.time() - t
        if name in RUNS:
            history = json.loads((paths[name] / "mmi_history.json").read_text())
            scores["ppo_alignment_curve"] = history["alignment"]
            scores["ppo_reward_curve"] = [r["objective/scores"] for r in history["log_history"]
                                          if "objective/scores" in r]
        results[name] = scores
        logger.info("%s: %s", name, {k: round(scores[k], 4) for k in METRIC_KEYS})

    results["reward_estimator"] = {k: v for k, v in estimator.items() if k != "history"}
    results["settings"] = {"benchmark": asdict(bench), "data": asdict(data_args), "max_words": MAX_WORDS,
                           "runs": bench.selected_runs, "backbones": bench.selected_backbones,
                           "command": " ".join(["python", *sys.argv])}
    timings["total"] = time.time() - started
    results["timings_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    Path(bench.output).write_text(json.dumps(results, indent=1))
    print(markdown_table(results))
    print(f"judge accuracy on real test sentences: {real} (majority baseline "
          f"{results['judge_majority_baseline']:.4f})")
    logger.info("wrote %s in %.0f s", bench.output, timings["total"])
    if temporary is not None:
        temporary.cleanup()


if __name__ == "__main__":
    main()
