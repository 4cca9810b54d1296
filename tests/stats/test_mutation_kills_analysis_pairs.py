"""Tests written for mutants of ``_pair`` and ``_compare`` in factbench/report/analysis.py that survived the
mutation run of 2026-12-01 (docs/mutation.md).

They pin down the pairwise rows of ``pairwise.csv``: the bootstrap difference of two metrics' paired
distributions (at the configured confidence), the Williams test on the three correlations computed on the rows
where *both* metrics have a score (Pearson at the global, partial and system levels only, more than 3 common
rows, effective n reduced by (systems - 1) at the partial level, finite correlations), the paired permutation
test (only for a pair containing the column's best metric, only for ``settings.permutation_combos``, more than
3 common rows, with the configured level, method, Kendall variant, number of permutations, unit, seed and
mask), ``n_common``, the protocol text, and ``_compare``'s choice of the best metric and of the pairs.

Expected values never come from factbench:

- correlations from scipy (``pearsonr``, ``kendalltau``) on the common rows, with the partial level's residuals
  (each system's mean subtracted) and the system level's per-system means computed here with numpy;
- the Williams p-value from Steiger's (1980) eq. 7 / Graham & Baldwin (2014) eq. 1, written out here, with
  scipy's t distribution on n - 3 df;
- the permutation p-value from a re-implementation here of the documented algorithm of
  ``significance.permutation_test`` (z-score each metric over the used rows; one fair coin per unit drawn as
  ``default_rng(seed).random((n_permutations, n_units)) < 0.5``; swap the two metrics where it is True;
  p = (1 + #{|null| >= |observed|}) / (1 + #null)), with the correlations from scipy;
- the bootstrap interval from hand-chosen distributions (percentile positions worked out in the comments);
- the protocol text from the documented wording in ``Settings.protocol`` / ``_pair``.
"""

import math

import numpy as np
import pytest
from scipy import stats

from factbench.report.analysis import Column, Settings, _compare, _pair
from factbench.stats.correlation import make_layout

NAN = float("nan")
SYSTEMS = "ABCDE"
N_DOCS = 4


# ---------------------------------------------------------------------------------------------------------
# Inputs built by hand (a seeded generator only makes up the numbers)


def _data():
    """4 documents x 5 systems = 20 summaries; a discrete human score (ties); metric a misses row 3, metric b
    row 8, the human score row 14 (so no metric has a score there). Returns docs, systems, y (with its NaN),
    and the raw metric columns."""
    rng = np.random.default_rng(5)
    docs = np.array([f"d{i}" for i in range(N_DOCS) for _ in SYSTEMS])
    systems = np.array([s for _ in range(N_DOCS) for s in SYSTEMS])
    y = rng.integers(1, 4, size=len(docs)).astype(float)
    k = np.array([SYSTEMS.index(s) for s in systems], float)
    raw = {
        "a": np.round(y + 0.3 * k + rng.normal(0, 0.7, len(y)), 2),
        "b": np.round(y - 0.2 * k + rng.normal(0, 1.2, len(y)), 2),
        "c": np.round(rng.normal(0, 1.0, len(y)), 2),
    }
    raw["a"][3] = NAN
    raw["b"][8] = NAN
    y[14] = NAN
    return docs, systems, y, raw


def _inputs(metrics=("a", "b")):
    """What ``_analyse_column`` hands to ``_compare``: xs (0 where a metric has no score), masks (metric and
    human score both finite), the layout and the human scores (NaN kept)."""
    docs, systems, y, raw = _data()
    xs, masks = {}, {}
    for m in metrics:
        mask = np.isfinite(raw[m]) & np.isfinite(y)
        xs[m], masks[m] = np.where(mask, raw[m], 0.0), mask
    return docs, systems, y, xs, masks, make_layout(docs, systems)


def _dists(levels_methods, metrics, ests=None):
    """Hand-made bootstrap distributions: 21 resamples, metric a's = est_b + (k - 3) / 100 for k = 0..20 (k in a
    shuffled order), b's = its estimate; so the differences a - b are -0.03, -0.02, ..., 0.17."""
    ests = ests or {"a": 0.6, "b": 0.4, "c": 0.2}
    order = np.array([7, 0, 20, 3, 15, 1, 9, 12, 2, 19, 4, 11, 6, 17, 8, 14, 5, 18, 10, 13, 16])
    out = {}
    for lv, me in levels_methods:
        for m in metrics:
            dist = np.full(21, 0.4)
            if m == "a":
                dist = 0.4 + (order - 3) / 100
            out[(lv, me, m)] = (ests[m], dist)
    return out


def _settings(**kw):
    base = dict(bootstrap=30, seed=7, resample="systems", kendall="c", permutations=60,
                permutation_combos=(("global", "pearson"),), confidence=0.9, plots=False)
    base.update(kw)
    return Settings(**base)


# ---------------------------------------------------------------------------------------------------------
# Independent reference computations


def _ref_corr(u, v, rows, docs, systems, level, method="pearson", variant="b"):
    """The correlation of u and v over ``rows`` at one level, from scipy (see the module docstring)."""
    u, v = u[rows], v[rows]
    d, s = docs[rows], systems[rows]
    if level == "partial":
        means = {k: (u[s == k].mean(), v[s == k].mean()) for k in np.unique(s)}
        u = u - np.array([means[k][0] for k in s])
        v = v - np.array([means[k][1] for k in s])
    if level == "system":
        keys = np.unique(s)
        u = np.array([u[s == k].mean() for k in keys])
        v = np.array([v[s == k].mean() for k in keys])
    if level == "summary":
        rs = []
        for doc in np.unique(d):
            sel = d == doc
            if sel.sum() > 1 and np.ptp(u[sel]) > 0 and np.ptp(v[sel]) > 0:
                rs.append(stats.kendalltau(u[sel], v[sel], variant=variant).statistic if method == "kendall"
                          else stats.pearsonr(u[sel], v[sel]).statistic)
        return float(np.mean(rs))
    if method == "kendall":
        return float(stats.kendalltau(u, v, variant=variant).statistic)
    return float(stats.pearsonr(u, v).statistic)


def _williams_p(r12, r13, r23, n):
    """Steiger (1980) eq. 7, two-sided, n - 3 df."""
    k = 1 - r12 ** 2 - r13 ** 2 - r23 ** 2 + 2 * r12 * r13 * r23
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23)) / math.sqrt(2 * k * (n - 1) / (n - 3)
                                                                 + (r12 + r13) ** 2 / 4 * (1 - r23) ** 3)
    return float(2 * stats.t(n - 3).sf(abs(t)))


def _ref_williams(xa, xb, y, both, docs, systems, level):
    r12 = _ref_corr(xa, y, both, docs, systems, level)
    r13 = _ref_corr(xb, y, both, docs, systems, level)
    r23 = _ref_corr(xa, xb, both, docs, systems, level)
    if level == "system":
        n = len(np.unique(systems[both]))  # one point per system
    else:
        n = int(both.sum()) - (len(np.unique(systems[both])) - 1 if level == "partial" else 0)
    return _williams_p(r12, r13, r23, n)


def _zscore(v, rows):
    return np.where(rows, (v - v[rows].mean()) / v[rows].std(), 0.0)


def _ref_permutation(xa, xb, y, both, docs, systems, level, method, variant, n_perm, unit, seed):
    """The paired permutation test's documented algorithm, with scipy's correlations."""
    za, zb = _zscore(xa, both), _zscore(xb, both)
    codes = {"inputs": np.unique(docs, return_inverse=True)[1], "systems": np.unique(systems, return_inverse=True)[1],
             "both": np.arange(len(docs))}[unit]
    size = int(codes.max()) + 1
    coins = np.random.default_rng(seed).random((n_perm, size)) < 0.5

    def diff(u, v):
        return (_ref_corr(u, y, both, docs, systems, level, method, variant)
                - _ref_corr(v, y, both, docs, systems, level, method, variant))

    observed = diff(za, zb)
    null = np.array([diff(np.where(c[codes], zb, za), np.where(c[codes], za, zb)) for c in coins])
    null = null[~np.isnan(null)]
    return (1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (1 + len(null))


def _assert_row(got, expected):
    assert list(got) == list(expected)  # the same columns, in the same order
    for key, want in expected.items():
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(got[key], float) and math.isnan(got[key]), key
        elif isinstance(want, float):
            assert got[key] == pytest.approx(want, rel=1e-9, abs=1e-12), key
        else:
            assert got[key] == want, key


def _protocol(method_text, level_text, settings):
    """The documented wording of ``Settings.protocol`` and of ``_pair``'s protocol."""
    pct = f"{settings.confidence * 100:g}%"
    return (f"{method_text}, {level_text}; {pct} CI: percentile bootstrap over {settings.resample}, "
            f"{settings.bootstrap} resamples, seed {settings.seed}; bootstrap difference on shared resamples; "
            f"Williams (Pearson, n-3 df, two-sided); paired permutation over {settings.resample} "
            f"({settings.permutations} permutations, seed {settings.seed}, z-scored metrics, two-sided; run "
            f"against the best metric only, for the tables marked with †)")


# ---------------------------------------------------------------------------------------------------------
# _pair: one whole row, per level


def test_pair_global_pearson_whole_row():
    """Global Pearson, a the best metric, the combination permuted: every column of the row.

    Common rows: 20 minus row 3 (no a), row 8 (no b), row 14 (no human score) = 17; at the global level the
    Williams n is the 17 rows themselves (no reduction for the 5 systems). Bootstrap: differences
    -0.03..0.17 (21 values); at confidence 0.9 the 5th and 95th percentiles sit at positions 0.05 * 20 = 1
    and 0.95 * 20 = 19 of the sorted differences: -0.02 and 0.16; p = 2 * min(#(d <= 0), #(d >= 0)) / 21 =
    2 * 4 / 21 (d = -0.03, -0.02, -0.01, 0)."""
    docs, systems, y, xs, masks, layout = _inputs()
    settings = _settings()
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    got = _pair("a", "b", "a", "global", "pearson", _dists([("global", "pearson")], "ab"), xs, masks, layout, y,
                settings, col)
    both = masks["a"] & masks["b"]
    assert int(both.sum()) == 17
    _assert_row(got, {
        "dataset": "ds", "label": "human", "level": "global", "method": "Pearson",
        "metric_a": "a", "metric_b": "b", "estimate_a": 0.6, "estimate_b": 0.4, "difference": 0.6 - 0.4,
        "boot_diff_low": -0.02, "boot_diff_high": 0.16, "p_bootstrap": 8 / 21,
        "p_williams": _ref_williams(xs["a"], xs["b"], y, both, docs, systems, "global"),
        "p_permutation": _ref_permutation(xs["a"], xs["b"], y, both, docs, systems, "global", "pearson", "c",
                                          60, "systems", 7),
        "n_common": 17,
        "protocol": _protocol("Pearson", "global", settings),
        "_level": "global", "_method": "pearson",
    })


def test_pair_partial_pearson_reduces_n_by_the_systems_and_permutes_at_the_partial_level():
    """Partial Pearson: the three correlations on residuals from each system's mean over the 17 common rows,
    Williams n = 17 - (5 - 1) = 13; permutation over single summaries ("both"), 40 permutations, seed 3, b
    the best metric."""
    docs, systems, y, xs, masks, layout = _inputs()
    settings = _settings(resample="both", permutations=40, seed=3, kendall="b",
                         permutation_combos=(("summary", "kendall"), ("partial", "pearson")))
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    got = _pair("a", "b", "b", "partial", "pearson", _dists([("partial", "pearson")], "ab"), xs, masks, layout, y,
                settings, col)
    both = masks["a"] & masks["b"]
    will = _ref_williams(xs["a"], xs["b"], y, both, docs, systems, "partial")
    # the effective n matters here: 17 (no reduction), 21 (systems - 1 added), 11 (systems + 1 subtracted) or
    # 14 (systems - 2 subtracted) give other p-values
    r = [_ref_corr(u, v, both, docs, systems, "partial") for u, v in ((xs["a"], y), (xs["b"], y), (xs["a"], xs["b"]))]
    assert all(abs(_williams_p(*r, n) - will) > 1e-6 for n in (17, 21, 11, 14))
    _assert_row(got, {
        "dataset": "ds", "label": "human", "level": "partial", "method": "Pearson",
        "metric_a": "a", "metric_b": "b", "estimate_a": 0.6, "estimate_b": 0.4, "difference": 0.6 - 0.4,
        "boot_diff_low": -0.02, "boot_diff_high": 0.16, "p_bootstrap": 8 / 21,
        "p_williams": will,
        "p_permutation": _ref_permutation(xs["a"], xs["b"], y, both, docs, systems, "partial", "pearson", "b",
                                          40, "both", 3),
        "n_common": 17,
        "protocol": _protocol("Pearson", "partial (controlling for system, FRANK)", settings),
        "_level": "partial", "_method": "pearson",
    })


def test_pair_system_pearson_williams_on_the_system_means():
    """System-level Pearson: the correlations of the 5 per-system means over the common rows, Williams n = 5
    (2 df); not a permuted combination, so no permutation p-value although a is the best."""
    docs, systems, y, xs, masks, layout = _inputs()
    settings = _settings()
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    got = _pair("a", "b", "a", "system", "pearson", _dists([("system", "pearson")], "ab"), xs, masks, layout, y,
                settings, col)
    both = masks["a"] & masks["b"]
    assert got["p_williams"] == pytest.approx(_ref_williams(xs["a"], xs["b"], y, both, docs, systems, "system"),
                                              rel=1e-9)
    assert math.isnan(got["p_permutation"])
    assert (got["level"], got["method"], got["n_common"]) == ("system", "Pearson", 17)


@pytest.mark.parametrize("variant, text", [("c", "Kendall tau-c"), ("b", "Kendall tau-b")])
def test_pair_summary_kendall_permutation_uses_the_variant_and_no_williams(variant, text):
    """Summary-level Kendall (mean over documents of scipy's kendalltau with the configured variant) for the
    pair (a, c), c the best: no Williams test (Pearson only); the permutation over single summaries ("both"),
    80 permutations, seed 11. The documents hold different numbers of common rows and human-score ties, so
    tau-b and tau-c are not proportional over the documents and the p-value depends on the variant (checked
    below on the references)."""
    docs, systems, y, xs, masks, layout = _inputs(("a", "b", "c"))
    settings = _settings(resample="both", permutations=80, seed=11, kendall=variant,
                         permutation_combos=(("summary", "kendall"),))
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    got = _pair("a", "c", "c", "summary", "kendall", _dists([("summary", "kendall")], "ac"), xs, masks, layout, y,
                settings, col)
    both = masks["a"] & masks["c"]
    ref = {v: _ref_permutation(xs["a"], xs["c"], y, both, docs, systems, "summary", "kendall", v, 80, "both", 11)
           for v in "bc"}
    assert ref["b"] != ref["c"]
    assert got["p_permutation"] == pytest.approx(ref[variant], rel=1e-12)
    assert math.isnan(got["p_williams"])
    assert got["method"] == text
    assert got["protocol"] == _protocol(text, "summary-level", settings)
    assert got["n_common"] == 18  # all rows but 3 (no a) and 14 (no human score)


def test_pair_no_williams_for_spearman_nor_for_pearson_at_the_summary_level():
    """Williams is a test of Pearson correlations, and ``_pair`` runs it at the global, partial and system
    levels only; the summary-level Pearson has 4 usable documents here (> 3), so only the level excludes it."""
    docs, systems, y, xs, masks, layout = _inputs()
    settings = _settings()
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    for level, method in (("global", "spearman"), ("partial", "spearman"), ("summary", "pearson")):
        got = _pair("a", "b", "a", level, method, _dists([(level, method)], "ab"), xs, masks, layout, y, settings,
                    col)
        assert math.isnan(got["p_williams"]), (level, method)
        assert math.isnan(got["p_permutation"]), (level, method)  # not a permuted combination
        assert got["method"] == {"spearman": "Spearman", "pearson": "Pearson"}[method]


def test_pair_permutation_only_against_the_best_metric_and_only_for_the_permuted_combinations():
    docs, systems, y, xs, masks, layout = _inputs(("a", "b", "c"))
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    dists = _dists([("global", "pearson")], "abc")
    permuted = _settings(permutation_combos=(("global", "pearson"),))
    other = _settings(permutation_combos=(("partial", "pearson"), ("summary", "kendall")))
    # c is the best: the pair (a, b) does not contain it
    assert math.isnan(_pair("a", "b", "c", "global", "pearson", dists, xs, masks, layout, y, permuted,
                            col)["p_permutation"])
    # b is the best but (global, pearson) is not a permuted combination
    assert math.isnan(_pair("a", "b", "b", "global", "pearson", dists, xs, masks, layout, y, other,
                            col)["p_permutation"])
    # b is the best, as metric_a of the pair (b, c)
    both = masks["b"] & masks["c"]
    got = _pair("b", "c", "b", "global", "pearson", dists, xs, masks, layout, y, permuted, col)
    assert got["p_permutation"] == pytest.approx(
        _ref_permutation(xs["b"], xs["c"], y, both, docs, systems, "global", "pearson", "c", 60, "systems", 7),
        rel=1e-12)
    assert got["n_common"] == 18  # all rows but 8 (no b) and 14 (no human score)
    assert got["p_williams"] == pytest.approx(_ref_williams(xs["b"], xs["c"], y, both, docs, systems, "global"),
                                              rel=1e-9)


def _few_common(n_common):
    """a and b both scored only on the first ``n_common`` of rows 0, 1, 2, 4, 5 (documents d0/d1)."""
    docs, systems, y, xs, masks, layout = _inputs()
    keep = np.zeros(len(y), bool)
    keep[[0, 1, 2, 4, 5][:n_common]] = True
    masks = {m: masks[m] & keep for m in masks}
    xs = {m: np.where(masks[m], xs[m], 0.0) for m in xs}
    return docs, systems, y, xs, masks, layout


def test_pair_four_common_rows_are_enough_three_are_not():
    """'More than 3' common rows: with 4 (rows 0, 1, 2, 4; systems A, B, C, E) the Williams test runs with
    n = 4 (1 df) at the global level and the permutation test runs; with 3 neither does."""
    settings = _settings(resample="both", permutations=30)
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    docs, systems, y, xs, masks, layout = _few_common(4)
    both = masks["a"] & masks["b"]
    assert int(both.sum()) == 4
    got = _pair("a", "b", "a", "global", "pearson", _dists([("global", "pearson")], "ab"), xs, masks, layout, y,
                settings, col)
    assert got["n_common"] == 4
    assert got["p_williams"] == pytest.approx(_ref_williams(xs["a"], xs["b"], y, both, docs, systems, "global"),
                                              rel=1e-9)
    assert got["p_permutation"] == pytest.approx(
        _ref_permutation(xs["a"], xs["b"], y, both, docs, systems, "global", "pearson", "c", 30, "both", 7),
        rel=1e-12)
    docs, systems, y, xs, masks, layout = _few_common(3)
    got = _pair("a", "b", "a", "global", "pearson", _dists([("global", "pearson")], "ab"), xs, masks, layout, y,
                settings, col)
    assert got["n_common"] == 3
    assert math.isnan(got["p_williams"]) and math.isnan(got["p_permutation"])


# ---------------------------------------------------------------------------------------------------------
# _compare: the best metric of each (level, method) and every pair once


def test_compare_best_metric_and_pairs():
    """Estimates (hand-set): global Pearson a 0.5, b 0.7, c NaN -> best b (not the first metric, not the
    alphabetically first, not the lowest, not the second best, not the undefined one); system Pearson a 0.9,
    b 0.1, c 0.3 -> best a. Pairs: (a, b), (a, c), (b, c) per combination, in that order. Permutation p-values
    (global Pearson permuted only) exactly for the pairs containing b."""
    docs, systems, y, xs, masks, layout = _inputs(("a", "b", "c"))
    settings = _settings(combos=(("global", "pearson"), ("system", "pearson")))
    dists = {**_dists([("global", "pearson")], "abc", {"a": 0.5, "b": 0.7, "c": NAN}),
             **_dists([("system", "pearson")], "abc", {"a": 0.9, "b": 0.1, "c": 0.3})}
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    _compare(col, dists, xs, masks, layout, y, settings)
    assert [(p["level"], p["metric_a"], p["metric_b"]) for p in col.pairs] == [
        ("global", "a", "b"), ("global", "a", "c"), ("global", "b", "c"),
        ("system", "a", "b"), ("system", "a", "c"), ("system", "b", "c")]
    glob = col.pairs[:3]
    for p, (a, b) in zip(glob, (("a", "b"), ("a", "c"), ("b", "c"))):
        both = masks[a] & masks[b]
        assert p["n_common"] == int(both.sum())
        assert p["p_williams"] == pytest.approx(_ref_williams(xs[a], xs[b], y, both, docs, systems, "global"),
                                                rel=1e-9)
        if "b" in (a, b):
            assert p["p_permutation"] == pytest.approx(
                _ref_permutation(xs[a], xs[b], y, both, docs, systems, "global", "pearson", "c", 60, "systems", 7),
                rel=1e-12)
        else:
            assert math.isnan(p["p_permutation"])
    # system level: not permuted, Williams on the system means
    assert all(math.isnan(p["p_permutation"]) for p in col.pairs[3:])
    both = masks["a"] & masks["b"]
    assert col.pairs[3]["p_williams"] == pytest.approx(
        _ref_williams(xs["a"], xs["b"], y, both, docs, systems, "system"), rel=1e-9)


def test_compare_best_decides_the_permutation_per_combination():
    """With global Pearson permuted and estimates a 0.2, b 0.1, c 0.3 the best is c: only (a, c) and (b, c)
    get a permutation p-value; the comparison of the ranks picks the highest estimate."""
    docs, systems, y, xs, masks, layout = _inputs(("a", "b", "c"))
    settings = _settings(combos=(("global", "pearson"),))
    dists = _dists([("global", "pearson")], "abc", {"a": 0.2, "b": 0.1, "c": 0.3})
    col = Column("ds", "human", "continuous", N_DOCS, 5)
    _compare(col, dists, xs, masks, layout, y, settings)
    assert [math.isnan(p["p_permutation"]) for p in col.pairs] == [True, False, False]
