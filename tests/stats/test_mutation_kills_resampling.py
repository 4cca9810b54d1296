"""Tests written for mutants of factbench/stats/resampling.py that survived the mutation run of 2026-12-01
(docs/mutation.md).

Expected values come from scipy/numpy on the materialised resamples: the draws are rebuilt here from
``numpy.random.default_rng(seed)`` in the documented order (inputs first, then systems) and counted with
``np.bincount``; each resample's correlation is scipy's on the expanded sample (a document drawn twice counts
twice). Other expected values are hand-computed from the documented formulas, as said in each test.
"""

import warnings

import numpy as np
import pytest
from scipy import stats

from factbench.errors import ConfigError, DataError
from factbench.stats import make_layout
from factbench.stats import resampling
from factbench.stats.resampling import (Interval, bootstrap_ci, bootstrap_distribution, fisher_interval,
                                        percentile_interval, resample_weights)


def _bincount_rows(idx, size):
    return np.array([np.bincount(row, minlength=size) for row in idx], dtype=float)


def _scipy_stat(x, y, method, variant="b"):
    """scipy's statistic; NaN when either vector is constant (the resample has no defined correlation)."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    if method == "pearson":
        return stats.pearsonr(x, y).statistic
    return stats.kendalltau(x, y, variant=variant).statistic


def _grid(n_docs, systems, seed):
    """A full document x system table with zero-padded document names (so document code j is "dj")."""
    rng = np.random.default_rng(seed)
    docs = np.repeat([f"d{j:02d}" for j in range(n_docs)], len(systems))
    sys = np.tile(list(systems), n_docs)
    x = rng.normal(size=len(docs))
    y = x + rng.normal(size=len(docs)) + (sys == systems[0]) * 1.5
    return docs, sys, x, y


# ---------------------------------------------------------------------------------------------------------
# resample_weights


def test_resample_weights_defaults_are_1000_resamples_of_the_inputs_from_seed_0():
    """Defaults documented in the signature: 1000 resamples, unit "inputs", seed 0; each row counts how often
    each document was drawn by ``default_rng(0).integers(0, n_docs, (1000, n_docs))``; systems all 1."""
    docs, sys, _, _ = _grid(5, ["A", "B"], seed=0)
    doc_w, sys_w = resample_weights(make_layout(docs, sys))
    expected = _bincount_rows(np.random.default_rng(0).integers(0, 5, size=(1000, 5)), 5)
    assert doc_w.shape == (1000, 5) and np.array_equal(doc_w, expected)
    assert np.array_equal(sys_w, np.ones((1000, 2)))


def test_resample_weights_bad_settings_raise_errors_naming_the_setting():
    lay = make_layout(["a", "b", "c"])
    with pytest.raises(ConfigError, match=r"^number of bootstrap resamples must be an integer >= 1; got 0$"):
        resample_weights(lay, 0)
    with pytest.raises(ConfigError, match=r"^bootstrap unit must be one of inputs, systems, both; got 'documents'$"):
        resample_weights(lay, 10, "documents")


# ---------------------------------------------------------------------------------------------------------
# bootstrap_ci


def test_bootstrap_ci_length_mismatch_names_every_input_with_its_length():
    with pytest.raises(DataError, match=r"^length mismatch: x=4, y=4, docs=3$"):
        bootstrap_ci([1, 2, 3, 4], [1, 3, 2, 4], docs=["a", "b", "c"])
    with pytest.raises(DataError, match=r"^length mismatch: x=4, y=4, systems=5$"):
        bootstrap_ci([1, 2, 3, 4], [1, 3, 2, 4], systems=["A", "B", "A", "B", "A"])


def test_bootstrap_ci_at_the_system_level_equals_scipy_on_resampled_documents():
    """System level, resampling documents: each resample's value is scipy's Pearson correlation of the
    per-system means over the drawn documents (a document drawn twice counts twice), the means rounded to 10
    decimals as documented for derived values (correlation.TIE_DECIMALS); the interval is numpy's 2.5th /
    97.5th percentile of those values, the estimate scipy's on the original system means."""
    systems = ["A", "B", "C", "D"]
    docs, sys, x, y = _grid(6, systems, seed=1)
    ci = bootstrap_ci(x, y, docs=docs, systems=sys, level="system", n_resamples=200, unit="inputs", seed=3)

    def system_corr(rows):
        mx = [x[rows][sys[rows] == s].mean() for s in systems]
        my = [y[rows][sys[rows] == s].mean() for s in systems]
        return _scipy_stat(np.round(mx, 10), np.round(my, 10), "pearson")

    idx = np.random.default_rng(3).integers(0, 6, size=(200, 6))
    dist = np.array([system_corr(np.concatenate([np.flatnonzero(docs == f"d{j:02d}") for j in r])) for r in idx])
    assert ci.estimate == pytest.approx(system_corr(np.arange(len(x))), abs=1e-12)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.percentile(dist[~np.isnan(dist)], [2.5, 97.5])), abs=1e-9)
    assert ci.n_undefined == int(np.isnan(dist).sum())


@pytest.mark.parametrize("variant", ["b", "c"])
def test_bootstrap_ci_kendall_variant_reaches_estimate_and_resamples(variant):
    """Global Kendall tau-b / tau-c with tied human labels (1-5), so the variants differ: the estimate is scipy's
    ``kendalltau(variant=...)``, the interval numpy's percentiles of scipy's tau on every resample."""
    n = 20
    rng = np.random.default_rng(2)
    x = rng.normal(size=n)
    y = np.clip(np.round(x + rng.normal(size=n)) + 3, 1, 5)
    docs = [f"d{j:02d}" for j in range(n)]
    ci = bootstrap_ci(x, y, docs=docs, method="kendall", kendall_variant=variant, n_resamples=100, seed=4)
    idx = np.random.default_rng(4).integers(0, n, size=(100, n))
    dist = np.array([_scipy_stat(x[r], y[r], "kendall", variant) for r in idx])
    assert ci.estimate == pytest.approx(stats.kendalltau(x, y, variant=variant).statistic, abs=1e-12)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.percentile(dist[~np.isnan(dist)], [2.5, 97.5])), abs=1e-9)


def test_bootstrap_ci_records_kind_settings_and_undefined_resamples():
    """Five rows, the human label non-constant only through row 4: every resample that misses row 4 (about a
    third) has no correlation. The count comes from the draws rebuilt with numpy; the description is the
    documented one with the "(k undefined resamples left out)" suffix."""
    x = np.array([0.3, 1.2, -0.5, 0.8, 2.0])
    y = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    docs = ["d0", "d1", "d2", "d3", "d4"]
    ci = bootstrap_ci(x, y, docs=docs, n_resamples=60, unit="inputs", seed=7)
    idx = np.random.default_rng(7).integers(0, 5, size=(60, 5))
    dist = np.array([_scipy_stat(x[r], y[r], "pearson") for r in idx])
    k = int(np.isnan(dist).sum())
    assert 0 < k < 60 and k != 7
    assert (ci.kind, ci.unit, ci.n_resamples, ci.seed, ci.n_undefined, ci.confidence) == (
        "bootstrap", "inputs", 60, 7, k, 0.95)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.percentile(dist[~np.isnan(dist)], [2.5, 97.5])), abs=1e-9)
    assert ci.describe() == f"95% percentile bootstrap over inputs, 60 resamples, seed 7 ({k} undefined resamples left out)"


def test_interval_description_appends_the_undefined_count_to_the_full_text():
    """Hand-written from the documented format."""
    ci = Interval(0.5, 0.1, 0.8, 0.9, "bootstrap", "systems", 500, 3, n_undefined=12)
    assert ci.describe() == "90% percentile bootstrap over systems, 500 resamples, seed 3 (12 undefined resamples left out)"


# ---------------------------------------------------------------------------------------------------------
# percentile_interval


def test_percentile_interval_default_is_the_95_percent_interval():
    """numpy's 2.5th and 97.5th percentiles (linear interpolation, numpy's default)."""
    d = np.random.default_rng(5).normal(size=101)
    assert percentile_interval(d) == pytest.approx(tuple(np.percentile(d, [2.5, 97.5])), abs=1e-15)


def test_percentile_interval_of_one_defined_value_is_that_value_and_of_none_is_nan():
    assert percentile_interval([np.nan, 0.25, np.nan]) == (0.25, 0.25)
    low, high = percentile_interval([np.nan, np.nan])
    assert np.isnan(low) and np.isnan(high)


def test_percentile_interval_reads_none_as_an_undefined_resample():
    """A distribution read back from JSON has null (None) where NaN was written; those are left out like NaN:
    the interval equals numpy's percentiles of the other values."""
    d = [0.1, None, 0.4, 0.2, None, 0.9, 0.3]
    defined = [0.1, 0.4, 0.2, 0.9, 0.3]
    assert percentile_interval(d, 0.8) == pytest.approx(tuple(np.percentile(defined, [10, 90])), abs=1e-15)


# ---------------------------------------------------------------------------------------------------------
# fisher_interval


@pytest.mark.parametrize("r", [1.5, -1.2, 2.0])
def test_fisher_interval_of_an_impossible_correlation_has_no_bounds(r):
    ci = fisher_interval(r, 30)
    assert ci.estimate == r and np.isnan(ci.low) and np.isnan(ci.high)


@pytest.mark.parametrize("r", [1.0, -1.0])
@pytest.mark.parametrize("n", [4, 30])
def test_fisher_interval_of_a_perfect_correlation_is_finite_without_warnings(r, n):
    """r = +-1 happens (e.g. four systems ranked perfectly): atanh(+-1) is infinite, so the interval must be
    computed without numpy's divide-by-zero warning; the textbook interval tanh(+-inf +- half) collapses to r,
    so the finite bounds must lie within [-1, 1] and within 1e-12 of r."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ci = fisher_interval(r, n)
    assert np.isfinite(ci.low) and np.isfinite(ci.high)
    assert -1.0 <= ci.low <= ci.high <= 1.0
    assert abs(ci.low - r) < 1e-12 and abs(ci.high - r) < 1e-12


# ---------------------------------------------------------------------------------------------------------
# bootstrap_distribution


def _masked_case():
    """10 documents x 3 systems; the rows outside the mask hold NaN in both scores (missing values)."""
    systems = ["A", "B", "C"]
    docs, sys, x, y = _grid(10, systems, seed=6)
    mask = np.ones(len(x), bool)
    mask[[1, 5, 9, 13, 20, 28]] = False
    idx = np.random.default_rng(8).integers(0, 10, size=(40, 10))
    weights = (_bincount_rows(idx, 10), np.ones((40, 3)))
    return docs, sys, x, y, mask, idx, weights


@pytest.mark.parametrize("level", ["global", "partial"])
def test_bootstrap_distribution_ignores_missing_scores_outside_the_mask_at_any_scale(level):
    """Rows outside the mask hold NaN; every resample must equal scipy's Pearson on the drawn documents' rows
    inside the mask (partial: after subtracting each system's mean over those rows). Pearson is scale-free, so
    scores on a 1e-8 scale must give the same values (to 1e-9): the missing rows may not weigh on the result."""
    docs, sys, x, y, mask, idx, weights = _masked_case()
    lay = make_layout(docs, sys)
    for scale in (1.0, 1e-8):
        xs, ys = np.where(mask, x * scale, np.nan), np.where(mask, y * scale, np.nan)
        dist = bootstrap_distribution(xs, ys, lay, level, "pearson", weights=weights, mask=mask)
        expected = []
        for r in idx:
            rows = np.concatenate([np.flatnonzero((docs == f"d{j:02d}") & mask) for j in r])
            a, b, s = x[rows], y[rows], sys[rows]
            if level == "partial":
                a = a - np.array([a[s == g].mean() for g in s])
                b = b - np.array([b[s == g].mean() for g in s])
            expected.append(_scipy_stat(a, b, "pearson"))
        assert dist == pytest.approx(np.array(expected), abs=1e-9)


@pytest.mark.parametrize("missing", ["x", "y"])
def test_bootstrap_distribution_without_a_mask_does_not_read_a_missing_score_as_zero(missing):
    """No mask: a NaN score is data, not "ignore this row". A resample that draws that row has no defined
    correlation (NaN), rather than the correlation with the score silently set to 0."""
    docs, sys, x, y, _, idx, weights = _masked_case()
    x, y = x.copy(), y.copy()
    (x if missing == "x" else y)[0] = np.nan  # row 0 belongs to document d00
    dist = bootstrap_distribution(x, y, make_layout(docs, sys), "global", "pearson", weights=weights)
    draws_d00 = (idx == 0).any(axis=1)
    assert draws_d00.any() and np.isnan(dist[draws_d00]).all()


# The memory budget: a chunk of resamples holds max(1, _CHUNK_ELEMENTS // per) of them, where per is the number
# of elements one resample needs in the largest intermediate array: n rows (global, system, partial),
# n_docs * m at the summary level (m = most summaries per document), n_docs * m * m for summary-level Kendall
# (all pairs of each document's summaries). With the budget set to 40 elements the chunk sizes are
# hand-computed below for documents of 4, 4 and 2 summaries (n = 10, n_docs = 3, m = 4).
_UNEVEN_DOCS = ["a"] * 4 + ["b"] * 4 + ["c"] * 2
_UNEVEN_SYSTEMS = ["S1", "S2", "S3", "S4", "S1", "S2", "S3", "S4", "S1", "S2"]


def _record_chunk_sizes(monkeypatch) -> list[int]:
    """Shrink the memory budget to 40 elements and record how many resamples each call of level_statistic
    gets (the chunk sizes); returns the list the calls append to."""
    sizes = []
    real = resampling.level_statistic

    def spy(*args, doc_w, sys_w, mask):
        sizes.append(len(doc_w))
        return real(*args, doc_w=doc_w, sys_w=sys_w, mask=mask)

    monkeypatch.setattr(resampling, "_CHUNK_ELEMENTS", 40)
    monkeypatch.setattr(resampling, "level_statistic", spy)
    return sizes


@pytest.mark.parametrize("level, method, n_resamples, chunks", [
    ("summary", "kendall", 3, [1, 1, 1]),   # per = 3 * 4 * 4 = 48 > 40: one resample at a time
    ("summary", "pearson", 7, [3, 3, 1]),   # per = 3 * 4 = 12: 40 // 12 = 3
    ("summary", "spearman", 7, [3, 3, 1]),  # per = 12 (no pairs)
    ("global", "kendall", 7, [4, 3]),       # per = n = 10: 40 // 10 = 4
    ("system", "pearson", 7, [4, 3]),       # per = n = 10
])
def test_bootstrap_distribution_splits_resamples_into_chunks_within_the_memory_budget(
        monkeypatch, level, method, n_resamples, chunks):
    lay = make_layout(_UNEVEN_DOCS, _UNEVEN_SYSTEMS)
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=10), rng.normal(size=10)
    sizes = _record_chunk_sizes(monkeypatch)
    weights = resample_weights(lay, n_resamples, "inputs", seed=0)
    dist = bootstrap_distribution(x, y, lay, level, method, weights=weights)
    assert sizes == chunks and dist.shape == (n_resamples,)


def test_bootstrap_distribution_chunk_for_a_one_row_table_is_the_whole_budget(monkeypatch):
    """One row: per = 1 element per resample, so a chunk holds the full budget of 40 resamples."""
    lay = make_layout(["only"])
    sizes = _record_chunk_sizes(monkeypatch)
    dist = bootstrap_distribution([1.0], [2.0], lay, "global", "pearson", weights=resample_weights(lay, 50))
    assert sizes == [40, 10] and np.isnan(dist).all()


@pytest.mark.parametrize("which", ["x", "y"])
def test_bootstrap_distribution_rejects_complex_scores_instead_of_dropping_the_imaginary_part(which):
    """Scores must be real: numpy's conversion to float raises TypeError for complex values (it does not
    silently keep the real part, as a cast of a complex array would, with only a ComplexWarning)."""
    lay = make_layout(["a", "b", "c"])
    x, y = [1.0, 2.0, 3.0], [1.0, 3.0, 2.0]
    if which == "x":
        x = [1.0 + 1j, 2.0, 3.0]
    else:
        y = [1.0 + 1j, 2.0, 3.0]
    weights = resample_weights(lay, 5)
    with pytest.raises(TypeError, match=r"^float\(\) argument must be a string or a real number, not 'complex'$"):
        bootstrap_distribution(x, y, lay, "global", "pearson", weights=weights)
