"""Meta-evaluation of a run directory: correlations with human labels, intervals, tests, detection, plots.

Reads only ``scores.csv`` and ``run.json`` (the analysis never re-runs a metric) and writes
``RUN_DIR/analysis/``:

- ``correlations.csv`` — every dataset x label x metric x level x method: estimate, counts, bootstrap and Fisher
  intervals, and the protocol in words;
- ``comparison.csv`` / ``comparison.md`` — metrics x datasets tables, one per (level, method), with intervals and
  significance markers against the best metric of each column;
- ``comparison_wide.csv`` / ``detection_wide.csv`` — the same estimates with one column per dataset/label (and
  group), as the Markdown tables show them;
- ``pairwise.csv`` — every pair of metrics: Williams, bootstrap-difference and (against the best) permutation
  p-values;
- ``detection.csv`` / ``detection.md`` — balanced accuracy (SummaC threshold tuned on val) and ROC AUC on test,
  with percentile-bootstrap intervals (resampled within class), for binary labels of datasets that have both cuts;
- ``detection_pairwise.csv`` — every pair of metrics on the same test summaries: paired bootstrap difference of
  balanced accuracy and of ROC AUC, with p-values;
- ``analysis.md`` — all of the above in one report; PNG plots (see :mod:`factbench.report.plots`).

With ``by=FIELD`` (``factbench analyze --by FIELD``) every table holds the whole dataset (group ``all``) and each
value of FIELD, tagged by the columns ``by`` and ``group`` (see :mod:`factbench.report.grouping`), the Markdown
tables show the groups side by side, and ``group_sizes.csv`` gives each group's size and what it was too small for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, RunError
from ..rundir import verify as verify_run
from ..stored import read_scores
from ..stats import detection as det
from ..stats._checks import choice, positive_int
from ..stats.correlation import KENDALL_VARIANTS, LEVEL_TEXT, LEVELS, METHODS, level_statistic, make_layout, method_name
from ..stats.resampling import UNITS, bootstrap_distribution, fisher_interval, percentile_interval, resample_weights
from ..stats.significance import bootstrap_difference, permutation_test, williams_test
from .references import exclude_self_references
from . import grouping

ID_COLUMNS = ("dataset", "split", "example_id", "doc_id", "system")
LABEL_PREFIX = "label:"
ALPHA = 0.05
# The tables shown in summary.md (all combinations are in analysis.md and the CSVs).
HEADLINE = (("global", "pearson"), ("summary", "kendall"), ("partial", "pearson"))
# Default (level, method) combinations: everything except Kendall at the global and partial levels, which the
# literature rarely reports there and which costs O(n log n) per resample through scipy (about 0.8 ms per
# resample at n = 2246 on this machine, i.e. ~1 s per metric for 1000 resamples, plus the permutation test).
# Asking for ``--method kendall`` explicitly computes it at every requested level.
UNDEFINED = {
    "summary": "it needs documents with several summaries whose metric and human scores both vary",
    "system": "it needs several systems",
    "global": "no metric or human score varies",
    "partial": "no metric or human score varies within a system",
}
DEFAULT_COMBOS = tuple((lv, m) for lv in LEVELS for m in METHODS
                       if not (m == "kendall" and lv in ("global", "partial")))


@dataclass
class Settings:
    """What the analysis does; every field ends up in the protocol text of the numbers it produces."""

    bootstrap: int = 1000
    seed: int = 0
    resample: str = "inputs"
    kendall: str = "b"
    tune_on: str = "val"
    combos: tuple = DEFAULT_COMBOS
    permutations: int = 1000
    permutation_combos: tuple = HEADLINE
    confidence: float = 0.95
    plots: bool = True
    excluded: str = ""  # records left out of some metrics (report/references.py), named in every protocol
    by: str | None = None  # group field (None: whole datasets only)
    thresholds: str = "per-group"  # with ``by``: detection thresholds per group or once for all

    def check(self):
        positive_int(self.bootstrap, "--bootstrap")
        positive_int(self.permutations, "number of permutations", minimum=0)
        choice(self.resample, UNITS, "--resample")
        choice(self.kendall, KENDALL_VARIANTS, "--kendall")
        det.check_tune_on(self.tune_on)
        grouping.check_thresholds(self.thresholds)
        for level, method in self.combos:
            choice(level, LEVELS, "--level")
            choice(method, METHODS, "--method")
        if not isinstance(self.seed, int):
            raise ConfigError(f"--seed must be an integer; got {self.seed!r}")

    def ci_text(self) -> str:
        return (f"{self.confidence * 100:g}% CI: percentile bootstrap over {self.resample}, "
                f"{self.bootstrap} resamples, seed {self.seed}")

    def protocol(self, level: str, method: str) -> str:
        """E.g. ``"Kendall tau-b, summary-level; 95% CI: percentile bootstrap over inputs, 1000 resamples, seed 0"``."""
        text = f"{method_name(method, self.kendall)}, {LEVEL_TEXT[level]}; {self.ci_text()}"
        return f"{text}; {self.excluded}" if self.excluded else text


# ----------------------------------------------------------------------------------------------------------
# Reading the run directory


def read_run(run_dir):
    """Load ``scores.csv`` and ``run.json``; return (scores DataFrame, metadata dict, metric columns, labels)."""
    run_dir = Path(run_dir)
    meta_path, scores_path = run_dir / "run.json", run_dir / "scores.csv"
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: not a run directory")
    for path in (meta_path, scores_path):
        if not path.is_file():
            raise RunError(f"{path}: missing; is {run_dir} a factbench run directory?")
    # One reading rule for every report (NA/None/null names stay names), after checking the files are the
    # ones the run wrote.
    meta = verify_run(run_dir)
    scores = read_scores(scores_path, required=[n for m in meta["metrics"].values() for n in m.get("score_names", [])])
    missing = [c for c in ID_COLUMNS if c not in scores.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", path=scores_path)
    labels = [c for c in scores.columns if c.startswith(LABEL_PREFIX)]
    metrics = [c for c in scores.columns if c not in ID_COLUMNS and c not in labels]
    for col in labels + metrics:
        converted = pd.to_numeric(scores[col], errors="coerce")
        bad = converted.isna() & scores[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"column {col!r} holds a non-numeric value {scores[col].iloc[row]!r}",
                            path=scores_path, record=scores["example_id"].iloc[row])
        scores[col] = converted.astype(float)
    return scores, meta, metrics, labels


def label_kinds(meta) -> dict:
    """``{(dataset, label): kind}`` from ``run.json`` ``datasets[*].label_scales``."""
    kinds = {}
    for entry in meta.get("datasets", []):
        for name, scale in (entry.get("label_scales") or {}).items():
            kinds[(entry.get("name"), name)] = (scale or {}).get("kind", "continuous")
    return kinds


# ----------------------------------------------------------------------------------------------------------
# Computation


@dataclass
class Column:
    """One dataset x label: the unit of a column in the comparison tables."""

    dataset: str
    label: str
    kind: str
    n_docs: int
    n_systems: int
    rows: list = field(default_factory=list)  # correlation rows (dicts)
    pairs: list = field(default_factory=list)  # pairwise rows (dicts)
    by: str | None = None  # with grouping: the field and this column's value of it ("all" for the whole dataset)
    group: str | None = None
    n_rows: int = 0
    notes: list = field(default_factory=list)  # what could not be computed here, and why

    @property
    def name(self) -> str:
        base = f"{self.dataset} ({self.label})"
        return base if self.by is None else f"{base} {self.by}={self.group} (n={self.n_rows})"


def _fmt(v, digits=3):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _analyse_column(frame, metrics, label, kind, dataset, settings: Settings) -> Column:
    layout = make_layout(frame["doc_id"].to_numpy(), frame["system"].to_numpy())
    y = frame[LABEL_PREFIX + label].to_numpy(float)
    col = Column(dataset, label, kind, layout.n_docs, layout.n_systems, n_rows=len(frame))
    weights = resample_weights(layout, settings.bootstrap, settings.resample, settings.seed)
    dists, masks, xs = {}, {}, {}
    for metric in metrics:
        x = frame[metric].to_numpy(float)
        mask = np.isfinite(x) & np.isfinite(y)
        if mask.sum() < 3:
            col.notes.append(f"{metric}: {int(mask.sum())} summaries with both a score and a label (fewer than 3): "
                             "no correlation")
            continue
        xs[metric], masks[metric] = np.where(mask, x, 0.0), mask
        n_sys = len(np.unique(layout.sys_codes[mask]))
        for level, method in settings.combos:
            est, used, skipped = (float(v) for v in level_statistic(
                xs[metric], np.where(mask, y, 0.0), layout, level, method, settings.kendall, mask=mask))
            dist = bootstrap_distribution(xs[metric], y, layout, level, method, settings.kendall,
                                          weights=weights, mask=mask)
            dists[(level, method, metric)] = (est, dist)
            low, high = percentile_interval(dist, settings.confidence)
            fisher = (np.nan, np.nan)
            if method == "pearson" and level != "summary":
                n_eff = int(used) if level != "partial" else int(mask.sum())
                f = fisher_interval(est, n_eff, settings.confidence, n_sys - 1 if level == "partial" else 0)
                fisher = (f.low, f.high)
            col.rows.append({
                "dataset": dataset, "label": label, "label_kind": kind, "metric": metric, "level": level,
                "method": method_name(method, settings.kendall), "estimate": est, "n": int(mask.sum()),
                "n_units": int(used), "n_skipped": int(skipped), "ci_low": low, "ci_high": high,
                "ci_undefined_resamples": int(np.isnan(dist).sum()), "fisher_low": fisher[0],
                "fisher_high": fisher[1], "protocol": settings.protocol(level, method),
                "_level": level, "_method": method,
            })
    _compare(col, dists, xs, masks, layout, y, settings)
    return col


def _compare(col: Column, dists, xs, masks, layout, y, settings: Settings):
    """Pairwise tests; markers against the best metric of each (level, method)."""
    metrics = list(xs)
    for level, method in settings.combos:
        ests = {m: dists[(level, method, m)][0] for m in metrics}
        ranked = sorted((m for m in metrics if not math.isnan(ests[m])), key=lambda m: -ests[m])
        best = ranked[0] if ranked else None
        for i, a in enumerate(metrics):
            for b in metrics[i + 1:]:
                col.pairs.append(_pair(a, b, best, level, method, dists, xs, masks, layout, y, settings, col))


def _pair(a, b, best, level, method, dists, xs, masks, layout, y, settings, col):
    (ea, da), (eb, db) = dists[(level, method, a)], dists[(level, method, b)]
    boot = bootstrap_difference(ea, eb, da, db, settings.confidence)
    both = masks[a] & masks[b]
    will_p, perm_p = np.nan, np.nan
    yb = np.where(both, y, 0.0)
    if method == "pearson" and level in ("global", "partial", "system") and both.sum() > 3:
        # Williams needs the three correlations on the same rows.
        r_ay, n_units, _ = level_statistic(xs[a], yb, layout, level, method, mask=both)
        r_by = level_statistic(xs[b], yb, layout, level, method, mask=both)[0]
        r_ab = level_statistic(xs[a], np.where(both, xs[b], 0.0), layout, level, method, mask=both)[0]
        n_eff = int(n_units) - (len(np.unique(layout.sys_codes[both])) - 1 if level == "partial" else 0)
        if n_eff > 3 and np.all(np.isfinite([r_ay, r_by, r_ab])):
            will_p = williams_test(float(r_ay), float(r_by), float(r_ab), n_eff).p_value
    if best in (a, b) and both.sum() > 3 and settings.permutations and (level, method) in settings.permutation_combos:
        perm_p = permutation_test(xs[a], xs[b], yb, layout, level, method, settings.kendall,
                                  n_permutations=settings.permutations, unit=settings.resample,
                                  seed=settings.seed, mask=both).p_value
    return {
        "dataset": col.dataset, "label": col.label, "level": level, "method": method_name(method, settings.kendall),
        "metric_a": a, "metric_b": b, "estimate_a": ea, "estimate_b": eb, "difference": ea - eb,
        "boot_diff_low": boot.low, "boot_diff_high": boot.high, "p_bootstrap": boot.p_value,
        "p_williams": will_p, "p_permutation": perm_p, "n_common": int(both.sum()),
        "protocol": (f"{settings.protocol(level, method)}; bootstrap difference on shared resamples; Williams "
                     f"(Pearson, n-3 df, two-sided); paired permutation over {settings.resample} "
                     f"({settings.permutations} permutations, seed {settings.seed}, z-scored metrics, "
                     f"two-sided; run against the best metric only, for the tables marked with †)"),
        "_level": level, "_method": method,
    }


def _detection(scores, metrics, kinds, settings, values=None):
    """Detection rows and paired comparisons for every binary label of a dataset with both cuts, for the whole
    dataset and (with ``values``, the group of every row) for each group."""
    rows, pairs = [], []
    by = settings.by if values is not None else None
    for (dataset, label), kind in sorted(kinds.items()):
        col = LABEL_PREFIX + label
        if kind != "binary" or col not in scores.columns:
            continue
        frame = scores[scores["dataset"] == dataset]
        cuts = frame["split"].map(det.normalise_cut)
        if not ((cuts == "val").any() and (cuts == "test").any()):
            continue
        overall = {}  # metric -> threshold tuned on the whole validation cut (used by thresholds="global")
        for group, part in grouping.parts(frame, values):
            fixed = overall if by is not None and group != grouping.ALL and settings.thresholds == "global" else None
            found, group_rows = _detect_group(part, metrics, col, settings, fixed)
            if group in (None, grouping.ALL):
                overall.update({m: r.threshold for m, (r, _) in found.items()})
            protocol_tail = "" if by is None else "; " + grouping.threshold_text(by, settings.thresholds)
            for r in group_rows:
                if "protocol" in r:
                    r["protocol"] += protocol_tail
                rows.append(grouping.tagged({"dataset": dataset, "label": label, **r}, by, group))
            for p in _detect_pairs(found, settings):
                pairs.append(grouping.tagged({"dataset": dataset, "label": label, **p}, by, group))
    return pd.DataFrame(rows), pd.DataFrame(pairs)


def _detect_group(part, metrics, col, settings, fixed):
    """Detection of every metric on one dataset (or group): ``({metric: (result, interval inputs)}, rows)``."""
    cuts = part["split"].map(det.normalise_cut).to_numpy()
    y = part[col].to_numpy(float)
    found, rows = {}, []
    for metric in metrics:
        x = part[metric].to_numpy(float)
        keep = np.isfinite(x) & np.isfinite(y) & np.isin(cuts, ["val", "test"])
        threshold = None
        if fixed is not None:
            if metric not in fixed:
                rows.append({"metric": metric, "note": "no threshold: none could be tuned on the whole dataset"})
                continue
            threshold = fixed[metric]
        try:
            res = det.evaluate_detection(x[keep], y[keep], cuts[keep], tune_on=settings.tune_on, threshold=threshold)
        except DataError as exc:  # e.g. a single class in the validation cut: say so, no number
            rows.append({"metric": metric, "note": str(exc)})
            continue
        test = keep & (cuts == "test")
        iv = det.detection_bootstrap(y[test], x[test], res.threshold, n_resamples=settings.bootstrap,
                                     seed=settings.seed, confidence=settings.confidence)
        found[metric] = (res, (x, y, test, iv))
        rows.append({
            "metric": metric, "threshold": res.threshold, "val_balanced_accuracy": res.val_balanced_accuracy,
            "test_balanced_accuracy": res.test_balanced_accuracy, "test_auc": res.test_auc,
            "n_val": res.n_val, "n_test": res.n_test, "test_positive": res.test_positive,
            "protocol": f"{res.protocol}; {settings.excluded}" if settings.excluded else res.protocol,
            "note": "", "bacc_ci_low": iv.bacc_low, "bacc_ci_high": iv.bacc_high,
            "auc_ci_low": iv.auc_low, "auc_ci_high": iv.auc_high, "interval": iv.describe(),
        })
    return found, rows


def _detect_pairs(found, settings):
    """Paired bootstrap comparison of every two metrics on the test summaries both scored."""
    out = []
    names = list(found)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            (ra, (xa, y, ta, ia)), (rb, (xb, _, tb, ib)) = found[a], found[b]
            common = ta & tb
            if not common.any():
                continue
            if not (np.array_equal(common, ta) and np.array_equal(common, tb)):  # re-draw on the shared rows
                kw = dict(n_resamples=settings.bootstrap, seed=settings.seed, confidence=settings.confidence)
                ia = det.detection_bootstrap(y[common], xa[common], ra.threshold, **kw)
                ib = det.detection_bootstrap(y[common], xb[common], rb.threshold, **kw)
            test = det.paired_detection_test(ia, ib)
            out.append({
                "metric_a": a, "metric_b": b, "bacc_a": ia.balanced_accuracy, "bacc_b": ib.balanced_accuracy,
                "bacc_difference": test.bacc_difference, "bacc_diff_low": test.bacc_low,
                "bacc_diff_high": test.bacc_high, "p_bacc": test.p_bacc, "auc_a": ia.auc, "auc_b": ib.auc,
                "auc_difference": test.auc_difference, "auc_diff_low": test.auc_low, "auc_diff_high": test.auc_high,
                "p_auc": test.p_auc, "n_common": int(common.sum()),
                "protocol": f"paired bootstrap difference on the same resamples ({ia.describe()}), two-sided",
            })
    return out


# ----------------------------------------------------------------------------------------------------------
# Tables


def _markers(pairs, metric, best):
    if metric == best or best is None:
        return ""
    for p in pairs:
        if {p["metric_a"], p["metric_b"]} == {metric, best}:
            out = ""
            if p["p_permutation"] < ALPHA:
                out += "†"
            if p["p_williams"] < ALPHA:
                out += "‡"
            if p["p_bootstrap"] < ALPHA:
                out += "§"
            return out
    return ""


def comparison_table(columns, metrics, level, method, settings):
    """Rows for one (level, method) table: one per metric x column, with the marker against the best."""
    out = []
    for col in columns:
        rows = {r["metric"]: r for r in col.rows if r["_level"] == level and r["_method"] == method}
        pairs = [p for p in col.pairs if p["_level"] == level and p["_method"] == method]
        valid = {m: r["estimate"] for m, r in rows.items() if not math.isnan(r["estimate"])}
        best = max(valid, key=valid.get) if valid else None
        for metric in metrics:
            r = rows.get(metric)
            if r is None:
                continue
            out.append({**{k: v for k, v in r.items() if not k.startswith("_")}, "column": col.name,
                        "best": metric == best, "marker": _markers(pairs, metric, best)})
    return out


def _cell(r):
    text = f"{_fmt(r['estimate'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]{r['marker']}"
    return f"**{text}**" if r["best"] else text


def comparison_markdown(columns, metrics, level, method, settings) -> str:
    rows = comparison_table(columns, metrics, level, method, settings)
    if all(math.isnan(r["estimate"]) for r in rows):
        return (f"#### {method_name(method, settings.kendall)}, {LEVEL_TEXT[level]}\n\nUndefined for every dataset "
                f"of this run ({UNDEFINED[level]}).\n")
    names = [c.name for c in columns]
    tests = []
    if settings.permutations and (level, method) in settings.permutation_combos:
        tests.append(f"† by a paired permutation test over {settings.resample} ({settings.permutations} "
                     f"permutations, seed {settings.seed}, two-sided)")
    if method == "pearson" and level != "summary":
        tests.append("‡ by the Williams test (two-sided)")
    tests.append("§ by the bootstrap difference on the same resamples (two-sided)")
    lines = [f"#### {method_name(method, settings.kendall)}, {LEVEL_TEXT[level]}", "",
             f"Protocol: {settings.protocol(level, method)}. Bold: best in column. Worse than the best at "
             f"p < {ALPHA}: " + "; ".join(tests) + ".", ""]
    if level == "summary":
        lines[-1:-1] = ["Summary-level: per document across systems, then averaged; documents with a constant "
                        "metric or human vector (or a single summary) are skipped (counts in correlations.csv)."]
        lines.append("")
    lines += ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    by = {(r["metric"], r["column"]): r for r in rows}
    for metric in metrics:
        if any((metric, n) in by for n in names):
            lines.append(f"| {metric} | " + " | ".join(_cell(by[(metric, n)]) if (metric, n) in by else "–"
                                                       for n in names) + " |")
    if level == "summary":
        skipped = {c.name: max((r["n_skipped"] for r in rows if r["column"] == c.name), default=0) for c in columns}
        lines.append("| *documents skipped (max over metrics)* | " + " | ".join(str(skipped[n]) for n in names) + " |")
    return "\n".join(lines) + "\n"


def _det_column(r) -> str:
    name = f"{r['dataset']} ({r['label']})"
    by = r.get("by")
    return name if not isinstance(by, str) else f"{name} {by}={r['group']}"


def _det_markers(pairs: pd.DataFrame, column: str, metric: str, best: str, stat: str) -> str:
    """``§`` when the paired bootstrap puts ``metric`` below the column's best at p < ALPHA."""
    if pairs is None or pairs.empty or metric == best:
        return ""
    here = pairs[pairs.apply(_det_column, axis=1) == column]
    hit = here[((here["metric_a"] == metric) & (here["metric_b"] == best))
               | ((here["metric_a"] == best) & (here["metric_b"] == metric))]
    return "§" if len(hit) and hit.iloc[0][f"p_{stat}"] < ALPHA else ""


def detection_markdown(table: pd.DataFrame, pairs: pd.DataFrame | None = None, settings: Settings | None = None) -> str:
    """Balanced accuracy and ROC AUC tables (metrics x dataset/label[/group]), each value with its interval."""
    if table.empty or "test_balanced_accuracy" not in table:
        return ""
    table = table.assign(_column=table.apply(_det_column, axis=1))
    ok = table[table["note"] == ""]
    cols = list(dict.fromkeys(table["_column"]))  # a group without any result still gets its (n/a) column
    n_test = ok.groupby("_column")["n_test"].max()
    grouped = "by" in ok and ok["by"].notna().any()
    whole = ok[ok["group"] == grouping.ALL] if grouped else ok
    first = ok.iloc[0] if len(ok) else None
    lines = ["#### Binary detection (test cut)", "",
             "Protocol: balanced accuracy / ROC AUC on the test cut; threshold tuned on the validation cut only, "
             "over score percentiles 0, 0.2, ..., 99.8 (SummaC), predict consistent if score > threshold"
             + (f"; {grouping.threshold_text(settings.by, settings.thresholds)}" if grouped and settings else "")
             + f". Intervals: {first['interval'] if first is not None else ''}. Bold: best in column; § worse than "
             f"the best at p < {ALPHA} by the paired bootstrap on the same resamples (two-sided). "
             "Overall: mean over datasets" + (" (group all)." if grouped else ".")
             + (f" {settings.excluded[0].upper()}{settings.excluded[1:]}." if settings and settings.excluded else ""), ""]
    for stat, value, low, high, title in (("bacc", "test_balanced_accuracy", "bacc_ci_low", "bacc_ci_high",
                                           "Balanced accuracy"),
                                          ("auc", "test_auc", "auc_ci_low", "auc_ci_high", "ROC AUC")):
        best = {c: g.loc[g[value].idxmax(), "metric"] if g[value].notna().any() else None
                for c, g in ok.groupby("_column")}
        lines += [f"{title}:", "", "| metric | " + " | ".join(f"{c} (n={int(n_test[c])})" if c in n_test else c
                                                              for c in cols)
                  + " | overall |", "|---" * (len(cols) + 2) + "|"]
        for metric, g in table.groupby("metric", sort=False):
            cells = {c: "n/a" for c in g["_column"]}
            g = g[g["note"] == ""]
            for _, r in g.iterrows():
                text = (f"{_fmt(r[value])} [{_fmt(r[low])}, {_fmt(r[high])}]"
                        + _det_markers(pairs, r["_column"], metric, best[r["_column"]], stat))
                cells[r["_column"]] = f"**{text}**" if metric == best[r["_column"]] else text
            mean = whole[whole["metric"] == metric][value].mean()
            lines.append(f"| {metric} | " + " | ".join(cells.get(c, "–") for c in cols) + f" | {_fmt(mean)} |")
        lines.append("")
    notes = table[table["note"] != ""]
    for (column, note), g in notes.groupby(["_column", "note"], sort=False):
        lines.append(f"- {column}: no detection result for {', '.join(g['metric'])} ({note})")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------
# Entry point


def analyze_run(run_dir, *, bootstrap: int = 1000, seed: int = 0, resample: str = "inputs", kendall: str = "b",
                tune_on: str = "val", levels=None, methods=None, permutations: int = 1000,
                confidence: float = 0.95, plots: bool = True, by: str | None = None,
                thresholds: str = "per-group") -> str:
    """Analyse a run directory; write ``RUN_DIR/analysis/``; return a Markdown fragment for ``summary.md``.

    Parameters
    ----------
    run_dir : path
        A directory with ``scores.csv`` and ``run.json``.
    bootstrap : int
        Bootstrap resamples per interval (default 1000), correlations and detection alike.
    seed : int
        Seed for resampling and permutations (reported next to every interval).
    resample : {"inputs", "systems", "both"}
        Bootstrap (and permutation) unit of the correlations (detection resamples test summaries within class).
    kendall : {"b", "c"}
        Kendall variant.
    tune_on : {"val"}
        Cut on which the detection threshold is tuned; ``"test"`` is refused (ConfigError).
    levels, methods : sequences of str, optional
        Correlation levels and methods to compute (their cross product). If neither is given:
        ``DEFAULT_COMBOS`` (all but Kendall at the global and partial levels).
    by : str, optional
        Also analyse each value of this field separately (a scores.csv id column or a meta field in
        the run's ``groups.csv``; :mod:`factbench.report.grouping`).
    thresholds : {"per-group", "global"}
        With ``by``: tune each group's detection threshold on that group's validation cut, or use the one tuned
        on the whole dataset's validation cut for every group.
    """
    combos = DEFAULT_COMBOS if not levels and not methods else tuple(
        (lv, m) for lv in (levels or LEVELS) for m in (methods or METHODS))
    settings = Settings(bootstrap=bootstrap, seed=seed, resample=resample, kendall=kendall, tune_on=tune_on,
                        combos=combos, permutations=permutations, confidence=confidence, plots=plots, by=by or None,
                        thresholds=thresholds)
    settings.check()
    scores, meta, metrics, labels = read_run(run_dir)
    scores, settings.excluded = exclude_self_references(scores, run_dir)
    values = grouping.group_values(run_dir, scores, settings.by) if settings.by else None
    kinds = label_kinds(meta)
    out_dir = Path(run_dir) / "analysis"
    out_dir.mkdir(exist_ok=True)
    columns, groups = [], []
    for dataset, frame in scores.groupby("dataset", sort=True):
        split = grouping.parts(frame, values)
        infos = [_group_info(dataset, group, part, settings) if settings.by else None for group, part in split]
        groups += [info for info in infos if info is not None]
        for label_col in labels:  # label by label, the groups side by side (FRANK's Table 4: all, CNN/DM, XSum)
            label = label_col[len(LABEL_PREFIX):]
            for (group, part), info in zip(split, infos):
                labelled = int(part[label_col].notna().sum())
                if labelled < 3:
                    if info is not None and frame[label_col].notna().any():
                        info["notes"].append(f"label {label}: {labelled} labelled summaries (fewer than 3): "
                                             "no correlations")
                    continue
                col = _analyse_column(part.reset_index(drop=True), metrics, label,
                                      kinds.get((dataset, label), "continuous"), dataset, settings)
                if settings.by:
                    col.by, col.group = settings.by, group
                    col.rows = [grouping.tagged(r, settings.by, group) for r in col.rows]
                    col.pairs = [grouping.tagged(p, settings.by, group) for p in col.pairs]
                    info["notes"] += [f"label {label}: {n}" for n in col.notes]
                columns.append(col)
    detection, det_pairs = _detection(scores, metrics, kinds, settings, values)
    for info in groups:
        if not detection.empty and "group" in detection:
            here = detection[(detection["dataset"] == info["dataset"]) & (detection["group"] == info["group"])
                             & (detection["note"] != "")]
            info["notes"] += [f"detection {label}: {note} ({', '.join(g['metric'])})"
                              for (label, note), g in here.groupby(["label", "note"], sort=False)]
    _write(out_dir, columns, metrics, detection, det_pairs, groups, settings)
    if plots:
        from . import plots as _plots

        _plots.write_plots(out_dir, scores, metrics, columns, detection, settings, values)
    return _fragment(columns, metrics, detection, det_pairs, groups, settings)


def _group_info(dataset, group, part, settings) -> dict:
    """Size of one group, and the statistics its shape rules out (more notes are added as they are found)."""
    cuts = part["split"].map(det.normalise_cut)
    n_systems = part["system"].nunique()
    notes = []
    if n_systems < 2:
        notes.append("one system: system-level and partial correlations undefined")
    elif n_systems < 3:
        notes.append("two systems: a system-level correlation is ±1 by construction")
    if part.groupby("doc_id").size().max() < 2:
        notes.append("one summary per document: summary-level correlations undefined")
    return {"dataset": dataset, "by": settings.by, "group": group, "n": len(part),
            "n_docs": part["doc_id"].nunique(), "n_systems": n_systems, "n_val": int((cuts == "val").sum()),
            "n_test": int((cuts == "test").sum()), "notes": notes}


def groups_markdown(groups, settings) -> str:
    if not groups:
        return ""
    lines = [f"#### Groups by `{settings.by}`", "",
             "Every statistic below is computed for the whole dataset (group all) and for each group; a statistic "
             "a group is too small for is n/a in the tables and named here.", "",
             "| dataset | group | summaries | documents | systems | val | test | not computed |",
             "|---|---|---|---|---|---|---|---|"]
    for g in groups:
        notes = "; ".join(g["notes"]).replace("|", "\\|") or "–"
        lines.append(f"| {g['dataset']} | {g['group']} | {g['n']} | {g['n_docs']} | {g['n_systems']} | {g['n_val']} "
                     f"| {g['n_test']} | {notes} |")
    return "\n".join(lines) + "\n"


def wide_table(rows, columns, index, value) -> pd.DataFrame:
    """One row per ``index`` combination, one column per table column (dataset, label and group side by side,
    as FRANK's table), holding ``value``; the intervals and tests are in the long tables."""
    if not rows:
        return pd.DataFrame(columns=[*index, *columns])
    frame = pd.DataFrame(rows)
    order = frame[index].drop_duplicates()
    wide = frame.pivot(index=index, columns="column", values=value).reindex(columns=columns)
    return order.merge(wide.reset_index(), on=index, how="left")[[*index, *columns]]


def _clean(rows):
    return pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])


def _write(out_dir, columns, metrics, detection, det_pairs, groups, settings):
    _clean([r for c in columns for r in c.rows]).to_csv(out_dir / "correlations.csv", index=False)
    _clean([p for c in columns for p in c.pairs]).to_csv(out_dir / "pairwise.csv", index=False)
    comp, md = [], ["# Comparison tables", ""]
    groups_md = groups_markdown(groups, settings)
    if groups_md:
        md += [groups_md]
        pd.DataFrame([{**g, "notes": "; ".join(g["notes"])} for g in groups]).to_csv(out_dir / "group_sizes.csv",
                                                                                   index=False)
    else:
        (out_dir / "group_sizes.csv").unlink(missing_ok=True)  # left by an earlier grouped analysis
    for level, method in settings.combos:
        comp += comparison_table(columns, metrics, level, method, settings)
        md.append(comparison_markdown(columns, metrics, level, method, settings))
    pd.DataFrame(comp).to_csv(out_dir / "comparison.csv", index=False)
    wide_table(comp, [c.name for c in columns], ["level", "method", "metric"], "estimate").to_csv(
        out_dir / "comparison_wide.csv", index=False)
    (out_dir / "comparison.md").write_text("\n".join(md), encoding="utf-8")
    detection.to_csv(out_dir / "detection.csv", index=False)
    det_pairs.to_csv(out_dir / "detection_pairwise.csv", index=False)
    if not detection.empty and "test_auc" in detection:
        ok = detection[detection["note"] == ""]
        names = ok.apply(_det_column, axis=1)
        long = [{"statistic": stat, "metric": r["metric"], "column": name, "value": r[col]}
                for stat, col in (("balanced accuracy", "test_balanced_accuracy"), ("ROC AUC", "test_auc"))
                for name, (_, r) in zip(names, ok.iterrows())]
        wide_table(long, list(dict.fromkeys(names)), ["statistic", "metric"], "value").to_csv(
            out_dir / "detection_wide.csv", index=False)
    det_md = detection_markdown(detection, det_pairs, settings)
    (out_dir / "detection.md").write_text(det_md or "No binary label with both a validation and a test cut.\n",
                                          encoding="utf-8")
    (out_dir / "analysis.md").write_text("\n".join(md) + "\n" + det_md, encoding="utf-8")


def _fragment(columns, metrics, detection, det_pairs, groups, settings) -> str:
    parts = ["### Agreement with human judgments", ""]
    if not columns:
        parts.append("No dataset in this run has human labels and scores to correlate.\n")
    groups_md = groups_markdown(groups, settings)
    if groups_md:
        parts.append(groups_md)
    for level, method in HEADLINE:
        if (level, method) in settings.combos and columns:
            parts.append(comparison_markdown(columns, metrics, level, method, settings))
    det_md = detection_markdown(detection, det_pairs, settings)
    if det_md:
        parts.append(det_md)
    parts.append("All levels, methods, pairwise p-values and plots: `analysis/` (analysis.md, correlations.csv, "
                 "comparison.csv, comparison_wide.csv, pairwise.csv, detection.csv, detection_wide.csv, "
                 "detection_pairwise.csv" + (", group_sizes.csv" if groups else "") + ", *.png).\n")
    return "\n".join(parts)
