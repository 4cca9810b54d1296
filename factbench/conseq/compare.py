"""``factbench compare``: systems compared on the stored scores of a run, paired over documents, as the ConSeq
paper compares the MLE model with ConSeq; and, with human preferences, its human study.

For every metric of the run and every pair of the given systems (the later one against the earlier one, so
with ``--systems mle,conseq`` the difference is ConSeq - MLE):

- the documents where both systems have a score (a system with several rows for a document, e.g. K samples,
  is averaged over them first);
- the mean of each system over those documents, and the mean per-document difference ``d``;
- a percentile bootstrap interval of the mean difference, resampling documents (the draws of
  :func:`factbench.stats.resampling.resample_weights`, the percentiles of
  :func:`~factbench.stats.resampling.percentile_interval`);
- a paired permutation p-value: the sign of each document's difference flipped at random (exactly over all
  ``2^n`` sign patterns when that is at most the number of permutations), two-sided, ``(1 + count) / (1 +
  permutations)`` otherwise; the statistic is the mean difference (as ``scipy.stats.permutation_test`` with
  ``permutation_type="samples"``);
- wins / ties / losses: documents where the later system scores higher / the same / lower.

With human preferences (rows ``doc_id, system_a, system_b, attribute, preference`` where preference is
``a``, ``b`` or ``equal``): per attribute and system pair, the shares of "better", "worse" and "equal" for
the later system, each with a Wilson 95 % interval, and a two-sided sign test (binomial, ties dropped);
and, per metric, how often the metric prefers the system the annotator preferred (rows with a preference
and a metric difference; metric ties counted apart).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, RunError
from ..io import atomic_open, write_json, write_text
from ..stats._checks import as_vector, confidence_level, positive_int
from ..stats.correlation import make_layout
from ..stats.resampling import percentile_interval, resample_weights

PREFERENCES = ("a", "b", "equal")
HUMAN_COLUMNS = ("doc_id", "system_a", "system_b", "attribute", "preference")
TIE_DECIMALS = 12  # per-document differences equal to this many decimals are ties


@dataclass(frozen=True)
class PairedResult:
    """One metric, one pair of systems: later (``x``) minus earlier (``y``)."""

    n: int
    mean_x: float
    mean_y: float
    difference: float
    low: float
    high: float
    p_value: float
    wins: int
    ties: int
    losses: int


def paired_bootstrap(d, *, n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95, docs=None):
    """Percentile bootstrap interval of the mean of per-document differences ``d``, resampling documents.

    The draws are those of :func:`factbench.stats.resampling.resample_weights` over ``docs`` (document ids;
    default one per position), so the same seed resamples the same documents for every metric.

    Examples
    --------
    >>> low, high = paired_bootstrap([0.1, 0.2, 0.3, 0.4], n_resamples=2000, seed=0)
    >>> 0.1 <= low < 0.25 < high <= 0.4
    True
    """
    d = as_vector(d, "per-document differences")
    layout = make_layout(docs if docs is not None else [str(i) for i in range(len(d))])
    ordered = np.empty(layout.n_docs)
    ordered[layout.doc_codes] = d  # one row per document: doc_w's columns follow the layout's document codes
    doc_w, _ = resample_weights(layout, positive_int(n_resamples, "number of bootstrap resamples"), "inputs", seed)
    return percentile_interval(doc_w @ ordered / layout.n_docs, confidence)


def paired_permutation(d, *, n_permutations: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value of H0 "the mean difference is 0" by flipping the sign of each document's difference.

    Exact (every sign pattern, the observed one included) when ``2 ** n <= n_permutations``; otherwise
    ``n_permutations`` random patterns from ``numpy.random.default_rng(seed)`` and ``(1 + count) / (1 + n)``.

    Examples
    --------
    >>> paired_permutation([1.0, 2.0, 3.0])  # exact: only all-positive and all-negative reach |mean| = 2
    0.25
    """
    d = as_vector(d, "per-document differences")
    n_permutations = positive_int(n_permutations, "number of permutations")
    n = len(d)
    if n == 0:
        return math.nan
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)  # means equal up to rounding count as "as extreme"
    if n < 63 and 2**n <= n_permutations:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        null = np.abs(signs @ d / n)
        return float(np.mean(null >= observed - tol))
    rng = np.random.default_rng(seed)
    count, done, step = 0, 0, max(1, 2_000_000 // n)
    while done < n_permutations:
        m = min(step, n_permutations - done)
        signs = np.where(rng.random((m, n)) < 0.5, -1.0, 1.0)
        count += int(np.sum(np.abs(signs @ d / n) >= observed - tol))
        done += m
    return (1 + count) / (1 + n_permutations)


def win_tie_loss(d) -> tuple[int, int, int]:
    d = np.round(np.asarray(d, float), TIE_DECIMALS)
    return int(np.sum(d > 0)), int(np.sum(d == 0)), int(np.sum(d < 0))


def compare_pair(x, y, docs=None, *, n_resamples: int = 1000, n_permutations: int = 10000, seed: int = 0,
                 confidence: float = 0.95) -> PairedResult:
    """Paired comparison of per-document scores ``x`` (later system) and ``y`` (earlier system)."""
    x, y = as_vector(x, "scores of the first system"), as_vector(y, "scores of the second system")
    if len(x) != len(y):
        raise DataError(f"paired scores differ in length: {len(x)} and {len(y)}")
    if len(x) == 0:
        return PairedResult(0, *(math.nan,) * 6, 0, 0, 0)
    d = x - y
    low, high = paired_bootstrap(d, n_resamples=n_resamples, seed=seed, confidence=confidence, docs=docs)
    p = paired_permutation(d, n_permutations=n_permutations, seed=seed)
    return PairedResult(len(d), float(x.mean()), float(y.mean()), float(d.mean()), low, high, p, *win_tie_loss(d))


def system_pairs(systems: list[str]) -> list[tuple[str, str]]:
    """``(later, earlier)`` for every pair, in the order given: a,b,c -> (b, a), (c, a), (c, b)."""
    return [(later, earlier) for earlier, later in itertools.combinations(systems, 2)]


def per_document(scores, metric: str, system: str):
    """Mean score of ``system`` per document (NaN scores dropped), as a Series indexed by doc_id."""
    rows = scores[scores["system"] == system]
    return rows.dropna(subset=[metric]).groupby("doc_id")[metric].mean()


# --------------------------------------------------------------------------------------------- humans


def read_human(path) -> list[dict]:
    """Human preference rows from a CSV, TSV or JSONL file (columns ``doc_id, system_a, system_b, attribute,
    preference``; preference ``a``, ``b`` or ``equal``)."""
    from ..datasets._io import read_csv, read_jsonl

    path = Path(path)
    if not path.is_file():
        raise DataError("no such human preference file", path=path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = list(read_jsonl(path))
    elif suffix in (".csv", ".tsv"):
        rows = list(read_csv(path, "\t" if suffix == ".tsv" else ","))
    else:
        raise DataError(f"unsupported file type {suffix!r} for --human (use .csv, .tsv or .jsonl)", path=path)
    out = []
    for lineno, row in rows:
        missing = [c for c in HUMAN_COLUMNS if not str(row.get(c) or "").strip()]
        if missing:
            raise DataError(f"line {lineno}: missing {', '.join(missing)}", path=path)
        pref = str(row["preference"]).strip().lower()
        if pref not in PREFERENCES:
            raise DataError(f"line {lineno}: preference {row['preference']!r} is not one of a, b, equal", path=path)
        if row["system_a"] == row["system_b"]:
            raise DataError(f"line {lineno}: system_a and system_b are both {row['system_a']!r}", path=path)
        out.append({c: str(row[c]).strip() for c in HUMAN_COLUMNS} | {"preference": pref})
    if not out:
        raise DataError("the human preference file holds no rows", path=path)
    return out


def oriented(rows: list[dict], later: str, earlier: str) -> list[dict]:
    """The rows about ``later`` vs ``earlier``, with ``outcome`` = better / worse / equal for ``later``."""
    out = []
    for r in rows:
        pair = (r["system_a"], r["system_b"])
        if pair not in ((later, earlier), (earlier, later)):
            continue
        if r["preference"] == "equal":
            outcome = "equal"
        else:
            preferred = r["system_a"] if r["preference"] == "a" else r["system_b"]
            outcome = "better" if preferred == later else "worse"
        out.append({**r, "outcome": outcome})
    return out


def human_shares(rows: list[dict], confidence: float = 0.95) -> dict:
    """Better / worse / equal shares with Wilson intervals and the two-sided sign test (ties dropped).

    Examples
    --------
    >>> res = human_shares([{"outcome": o} for o in ["better"] * 8 + ["worse"] * 2 + ["equal"] * 2])
    >>> res["n"], round(res["better"], 3), round(res["sign_test_p"], 4)  # binomial(8 of 10, 0.5), two-sided
    (12, 0.667, 0.1094)
    """
    from scipy.stats import binomtest

    confidence = confidence_level(confidence)
    n = len(rows)
    out = {"n": n}
    for outcome in ("better", "worse", "equal"):
        k = sum(r["outcome"] == outcome for r in rows)
        out[outcome + "_count"] = k
        if n:
            ci = binomtest(k, n).proportion_ci(confidence, method="wilson")
            out[outcome], out[outcome + "_low"], out[outcome + "_high"] = k / n, float(ci.low), float(ci.high)
        else:
            out[outcome] = out[outcome + "_low"] = out[outcome + "_high"] = math.nan
    decided = out["better_count"] + out["worse_count"]
    out["sign_test_p"] = float(binomtest(out["better_count"], decided, 0.5).pvalue) if decided else math.nan
    return out


def metric_agreement(rows: list[dict], doc_scores: dict[str, "object"], later: str, earlier: str) -> dict:
    """How often the metric's per-document preference matches the annotator's (rows with a preference)."""
    agree = disagree = metric_ties = 0
    x, y = doc_scores[later], doc_scores[earlier]
    for r in rows:
        if r["outcome"] == "equal" or r["doc_id"] not in x.index or r["doc_id"] not in y.index:
            continue
        diff = round(float(x[r["doc_id"]] - y[r["doc_id"]]), TIE_DECIMALS)
        if diff == 0:
            metric_ties += 1
        elif (diff > 0) == (r["outcome"] == "better"):
            agree += 1
        else:
            disagree += 1
    decided = agree + disagree
    return {"n": decided + metric_ties, "agree": agree, "disagree": disagree, "metric_ties": metric_ties,
            "agreement": agree / decided if decided else math.nan}


# ---------------------------------------------------------------------------------------------- run


def compare_run(run_dir, systems: list[str], out_dir=None, *, human=None, metrics: list[str] | None = None,
                n_resamples: int = 1000, n_permutations: int = 10000, seed: int = 0,
                confidence: float = 0.95, command: str = "") -> Path:
    """Compare ``systems`` on every score column of a run; write compare.md/.csv/.json/.png (and human
    tables) to ``out_dir`` (default ``RUN_DIR/compare``); return the Markdown file."""
    import pandas as pd

    from ..report import load_run, score_columns
    from ..report.tables import markdown_table
    from .plots import compare_plot

    run_dir = Path(run_dir)
    meta, scores = load_run(run_dir)
    if len(systems) < 2 or len(set(systems)) != len(systems):
        raise ConfigError(f"--systems needs two or more distinct systems, got {','.join(systems)}")
    known = sorted(scores["system"].astype(str).unique())
    unknown = [s for s in systems if s not in known]
    if unknown:
        raise ConfigError(f"system(s) {', '.join(unknown)} not in {run_dir}; systems: {', '.join(known)}")
    columns = score_columns(meta)
    if metrics:
        bad = [m for m in metrics if m not in columns]
        if bad:
            raise ConfigError(f"metric column(s) {', '.join(bad)} not in {run_dir}; columns: {', '.join(columns)}")
        columns = metrics
    if not columns:
        raise RunError(f"{run_dir} holds no score columns")
    confidence_level(confidence)
    out_dir = Path(out_dir) if out_dir else run_dir / "compare"
    human_rows = read_human(human) if human else None
    tiny = any(m.get("profile") == "tiny" for m in meta["metrics"].values())

    table, diffs, intervals, doc_scores = [], {}, {}, {}
    rows_per_doc = {}
    for metric in columns:
        doc_scores[metric] = {s: per_document(scores, metric, s) for s in systems}
        diffs[metric], intervals[metric] = {}, {}
        for later, earlier in system_pairs(systems):
            x, y = doc_scores[metric][later], doc_scores[metric][earlier]
            common = sorted(set(x.index) & set(y.index))
            res = compare_pair(x[common].to_numpy(), y[common].to_numpy(), common, n_resamples=n_resamples,
                               n_permutations=n_permutations, seed=seed, confidence=confidence)
            dropped = len(set(x.index) | set(y.index)) - len(common)
            table.append({"metric": metric, "system": later, "baseline": earlier, "n_docs": res.n,
                          "docs_dropped": dropped, "mean_system": res.mean_x, "mean_baseline": res.mean_y,
                          "difference": res.difference, "ci_low": res.low, "ci_high": res.high,
                          "p_permutation": res.p_value, "wins": res.wins, "ties": res.ties, "losses": res.losses})
            label = f"{later}-{earlier}"
            diffs[metric][label] = (x[common] - y[common]).to_numpy()
            intervals[metric][label] = (res.difference, res.low, res.high)
    for s in systems:
        counts = scores[scores["system"] == s].groupby("doc_id").size()
        rows_per_doc[s] = float(counts.mean()) if len(counts) else 0.0
    frame = pd.DataFrame(table)

    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(out_dir / "compare.csv", newline="") as fh:
        frame.to_csv(fh, index=False)
    compare_plot(diffs, intervals, out_dir / "compare.png")

    human_tables = []
    if human_rows is not None:
        attributes = sorted({r["attribute"] for r in human_rows})
        for later, earlier in system_pairs(systems):
            pair_rows = oriented(human_rows, later, earlier)
            for attribute in attributes:
                rows = [r for r in pair_rows if r["attribute"] == attribute]
                if not rows:
                    continue
                shares = human_shares(rows, confidence)
                human_tables.append({"attribute": attribute, "system": later, "baseline": earlier, **shares})
                for metric in columns:
                    agreement = metric_agreement(rows, doc_scores[metric], later, earlier)
                    human_tables[-1].setdefault("agreement", {})[metric] = agreement
        flat = [{k: v for k, v in h.items() if k != "agreement"} for h in human_tables]
        with atomic_open(out_dir / "human.csv", newline="") as fh:
            pd.DataFrame(flat).to_csv(fh, index=False)
        agree_rows = [{"attribute": h["attribute"], "system": h["system"], "baseline": h["baseline"], "metric": m, **a}
                      for h in human_tables for m, a in h.get("agreement", {}).items()]
        with atomic_open(out_dir / "agreement.csv", newline="") as fh:
            pd.DataFrame(agree_rows).to_csv(fh, index=False)

    settings = {"systems": systems, "metrics": columns, "bootstrap_resamples": n_resamples, "permutations": n_permutations,
                "seed": seed, "confidence": confidence, "human": str(human) if human else None, "run": str(run_dir),
                "command": command, "rows_per_document": rows_per_doc}
    write_json(out_dir / "compare.json", {"settings": settings, "table": table, "human": human_tables})
    md = _markdown(frame, human_tables, settings, tiny, markdown_table)
    write_text(out_dir / "compare.md", md)
    return out_dir / "compare.md"


def _fmt(v, digits=4):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def _markdown(frame, human_tables, settings, tiny, markdown_table) -> str:
    import pandas as pd

    pct = f"{settings['confidence'] * 100:g}%"
    lines = ["# factbench compare", ""]
    if tiny:
        lines += ["> **Tiny profile: these numbers are meaningless.** The run was scored with random-weight tiny models.", ""]
    lines += [
        f"- run: `{settings['run']}`; systems: {', '.join(settings['systems'])} (each later system against each "
        "earlier one: difference = system - baseline)",
        f"- interval: {pct} percentile bootstrap over documents, {settings['bootstrap_resamples']} resamples, seed "
        f"{settings['seed']}; p: paired sign-flip permutation test of the mean difference, two-sided, "
        f"{settings['permutations']} permutations (exact when 2^n is fewer)",
        "- n: documents where both systems have a score (dropped: documents where one of them has none)",
        "- wins / ties / losses: documents where the system scores higher / the same / lower than the baseline",
        "- rows per document: " + ", ".join(f"{s} {n:g}" for s, n in settings["rows_per_document"].items())
        + " (several rows of a system for one document are averaged first)",
        "",
        "## Metrics",
        "",
    ]
    shown = pd.DataFrame({
        "metric": frame["metric"], "system": frame["system"], "baseline": frame["baseline"],
        "n": [f"{n} ({d} dropped)" if d else str(n) for n, d in zip(frame["n_docs"], frame["docs_dropped"])],
        "mean (system)": frame["mean_system"].map(_fmt), "mean (baseline)": frame["mean_baseline"].map(_fmt),
        "difference": frame["difference"].map(_fmt),
        pct + " interval": [f"[{_fmt(a)}, {_fmt(b)}]" for a, b in zip(frame["ci_low"], frame["ci_high"])],
        "p": frame["p_permutation"].map(_fmt), "win/tie/loss": [f"{w}/{t}/{lo}" for w, t, lo in
                                                                 zip(frame["wins"], frame["ties"], frame["losses"])],
    })
    lines += [markdown_table(shown), ""]
    if human_tables:
        lines += ["## Human preferences", "",
                  f"Shares of judgments where the system is better / worse / equal to the baseline, {pct} Wilson "
                  "intervals; sign test: two-sided binomial on better vs worse (equal dropped).", ""]
        rows = [{"attribute": h["attribute"], "system": h["system"], "baseline": h["baseline"], "n": h["n"],
                 **{o: f"{_fmt(h[o], 3)} [{_fmt(h[o + '_low'], 3)}, {_fmt(h[o + '_high'], 3)}]"
                    for o in ("better", "worse", "equal")},
                 "sign test p": _fmt(h["sign_test_p"])} for h in human_tables]
        lines += [markdown_table(pd.DataFrame(rows)), "", "### Metric agreement with the annotators", "",
                  "Share of judgments with a preference where the metric's per-document difference points the same "
                  "way (metric ties left out of the share and counted).", ""]
        rows = [{"attribute": h["attribute"], "system": h["system"], "baseline": h["baseline"], "metric": m,
                 "n": a["n"], "agreement": _fmt(a["agreement"], 3), "metric ties": a["metric_ties"]}
                for h in human_tables for m, a in h["agreement"].items()]
        lines += [markdown_table(pd.DataFrame(rows)), ""]
    lines += ["Files: compare.csv, compare.json, compare.png" + (", human.csv, agreement.csv" if human_tables else ""), ""]
    return "\n".join(lines)
