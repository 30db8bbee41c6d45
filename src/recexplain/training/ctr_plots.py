"""Bar plot of a CTR benchmark JSON (`scripts/benchmark_ctr.py --output`): test AUC by model, one panel per
dataset, error bars = the 95% bootstrap CI over test users.

    from recexplain.training.ctr_plots import ctr_benchmark_table, plot_ctr_benchmark
    plot_ctr_benchmark("results/ctr_benchmark.json", "ctr_benchmark.png")
    print(ctr_benchmark_table("results/ctr_benchmark.json"))          # markdown
    print(ctr_paired_table("results/ctr_benchmark.json"))             # paired differences with their CIs
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Union


def plot_ctr_benchmark(results: Union[dict, str, Path], output: Union[str, Path], title: str = None) -> Path:
    """Write a PNG with one AUC bar chart per dataset of `results` (a benchmark dict or its JSON path)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not isinstance(results, dict):
        results = json.loads(Path(results).read_text(encoding="utf-8"))
    datasets = {k: v for k, v in results["datasets"].items() if v.get("models")}
    if not datasets:
        raise ValueError("the benchmark results hold no model scores to plot")
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.8), squeeze=False)
    for ax, (name, entry) in zip(axes[0], datasets.items()):
        models = list(entry["models"])
        aucs = [entry["models"][m]["auc"] for m in models]
        lows = [a - entry["models"][m]["auc_ci"][0] for a, m in zip(aucs, models)]
        highs = [entry["models"][m]["auc_ci"][1] - a for a, m in zip(aucs, models)]
        colors = ["tab:orange" if m.startswith(("srp4ctr", "din_qformer")) else "tab:gray" for m in models]
        ax.bar(range(len(models)), aucs, yerr=[lows, highs], capsize=3, color=colors)
        runs = [len(entry["models"][m].get("runs", [])) for m in models]  # fewer than the seeds: pooled from parts
        labels = [m if not n or n >= len(results.get("seeds", [])) else f"{m} ({n} seed{'s' * (n > 1)})"
                  for m, n in zip(models, runs)]
        ax.set_xticks(range(len(models)), labels, rotation=40, ha="right", fontsize=8)
        bottom = min(a - lo for a, lo in zip(aucs, lows))
        ax.set_ylim(max(0.0, bottom - 0.05), min(1.0, max(a + h for a, h in zip(aucs, highs)) + 0.02))
        ax.set_title(f"{name} ({entry['n_test']} test rows)", fontsize=9)
        ax.set_ylabel("test AUC (95% CI)")
        for i, a in enumerate(aucs):
            ax.text(i, a, f"{a:.3f}", ha="center", va="bottom", fontsize=7)
    seeds = results.get("seeds", [])
    fig.suptitle(title or f"CTR benchmark, seeds {seeds}" + (" (quick)" if results.get("quick") else ""), fontsize=10)
    fig.tight_layout()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return output


def ctr_benchmark_table(results: Union[dict, str, Path]) -> str:
    """Markdown table of a benchmark JSON: one row per (dataset, model), AUC ± std over seeds, 95% CI, GAUC,
    LogLoss, training seconds."""
    if not isinstance(results, dict):
        results = json.loads(Path(results).read_text(encoding="utf-8"))
    lines = ["| dataset | model | AUC | ± std (seeds) | 95% CI (test users) | GAUC | LogLoss | train s |",
             "|---|---|---|---|---|---|---|---|"]
    for name, entry in results["datasets"].items():
        for model, m in entry.get("models", {}).items():
            gauc = "-" if m.get("gauc") is None else f"{m['gauc']:.4f}"
            lines.append(f"| {name} | {model} | {m['auc']:.4f} | {m['auc_std']:.4f} | "
                         f"{m['auc_ci'][0]:.4f}-{m['auc_ci'][1]:.4f} | {gauc} | {m['logloss']:.4f} | "
                         f"{m['train_seconds']:.0f} |")
    return "\n".join(lines)


def ctr_paired_table(results: Union[dict, str, Path], pairs=None) -> str:
    """Markdown table of a benchmark JSON's paired differences (`ctr_benchmark.paired_differences`): one row per
    (dataset, pair), the mean AUC difference over seeds, its 95% paired-bootstrap CI over test users, whether the
    CI excludes 0, and each seed's difference (* where that seed's CI excludes 0). `pairs`: the pair names to
    show (default: all)."""
    if not isinstance(results, dict):
        results = json.loads(Path(results).read_text(encoding="utf-8"))
    lines = ["| dataset | difference | AUC diff. (mean over seeds) | 95% CI | significant | per seed |",
             "|---|---|---|---|---|---|"]
    for name, entry in results["datasets"].items():
        for pair, d in entry.get("paired", {}).items():
            if pairs is not None and pair not in pairs:
                continue
            seeds = ", ".join(f"{r['diff']:+.4f}" + ("*" if r["ci_low"] > 0 or r["ci_high"] < 0 else "")
                              for r in d["per_seed"])
            lines.append(f"| {name} | {pair} | {d['mean']:+.4f} | {d['ci_low']:+.4f} to {d['ci_high']:+.4f} | "
                         f"{'yes' if d['significant'] else 'no'} | {seeds} |")
    return "\n".join(lines)
