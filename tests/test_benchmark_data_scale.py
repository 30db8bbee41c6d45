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


def test_layouts_order_rows_as_named(tmp_path):
    """`released`: grouped by user (MovieLens-20M by user then movie, Taobao by user then time), as the published
    files; `interleaved`: the whole file in time order. Both hold the same events."""
    spec = importlib.util.spec_from_file_location("benchmark_data_scale", ROOT / "scripts" / "benchmark_data_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    layouts = {  # file, header lines, (user, item, time) columns, the released order's second key
        "movielens-20m-csv": ("ratings.csv", 1, (0, 1, 3), 1),
        "taobao-csv": ("UserBehavior.csv", 0, (0, 1, 4), 2),
    }
    for fmt, (name, header, columns, second) in layouts.items():
        events = {}
        for layout in module.LAYOUTS:
            folder = tmp_path / f"{fmt}-{layout}"
            folder.mkdir()
            module.write_files(fmt, 3000, folder, layout=layout)
            lines = (folder / name).read_text().splitlines()[header:]
            events[layout] = [tuple(int(line.split(",")[c]) for c in columns) for line in lines]  # (user, item, time)
        released, interleaved = events["released"], events["interleaved"]
        assert [(e[0], e[second]) for e in released] == sorted((e[0], e[second]) for e in released)
        assert [e[2] for e in interleaved] == sorted(e[2] for e in interleaved)
        assert len({e[0] for e in interleaved[:50]}) > 10  # users mixed
        assert sorted(released) == sorted(interleaved)
