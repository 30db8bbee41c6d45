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
