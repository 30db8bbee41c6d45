"""scripts/benchmark_inference_cost.py at tiny sizes: JSON layout and FLOP relations that must hold."""
import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_inference_cost.py"
MODEL_KEYS = {"parameters", "efficiency_flops", "inference_flops_100", "unfolded_flops_100",
              "candidates_per_second_folded", "candidates_per_second_unfolded", "folded_speedup",
              "efficiency_flops_vs_din", "inference_flops_100_vs_din"}


def load_script():
    spec = importlib.util.spec_from_file_location("benchmark_inference_cost", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_inference_cost_tiny(tmp_path):
    output = tmp_path / "cost.json"
    load_script().main(["--output", str(output), "--seq_len", "12", "--num_candidates", "6", "--hidden_size", "16",
                        "--attention_hidden_sizes", "8,4", "--mlp_hidden_sizes", "8", "--num_query_tokens", "2",
                        "--item_vocab_size", "50", "--repeats", "1", "--num_threads", "1"])
    report = json.loads(output.read_text())
    assert set(report) == {"settings", "models", "folded_speedup", "targets"}
    assert set(report["models"]) == {"din", "bst", "srp4ctr", "din_qformer"}
    for name, stats in report["models"].items():
        assert set(stats) == MODEL_KEYS, name
        assert stats["efficiency_flops"] > 0 and stats["candidates_per_second_folded"] > 0
    models = report["models"]
    # folding: the user side is computed once, so a 6-candidate request costs less than 6 naive rows
    for name in ("srp4ctr", "din", "din_qformer"):
        assert models[name]["inference_flops_100"] < models[name]["unfolded_flops_100"], name
    # BST cannot fold: its cost is exactly linear in the number of candidates
    assert models["bst"]["inference_flops_100"] == models["bst"]["unfolded_flops_100"] == 6 * models["bst"]["efficiency_flops"]
    # SRP4CTR: the encoder dominates, each extra candidate only adds the tower + MLP
    assert models["srp4ctr"]["inference_flops_100"] < 2 * models["srp4ctr"]["efficiency_flops"]
    assert models["din"]["inference_flops_100_vs_din"] == 1.0
    assert report["folded_speedup"] == models["srp4ctr"]["folded_speedup"]
    assert set(report["targets"]) == {"srp4ctr_inference_flops_100_vs_din", "srp4ctr_inference_flops_100_at_most_1.3x_din",
                                      "srp4ctr_folded_speedup_at_least_10"}
