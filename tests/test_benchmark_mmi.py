"""scripts/benchmark_mmi.py: `--runs` selects PPO runs and the backbones they need."""
import importlib.util
import json
from pathlib import Path

import pytest
from transformers import HfArgumentParser

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_mmi.py"


def load_script():
    spec = importlib.util.spec_from_file_location("benchmark_mmi", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse(module, *argv):
    (bench,) = HfArgumentParser(module.MMIBenchmarkArguments).parse_args_into_dataclasses(list(argv))
    return bench


def test_runs_default_is_all():
    module = load_script()
    bench = parse(module)
    assert bench.selected_runs == list(module.RUNS)
    assert bench.selected_backbones == ["backbone", "lm_backbone"]


def test_runs_subset_skips_unneeded_backbone():
    module = load_script()
    bench = parse(module, "--runs", "mmi_feature, mmi_rating,mmi_feature")
    assert bench.selected_runs == ["mmi_rating", "mmi_feature"]  # canonical order, no duplicates
    assert bench.runs == "mmi_rating,mmi_feature"
    assert bench.selected_backbones == ["backbone"]
    assert parse(module, "--runs", "lm_mmi_rating").selected_backbones == ["backbone", "lm_backbone"]


def test_reward_estimator_gets_the_data_file_and_pooling(tmp_path, monkeypatch):
    """The reward estimator trains on the training reviews' sentences too (it needs the data file to find them;
    without it the benchmark's estimator had seen only the 4,320 explanations) and with `--estimator_pooling`."""
    module = load_script()
    seen = {}

    class Stop(Exception):
        pass

    def train_mi_estimator(script_args, mine_args, splits):
        seen["args"] = script_args
        raise Stop

    monkeypatch.setattr(module, "train_mi_estimator", train_mi_estimator)
    bench = parse(module, "--runs", "mmi_rating", "--backbone_path", str(tmp_path), "--estimator_pooling", "max")
    with pytest.raises(Stop):
        module.run_seed(bench, 0, None, None, None, None, tmp_path / "work", {}, "reviews.json.gz")
    assert seen["args"].data_file == "reviews.json.gz" and seen["args"].review_sentences
    assert seen["args"].pooling == "max"


def test_runs_unknown_rejected():
    module = load_script()
    with pytest.raises(ValueError, match="--runs"):
        parse(module, "--runs", "mmi_rating,nope")
    with pytest.raises(ValueError, match="--runs"):
        parse(module, "--runs", ",")


def test_seeds_default_to_seed_and_are_validated():
    module = load_script()
    assert parse(module).selected_seeds == [42]
    assert parse(module, "--seed", "7").selected_seeds == [7]
    assert parse(module, "--seeds", "0, 1,2").selected_seeds == [0, 1, 2]
    for bad in ("0,x", "1,1", ","):
        with pytest.raises(ValueError, match="--seeds"):
            parse(module, "--seeds", bad)
    with pytest.raises(ValueError, match="--judge_encoder"):
        parse(module, "--judge_encoder", "bert")


def test_aggregate_and_table_report_mean_and_std_over_seeds():
    module = load_script()
    per_seed = {seed: {k: float(seed) for k in module.METRIC_KEYS} for seed in (0, 1, 2)}
    per_seed[0]["samples"] = ["kept per seed"]
    row = module.aggregate(per_seed)
    assert row["seeds"] == [0, 1, 2] and row["per_seed"]["0"]["samples"] == ["kept per seed"]
    assert row["mean"]["bleu1"] == 1.0 and row["std"]["bleu1"] == pytest.approx(1.0)  # sample std
    assert set(row["mean"]) == set(row["std"]) == set(module.METRIC_KEYS)
    assert module.aggregate({5: per_seed[2]})["std"]["rmse"] == 0.0
    table = module.markdown_table({"mmi_rating": row, "backbone": row, "judge": {}})
    lines = table.splitlines()
    assert lines[0].split(" | ")[1:3] == ["rating_alignment_spearman", "rating_alignment_acc"]
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| backbone", "| mmi_rating"]
    assert "1.0000 ± 1.0000" in lines[2] and "repeat_rate" in lines[0] and "rougeL" in lines[0]


def _part(module, seeds, offset=0.0):
    """A report of `seeds` as `write_results` writes it (scores = seed + offset)."""
    rows = {name: module.aggregate({s: {k: s + offset for k in module.METRIC_KEYS} for s in seeds})
            for name in ("backbone", "mmi_rating")}
    judge = {"macro_f1": 0.3, "majority_macro_f1": 0.2}
    settings = {"benchmark": {"seeds": ",".join(map(str, seeds)), "output": f"s{seeds[0]}.json", "kl_coef": 0.2},
                "data": {"split_seed": 42}, "command": f"python benchmark_mmi.py --seeds {seeds}"}
    return {"judge": judge, **rows, "reward_estimator": {str(s): {"mi": s} for s in seeds}, "seeds": seeds,
            "settings": settings, "timings_seconds": {"total": 1.0}}


def test_merge_pools_seeds_and_refuses_other_settings(tmp_path):
    module = load_script()
    paths = []
    for name, part in (("a.json", _part(module, [0, 1])), ("b.json", _part(module, [2]))):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(part))
    merged = module.merge_reports(paths)
    whole = _part(module, [0, 1, 2])
    assert merged["seeds"] == [0, 1, 2] and list(merged["reward_estimator"]) == ["0", "1", "2"]
    assert merged["mmi_rating"]["mean"] == whole["mmi_rating"]["mean"]
    assert merged["mmi_rating"]["std"]["bleu1"] == pytest.approx(1.0)  # sample std of 0, 1, 2
    assert merged["settings"]["merged_from"] == [
        "python benchmark_mmi.py --seeds [0, 1]", "python benchmark_mmi.py --seeds [2]"]
    assert merged["goals"]["judge_macro_f1_above_majority"]["met"]
    with pytest.raises(ValueError, match="repeats 'backbone' seed 0"):
        module.merge_reports([paths[0], paths[0]])
    other = _part(module, [2])
    other["settings"]["benchmark"]["kl_coef"] = 0.02
    (tmp_path / "c.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match=r"benchmark settings \(kl_coef\)"):
        module.merge_reports([paths[0], tmp_path / "c.json"])


def test_goals_compare_gains_with_the_seed_spread():
    module = load_script()
    part = _part(module, [0, 1, 2])
    base = part["backbone"]
    part["mmi_rating"] = module.aggregate({s: {k: s + (0.5 if k == "rating_alignment_spearman" else 0.0)
                                               for k in module.METRIC_KEYS} for s in (0, 1, 2)})
    goals = module.mmi_goals(part)
    spearman = goals["mmi_rating_raises_rating_alignment_spearman_beyond_spread"]
    assert spearman["gain"] == pytest.approx(0.5) and spearman["spread"] == pytest.approx(1.0)
    assert not spearman["met"]  # a gain of half the seed spread is not beyond it
    assert goals["mmi_rating_bleu1_within_10pct"]["met"] and goals["mmi_rating_usr_not_lower"]["met"]
    assert not goals["mmi_rating_repeat_rate_below_5pct"]["met"]  # the fake repeat rate is 1.0 on average
    assert base["mean"]["bleu1"] == 1.0
    part["backbone"] = module.aggregate({s: {k: 0.9 for k in module.METRIC_KEYS} for s in (0, 1, 2)})
    part["mmi_feature"] = module.aggregate({s: {k: 0.95 for k in module.METRIC_KEYS} for s in (0, 1, 2)})
    fmr = module.mmi_goals(part)["mmi_feature_raises_fmr_by_13_points"]
    assert not fmr["met"] and fmr["gain"] == pytest.approx(0.05)
    assert fmr["possible"] == pytest.approx(0.1)  # a backbone naming 90% of the features leaves at most 10 points


def test_reward_length_diagnosis_on_hand_computed_rewards():
    spec = importlib.util.spec_from_file_location(
        "diagnose_reward_length", SCRIPT.parent / "diagnose_reward_length.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import numpy as np

    # row 0: 5 words, the 3-word ending pays best; row 1: 4 words rising (the whole is best); row 2: too short
    rewards = np.array([[9, 0.1, 0.2, 0.9, 0.3, 0.5, 9], [9, 0.0, 0.1, 0.2, 0.4, 9, 9], [9, 1.0, 2.0, 9, 9, 9, 9]])
    mask = np.array([[0, 1, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 0, 0], [0, 1, 1, 0, 0, 0, 0]], dtype=bool)
    out = module.ending_rewards(rewards, mask)
    assert out["n"] == 2
    assert out["mean_reward"] == pytest.approx((0.5 + 0.4) / 2)
    assert out["share_shorter_better"] == 0.5 and out["mean_words_dropped"] == pytest.approx(1.0)
    assert out["mean_gain_by_truncating"] == pytest.approx((0.4 + 0.0) / 2)
    assert out["gain_dropping_last_word"] == pytest.approx((-0.2 - 0.2) / 2)
    # 70% of 5 words -> 4 words (0.3 - 0.5); of 4 words -> 3 words (0.2 - 0.4)
    assert out["gain_cutting_to_70pct"] == pytest.approx((-0.2 - 0.2) / 2)
