"""Benchmark MMI: does PPO with the MI reward align explanations with the predicted rating / the feature?

    python scripts/benchmark_mmi.py \\
        --data_file ../shared/data/amazon-musical-instruments/reviews_Musical_Instruments_5.json.gz \\
        --output benchmark_mmi.json [--quick]
    python scripts/benchmark_mmi.py --output synthetic_mmi.json --quick            # SYNTHETIC reviews
    accelerate launch --config_file scripts/configs/cpu_single.yaml scripts/benchmark_mmi.py --data_file FILE --output FILE.json
    python scripts/benchmark_mmi.py config.yaml                                    # the same arguments as YAML keys
    python scripts/benchmark_mmi.py --data_file FILE --output FILE.json --runs mmi_rating,mmi_feature  # some runs
    python scripts/benchmark_mmi.py --data_file FILE --output FILE.json --seeds 0,1,2   # mean +- std over 3 seeds
    python scripts/benchmark_mmi.py --merge s01.json,s2.json --output all.json   # seeds run side by side, pooled

Steps, all on one seeded 8:1:1 split: train the rating judge (`RatingJudge`, default encoder: TF-IDF +
all-MiniLM-L6-v2 features, balanced logistic regression) on the training split's whole review texts and
explanation sentences (`--judge_path` reuses a saved one) and score it on the real test sentences
(`judge`: accuracy, macro-F1, balanced accuracy, each next to the majority-rating baseline, and the Spearman
correlation of its expected rating with the real one). Then, once per seed of `--seeds`: train the PETER+
explainer (`backbone`, feature as input) and a causal-LM (GPT-2 built from a config, no pretrained weights
exist offline) explainer (`lm_backbone`), or reuse trained ones (`--backbone_path`, `--lm_backbone_path`,
folders of `scripts/train_explainer.py` with the same data settings); train the MINE estimator on the
training split's real explanations; run PPO (`recexplain.mmi.ppo`) with the rating, feature and joint
(eps = 0.2) rewards on the backbone and with the rating reward + LoRA on the LM backbone (`--runs` selects
a subset; only the backbones the selected runs need are trained and scored); score every model on the test
split (`recexplain.mmi.alignment.METRIC_KEYS`: `rating_alignment_spearman` (headline), the judged accuracy
next to `constant_sentence_acc`, I(R;E)/H(R) by fresh cross-fitted MINE estimators, FMR, BLEU, ROUGE-L,
USR, distinct-2, repeat rate, RMSE, ...). The JSON has, per model, `mean` and `std` (sample std; 0 for one
seed) over the seeds, `seeds` and `per_seed` (every score, samples and PPO curves), and `goals`: issue 10's goals
for MMI, each `met` with the figures it compares.
"""
import json
import logging
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from transformers import AutoTokenizer, HfArgumentParser, set_seed

from recexplain.data.reviews.tokenizer import EXPLANATION_TOKENS, EXPLANATION_WORDS, save_vocabularies
from recexplain.mmi import ppo
from recexplain.mmi.alignment import METRIC_KEYS, evaluate_explainer
from recexplain.mmi.judge import DEFAULT_ENCODER, ENCODERS, RatingJudge, judge_training_data
from recexplain.mmi.mine import MINETrainingArguments
from recexplain.mmi.train_estimator import MIEstimatorScriptArguments
from recexplain.mmi.train_estimator import main as train_mi_estimator
from recexplain.models.explainer import RecExplainerForConditionalGeneration
from recexplain.training import atomic_output_dir
from recexplain.training.cli import comma_list, parse_dataclasses
from recexplain.training.explainer import (
    ExplainerModelArguments,
    ExplainerTrainingArguments,
    ExplanationDataArguments,
    build_explainer,
    prepare_explanation_data,
    set_generation_defaults,
    train_explainer,
    training_features,
    unwrap_explainer,
)

logger = logging.getLogger("benchmark_mmi")
QUICK = dict(hidden_size=128, explainer_epochs=12.0, ppo_updates=18, mine_epochs=6, eval_mine_epochs=6, eval_folds=3)
RUNS = {  # name: (backbone, reward type, LoRA)
    "mmi_rating": ("backbone", "rating", False),
    "mmi_feature": ("backbone", "feature", False),
    "mmi_joint": ("backbone", "joint", False),
    "lm_mmi_rating": ("lm_backbone", "rating", True),
}
MODELS = ("backbone", "mmi_rating", "mmi_feature", "mmi_joint", "lm_backbone", "lm_mmi_rating")  # scoring order
TABLE_KEYS = METRIC_KEYS[:11]  # alignment and text quality side by side: the issue's headline columns
JUDGE_KEYS = ("accuracy", "macro_f1", "balanced_accuracy", "majority_accuracy", "majority_macro_f1", "spearman")


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
    judge_path: Optional[str] = field(
        default=None,
        metadata={"help": "saved RatingJudge to reuse (default: trained here, saved to WORK_DIR/judge.pkl)"},
    )
    judge_encoder: str = field(default=DEFAULT_ENCODER, metadata={"help": f"encoder of the judge, one of {ENCODERS}"})
    hidden_size: int = field(default=256, metadata={"help": "explainer width (PETER: 512)"})
    explainer_epochs: float = field(
        default=20.0, metadata={"help": "most explainer epochs (the best validation text score is kept)"}
    )
    explainer_learning_rate: float = field(default=2e-3, metadata={"help": "explainer AdamW learning rate"})
    explainer_batch_size: int = field(default=128, metadata={"help": "explainer batch size (PETER: 128)"})
    explainer_patience: int = field(
        default=3, metadata={"help": "stop the explainer after this many epochs without a better validation text score"}
    )
    mine_epochs: int = field(default=10, metadata={"help": "MINE epochs of the reward estimator"})
    ppo_updates: int = field(default=30, metadata={"help": "PPO updates per run"})
    ppo_batch_size: int = field(
        default=ppo.PPO_DEFAULTS["per_device_train_batch_size"], metadata={"help": "prompts per PPO update"})
    ppo_learning_rate: float = field(default=ppo.PPO_DEFAULTS["learning_rate"], metadata={"help": "PPO learning rate"})
    num_ppo_epochs: int = field(default=ppo.PPO_DEFAULTS["num_ppo_epochs"], metadata={"help": "PPO epochs per rollout"})
    kl_coef: float = field(
        default=ppo.PPO_DEFAULTS["kl_coef"], metadata={"help": "KL penalty coefficient (chosen on the validation "
                                                              "alignment of seed 0; docs/mmi.md)"}
    )
    eps: float = field(default=0.2, metadata={"help": "feature weight of the joint reward"})
    brevity_weight: float = field(
        default=0.0, metadata={"help": "weight of the reward's brevity term (log brevity penalty against the mean "
                                       "length of --brevity_reference)"}
    )
    brevity_reference: str = field(
        default=ppo.MMIScriptArguments.brevity_reference,
        metadata={"help": "'explanations' (training explanations) or 'policy' (the backbone's own explanations)"},
    )
    estimator_pooling: str = field(
        default=MIEstimatorScriptArguments.pooling,
        metadata={"help": "pooling of the reward estimator (mean or max; the I(R;E) evaluation estimators keep theirs)"},
    )
    lora_r: int = field(default=8, metadata={"help": "LoRA rank of the LM backbone's PPO run"})
    eval_mine_epochs: int = field(default=10, metadata={"help": "epochs of the fresh MINE estimators of I(R;E)"})
    eval_folds: int = field(default=5, metadata={"help": "cross-fitting folds of I(R;E)"})
    seed: int = field(default=42, metadata={"help": "seed (when --seeds is not given)"})
    seeds: Optional[str] = field(
        default=None, metadata={"help": "comma-separated seeds, e.g. 0,1,2: backbones, reward estimator and PPO runs "
                                        "are trained and scored once per seed (mean and std in the JSON)"}
    )
    runs: str = field(default=",".join(RUNS), metadata={"help": f"comma-separated PPO runs, a subset of {list(RUNS)}"})
    merge: Optional[str] = field(
        default=None, metadata={"help": "comma-separated reports of this script with the same data, judge and "
                                        "settings but other seeds (run side by side): write their union, "
                                        "re-aggregated over seeds, to --output instead of training"}
    )

    @property
    def selected_runs(self) -> list:
        return self.runs.split(",")

    @property
    def selected_seeds(self) -> List[int]:
        return [int(s) for s in self.seeds.split(",")]

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
        seeds = [s.strip() for s in (self.seeds or str(self.seed)).split(",") if s.strip()]
        if not seeds or not all(s.lstrip("-").isdigit() for s in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError(f"--seeds: expected distinct integers separated by commas, got {self.seeds!r}")
        self.seeds = ",".join(seeds)
        if self.judge_encoder not in ENCODERS:
            raise ValueError(f"--judge_encoder: {self.judge_encoder!r} is not one of {ENCODERS}")
        if self.quick:
            for key, value in QUICK.items():
                setattr(self, key, min(getattr(self, key), value))


def train_backbone(bench, model_type, splits, tokenizer, tokenized, work_dir, seed) -> Path:
    """Train an explainer (`peter_plus`, or `causal_lm` with the feature visible) as `benchmark_explainer.py` does
    (checkpoint chosen on the validation text score) and save it with the decoding chosen on validation as its
    generation default, as `train_explainer.py` does: every model of the benchmark, and the PPO policies saved
    from it, is then scored with that decoding."""
    kwargs = dict(model_type=model_type, hidden_size=bench.hidden_size, intermediate_size=4 * bench.hidden_size,
                  max_explanation_length=EXPLANATION_WORDS)
    if model_type == "causal_lm":
        kwargs["visible_prefix_slots"] = "peter_plus"
    training_args = ExplainerTrainingArguments(
        output_dir=str(work_dir / f"train_{model_type}"), num_train_epochs=bench.explainer_epochs, seed=seed,
        learning_rate=bench.explainer_learning_rate, per_device_train_batch_size=bench.explainer_batch_size,
        save_total_limit=1, logging_steps=50, disable_tqdm=True,
    )
    set_seed(seed)
    trainer = train_explainer(build_explainer(ExplainerModelArguments(**kwargs), tokenizer), tokenizer, tokenized,
                              training_args, early_stopping_patience=bench.explainer_patience, splits=splits,
                              max_new_tokens=EXPLANATION_TOKENS)
    model = unwrap_explainer(trainer.model)
    set_generation_defaults(model, tokenizer, splits, EXPLANATION_TOKENS)  # as train_explainer.py saves it
    target = work_dir / model_type
    with atomic_output_dir(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_vocabularies(tokenizer, tmp)
    return target


def run_ppo(bench, name, policy_dir, reward_dir, splits, work_dir, seed, judge) -> Path:
    _, reward_type, lora = RUNS[name]
    output = work_dir / name
    argv = ["--sft_model_path", str(policy_dir), "--reward_model_path", str(reward_dir), "--reward_type", reward_type,
            "--eps", str(bench.eps), "--brevity_weight", str(bench.brevity_weight),
            "--brevity_reference", bench.brevity_reference, "--output_dir", str(output), "--seed", str(seed),
            "--total_episodes", str(bench.ppo_updates * bench.ppo_batch_size),
            "--per_device_train_batch_size", str(bench.ppo_batch_size), "--num_ppo_epochs", str(bench.num_ppo_epochs),
            "--learning_rate", str(bench.ppo_learning_rate), "--kl_coef", str(bench.kl_coef),
            "--alignment_eval_steps", str(max(1, bench.ppo_updates // 6)),
            "--num_eval_prompts", str(len(splits["validation"])),
            "--disable_tqdm", "true"]
    if lora:
        argv += ["--use_peft", "--lora_r", str(bench.lora_r), "--lora_alpha", str(2 * bench.lora_r)]
    ppo.main(*ppo.make_parser().parse_args_and_config(argv), splits=splits, judge=judge)
    return output


def fit_judge(bench, data_file, splits, work_dir) -> RatingJudge:
    """The saved `--judge_path`, or a judge trained on `judge_training_data` (saved as `work_dir/judge.pkl`)."""
    if bench.judge_path:
        return RatingJudge.load(bench.judge_path)
    judge = RatingJudge(encoder=bench.judge_encoder).fit(*judge_training_data(data_file, splits))
    judge.save(work_dir / "judge.pkl")
    return judge


def run_seed(bench, seed, splits, tokenizer, tokenized, judge, work_dir, timings, data_file=None) -> Dict[str, Dict]:
    """Train (or reuse) the backbones and the reward estimator (on the training explanations plus every sentence of
    the training reviews of `data_file`), run the selected PPO runs and score every model, all with `seed`; returns
    model name -> `evaluate_explainer` scores (plus the PPO curves of the runs)."""
    def timed(key, fn, *args, **kwargs):
        t = time.time()
        out = fn(*args, **kwargs)
        timings[f"seed{seed}/{key}"] = time.time() - t
        return out

    work_dir.mkdir(parents=True, exist_ok=True)
    set_seed(seed)
    paths = {}
    for key, model_type, given in (("backbone", "peter_plus", bench.backbone_path),
                                   ("lm_backbone", "causal_lm", bench.lm_backbone_path)):
        if key in bench.selected_backbones:
            paths[key] = Path(given) if given else timed(f"train_{key}", train_backbone, bench, model_type,
                                                         splits, tokenizer, tokenized, work_dir, seed)
    if bench.mi_estimator_path:
        estimator_dir = Path(bench.mi_estimator_path)
    else:
        estimator_dir = work_dir / "mi_estimator"
        timed("train_mi_estimator", train_mi_estimator, MIEstimatorScriptArguments(
            output_dir=str(estimator_dir), data_file=data_file, tokenizer_name_or_path=str(paths["backbone"]),
            max_explanation_length=EXPLANATION_WORDS, pooling=bench.estimator_pooling, seed=seed),
            MINETrainingArguments(mine_epochs=bench.mine_epochs), splits)
    for name in bench.selected_runs:
        paths[name] = timed(f"ppo_{name}", run_ppo, bench, name, paths[RUNS[name][0]], estimator_dir, splits,
                            work_dir, seed, judge)

    eval_mine = MINETrainingArguments(mine_epochs=bench.eval_mine_epochs, mine_feature=False, mine_keep_best=False)
    features = training_features(splits)
    results = {}
    for name in (m for m in MODELS if m in paths):  # a run not selected, or a backbone no run needs, is absent
        model = RecExplainerForConditionalGeneration.from_pretrained(paths[name])
        scores = timed(f"eval_{name}", evaluate_explainer, model, tokenizer, splits["test"], judge, features,
                       max_new_tokens=EXPLANATION_TOKENS, mine_args=eval_mine, seed=seed, mi_folds=bench.eval_folds)
        if name in RUNS:
            history = json.loads((paths[name] / "mmi_history.json").read_text())
            scores["ppo_alignment_curve"] = history["alignment"]
            scores["ppo_selected_step"] = history["selected_step"]
            scores["ppo_reward_curve"] = [r["objective/scores"] for r in history["log_history"]
                                          if "objective/scores" in r]
        results[name] = scores
        logger.info("seed %d %s: %s", seed, name, {k: round(scores[k], 4) for k in TABLE_KEYS})
    estimator = json.loads((estimator_dir / "mine_history.json").read_text())
    results["reward_estimator"] = {k: v for k, v in estimator.items() if k != "history"}
    return results


def aggregate(per_seed: Dict[int, Dict]) -> Dict:
    """`{"mean", "std", "seeds", "per_seed"}` of one model over seeds (`std`: sample std, 0.0 for one seed), over the
    `METRIC_KEYS` every seed has (reports of earlier versions lack the newer ones)."""
    keys = [k for k in METRIC_KEYS if all(k in scores for scores in per_seed.values())]
    values = {k: np.array([scores[k] for scores in per_seed.values()], dtype=float) for k in keys}
    return {"mean": {k: float(v.mean()) for k, v in values.items()},
            "std": {k: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for k, v in values.items()},
            "seeds": list(per_seed), "per_seed": {str(seed): scores for seed, scores in per_seed.items()}}


def markdown_table(results, keys=TABLE_KEYS) -> str:
    """Models x `keys`, each cell mean ± std over the seeds."""
    lines = ["| model | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name in (m for m in MODELS if m in results):
        mean, std = results[name]["mean"], results[name]["std"]
        lines.append(f"| {name} | " + " | ".join(f"{mean[k]:.4f} ± {std[k]:.4f}" for k in keys) + " |")
    return "\n".join(lines)


def mmi_goals(results: dict) -> dict:
    """Issue 10's goals for MMI from an aggregated report: `{goal: {"met": bool, ...the figures compared}}`. A gain
    is "beyond the seed spread" when the mean gain exceeds the larger of the two rows' sample std."""
    goals = {}
    judge = results["judge"]
    goals["judge_macro_f1_above_majority"] = {"met": judge["macro_f1"] > judge["majority_macro_f1"],
                                              "judge": judge["macro_f1"], "majority": judge["majority_macro_f1"]}
    if "backbone" not in results:
        return goals
    base = results["backbone"]

    def gain(name, key):
        row = results[name]
        return {"backbone": base["mean"][key], name: row["mean"][key], "gain": row["mean"][key] - base["mean"][key],
                "spread": max(base["std"][key], row["std"][key])}

    if "mmi_rating" in results:
        for key in ("rating_alignment_spearman", "mi_rating_normalized"):
            figures = gain("mmi_rating", key)
            goals[f"mmi_rating_raises_{key}_beyond_spread"] = {"met": figures["gain"] > figures["spread"], **figures}
    if "mmi_feature" in results:
        figures = gain("mmi_feature", "fmr")  # "possible": the largest gain a backbone leaves (all features named)
        goals["mmi_feature_raises_fmr_by_13_points"] = {"met": figures["gain"] >= 0.13, **figures,
                                                        "possible": 1.0 - figures["backbone"]}
    for name in (m for m in RUNS if m in results):
        row = results[name]["mean"]
        goals[f"{name}_bleu1_within_10pct"] = {"met": row["bleu1"] >= 0.9 * base["mean"]["bleu1"],
                                               "backbone": base["mean"]["bleu1"], name: row["bleu1"]}
        for key in ("usr", "distinct2"):
            goals[f"{name}_{key}_not_lower"] = {"met": row[key] >= base["mean"][key],
                                                "backbone": base["mean"][key], name: row[key]}
        goals[f"{name}_repeat_rate_below_5pct"] = {"met": row["repeat_rate"] < 0.05, name: row["repeat_rate"]}
    return goals


def write_results(results, per_seed, bench, data_args, timings, started) -> None:
    """Aggregate the finished seeds into `results` and write `bench.output`."""
    for name in (m for m in MODELS if m in next(iter(per_seed.values()))):
        results[name] = aggregate({seed: runs[name] for seed, runs in per_seed.items()})
    results["reward_estimator"] = {str(seed): runs["reward_estimator"] for seed, runs in per_seed.items()}
    results["seeds"] = list(per_seed)
    results["goals"] = mmi_goals(results)
    results["settings"] = {"benchmark": asdict(bench), "data": asdict(data_args), "max_words": EXPLANATION_WORDS,
                           "runs": bench.selected_runs, "backbones": bench.selected_backbones,
                           "command": " ".join(["python", *sys.argv])}
    timings["total"] = time.time() - started
    results["timings_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    Path(bench.output).write_text(json.dumps(results, indent=1))


# settings that may differ between merged parts: where they ran, their seeds, and the saved models a part reused (a
# part of one seed reuses that seed's backbone and estimator; every part's command stays in `merged_from`)
RUN_SPECIFIC = ("output", "work_dir", "seed", "seeds", "merge", "judge_path", "backbone_path", "lm_backbone_path",
                "mi_estimator_path")


def merge_reports(paths: list) -> dict:
    """One report from several of this script's reports with the same data, judge and settings but other seeds:
    every model's seeds pooled and re-aggregated, `settings.merged_from` holding each part's command."""
    parts = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    first = parts[0]

    def comparable(part):
        bench = {k: v for k, v in part["settings"]["benchmark"].items() if k not in RUN_SPECIFIC}
        return part["judge"], part["settings"]["data"], bench

    per_seed, estimators, timings = {}, {}, {}
    for path, part in zip(paths, parts):
        for what, mine, theirs in zip(("judge", "data settings", "benchmark settings"),
                                      comparable(part), comparable(first)):
            if mine != theirs:
                differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
                raise ValueError(f"--merge: {path} and {paths[0]} differ in their {what} ({', '.join(differ)}): "
                                 "only runs of other seeds can be merged")
        for name in (m for m in MODELS if m in part):
            for seed, scores in part[name]["per_seed"].items():
                if int(seed) in per_seed.get(name, {}):
                    raise ValueError(f"--merge: {path} repeats {name!r} seed {seed}")
                per_seed.setdefault(name, {})[int(seed)] = scores
        estimators.update(part["reward_estimator"])
        timings[path] = part["timings_seconds"]
    results = {"judge": first["judge"]}
    results.update({name: aggregate(dict(sorted(runs.items()))) for name, runs in per_seed.items()})
    results["reward_estimator"] = dict(sorted(estimators.items(), key=lambda item: int(item[0])))
    results["seeds"] = sorted(int(seed) for seed in results["reward_estimator"])
    results["goals"] = mmi_goals(results)
    results["settings"] = {**first["settings"], "merged_from": [part["settings"]["command"] for part in parts]}
    results["timings_seconds"] = timings
    return results


def main():
    bench, data_args = parse_dataclasses(HfArgumentParser((MMIBenchmarkArguments, ExplanationDataArguments)))
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if bench.merge:
        results = merge_reports(comma_list(bench.merge))
        Path(bench.output).parent.mkdir(parents=True, exist_ok=True)
        Path(bench.output).write_text(json.dumps(results, indent=1))
        print(markdown_table(results))
        print(json.dumps(results["goals"], indent=1))
        return
    started, timings = time.time(), {}
    temporary = tempfile.TemporaryDirectory() if bench.work_dir is None else None
    work_dir = Path(bench.work_dir or temporary.name)
    work_dir.mkdir(parents=True, exist_ok=True)

    splits, tokenizer, tokenized = prepare_explanation_data(data_args, EXPLANATION_WORDS)
    for given in (bench.backbone_path, bench.lm_backbone_path):
        if given and AutoTokenizer.from_pretrained(given).get_vocab() != tokenizer.get_vocab():
            raise ValueError(f"{given} was trained with another tokenizer (other data settings or split)")
    t = time.time()
    judge = fit_judge(bench, data_args.data_file, splits, work_dir)
    results = {"judge": {"encoder": judge.encoder,
                         **judge.evaluation(splits["test"]["explanation"], splits["test"]["rating"]),
                         "validation": judge.evaluation(splits["validation"]["explanation"],
                                                        splits["validation"]["rating"])}}
    timings["judge"] = time.time() - t
    logger.info("judge on the real test sentences: %s", {k: round(results["judge"][k], 4) for k in JUDGE_KEYS})

    per_seed = {}
    for seed in bench.selected_seeds:  # the JSON is rewritten after every seed: a long run keeps what it finished
        per_seed[seed] = run_seed(bench, seed, splits, tokenizer, tokenized, judge, work_dir / f"seed_{seed}", timings,
                                  data_args.data_file)
        write_results(results, per_seed, bench, data_args, timings, started)
    print(markdown_table(results))
    print(json.dumps(results["goals"], indent=1))
    print("judge on the real test sentences: " + ", ".join(f"{k} {results['judge'][k]:.4f}" for k in JUDGE_KEYS))
    logger.info("wrote %s in %.0f s", bench.output, timings["total"])
    if temporary is not None:
        temporary.cleanup()


if __name__ == "__main__":
    main()
