"""Tests written for mutants of factbench/report/analysis.py (``_analyse_column``, ``_detection``) that survived
the mutation run of 2026-12-01 (docs/mutation.md).

They pin down one correlation column as a whole: every row's estimate, counts, bootstrap percentile interval at
``settings.confidence``, Fisher interval (Pearson at the global, system and partial levels only; n = units, or rows
at the partial level with systems - 1 controls), the notes for metrics with fewer than three scored rows, and the
column's sizes; and the detection table of a run: which labels of which datasets are evaluated (binary, both
cuts), thresholds tuned per group or once on the whole dataset, the protocol's grouping tail, the ``by`` /
``group`` tags of rows and pairs.

Expected values never come from factbench: estimates from scipy (pearsonr, spearmanr, kendalltau with the variant
asked) on the rows written out here; the bootstrap distribution is rebuilt by materialising every resample of
documents drawn as documented in ``resample_weights`` (``numpy.random.default_rng(seed).integers(0, n_docs,
(B, n_docs))``, documents in sorted order) and computing scipy's statistic on it, then numpy's percentiles; the
Fisher interval is ``tanh(atanh r +- z / sqrt(n - 3 - k))`` written here; the Williams p-value is Steiger's (1980)
eq. 7 written here; detection thresholds, balanced accuracies and AUCs are hand-computed (arithmetic in the
comments) with SummaC's rule: candidates are the percentiles 0, 0.2, ..., 99.8 of the validation scores, the last
best candidate wins, a summary is consistent if its score > threshold.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from factbench.report.analysis import Settings, _analyse_column, _detection

NAN = float("nan")

# ---------------------------------------------------------------------------------------------------------
# _analyse_column

DOCS = [f"d{i}" for i in range(6)]
SYSTEMS = list("ABCDE")
COMBOS = (("global", "pearson"), ("system", "pearson"), ("partial", "pearson"), ("summary", "pearson"),
          ("summary", "kendall"), ("global", "spearman"), ("global", "kendall"))
NAMES = {"pearson": "Pearson", "spearman": "Spearman", "kendall": "Kendall tau-c"}
LEVEL_WORDS = {"global": "global", "system": "system-level", "summary": "summary-level",
               "partial": "partial (controlling for system, FRANK)"}
BOOT, SEED, CONF = 40, 7, 0.9
KEYS = ["dataset", "label", "label_kind", "metric", "level", "method", "estimate", "n", "n_units", "n_skipped",
        "ci_low", "ci_high", "ci_undefined_resamples", "fisher_low", "fisher_high", "protocol", "_level", "_method"]


def _frame():
    """6 documents x 5 systems, continuous metric scores, a discrete label (0-3). Row 4 has no label, row 9 no
    score of m2; "few" has two scores (too few: a note), "three" exactly three (enough). Label and m2 are object
    columns with None for missing, as a CSV column before conversion would be."""
    rng = np.random.default_rng(5)
    n = len(DOCS) * len(SYSTEMS)
    y = rng.integers(0, 4, size=n).astype(float)  # discrete human score: ties, so tau-c differs from tau-b
    m1 = np.round(y + 0.8 * rng.normal(size=n), 6)
    m2 = np.round(y + 1.5 * rng.normal(size=n) + np.repeat(np.arange(len(DOCS)), len(SYSTEMS)) * 0.1, 6)
    few = np.full(n, NAN)
    few[[0, 7]] = [0.1, 0.2]
    three = np.full(n, NAN)
    three[[1, 12, 23]] = [0.3, 0.9, 0.5]  # docs d0, d2, d4; systems B, C, D
    label = [None if i == 4 else float(v) for i, v in enumerate(y)]
    m2_obj = [None if i == 9 else float(v) for i, v in enumerate(m2)]
    return pd.DataFrame({
        "doc_id": np.repeat(DOCS, len(SYSTEMS)), "system": SYSTEMS * len(DOCS),
        "label:h": pd.Series(label, dtype=object), "m1": m1, "few": few, "m2": pd.Series(m2_obj, dtype=object),
        "three": three,
    })


def _corr(x, y, method):
    """scipy's statistic; NaN for fewer than two points or a constant vector (as factbench defines it)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return NAN
    if method == "pearson":
        return float(stats.pearsonr(x, y).statistic)
    if method == "spearman":
        return float(stats.spearmanr(x, y).statistic)
    return float(stats.kendalltau(x, y, variant="c").statistic)


def _means(keys, v):
    names = sorted(set(keys))
    return names, np.array([v[keys == k].mean() for k in names])


def _level(rows, level, method):
    """(estimate, units, skipped) at one level on a materialised table (doc copy, system, x, y) of scored rows."""
    copy = np.array([r[0] for r in rows])
    sys_ = np.array([r[1] for r in rows])
    x, y = np.array([r[2] for r in rows], float), np.array([r[3] for r in rows], float)
    if level == "global":
        return _corr(x, y, method), len(x), 0
    if level == "system":  # the mean of every system over its rows, one point per system
        names, mx = _means(sys_, x)
        return _corr(mx, _means(sys_, y)[1], method), len(names), 0
    if level == "partial":  # residuals from each system's mean
        rx = x - np.array([x[sys_ == s].mean() for s in sys_])
        ry = y - np.array([y[sys_ == s].mean() for s in sys_])
        return _corr(np.round(rx, 10), np.round(ry, 10), method), len(x), 0
    # summary level: the mean over documents (each drawn copy) of the correlation among its summaries
    per = [_corr(x[copy == c], y[copy == c], method) for c in sorted(set(copy))]
    ok = [r for r in per if not math.isnan(r)]
    return (float(np.mean(ok)) if ok else NAN), len(ok), len(per) - len(ok)


def _expected_rows(frame, metric):
    x = pd.to_numeric(frame[metric]).to_numpy(float)
    y = pd.to_numeric(frame["label:h"]).to_numpy(float)
    keep = np.isfinite(x) & np.isfinite(y)
    doc_rows = {d: [i for i in range(len(frame)) if frame.doc_id[i] == d and keep[i]] for d in DOCS}
    sys_ = frame.system.to_numpy()

    def table(draw):  # the scored rows of the drawn documents, each draw its own copy
        return [(k, sys_[i], x[i], y[i]) for k, d in enumerate(draw) for i in doc_rows[DOCS[d]]]

    # resample_weights' documented draw: documents in sorted order (d0..d5), inputs drawn first
    draws = np.random.default_rng(SEED).integers(0, len(DOCS), size=(BOOT, len(DOCS)))
    n_sys = len(set(sys_[keep]))
    z = stats.norm.ppf(1 - (1 - CONF) / 2)
    out = []
    for level, method in COMBOS:
        est, units, skipped = _level(table(range(len(DOCS))), level, method)
        dist = np.array([_level(table(d), level, method)[0] for d in draws])
        ok = dist[~np.isnan(dist)]
        low, high = np.percentile(ok, [5, 95]) if len(ok) else (NAN, NAN)  # 90%: 5th and 95th percentiles
        fisher = (NAN, NAN)
        if method == "pearson" and level != "summary":
            n, k = (keep.sum(), n_sys - 1) if level == "partial" else (units, 0)
            if n - 3 - k >= 1 and not math.isnan(est):
                half = z / math.sqrt(n - 3 - k)
                fisher = (math.tanh(math.atanh(est) - half), math.tanh(math.atanh(est) + half))
        out.append({
            "dataset": "ds", "label": "h", "label_kind": "continuous", "metric": metric, "level": level,
            "method": NAMES[method], "estimate": est, "n": int(keep.sum()), "n_units": units, "n_skipped": skipped,
            "ci_low": low, "ci_high": high, "ci_undefined_resamples": int(np.isnan(dist).sum()),
            "fisher_low": fisher[0], "fisher_high": fisher[1],
            "protocol": f"{NAMES[method]}, {LEVEL_WORDS[level]}; 90% CI: percentile bootstrap over inputs, "
                        f"40 resamples, seed 7",
            "_level": level, "_method": method,
        })
    return out


@pytest.fixture(scope="module")
def column():
    frame = _frame()
    settings = Settings(bootstrap=BOOT, seed=SEED, confidence=CONF, kendall="c", combos=COMBOS, permutations=0)
    return frame, _analyse_column(frame, ["m1", "few", "m2", "three"], "h", "continuous", "ds", settings)


def _same(actual, expected):
    assert list(actual) == list(expected)
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(got, float) and math.isnan(got), (expected["metric"], expected["level"], key, got)
        elif isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (expected["metric"], expected["level"], key)
        else:
            assert got == want and type(got) is type(want), (expected["metric"], expected["level"], key, got)


def test_column_sizes_and_the_note_for_a_metric_with_two_scored_rows(column):
    _, col = column
    assert (col.dataset, col.label, col.kind) == ("ds", "h", "continuous")
    assert (col.n_docs, col.n_systems, col.n_rows) == (6, 5, 30)
    assert col.by is None and col.group is None
    # "few" has scores in rows 0 and 7, both labelled: 2 < 3
    assert col.notes == ["few: 2 summaries with both a score and a label (fewer than 3): no correlation"]


@pytest.mark.parametrize("metric", ["m1", "m2", "three"])
def test_correlation_rows_match_scipy_bootstrap_and_fisher_oracles(column, metric):
    """Every (level, method) row of a metric: the scipy estimate on the scored rows, the counts, the 90%
    percentile interval of the rebuilt bootstrap (over documents, 40 resamples, seed 7), the Fisher interval
    (global n = rows, system n = systems, partial n = rows with 4 controls; none at the summary level or for
    Spearman/Kendall). "three" (exactly 3 scored rows) still gets its rows, after the note for "few"."""
    frame, col = column
    rows = [r for r in col.rows if r["metric"] == metric]
    expected = _expected_rows(frame, metric)
    assert len(rows) == len(expected) == len(COMBOS)
    for got, want in zip(rows, expected):
        _same(got, want)
    assert [r["metric"] for r in col.rows] == ["m1"] * 7 + ["m2"] * 7 + ["three"] * 7


def test_correlation_rows_pin_the_counts_and_intervals_that_differ_between_levels(column):
    """Guards that the oracle comparison above is discriminating: the system-level Fisher interval uses the 5
    systems (not the 28 rows), the partial one 28 - 3 - 4 = 21 degrees of freedom, the summary level has none."""
    _, col = column
    row = {(r["metric"], r["level"], r["method"]): r for r in col.rows}
    assert (row["m1", "global", "Pearson"]["n"], row["m2", "global", "Pearson"]["n"]) == (29, 28)
    assert row["m1", "system", "Pearson"]["n_units"] == 5
    assert row["m1", "summary", "Pearson"]["n_units"] == 6
    assert not math.isnan(row["m1", "system", "Pearson"]["fisher_low"])
    assert math.isnan(row["m1", "summary", "Pearson"]["fisher_low"])
    assert math.isnan(row["m1", "global", "Spearman"]["fisher_low"])
    # the labels' ties make tau-b another number than the tau-c asked for (scipy, on m1's 29 scored rows)
    frame = column[0]
    x, y = frame["m1"].to_numpy(float), pd.to_numeric(frame["label:h"]).to_numpy(float)
    keep = np.isfinite(y)
    tau_c, tau_b = (stats.kendalltau(x[keep], y[keep], variant=v).statistic for v in "cb")
    assert row["m1", "global", "Kendall tau-c"]["estimate"] == pytest.approx(tau_c, rel=1e-12)
    assert abs(tau_c - tau_b) > 1e-3
    r = row["m2", "partial", "Pearson"]
    half = stats.norm.ppf(0.95) / math.sqrt(28 - 3 - 4)
    assert r["fisher_high"] == pytest.approx(math.tanh(math.atanh(r["estimate"]) + half), rel=1e-12)


def test_pairs_get_the_labels_williams_uses_them(column):
    """The Williams p-value of m1 vs m2 at the global level, on the 28 rows both scored: Steiger (1980) eq. 7
    on scipy's three Pearson correlations, n - 3 df."""
    frame, col = column
    x1, x2 = frame["m1"].to_numpy(float), pd.to_numeric(frame["m2"]).to_numpy(float)
    y = pd.to_numeric(frame["label:h"]).to_numpy(float)
    both = np.isfinite(x1) & np.isfinite(x2) & np.isfinite(y)
    r12, r13, r23 = (stats.pearsonr(u[both], v[both]).statistic for u, v in ((x1, y), (x2, y), (x1, x2)))
    n = int(both.sum())
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    t = (r12 - r13) * np.sqrt((n - 1) * (1 + r23) / (2 * (n - 1) / (n - 3) * det + ((r12 + r13) / 2) ** 2
                                                     * (1 - r23) ** 3))
    (p,) = [p for p in col.pairs if (p["metric_a"], p["metric_b"], p["level"]) == ("m1", "m2", "global")
            and p["method"] == "Pearson"]
    assert n == 28 and p["n_common"] == 28
    assert p["p_williams"] == pytest.approx(2 * stats.t.sf(abs(t), n - 3), rel=1e-9)


# ---------------------------------------------------------------------------------------------------------
# _detection

# Dataset "x", binary label "consistent", field "origin" with groups g1 and g2; (score of m, label) per row:
#   g1 val  0.1 0  0.2 0  0.8 1  0.9 1     g1 test 0.3 0  0.45 0  0.6 1  0.85 1
#   g2 val  0.3 0  0.4 0  0.5 1  0.6 1     g2 test 0.35 0  0.52 0  0.55 1  0.48 1
# plus a train row (left out). Metric n has the same scores but none for the g2 test row 0.35.
# Thresholds (percentile p of the sorted val scores, linear interpolation, last best candidate):
#   g1: 0.1 0.2 0.8 0.9 -> separating candidates lie in [0.2, 0.8): the last is p = 66.6, position 3 * 0.666
#       = 1.998 -> 0.2 + 0.998 * 0.6 = 0.7988
#   g2: 0.3 0.4 0.5 0.6 -> [0.4, 0.5): p = 66.6 -> 0.4 + 0.998 * 0.1 = 0.4998
#   whole dataset: 0.1 0.2 0.3 0.4 | 0.5 0.6 0.8 0.9 -> [0.4, 0.5): positions 7p/100 in [3, 4); p = 57.2 gives
#       4.004 (0.5004, above 0.5), so the last is p = 57.0: 3.99 -> 0.4 + 0.99 * 0.1 = 0.499
# Test cut, predictions "score > threshold"; balanced accuracy = mean of the two class recalls; AUC = share of
# (positive, negative) pairs the positive wins (ties one half):
#   whole, 0.499: negatives 0.3 0.45 0.35 0.52 -> 0 0 0 1 (3/4); positives 0.6 0.85 0.55 0.48 -> 1 1 1 0 (3/4)
#       m: bacc 3/4; AUC 0.6, 0.85, 0.55 beat all 4, 0.48 beats 3 -> 15/16
#       n (no 0.35): negatives 0 0 1 (2/3), positives 3/4 -> bacc 17/24; AUC 3 + 3 + 3 + 2 = 11 of 12
#   g1, 0.7988: negatives 0 0 (1), positives 0.6 -> 0, 0.85 -> 1 (1/2): bacc 3/4; AUC 1 (m and n alike)
#   g1, 0.499 (global threshold): all right: bacc 1; AUC 1
#   g2, 0.4998 or 0.499: negatives 0.35 -> 0, 0.52 -> 1 (1/2); positives 0.55 -> 1, 0.48 -> 0 (1/2): bacc 1/2;
#       AUC 0.55 beats both, 0.48 beats 0.35 only: 3/4
#       n (no 0.35): negatives 0.52 -> 1 (0), positives 1/2: bacc 1/4; AUC 0.55 beats 0.52, 0.48 does not: 1/2
#   validation balanced accuracy: 1 at every threshold above (each separates its validation cut)
# Dataset "b" has only test (and train) rows, "c" only validation rows: no detection for them. Label "score" of
# "x" is continuous; label "absent" is binary but not in the table: neither is evaluated.

X_ROWS = [  # origin, split, label, score
    ("g1", "val", 0, 0.1), ("g1", "val", 0, 0.2), ("g1", "val", 1, 0.8), ("g1", "val", 1, 0.9),
    ("g2", "validation", 0, 0.3), ("g2", "val", 0, 0.4), ("g2", "val", 1, 0.5), ("g2", "dev", 1, 0.6),
    ("g1", "test", 0, 0.3), ("g1", "test", 0, 0.45), ("g1", "test", 1, 0.6), ("g1", "test", 1, 0.85),
    ("g2", "test", 0, 0.35), ("g2", "test", 0, 0.52), ("g2", "test", 1, 0.55), ("g2", "TEST", 1, 0.48),
    ("g1", "train", 0, 0.99),
]
N_MISSING = 12  # the g2 test row 0.35: no score of n
KINDS = {("x", "consistent"): "binary", ("x", "score"): "continuous", ("x", "absent"): "binary",
         ("b", "consistent"): "binary", ("c", "consistent"): "binary"}
BASE = ("balanced accuracy on test; threshold tuned on val over score percentiles 0, 0.2, ..., 99.8 (SummaC), "
        "consistent if score > threshold")
PER_GROUP = ("; thresholds tuned on the validation cut of each origin group separately (AggreFact: one threshold "
             "per origin); group 'all' uses the whole validation cut")
GLOBAL = "; one threshold per metric, tuned on the whole dataset's validation cut, applied to every origin group"
ROW_COLUMNS = ["metric", "threshold", "val_balanced_accuracy", "test_balanced_accuracy", "test_auc", "n_val",
               "n_test", "test_positive", "protocol", "note", "bacc_ci_low", "bacc_ci_high", "auc_ci_low",
               "auc_ci_high", "interval"]
PAIR_COLUMNS = ["metric_a", "metric_b", "bacc_a", "bacc_b", "bacc_difference", "bacc_diff_low", "bacc_diff_high",
                "p_bacc", "auc_a", "auc_b", "auc_difference", "auc_diff_low", "auc_diff_high", "p_auc", "n_common",
                "protocol"]
INTERVAL = ("90% percentile bootstrap over test summaries resampled within class (class sizes fixed), threshold "
            "held fixed, 30 resamples, seed 3")


def _scores():
    rows = []
    for i, (origin, split, label, s) in enumerate(X_ROWS):
        rows.append(("x", split, label, 0.5, s, NAN if i == N_MISSING else s, origin))
    rows += [("b", "test", 0, 0.1, 0.2, 0.2, "g1"), ("b", "test", 1, 0.2, 0.9, 0.9, "g1"),
             ("b", "train", 0, 0.3, 0.1, 0.1, "g1"), ("b", "train", 1, 0.4, 0.8, 0.8, "g2")]
    rows += [("c", "val", 0, 0.1, 0.2, 0.2, "g1"), ("c", "validation", 1, 0.2, 0.9, 0.9, "g2"),
             ("c", "val", 0, 0.3, 0.1, 0.1, "g1"), ("c", "train", 1, 0.4, 0.8, 0.8, "g2")]
    table = pd.DataFrame(rows, columns=["dataset", "split", "label:consistent", "label:score", "m", "n", "origin"])
    values = table.pop("origin")
    return table, values


def _det_settings(**kw):
    return Settings(**{"bootstrap": 30, "seed": 3, "confidence": 0.9, **kw})


def _row(metric, threshold, val, test, auc, counts, protocol):
    """counts: (n_val, n_test, test_positive)."""
    return {"metric": metric, "threshold": threshold, "val_balanced_accuracy": val, "test_balanced_accuracy": test,
            "test_auc": auc, **dict(zip(("n_val", "n_test", "test_positive"), counts)),
            "protocol": protocol, "note": "", "interval": INTERVAL}


WHOLE_M, WHOLE_N, GROUP, G2_N = (8, 8, 4), (8, 7, 4), (4, 4, 2), (4, 3, 2)


def _whole(protocol):  # group "all" or no grouping: threshold 0.499 tuned on the whole validation cut
    return [_row("m", 0.499, 1.0, 3 / 4, 15 / 16, WHOLE_M, protocol),
            _row("n", 0.499, 1.0, 17 / 24, 11 / 12, WHOLE_N, protocol)]


def _check(table, expected, by):
    tags = ["by", "group"] if by else []
    columns = ["dataset", "label", *tags, *ROW_COLUMNS]
    assert list(table.columns) == columns
    assert len(table) == len(expected)
    for (_, got), (group, want) in zip(table.iterrows(), expected):
        assert (got["dataset"], got["label"]) == ("x", "consistent")
        if by:
            assert (got["by"], got["group"]) == (by, group)
        for key, value in want.items():
            assert got[key] == (pytest.approx(value, abs=1e-12) if isinstance(value, float) else value), \
                (group, want["metric"], key, got[key])
        assert got["bacc_ci_low"] <= got["test_balanced_accuracy"] <= got["bacc_ci_high"]
        assert got["auc_ci_low"] <= got["test_auc"] <= got["auc_ci_high"]


def _check_pairs(pairs, expected, by):
    tags = ["by", "group"] if by else []
    assert list(pairs.columns) == ["dataset", "label", *tags, *PAIR_COLUMNS]
    assert len(pairs) == len(expected)
    for (_, got), (group, n_common, bacc_a, bacc_b, auc_a, auc_b) in zip(pairs.iterrows(), expected):
        assert (got["dataset"], got["label"], got["metric_a"], got["metric_b"]) == ("x", "consistent", "m", "n")
        if by:
            assert (got["by"], got["group"]) == (by, group)
        assert got["n_common"] == n_common
        assert (got["bacc_a"], got["bacc_b"], got["auc_a"], got["auc_b"]) \
            == pytest.approx((bacc_a, bacc_b, auc_a, auc_b), abs=1e-12)
        assert got["protocol"] == f"paired bootstrap difference on the same resamples ({INTERVAL}), two-sided"


# on the 7 test rows both score: m's scores are n's: bacc 17/24 and AUC 11/12 for both
WHOLE_PAIR = (7, 17 / 24, 17 / 24, 11 / 12, 11 / 12)


@pytest.mark.parametrize("kw", [{}, {"thresholds": "global"}, {"by": "origin"}],
                         ids=["plain", "global-thresholds-without-groups", "by-without-group-values"])
def test_detection_without_groups(kw):
    """Only x/consistent is evaluated, on the whole dataset, untagged, protocol without a grouping tail; the
    thresholds setting and a ``by`` without group values change nothing."""
    scores, _ = _scores()
    table, pairs = _detection(scores, ["m", "n"], KINDS, _det_settings(**kw))
    _check(table, [(None, r) for r in _whole(BASE)], None)
    # the pair is re-drawn on the 7 shared test rows (n lacks one)
    _check_pairs(pairs, [(None, *WHOLE_PAIR)], None)


def test_detection_by_group_with_thresholds_per_group():
    scores, values = _scores()
    table, pairs = _detection(scores, ["m", "n"], KINDS, _det_settings(by="origin"), values)
    p = BASE + PER_GROUP
    expected = [("all", r) for r in _whole(p)] + [
        ("g1", _row("m", 0.7988, 1.0, 3 / 4, 1.0, GROUP, p)), ("g1", _row("n", 0.7988, 1.0, 3 / 4, 1.0, GROUP, p)),
        ("g2", _row("m", 0.4998, 1.0, 1 / 2, 3 / 4, GROUP, p)), ("g2", _row("n", 0.4998, 1.0, 1 / 4, 1 / 2, G2_N, p))]
    _check(table, expected, "origin")
    # g1: both score all 4 test rows; g2: 3 shared rows 0.52 (0), 0.55 (1), 0.48 (1): m's scores are n's there
    _check_pairs(pairs, [("all", *WHOLE_PAIR), ("g1", 4, 3 / 4, 3 / 4, 1.0, 1.0),
                         ("g2", 3, 1 / 4, 1 / 4, 1 / 2, 1 / 2)], "origin")


def test_detection_by_group_with_one_global_threshold():
    """Every group uses the whole dataset's threshold 0.499 (tuned in group "all"); validation accuracy is that
    threshold's on the group's own validation cut."""
    scores, values = _scores()
    table, pairs = _detection(scores, ["m", "n"], KINDS, _det_settings(by="origin", thresholds="global"), values)
    p = BASE + GLOBAL
    expected = [("all", r) for r in _whole(p)] + [
        ("g1", _row("m", 0.499, 1.0, 1.0, 1.0, GROUP, p)), ("g1", _row("n", 0.499, 1.0, 1.0, 1.0, GROUP, p)),
        ("g2", _row("m", 0.499, 1.0, 1 / 2, 3 / 4, GROUP, p)), ("g2", _row("n", 0.499, 1.0, 1 / 4, 1 / 2, G2_N, p))]
    _check(table, expected, "origin")
    _check_pairs(pairs, [("all", *WHOLE_PAIR), ("g1", 4, 1.0, 1.0, 1.0, 1.0),
                         ("g2", 3, 1 / 4, 1 / 4, 1 / 2, 1 / 2)], "origin")
