"""The quickstart's report.md: the judge next to its majority baseline, Spearman alignment beside text quality."""
from recexplain.quickstart import EXPLANATION_KEYS, EXPLAINER_FOLDERS, write_report


def fake_results():
    sample = {"user": "u1", "item": "i1", "feature": "strings", "predicted_rating": 4.6, "real": "great strings",
              "generated": "the strings are great"}
    models = {name: {**{k: 0.5 + i / 10 for k in EXPLANATION_KEYS}, "samples": [sample]}
              for i, name in enumerate(EXPLAINER_FOLDERS)}
    judge = {"encoder": "tfidf+minilm", "accuracy": 0.567, "macro_f1": 0.341, "balanced_accuracy": 0.354,
             "majority_accuracy": 0.681, "majority_macro_f1": 0.162, "majority_balanced_accuracy": 0.2,
             "spearman": 0.299}
    ctr = {"din": {"auc": 0.7, "auc_ci": [0.6, 0.8], "gauc": None, "logloss": 0.5, "n_rows": 10}}
    return {"command": "python scripts/quickstart.py", "seed": 42, "datasets": ["synthetic", "synthetic-reviews"],
            "behavior_data": {"users": 3}, "ctr": ctr, "models": ["din"],
            "explanations": {"records": {"test": 10}, "judge": judge, "models": models},
            "ppo": {"updates": 2, "reward_first": 0.1, "reward_last": 0.2, "kl_last": 0.01}}


def test_report_shows_judge_baseline_and_alignment_with_text_quality(tmp_path):
    text = write_report(tmp_path, fake_results()).read_text()
    assert "`tfidf+minilm` features" in text and "real one:\n0.2990" in text
    assert "| judge | 0.5670 | 0.3410 | 0.3540 |" in text
    assert "| majority rating | 0.6810 | 0.1620 | 0.2000 |" in text
    header = next(line for line in text.splitlines() if line.startswith("| model | rating_alignment_spearman"))
    assert all(key in header for key in ("constant_sentence_acc", "bleu1", "distinct2", "repeat_rate"))
    assert "| explainer-mmi | 0.6000 |" in text
