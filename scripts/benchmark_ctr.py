"""CTR benchmark: din, bst, srp4ctr_scratch, srp4ctr_sasrec, srp4ctr_bert, srp4ctr_fgbert and din_qformer on the
same splits and negatives, trained in-process, selected on validation AUC, evaluated once on test (AUC, GAUC,
LogLoss, 95% bootstrap CI of the AUC over test users, paired bootstrap differences between every two models).

    python scripts/benchmark_ctr.py --data_dir ../shared/data --datasets movielens-100k,taobao,amazon-beauty \
        --output results/ctr_benchmark.json --seeds 0,1,2 --plot results/ctr_benchmark.png     # full run
    python scripts/benchmark_ctr.py --data_dir ../shared/data --output /tmp/ctr_quick.json --quick   # < 10 min, 1 seed
    python scripts/benchmark_ctr.py --datasets synthetic --output /tmp/ctr_synthetic.json --quick    # no data needed
    accelerate launch --config_file scripts/configs/cpu_single.yaml scripts/benchmark_ctr.py --datasets synthetic \
        --output /tmp/ctr_synthetic.json --quick
    python scripts/benchmark_ctr.py config.yaml                                                      # YAML keys
    python scripts/benchmark_ctr.py --merge a.json,b.json --output all.json --plot all.png     # union of two runs
        # (disjoint datasets, or seeds / models of a dataset run in other processes or sessions: pooled by run)
    python scripts/benchmark_ctr.py --data_dir ../shared/data --quick --workers 2 --output q.json  # 2 processes
    python scripts/benchmark_ctr.py --data_dir ../shared/data --datasets amazon-beauty --ablation loss_weights \
        --output results/ctr_ablation_loss_weights.json       # a named grid (ctr_ablation.ABLATIONS), on validation

Settings: `recexplain.training.ctr_benchmark.QUICK` / `FULL` (every value is written to the JSON); single fields
can be overridden, e.g. `--pretrain_steps 1000`. The JSON is rewritten after every model, so a long run can be
inspected while it runs. One process: the benchmark is not data-parallel (launch the training scripts for that).
"""
import dataclasses
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import datasets
import torch
import transformers
from tqdm.auto import tqdm
from transformers import HfArgumentParser

from recexplain.training.cli import comma_list, parse_dataclasses
from recexplain.training.ctr_benchmark import (
    BENCHMARK_MODELS,
    FULL,
    QUICK,
    count_jobs,
    merge_benchmark_results,
    run_benchmark,
)
from recexplain.training.ctr_ablation import ABLATIONS, ablation_table, run_ablation
from recexplain.training.ctr_plots import ctr_paired_table, plot_ctr_benchmark

logger = logging.getLogger("benchmark_ctr")


@dataclass
class BenchmarkArguments:
    """What to run and where to write it; `None` overrides keep the QUICK/FULL preset value."""

    output: str = field(metadata={"help": "result JSON"})
    datasets: str = field(default="movielens-100k,taobao,amazon-beauty", metadata={"help": "comma-separated; or synthetic"})
    data_dir: Optional[str] = field(default=None, metadata={"help": "shared data root (not needed for synthetic)"})
    seeds: Optional[str] = field(default=None, metadata={"help": "comma-separated (default: 0 with --quick, else 0,1,2)"})
    quick: bool = field(default=False, metadata={"help": "small epochs, one seed, capped train targets per user"})
    models: str = field(default=",".join(BENCHMARK_MODELS), metadata={"help": "comma-separated subset"})
    torch_threads: int = field(
        default=1, metadata={"help": "torch intra-op threads (1 is fastest on a busy 2-core machine; 0 = torch default)"}
    )
    plot: Optional[str] = field(default=None, metadata={"help": "also write a PNG bar plot of AUC by model"})
    workers: int = field(
        default=1, metadata={"help": "run the datasets in this many processes side by side (one thread each; parts "
                                     "and logs next to --output) and merge them; 2 on a 2-core machine"}
    )
    ablation: Optional[str] = field(
        default=None, metadata={"help": f"run a named grid instead ({', '.join(ABLATIONS)}; its own models; compared "
                                        "on validation AUC): one JSON with every variant, parts next to it"}
    )
    variants: Optional[str] = field(
        default=None, metadata={"help": "with --ablation: comma-separated subset of the grid's variants (default: all)"}
    )
    merge: Optional[str] = field(
        default=None, metadata={"help": "comma-separated result JSONs of runs over disjoint (dataset, seed, model) "
                                        "cells (e.g. started side by side, or seeds run in other sessions): write "
                                        "their union (pooled per dataset) to --output (and --plot) instead of running"}
    )
    pretrain_steps: Optional[int] = field(
        default=None, metadata={"help": "override: pre-training steps (a fixed budget instead of --pretrain_epochs)"}
    )
    pretrain_epochs: Optional[float] = field(default=None, metadata={"help": "override: pre-training epochs (FULL)"})
    attr_loss: Optional[str] = field(default=None, metadata={"help": "override: FG-BERT attribute loss (bce or softmax)"})
    item_mask_prob: Optional[float] = field(default=None, metadata={"help": "override: pre-training item mask rate"})
    ctr_epochs: Optional[int] = field(default=None, metadata={"help": "override: CTR epochs"})
    ctr_max_steps: Optional[int] = field(default=None, metadata={"help": "override: CTR step budget (0 = use epochs)"})
    max_train_targets_per_user: Optional[int] = field(default=None, metadata={"help": "override: train targets per user"})
    num_eval_negatives: Optional[int] = field(default=None, metadata={"help": "override: negatives per test positive"})
    max_test_users: Optional[int] = field(default=None, metadata={"help": "override: test on a seeded subset of users"})
    freeze_encoder: Optional[bool] = field(default=None, metadata={"help": "override: freeze pre-trained encoders"})
    n_bootstrap: Optional[int] = field(default=None, metadata={"help": "override: bootstrap replicates"})


def run(args, argv):
    """Train and evaluate every (dataset, seed, model) with a progress bar (with `--ablation`, every variant of
    the grid); returns the result dict."""
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    settings = QUICK if args.quick else FULL
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(settings)
                 if hasattr(args, f.name) and getattr(args, f.name) is not None}
    settings = dataclasses.replace(settings, **overrides)
    seeds = [int(s) for s in comma_list(args.seeds)] if args.seeds else ([0] if args.quick else [0, 1, 2])
    names, models = comma_list(args.datasets), comma_list(args.models)
    header = {"command": "python scripts/benchmark_ctr.py " + shlex.join(argv), "quick": args.quick,
              "torch_threads": torch.get_num_threads(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if args.ablation:
        if args.ablation not in ABLATIONS:
            raise ValueError(f"--ablation: unknown grid {args.ablation!r}; known: {sorted(ABLATIONS)}")
        models, variants = ABLATIONS[args.ablation]
        if args.variants:
            unknown = [v for v in comma_list(args.variants) if v not in variants]
            if unknown:
                raise ValueError(f"--variants: {unknown} not in the {args.ablation!r} grid {sorted(variants)}")
            variants = {v: variants[v] for v in comma_list(args.variants)}
        total = len(variants) * count_jobs(names, seeds, models)
        with tqdm(total=total, desc=f"CTR ablation {args.ablation}", unit="job") as bar:
            return run_ablation(args.ablation, names, args.data_dir, seeds, settings, args.output,
                                progress=lambda description: (bar.update(1), bar.set_description(description)),
                                header=header, grid=(models, variants))

    with tqdm(total=count_jobs(names, seeds, models), desc="CTR benchmark", unit="job") as bar:
        last = {"desc": None}

        def step(description):  # a job starts: the previous one is done
            if last["desc"] is not None:
                bar.update(1)
            last["desc"] = description
            bar.set_description(description)

        result = run_benchmark(names, args.data_dir, seeds, settings, args.output, models=models, progress=step,
                               header=header)
        bar.update(1)
    return result


def _without(argv, flags):
    """`argv` without the given `--flag value` / `--flag=value` pairs."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in flags:
            skip = True
        elif arg.split("=", 1)[0] not in flags:
            out.append(arg)
    return out


def _write(result, output):
    """Write `result` as JSON to `output`; returns it."""
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def run_side_by_side(args, argv):
    """One child process per dataset, `args.workers` at a time; returns the merged result."""
    if len(argv) == 1 and argv[0].endswith((".yaml", ".yml", ".json")):
        raise ValueError("--workers needs command-line flags, not a config file")
    names, output = comma_list(args.datasets), Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)  # the parts and logs go next to it
    base = [sys.executable, __file__, *_without(argv, ("--datasets", "--output", "--workers", "--plot")), "--workers", "1"]
    started = time.perf_counter()
    pending = [(name, output.with_name(f"{output.stem}.{name}.json")) for name in names]
    parts, running = [part for _, part in pending], []
    with tqdm(total=len(names), desc=f"CTR benchmark, {args.workers} processes", unit="dataset") as bar:
        while pending or running:
            while pending and len(running) < args.workers:
                name, part = pending.pop(0)
                log = part.with_suffix(".log")
                logger.info("%s: started, log %s", name, log)
                with open(log, "w", encoding="utf-8") as handle:
                    running.append((name, log, subprocess.Popen(
                        [*base, "--datasets", name, "--output", str(part)], stdout=handle, stderr=subprocess.STDOUT,
                        env={**os.environ, "OMP_NUM_THREADS": "1"})))
            time.sleep(1)
            for entry in [e for e in running if e[2].poll() is not None]:
                running.remove(entry)
                name, log, process = entry
                if process.returncode:
                    for _, _, other in running:
                        other.terminate()
                    raise RuntimeError(f"the {name} benchmark failed (exit {process.returncode}); see {log}")
                bar.update(1)
    result = merge_benchmark_results([json.loads(part.read_text(encoding="utf-8")) for part in parts])
    result["total_seconds"] = round(time.perf_counter() - started, 1)  # the wall time of the whole run
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    (args,) = parse_dataclasses(HfArgumentParser(BenchmarkArguments), argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    logging.getLogger("recexplain.data").setLevel(logging.WARNING)

    names = comma_list(args.datasets)
    if len(set(names)) != len(names):
        raise ValueError(f"--datasets names a dataset twice: {args.datasets}")
    if args.ablation:
        result = run(args, argv)
        print(ablation_table(result))
        logger.info("wrote %s (%.0f s)", args.output, result["total_seconds"])
        return
    if args.merge:
        parts = [json.loads(Path(p).read_text(encoding="utf-8")) for p in comma_list(args.merge)]
        result = _write(merge_benchmark_results(parts), args.output)
    elif args.workers > 1 and len(names) > 1:
        result = _write(run_side_by_side(args, argv), args.output)
    else:
        result = run(args, argv)  # run_benchmark writes --output after every model

    for name, entry in result["datasets"].items():
        logger.info("%s (%d users, %d items, %d test rows, %s):", name, entry["n_users"], entry["n_items"],
                    entry["n_test"], entry["label_mode"])
        for model, m in entry["models"].items():
            logger.info("  %-16s AUC %.4f ± %.4f [%.4f, %.4f]  GAUC %s  LogLoss %.4f  %.0f s", model, m["auc"],
                        m["auc_std"], *m["auc_ci"], "-" if m["gauc"] is None else f"{m['gauc']:.4f}", m["logloss"],
                        m["train_seconds"])
    print(ctr_paired_table(result))
    logger.info("wrote %s (%.0f s)", args.output, result["total_seconds"])
    if args.plot:
        logger.info("plot: %s", plot_ctr_benchmark(args.output, args.plot))


if __name__ == "__main__":
    main()
