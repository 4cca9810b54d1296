"""PNG figures of the ConSeq steps (matplotlib, Agg backend): the loss log, the selection's score
distributions with their thresholds, and the per-document differences of a system comparison."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # before pyplot: headless servers and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import atomic_open  # noqa: E402


def _save(fig, path) -> None:
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)


def loss_plot(rows: list[dict], path) -> None:
    """Loss per target token against the update: total, positive (LS-NLL) and negative (LS-unlikelihood)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    x = [r["update"] for r in rows]
    for key, label in (("loss", "total"), ("positive_loss", "positives (LS-NLL)"),
                       ("negative_loss", "negatives (LS-unlikelihood)")):
        ax.plot(x, [r[key] for r in rows], label=label, lw=1)
    ax.set_xlabel("update")
    ax.set_ylabel("loss per target token (nats)")
    ax.set_title("ConSeq training loss (sums / target tokens of both sides)")
    ax.legend(fontsize=8)
    _save(fig, path)


def selection_plot(negative_scores, target_scores, negative_threshold, target_threshold, score_name: str,
                   n_sentinel: tuple[int, int], path) -> None:
    """Histograms of each document's negative score and reference score, with the selection thresholds."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    panels = (
        (axes[0], negative_scores, negative_threshold, "negatives: lowest sample per document", "kept: <= ", n_sentinel[0]),
        (axes[1], target_scores, target_threshold, "positives: reference per document", "kept: >= ", n_sentinel[1]),
    )
    for ax, values, threshold, title, kept, sentinels in panels:
        values = np.asarray([v for v in values if v is not None and math.isfinite(v)], float)
        if len(values):
            ax.hist(values, bins=min(30, max(5, len(values) // 2)), color="0.6")
        if threshold is not None and math.isfinite(threshold):
            ax.axvline(threshold, color="C3", lw=1.5, label=f"{kept}{threshold:.4g}")
            ax.legend(fontsize=8)
        ax.set_title(title + (f" ({sentinels} sentinel(s) not shown)" if sentinels else ""), fontsize=9)
        ax.set_xlabel(score_name)
        ax.set_ylabel("documents")
    _save(fig, path)


def compare_plot(diffs: dict[str, dict[str, np.ndarray]], intervals: dict[str, dict[str, tuple]], path) -> None:
    """One panel per metric: each system pair's per-document differences, with the mean and its interval."""
    metrics = list(diffs)
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.9 * nrows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for i, (pair, d) in enumerate(diffs[metric].items()):
            jitter = np.linspace(-0.15, 0.15, len(d)) if len(d) > 1 else np.zeros(len(d))
            ax.scatter(i + jitter, d, s=8, color="0.6")
            mean, low, high = intervals[metric][pair]
            ax.errorbar([i], [mean], yerr=[[mean - low], [high - mean]], fmt="o", color="C3", capsize=4)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(diffs[metric])))
        ax.set_xticklabels(list(diffs[metric]), fontsize=7)
        ax.set_title(metric, fontsize=9)
        ax.set_ylabel("per-document difference")
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    _save(fig, path)
