"""scripts/benchmark_mmi.py: `--runs` selects PPO runs and the backbones they need."""
import importlib.util
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
