"""PNG plots of a run's meta-evaluation (matplotlib, Agg backend: no display needed).

- ``scatter_<dataset>_<label>.png``: metric versus human score, one panel per metric, with the global Pearson;
- ``heatmap_<level>_<method>.png``: metrics x (dataset, label) correlations for each headline table;
- ``roc_<dataset>_<label>.png``: ROC curves on the test cut for binary labels with a detection result;
- ``detection_<dataset>_<label>.png``: balanced accuracy and ROC AUC of every metric with their bootstrap intervals.

With grouping (``--by``) the heatmaps have one column per group, the ROC and detection plots one panel per
group side by side, and the scatter plots colour the points by group.
"""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")  # before pyplot: headless servers and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..stats.correlation import LEVEL_TEXT, method_name  # noqa: E402
from ..stats.detection import normalise_cut, roc_curve  # noqa: E402

LABEL_PREFIX = "label:"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"


def scatter(frame, metrics, label, title, path, groups=None):
    """One panel per metric: metric score (x) against the human label (y); coloured by ``groups`` if given."""
    metrics = [m for m in metrics if frame[m].notna().any()]
    if not metrics:
        return None
    ncols = min(4, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False)
    y_all = frame[LABEL_PREFIX + label].to_numpy(float)
    for ax, metric in zip(axes.flat, metrics):
        x = frame[metric].to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(y_all)
        if groups is None:
            ax.scatter(x[ok], y_all[ok], s=6, alpha=0.4)
        else:
            g = np.asarray(groups)
            for value in sorted(set(g[ok])):
                sel = ok & (g == value)
                ax.scatter(x[sel], y_all[sel], s=6, alpha=0.4, label=str(value))
            ax.legend(fontsize=5, markerscale=1.5, loc="best")
        r = np.corrcoef(x[ok], y_all[ok])[0, 1] if ok.sum() > 2 and np.ptp(x[ok]) > 0 and np.ptp(y_all[ok]) > 0 \
            else float("nan")
        ax.set_title(f"{metric} (Pearson {r:.3f}, n={ok.sum()})", fontsize=8)
        ax.set_xlabel(metric, fontsize=7)
        ax.set_ylabel(label, fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def heatmap(columns, metrics, level, method, settings, path):
    """Correlation estimates, metrics (rows) x dataset/label (columns)."""
    names = [c.name for c in columns]
    grid = np.full((len(metrics), len(names)), np.nan)
    for j, col in enumerate(columns):
        for r in col.rows:
            if r["_level"] == level and r["_method"] == method:
                grid[metrics.index(r["metric"]), j] = r["estimate"]
    if np.all(np.isnan(grid)):
        return None
    # Room below for the rotated column names, which grow long with groups ("frank (Factuality) origin=xsum (n=996)").
    label_room = 0.05 * max(len(n) for n in names)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(names), 1.0 + label_room + 0.35 * len(metrics)))
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(metrics)), metrics, fontsize=7)
    ax.set_title(f"{method_name(method, settings.kendall)}, {LEVEL_TEXT[level]}", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _roc_panel(ax, test, metrics, label):
    y_all = test[LABEL_PREFIX + label].to_numpy(float)
    drawn = 0
    for metric in metrics:
        x = test[metric].to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(y_all)
        if ok.sum() < 2 or len(np.unique(y_all[ok])) < 2:
            continue
        fpr, tpr, _ = roc_curve(y_all[ok], x[ok])
        # The colour cycle has 10 entries; a second line style keeps 11+ metrics apart.
        ax.plot(fpr, tpr, lw=1, ls=("-", "--", ":")[drawn // 10 % 3],
                label=f"{metric} (AUC {np.trapezoid(tpr, fpr):.3f})")
        drawn += 1
    ax.plot([0, 1], [0, 1], color="grey", lw=0.5, ls="--")
    ax.set_xlabel("false positive rate (inconsistent predicted consistent)", fontsize=7)
    ax.set_ylabel("true positive rate", fontsize=7)
    if drawn:
        ax.legend(fontsize=6, loc="lower right")
    return drawn


def roc(frame, metrics, label, title, path, parts=None):
    """ROC curves of every metric on the test cut; one panel per ``(group, rows)`` of ``parts`` if given."""
    parts = parts or [(None, frame)]
    fig, axes = plt.subplots(1, len(parts), figsize=(4.5 * len(parts), 4.5), squeeze=False)
    drawn = 0
    for ax, (group, part) in zip(axes.flat, parts):
        test = part[part["split"].map(normalise_cut) == "test"]
        drawn += _roc_panel(ax, test, metrics, label)
        ax.set_title(title if group is None else f"{title}: {group} (n={len(test)})", fontsize=9)
    if not drawn:
        plt.close(fig)
        return None
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def detection_intervals(table, title, path):
    """Balanced accuracy and ROC AUC of every metric with their intervals; one column of panels per group."""
    ok = table[table["note"] == ""]
    if ok.empty:
        return None
    groups = list(dict.fromkeys(ok["group"])) if "group" in ok else [None]
    metrics = list(dict.fromkeys(ok["metric"]))
    fig, axes = plt.subplots(2, len(groups), figsize=(3.2 * len(groups) + 1.5, 0.9 + 0.5 * len(metrics)),
                             squeeze=False, sharey=True)
    for j, group in enumerate(groups):
        part = ok if group is None else ok[ok["group"] == group]
        for i, (value, low, high, name) in enumerate((("test_balanced_accuracy", "bacc_ci_low", "bacc_ci_high",
                                                        "balanced accuracy"),
                                                       ("test_auc", "auc_ci_low", "auc_ci_high", "ROC AUC"))):
            ax = axes[i, j]
            rows = part.set_index("metric").reindex(metrics)
            y = np.arange(len(metrics))
            v = rows[value].to_numpy(float)
            err = np.abs(np.vstack([v - rows[low].to_numpy(float), rows[high].to_numpy(float) - v]))
            ax.errorbar(v, y, xerr=np.nan_to_num(err), fmt="o", ms=3, lw=1, capsize=2)
            ax.axvline(0.5, color="grey", lw=0.5, ls="--")
            ax.set_yticks(y, metrics, fontsize=7)
            ax.set_xlim(0, 1)
            ax.tick_params(axis="x", labelsize=6)
            n = int(part["n_test"].max()) if len(part) else 0
            ax.set_title(f"{name}" + ("" if group is None else f", {group}") + f" (n={n})", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(out_dir, scores, metrics, columns, detection, settings, values=None) -> list:
    """Write every plot into ``out_dir``; return the paths written. ``values``: the group of every row (``--by``)."""
    from .grouping import ALL, parts

    written = []
    for col in columns:
        if col.group not in (None, ALL):  # one scatter per dataset and label, coloured by group
            continue
        frame = scores[scores["dataset"] == col.dataset]
        groups = None if values is None else values.loc[frame.index].to_numpy()
        written.append(scatter(frame, metrics, col.label, f"{col.dataset}: metric vs human {col.label}",
                               out_dir / f"scatter_{_slug(col.dataset)}_{_slug(col.label)}.png", groups))
    from .analysis import HEADLINE

    for level, method in HEADLINE:
        if (level, method) in settings.combos and columns:
            written.append(heatmap(columns, metrics, level, method, settings,
                                   out_dir / f"heatmap_{level}_{method}.png"))
    if not detection.empty and "test_auc" in detection:
        for (dataset, label), table in detection.groupby(["dataset", "label"]):
            frame = scores[scores["dataset"] == dataset]
            panels = None if values is None else parts(frame, values)
            written.append(roc(frame, metrics, label, f"{dataset} ({label}), test cut",
                               out_dir / f"roc_{_slug(dataset)}_{_slug(label)}.png", panels))
            written.append(detection_intervals(table, f"{dataset} ({label}), test cut, {settings.confidence * 100:g}% "
                                               "intervals", out_dir / f"detection_{_slug(dataset)}_{_slug(label)}.png"))
    return [p for p in written if p is not None]
