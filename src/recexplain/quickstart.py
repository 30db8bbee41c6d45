"""Evaluation, plots and `report.md` for the output folder of `scripts/quickstart.py`.

    from recexplain.quickstart import evaluate_and_report
    results = evaluate_and_report("outputs/quickstart", stats, reviews=None, names=("synthetic", "synthetic-reviews"))

Reads the model folders under `OUT/models/`, scores the explainer before and after MMI on the review test split
and writes `report.md`, `ctr_auc.png`, `ppo_training.png` and `alignment.png` into `OUT`.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, Optional, Sequence

# The layout of `scripts/quickstart.py`'s models/ folder
PRETRAINED_FOLDER = "srp4ctr-pretrained"
CTR_FOLDERS = {"srp4ctr-ctr": "srp4ctr", "din": "din", "din-qformer": "din_qformer"}  # folder: finetune_ctr.py --model
EXPLAINER_FOLDER, MI_ESTIMATOR_FOLDER, MMI_FOLDER = "explainer", "mi-estimator", "explainer-mmi"
EXPLAINER_FOLDERS = (EXPLAINER_FOLDER, MMI_FOLDER)  # before and after MMI
EXPLANATION_KEYS = ("rating_alignment_spearman", "rating_alignment_acc", "constant_sentence_acc",
                    "mi_rating_normalized", "h_rating", "fmr", "bleu1", "rougeL", "usr", "distinct2",
                    "phrase_precision", "repeat_rate",
                    "rmse")
JUDGE_KEYS = ("accuracy", "macro_f1", "balanced_accuracy")  # each next to the majority-rating baseline


def ctr_results(models_dir: Path) -> Dict[str, Dict]:
    """Test metrics of every CTR model folder: name -> `{"auc", "auc_ci", "gauc", "logloss", "n_rows"}`."""
    results = {}
    for name in CTR_FOLDERS:
        saved = json.loads((models_dir / name / "eval_results.json").read_text(encoding="utf-8"))
        results[name] = {k: saved[f"test_{k}"] for k in ("auc", "auc_ci", "gauc", "logloss", "n_rows")}
    return results


def explanation_results(models_dir: Path, reviews: Optional[str], seed: int) -> Dict:
    """`evaluate_explainer` on the review test split for the explainer before and after MMI PPO."""
    from transformers import AutoTokenizer

    from .mmi.alignment import evaluate_explainer
    from .mmi.judge import RatingJudge, judge_training_data
    from .mmi.mine import MINETrainingArguments
    from .models.explainer import RecExplainerForConditionalGeneration
    from .training.explainer import ExplanationDataArguments, load_explanation_splits, training_features

    splits = load_explanation_splits(ExplanationDataArguments(data_file=reviews))
    judge = RatingJudge().fit(*judge_training_data(reviews, splits))
    features = training_features(splits)
    mine = MINETrainingArguments(mine_epochs=5, mine_feature=False, mine_keep_best=False)
    scores = {}
    for name in EXPLAINER_FOLDERS:
        model = RecExplainerForConditionalGeneration.from_pretrained(models_dir / name).eval()
        tokenizer = AutoTokenizer.from_pretrained(models_dir / name)
        scores[name] = evaluate_explainer(model, tokenizer, splits["test"], judge, features,
                                          model.generation_config.max_new_tokens,  # as trained
                                          mine_args=mine, seed=seed, mi_folds=3, num_samples=8)
    return {"records": {k: len(v) for k, v in splits.items()},
            "judge": {"encoder": judge.encoder,
                      **judge.evaluation(splits["test"]["explanation"], splits["test"]["rating"])},
            "models": scores}


def ppo_summary(run_dir: Path) -> Dict:
    """First/last mean MI reward and last KL of the PPO run (from its `mmi_history.json`)."""
    history = json.loads((run_dir / "mmi_history.json").read_text(encoding="utf-8"))
    updates = [r for r in history["log_history"] if "objective/scores" in r]
    return {"updates": len(updates), "reward_first": updates[0]["objective/scores"],
            "reward_last": updates[-1]["objective/scores"], "kl_last": updates[-1]["objective/kl"],
            "alignment": history["alignment"]}


def _ctr_table(ctr: Dict) -> str:
    lines = ["| model | test AUC | 95% CI (users) | GAUC | LogLoss |", "|---|---|---|---|---|"]
    for name, r in ctr.items():
        gauc = "n/a" if r["gauc"] is None else f"{r['gauc']:.4f}"
        lines.append(f"| {name} | {r['auc']:.4f} | {r['auc_ci'][0]:.4f}-{r['auc_ci'][1]:.4f} | {gauc} "
                     f"| {r['logloss']:.4f} |")
    return "\n".join(lines)


def _explanation_table(scores: Dict[str, Dict], keys: Sequence[str] = EXPLANATION_KEYS) -> str:
    """Markdown table: one row per name of `scores`, one column per key."""
    lines = ["| model | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{row[k]:.4f}" for k in keys) + " |" for name, row in scores.items()]
    return "\n".join(lines)


def _judge_table(judge: Dict) -> str:
    """The judge next to always answering the majority rating, on `JUDGE_KEYS`."""
    rows = {"judge": judge, "majority rating": {k: judge[f"majority_{k}"] for k in JUDGE_KEYS}}
    return _explanation_table(rows, JUDGE_KEYS)


def _samples(scores: Dict[str, Dict]) -> str:
    before, after = (scores[name]["samples"] for name in EXPLAINER_FOLDERS)
    lines = ["| user | item | feature | predicted rating | real | before MMI | after MMI |", "|---" * 7 + "|"]
    lines += [f"| {b['user']} | {b['item']} | {b['feature']} | {b['predicted_rating']:.2f} | {b['real']} "
              f"| {b['generated']} | {a['generated']} |" for b, a in zip(before, after)]
    return "\n".join(lines)


def write_report(out: Path, results: Dict) -> Path:
    """`out/report.md` from the collected `results` (see `evaluate_and_report`)."""
    stats, ctr, expl, ppo = results["behavior_data"], results["ctr"], results["explanations"], results["ppo"]
    stats_rows = "\n".join(f"| {k} | {v} |" for k, v in stats.items() if not isinstance(v, (dict, list)))
    text = f"""# recexplain quickstart report

Command: `{results['command']}` (seed {results['seed']}). Data: behaviour sequences `{results['datasets'][0]}`,
reviews `{results['datasets'][1]}`{' (SYNTHETIC: the built-in generators, not real data)'
                                   if results['datasets'][0] == 'synthetic' else ''}.
Small models and short training (minutes on 2 CPU cores): these numbers show the pipeline works, they are not the
benchmarks (see the README for those).

## Behaviour data

| statistic | value |
|---|---|
{stats_rows}

## CTR prediction (test split, one positive + sampled negatives per user)

{_ctr_table(ctr)}

![CTR AUC by model](ctr_auc.png)

## Explanations before / after MMI (test split: {expl['records']['test']} records)

An independent rating judge (`{expl['judge']['encoder']}` features + balanced logistic regression, trained on the
training split's whole reviews and explanation sentences) reads the rating of each generated explanation. On the
real test sentences it scores (Spearman correlation of its expected rating with the real one:
{expl['judge']['spearman']:.4f}):

{_judge_table(expl['judge'])}

`rating_alignment_spearman` (headline): Spearman correlation between the predicted rating and the judge's expected
rating of the generated explanation (0 when either is constant, e.g. one sentence for every pair).
`rating_alignment_acc`: share of explanations whose judged rating equals the rounded predicted rating, next to
`constant_sentence_acc`, what a single constant sentence can score on it. `mi_rating_normalized` = I(R; E) / H(R) by
fresh MINE estimators on the generated text. `h_rating`: entropy (nats) of the rounded predicted ratings; when it is
0, every prediction rounds to the same star and the alignment is measured against a single rating. BLEU/ROUGE in %;
`distinct2`, `phrase_precision` and `repeat_rate` show degenerate text (few distinct bigrams; bigrams people did not
write, or wrote less often: stock phrases, word salad; loops: a 3-gram twice, a word twice in a row).

{_explanation_table(expl['models'])}

![alignment before and after MMI](alignment.png)

PPO ({ppo['updates']} updates, MI rating reward): mean reward {ppo['reward_first']:.4f} -> {ppo['reward_last']:.4f}
nats, final KL to the reference {ppo['kl_last']:.4f}.

![PPO reward, KL and alignment](ppo_training.png)

### Sample explanations

{_samples(expl['models'])}

## Models

Every folder under `models/` loads with `from_pretrained` and carries its model card (`README.md`):
{chr(10).join(f'- `models/{name}`' for name in results['models'])}
"""
    path = out / "report.md"
    path.write_text(text, encoding="utf-8")
    return path


def evaluate_and_report(out, stats: Dict, reviews: Optional[str], names: Sequence[str], seed: int = 42,
                        command: str = "python scripts/quickstart.py") -> Dict:
    """Score the models under `out/models`, write the plots and `report.md`; returns every number."""
    from .mmi.plots import plot_alignment_before_after
    from .training.ctr_plots import plot_ctr_benchmark

    out = Path(out)
    models = out / "models"
    ctr = ctr_results(models)
    explanations = explanation_results(models, reviews, seed)
    results = {"command": command, "seed": seed, "datasets": list(names), "behavior_data": stats, "ctr": ctr,
               "explanations": explanations, "ppo": ppo_summary(models / MMI_FOLDER),
               "models": sorted(p.name for p in models.iterdir() if p.is_dir() and not p.name.startswith("."))}
    n_test = next(iter(ctr.values()))["n_rows"]
    plot_ctr_benchmark({"datasets": {names[0]: {"n_test": n_test, "models": ctr}}, "seeds": [seed]},
                       out / "ctr_auc.png", title=f"Quickstart CTR models on {names[0]} (seed {seed})")
    plot_alignment_before_after(explanations["models"], out / "alignment.png")
    shutil.copy(models / MMI_FOLDER / "mmi_training.png", out / "ppo_training.png")
    write_report(out, results)
    return results
