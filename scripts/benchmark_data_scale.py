"""How loading grows with the data: deterministic synthetic files in the exact MovieLens-20M (`ratings.csv` +
`movies.csv`) and Taobao (`UserBehavior.csv`) formats, loaded, split and mapped at each size.

    python scripts/benchmark_data_scale.py --output results/data_scale.json [--sizes 1000000,5000000,20000000]

Each (format, size) runs in a fresh process, so `peak_rss_bytes` (resource's ru_maxrss) is that run's own; rows
give `load_seconds` (file -> per-user sequences), `split_seconds` (leave-one-out splits), `feature_map_seconds`,
`peak_rss_bytes` and `bytes_per_event` (peak RSS / events), and the time per event relative to the smallest size.
Not measured yet (issue 12): streamed pre-training throughput and its ratio to the GEMM peak.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FORMATS = ("movielens-20m-csv", "taobao-csv")


def write_files(fmt: str, events: int, folder: Path, seed: int = 0) -> None:
    """Synthetic events (users and items ~ events / 100, time-ordered per file) in `fmt`'s exact file layout."""
    rng = np.random.default_rng(seed)
    users, items = max(events // 100, 10), max(events // 100, 10)
    u, i = rng.integers(1, users + 1, events), rng.integers(1, items + 1, events)
    t = np.sort(rng.integers(789_652_009, 1_427_784_002, events))
    chunk = 1_000_000
    if fmt == "movielens-20m-csv":
        r = rng.integers(1, 11, events) / 2
        with open(folder / "ratings.csv", "w") as f:
            f.write("userId,movieId,rating,timestamp\n")
            for s in range(0, events, chunk):
                f.write("".join(f"{a},{b},{c:.1f},{d}\n" for a, b, c, d in
                                zip(u[s:s + chunk], i[s:s + chunk], r[s:s + chunk], t[s:s + chunk])))
        genres = ["Action", "Comedy", "Drama", "Thriller", "Romance", "Sci-Fi"]
        with open(folder / "movies.csv", "w") as f:
            f.write("movieId,title,genres\n")
            f.write("".join(f'{k},"Movie {k}, The ({1930 + k % 85})",{genres[k % 6]}|{genres[(k // 6) % 6]}\n'
                            for k in range(1, items + 1)))
    else:
        behaviors = np.array(["pv", "cart", "fav", "buy"])[rng.choice(4, events, p=[0.89, 0.05, 0.03, 0.03])]
        with open(folder / "UserBehavior.csv", "w") as f:
            for s in range(0, events, chunk):
                f.write("".join(f"{a},{b},{b % 5000},{c},{d}\n" for a, b, c, d in
                                zip(u[s:s + chunk], i[s:s + chunk], behaviors[s:s + chunk], t[s:s + chunk])))


def measure(fmt: str, folder: Path) -> dict:
    """Load, split and map the files in `folder` (in this process)."""
    import pyarrow.compute as pc

    from recexplain.data import FeatureMap, load_movielens, load_taobao, split_sequences

    started = time.perf_counter()
    data = load_movielens(folder) if fmt == "movielens-20m-csv" else load_taobao(folder)
    loaded = time.perf_counter()
    splits = split_sequences(data.sequences)
    split = time.perf_counter()
    FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=50, dataset_name=data.name)
    mapped = time.perf_counter()
    events = pc.sum(pc.list_value_length(data.sequences.with_format("arrow")[:]["item_id"])).as_py()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"format": fmt, "events": events, "load_seconds": loaded - started, "split_seconds": split - loaded,
            "feature_map_seconds": mapped - split, "peak_rss_bytes": rss, "bytes_per_event": rss / events}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="results/data_scale.json")
    parser.add_argument("--sizes", default="1000000,5000000,20000000")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--measure", nargs=2, metavar=("FORMAT", "FOLDER"), help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return None
    rows = []
    for fmt in args.formats.split(","):
        for events in [int(s) for s in args.sizes.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                write_files(fmt, events, Path(tmp))
                out = subprocess.run([sys.executable, __file__, "--measure", fmt, tmp], check=True,
                                     capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            smallest = next((r for r in rows if r["format"] == fmt), row)
            total = lambda r: r["load_seconds"] + r["split_seconds"] + r["feature_map_seconds"]  # noqa: E731
            row["seconds_per_event_vs_smallest"] = (total(row) / row["events"]) / (total(smallest) / smallest["events"])
            rows.append(row)
            print(f"{fmt:18s} {row['events']:>10,d} events: load {row['load_seconds']:6.1f} s, split "
                  f"{row['split_seconds']:6.1f} s, feature map {row['feature_map_seconds']:6.1f} s, peak RSS "
                  f"{row['peak_rss_bytes'] / 2**30:5.2f} GiB ({row['bytes_per_event']:.0f} B/event), time per event "
                  f"x{row['seconds_per_event_vs_smallest']:.2f} of the smallest", flush=True)
    report = {"command": " ".join(["python", *sys.argv]), "rows": rows,
              "not_measured": "streamed pre-training throughput, gemm_peak_flops, pretrain_flops_ratio (issue 12)"}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
