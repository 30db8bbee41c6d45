"""How loading grows with the data: deterministic synthetic files in the exact MovieLens-20M (`ratings.csv` +
`movies.csv`) and Taobao (`UserBehavior.csv`) formats, loaded, split, mapped and pre-trained on at each size.

    python scripts/benchmark_data_scale.py --output results/data_scale.json [--sizes 1000000,5000000,20000000]
        [--layout released|interleaved]

`--layout released` (default) orders the rows as the published files do (grouped by user); `interleaved` mixes
all users in time order, the worst case for the loader's sort by user and time.

Each (format, size) runs in a fresh process, so `peak_rss_bytes` (resource's ru_maxrss) is that run's own; rows
give `load_seconds` (file -> per-user sequences), `split_seconds` (leave-one-out splits), `feature_map_seconds`,
`peak_rss_bytes` and `bytes_per_event` (peak RSS / events, up to the feature map; of the first load), the time
per event relative to the smallest size (each step's time is the best of `--repeats` loads in that process; the
share of CPU time the hypervisor took during the run is reported as `cpu_steal_share`, and the first load's kernel
and user CPU seconds as `first_load_system_seconds` / `first_load_user_seconds`: on a VM, first-touching fresh
memory can cost more than the work), `peak_rss_with_pretraining_bytes` (the peak after the pre-training steps below) and
`pretrain_sequences_per_second`: SRP4CTR pre-training steps (hidden 64, batch 128, sequence
length 50, sampled softmax over the catalogue) fed from the windowed examples (`WindowedExamples`) through a
DataLoader, timed end to end. `pretrain_flops_ratio` (on the first format's smallest size, in one process) relates
the training step's FLOP/s (counted by torch's FlopCounterMode) to the fp32 matrix-multiply peak measured right
before it with the same thread count (`gemm_peak_flops`, 2048 x 2048 `torch.mm`), at hidden 64 and 256, 1 and 2
threads.
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


LAYOUTS = ("released", "interleaved")


def write_files(fmt: str, events: int, folder: Path, seed: int = 0, layout: str = "released") -> None:
    """Synthetic events (users and items ~ events / 100) in `fmt`'s exact file format. Row order `layout`:
    "released" as the published files (grouped by user; MovieLens-20M's `ratings.csv` by user then movie id, Taobao's
    `UserBehavior.csv` by user then time), "interleaved" the whole file in time order (users mixed: the loader's
    sort does all the work)."""
    rng = np.random.default_rng(seed)
    users, items = max(events // 100, 10), max(events // 100, 10)
    u, i = rng.integers(1, users + 1, events), rng.integers(1, items + 1, events)
    t = np.sort(rng.integers(789_652_009, 1_427_784_002, events))
    if layout == "released":
        order = np.lexsort((i, u) if fmt == "movielens-20m-csv" else (t, u))
        u, i, t = u[order], i[order], t[order]
    elif layout != "interleaved":
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
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


SEQUENCE_LENGTH, BATCH_SIZE, TIMED_STEPS = 50, 128, 8
FLOPS_SETTINGS = [(hidden, threads) for hidden in (64, 256) for threads in (1, 2)]


def cpu_steal():
    """(steal, total) jiffies of all CPUs from /proc/stat (Linux), or None: how much of the machine a noisy
    neighbour took while the benchmark ran."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    return (fields[7], sum(fields)) if len(fields) > 7 else None


def gemm_peak_flops(n: int = 2048, repeats: int = 10) -> float:
    """fp32 FLOP/s of `torch.mm` on n x n matrices (best of `repeats`) with the current thread count."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best


def pretrain_throughput(train, feature_map, hidden: int, steps: int = TIMED_STEPS) -> dict:
    """Sequences/s and FLOP/s of SRP4CTR pre-training steps on windows of `train`, streamed through a DataLoader."""
    import torch
    from torch.utils.data import DataLoader
    from torch.utils.flop_counter import FlopCounterMode

    from recexplain.data import PretrainingCollator, build_pretraining_examples
    from recexplain.training.ctr import PretrainingModelArguments, build_pretraining_model

    torch.manual_seed(0)
    rows = build_pretraining_examples(train, feature_map)
    model = build_pretraining_model(PretrainingModelArguments(
        hidden_size=hidden, intermediate_size=4 * hidden, item_loss="sampled_softmax"), feature_map)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(rows, batch_size=BATCH_SIZE, shuffle=True, collate_fn=PretrainingCollator(feature_map, seed=0),
                        generator=torch.Generator().manual_seed(0))

    def step(batch):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    batches = (batch for _ in range(steps + 1) for batch in loader)  # epochs over the windows as long as needed
    step(next(batches))  # warm-up
    started, timed = time.perf_counter(), []
    for _ in range(steps):
        batch = next(batches)
        step(batch)
        timed.append(batch)
    seconds = time.perf_counter() - started
    with FlopCounterMode(display=False) as counter:
        for batch in timed:
            step(batch)
    return {"sequences_per_second": steps * BATCH_SIZE / seconds, "flops_per_second": counter.get_total_flops() / seconds}


def load_split_map(fmt: str, folder: Path):
    """(data, splits, feature map, `{load,split,feature_map}_seconds`) of the files in `folder`."""
    from recexplain.data import FeatureMap, load_movielens, load_taobao, split_sequences

    started = time.perf_counter()
    data = load_movielens(folder) if fmt == "movielens-20m-csv" else load_taobao(folder)
    loaded = time.perf_counter()
    splits = split_sequences(data.sequences)
    split = time.perf_counter()
    fm = FeatureMap.build(splits["train"], data.item_attributes, max_seq_len=SEQUENCE_LENGTH, dataset_name=data.name)
    mapped = time.perf_counter()
    seconds = {"load_seconds": loaded - started, "split_seconds": split - loaded, "feature_map_seconds": mapped - split}
    return data, splits, fm, seconds


def measure(fmt: str, folder: Path, flops: bool = False, repeats: int = 1) -> dict:
    """Load, split, map and pre-train on the files in `folder` (in this process). Peak RSS is that of the first
    load; each step's time is the best of `repeats` loads (the shared machine's noise only ever adds time)."""
    import pyarrow.compute as pc
    import torch

    before = resource.getrusage(resource.RUSAGE_SELF)
    data, splits, fm, seconds = load_split_map(fmt, folder)
    after = resource.getrusage(resource.RUSAGE_SELF)
    rss = after.ru_maxrss * 1024
    kernel = {"first_load_system_seconds": after.ru_stime - before.ru_stime,  # page faults of fresh memory, mostly
              "first_load_user_seconds": after.ru_utime - before.ru_utime}
    events = pc.sum(pc.list_value_length(data.sequences.with_format("arrow")[:]["item_id"])).as_py()
    for _ in range(repeats - 1):
        del data, splits, fm
        data, splits, fm, again = load_split_map(fmt, folder)
        seconds = {k: min(v, again[k]) for k, v in seconds.items()}
    row = {"format": fmt, "events": events, **seconds, "repeats": repeats, **kernel}
    row.update(peak_rss_bytes=rss, bytes_per_event=rss / events)
    row["pretrain_sequences_per_second"] = pretrain_throughput(splits["train"], fm, 64)["sequences_per_second"]
    row["peak_rss_with_pretraining_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if flops:
        row["flops"] = []
        for hidden, threads in FLOPS_SETTINGS:
            torch.set_num_threads(threads)
            peak = gemm_peak_flops()
            measured = pretrain_throughput(splits["train"], fm, hidden)
            row["flops"].append({"hidden_size": hidden, "threads": threads, "gemm_peak_flops": peak,
                                 "pretrain_flops_per_second": measured["flops_per_second"],
                                 "pretrain_flops_ratio": measured["flops_per_second"] / peak})
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="results/data_scale.json")
    parser.add_argument("--sizes", default="1000000,5000000,20000000")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--repeats", type=int, default=3, help="loads per size; each step's time is the best")
    parser.add_argument("--layout", default="released", choices=LAYOUTS,
                        help="row order of the synthetic files: grouped by user as released, or all users interleaved")
    parser.add_argument("--measure", nargs=3, metavar=("FORMAT", "FOLDER", "FLOPS"), help=argparse.SUPPRESS)  # child
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), args.measure[2] == "flops", args.repeats)))
        return None
    rows, flops, steal_before = [], None, cpu_steal()
    for fmt in args.formats.split(","):
        for events in [int(s) for s in args.sizes.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                write_files(fmt, events, Path(tmp), layout=args.layout)
                out = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--measure", fmt, tmp,
                                      "no" if flops is not None else "flops"], check=True,
                                     capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            if flops is None:
                flops = row.pop("flops")
                for f in flops:
                    print(f"pre-training, hidden {f['hidden_size']:3d}, {f['threads']} thread(s): "
                          f"{f['pretrain_flops_per_second'] / 1e9:5.1f} GFLOP/s = {f['pretrain_flops_ratio']:.2f} of the "
                          f"matrix-multiply peak ({f['gemm_peak_flops'] / 1e9:.1f} GFLOP/s)", flush=True)
            smallest = next((r for r in rows if r["format"] == fmt), row)
            total = lambda r: r["load_seconds"] + r["split_seconds"] + r["feature_map_seconds"]  # noqa: E731
            row["seconds_per_event_vs_smallest"] = (total(row) / row["events"]) / (total(smallest) / smallest["events"])
            rows.append(row)
            print(f"{fmt:18s} {row['events']:>10,d} events: load {row['load_seconds']:6.1f} s, split "
                  f"{row['split_seconds']:6.1f} s, feature map {row['feature_map_seconds']:6.1f} s, peak RSS "
                  f"{row['peak_rss_bytes'] / 2**30:5.2f} GiB ({row['bytes_per_event']:.0f} B/event; first load's kernel "
                  f"time {row['first_load_system_seconds']:.1f} s), time per event "
                  f"x{row['seconds_per_event_vs_smallest']:.2f} of the smallest, pre-training "
                  f"{row['pretrain_sequences_per_second']:.0f} sequences/s", flush=True)
    steal = cpu_steal()
    steal_share = (steal[0] - steal_before[0]) / max(steal[1] - steal_before[1], 1) if steal and steal_before else None
    if steal_share is not None:
        print(f"CPU time stolen by the hypervisor during the run: {steal_share:.0%}")
    report = {"command": " ".join(["python", *sys.argv]), "layout": args.layout, "cpu_steal_share": steal_share, "rows": rows, "flops_measured_on": rows[0]["format"],
              "flops": flops,
              "gemm_peak_flops": {f"hidden{f['hidden_size']}_threads{f['threads']}": f["gemm_peak_flops"] for f in flops},
              "pretrain_flops_ratio": {f"hidden{f['hidden_size']}_threads{f['threads']}": f["pretrain_flops_ratio"]
                                       for f in flops}}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
