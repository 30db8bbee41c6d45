"""scripts/benchmark_data_scale.py on tiny sizes: its files load in both formats and every row has the keys the
scale issue asks for."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_rows_for_both_formats(tmp_path):
    spec = importlib.util.spec_from_file_location("benchmark_data_scale", ROOT / "scripts" / "benchmark_data_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--sizes", "2000,4000", "--output", str(tmp_path / "scale.json")])
    rows = json.loads((tmp_path / "scale.json").read_text())["rows"]
    assert [(r["format"], r["events"]) for r in rows] == [
        ("movielens-20m-csv", 2000), ("movielens-20m-csv", 4000), ("taobao-csv", 2000), ("taobao-csv", 4000)]
    for row in rows:
        assert {"load_seconds", "peak_rss_bytes", "bytes_per_event", "split_seconds", "feature_map_seconds"} <= set(row)
        assert row["peak_rss_bytes"] > 0 and row["load_seconds"] > 0
