"""Meta-evaluation of a run directory: correlations with human labels, intervals, tests, detection, plots.

Reads only ``scores.csv`` and ``run.json`` (the analysis never re-runs a metric) and writes
``RUN_DIR/analysis/``:

- ``correlations.csv`` — every dataset x label x metric x level x method: estimate, counts, bootstrap and Fisher
  intervals, and the protocol in words;
- ``comparison.csv`` / ``comparison.md`` — metrics x datasets tables, one per (level, method), with intervals and
  significance markers against the best metric of each column;
- ``pairwise.csv`` — every pair of metrics: Williams, bootstrap-difference and (against the best) permutation
  p-values;
- ``detection.csv`` / ``detection.md`` — balanced accuracy (SummaC threshold tuned on val) and ROC AUC on test,
  for binary labels of datasets that have both cuts;
- ``analysis.md`` — all of the above in one report; PNG plots (see :mod:`factbench.report.plots`).
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

    def check(self):
        positive_int(self.bootstrap, "--bootstrap")
        positive_int(self.permutations, "number of permutations", minimum=0)
        choice(self.resample, UNITS, "--resample")
        choice(self.kendall, KENDALL_VARIANTS, "--kendall")
        det.check_tune_on(self.tune_on)
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

    @property
    def name(self) -> str:
        return f"{self.dataset} ({self.label})"


def _fmt(v, digits=3):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _analyse_column(frame, metrics, label, kind, dataset, settings: Settings) -> Column:
    layout = make_layout(frame["doc_id"].to_numpy(), frame["system"].to_numpy())
    y = frame[LABEL_PREFIX + label].to_numpy(float)
    col = Column(dataset, label, kind, layout.n_docs, layout.n_systems)
    weights = resample_weights(layout, settings.bootstrap, settings.resample, settings.seed)
    dists, masks, xs = {}, {}, {}
    for metric in metrics:
        x = frame[metric].to_numpy(float)
        mask = np.isfinite(x) & np.isfinite(y)
        if mask.sum() < 3:
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


def _detection(scores, metrics, kinds, settings):
    rows = []
    for (dataset, label), kind in sorted(kinds.items()):
        col = LABEL_PREFIX + label
        if kind != "binary" or col not in scores.columns:
            continue
        frame = scores[scores["dataset"] == dataset]
        cuts = frame["split"].map(det.normalise_cut)
        if not ((cuts == "val").any() and (cuts == "test").any()):
            continue
        y = frame[col].to_numpy(float)
        for metric in metrics:
            x = frame[metric].to_numpy(float)
            keep = np.isfinite(x) & np.isfinite(y) & cuts.isin(["val", "test"]).to_numpy()
            try:
                res = det.evaluate_detection(x[keep], y[keep], cuts.to_numpy()[keep], tune_on=settings.tune_on)
            except DataError as exc:  # e.g. a single class in the validation cut: say so, no number
                rows.append({"dataset": dataset, "label": label, "metric": metric, "note": str(exc)})
                continue
            rows.append({
                "dataset": dataset, "label": label, "metric": metric, "threshold": res.threshold,
                "val_balanced_accuracy": res.val_balanced_accuracy,
                "test_balanced_accuracy": res.test_balanced_accuracy, "test_auc": res.test_auc,
                "n_val": res.n_val, "n_test": res.n_test, "test_positive": res.test_positive,
                "protocol": f"{res.protocol}; {settings.excluded}" if settings.excluded else res.protocol,
                "note": "",
            })
    return pd.DataFrame(rows)


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


def detection_markdown(table: pd.DataFrame, excluded: str = "") -> str:
    if table.empty or "test_balanced_accuracy" not in table:
        return ""
    ok = table[table["note"] == ""]
    cols = sorted({f"{d} ({l})" for d, l in zip(ok["dataset"], ok["label"])})
    lines = ["#### Binary detection (test cut)", "",
             "Protocol: balanced accuracy / ROC AUC on the test cut; threshold tuned on the validation cut only, "
             "over score percentiles 0, 0.2, ..., 99.8 (SummaC), predict consistent if score > threshold. "
             "Overall: mean over datasets." + (f" {excluded[0].upper()}{excluded[1:]}." if excluded else ""), "",
             "| metric | " + " | ".join(cols) + " | overall |", "|---" * (len(cols) + 2) + "|"]
    for metric, g in ok.groupby("metric", sort=False):
        cells = {f"{d} ({l})": f"{b:.3f} / {a:.3f}" for d, l, b, a in
                 zip(g["dataset"], g["label"], g["test_balanced_accuracy"], g["test_auc"])}
        overall = f"{g['test_balanced_accuracy'].mean():.3f} / {g['test_auc'].mean():.3f}"
        lines.append(f"| {metric} | " + " | ".join(cells.get(c, "–") for c in cols) + f" | {overall} |")
    notes = table[table["note"] != ""]
    for _, r in notes.iterrows():
        lines.append(f"\n- {r['dataset']} / {r['metric']}: no detection result ({r['note']})")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------
# Entry point


def analyze_run(run_dir, *, bootstrap: int = 1000, seed: int = 0, resample: str = "inputs", kendall: str = "b",
                tune_on: str = "val", levels=None, methods=None, permutations: int = 1000,
                confidence: float = 0.95, plots: bool = True) -> str:
    """Analyse a run directory; write ``RUN_DIR/analysis/``; return a Markdown fragment for ``summary.md``.

    Parameters
    ----------
    run_dir : path
        A directory with ``scores.csv`` and ``run.json``.
    bootstrap : int
        Bootstrap resamples per interval (default 1000).
    seed : int
        Seed for resampling and permutations (reported next to every interval).
    resample : {"inputs", "systems", "both"}
        Bootstrap (and permutation) unit.
    kendall : {"b", "c"}
        Kendall variant.
    tune_on : {"val"}
        Cut on which the detection threshold is tuned; ``"test"`` is refused (ConfigError).
    levels, methods : sequences of str, optional
        Correlation levels and methods to compute (their cross product). If neither is given:
        ``DEFAULT_COMBOS`` (all but Kendall at the global and partial levels).
    """
    combos = DEFAULT_COMBOS if not levels and not methods else tuple(
        (lv, m) for lv in (levels or LEVELS) for m in (methods or METHODS))
    settings = Settings(bootstrap=bootstrap, seed=seed, resample=resample, kendall=kendall, tune_on=tune_on,
                        combos=combos, permutations=permutations, confidence=confidence, plots=plots)
    settings.check()
    scores, meta, metrics, labels = read_run(run_dir)
    scores, settings.excluded = exclude_self_references(scores, run_dir)
    kinds = label_kinds(meta)
    out_dir = Path(run_dir) / "analysis"
    out_dir.mkdir(exist_ok=True)
    columns = []
    for dataset, frame in scores.groupby("dataset", sort=True):
        for label_col in labels:
            if frame[label_col].notna().sum() < 3:
                continue
            label = label_col[len(LABEL_PREFIX):]
            columns.append(_analyse_column(frame.reset_index(drop=True), metrics, label,
                                           kinds.get((dataset, label), "continuous"), dataset, settings))
    detection = _detection(scores, metrics, kinds, settings)
    _write(out_dir, columns, metrics, detection, settings)
    if plots:
        from . import plots as _plots

        _plots.write_plots(out_dir, scores, metrics, columns, detection, settings)
    return _fragment(columns, metrics, detection, settings)


def _clean(rows):
    return pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])


def _write(out_dir, columns, metrics, detection, settings):
    _clean([r for c in columns for r in c.rows]).to_csv(out_dir / "correlations.csv", index=False)
    _clean([p for c in columns for p in c.pairs]).to_csv(out_dir / "pairwise.csv", index=False)
    comp, md = [], ["# Comparison tables", ""]
    for level, method in settings.combos:
        comp += comparison_table(columns, metrics, level, method, settings)
        md.append(comparison_markdown(columns, metrics, level, method, settings))
    pd.DataFrame(comp).to_csv(out_dir / "comparison.csv", index=False)
    (out_dir / "comparison.md").write_text("\n".join(md), encoding="utf-8")
    detection.to_csv(out_dir / "detection.csv", index=False)
    det_md = detection_markdown(detection, settings.excluded)
    (out_dir / "detection.md").write_text(det_md or "No binary label with both a validation and a test cut.\n",
                                          encoding="utf-8")
    (out_dir / "analysis.md").write_text("\n".join(md) + "\n" + det_md, encoding="utf-8")


def _fragment(columns, metrics, detection, settings) -> str:
    parts = ["### Agreement with human judgments", ""]
    if not columns:
        parts.append("No dataset in this run has human labels and scores to correlate.\n")
    for level, method in HEADLINE:
        if (level, method) in settings.combos and columns:
            parts.append(comparison_markdown(columns, metrics, level, method, settings))
    det_md = detection_markdown(detection, settings.excluded)
    if det_md:
        parts.append(det_md)
    parts.append("All levels, methods, pairwise p-values and plots: `analysis/` (analysis.md, correlations.csv, "
                 "comparison.csv, pairwise.csv, detection.csv, *.png).\n")
    return "\n".join(parts)
