"""Training curves of an MMI PPO run: reward, KL to the reference and alignment (PNG, matplotlib Agg)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Union


def plot_training_curves(log_history: Sequence[Dict], alignment_history: Sequence[Dict],
                         path: Union[str, Path], title: str = "MMI PPO") -> Path:
    """Three panels over PPO updates: mean MI reward (`objective/scores`), KL (`objective/kl`), and the judged
    rating alignment (Spearman, 5-class accuracy next to a constant sentence's) and FMR of greedy explanations
    for held-out prompts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(key: str) -> tuple:
        rows = [(i + 1, r[key]) for i, r in enumerate(r for r in log_history if "objective/scores" in r) if key in r]
        return tuple(zip(*rows)) if rows else ((), ())

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key, label in ((axes[0], "objective/scores", "MI reward (nats)"), (axes[1], "objective/kl", "KL(policy || ref)")):
        x, y = series(key)
        ax.plot(x, y, marker=".")
        ax.set_xlabel("PPO update")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    steps: List[int] = [r["step"] for r in alignment_history]
    for key, label in (("rating_alignment_spearman", "alignment (Spearman)"),
                       ("rating_alignment_acc", "alignment (5-class acc.)"),
                       ("constant_sentence_acc", "constant sentence acc."), ("fmr", "FMR")):
        axes[2].plot(steps, [r[key] for r in alignment_history], marker="o", label=label)
    axes[2].set_xlabel("PPO update")
    axes[2].set_title("held-out alignment (judge) / FMR")
    axes[2].set_ylim(min([0.0, *(r["rating_alignment_spearman"] for r in alignment_history)]) - 0.05, 1.05)
    axes[2].legend(fontsize=8)
    axes[2].grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_alignment_before_after(scores: Dict[str, Dict], path: Union[str, Path],
                                keys: Sequence[str] = ("rating_alignment_spearman", "rating_alignment_acc",
                                                       "constant_sentence_acc", "mi_rating_normalized", "fmr"),
                                title: str = "Explanations before / after MMI (test split)") -> Path:
    """Grouped bars: one group per metric in `keys`, one bar per model of `scores` (name -> `evaluate_explainer`
    output), e.g. `{"explainer": ..., "explainer-mmi": ...}`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.6 + 2.2 * len(keys), 3.6))
    width = 0.8 / max(1, len(scores))
    for i, (name, row) in enumerate(scores.items()):
        xs = [k + (i - (len(scores) - 1) / 2) * width for k in range(len(keys))]
        bars = ax.bar(xs, [row[k] for k in keys], width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(range(len(keys)), keys, fontsize=8)
    ax.set_ylim(min([0.0, *(row[k] for row in scores.values() for k in keys)]) - 0.05, 1.05)  # Spearman may be < 0
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
