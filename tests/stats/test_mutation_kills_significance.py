"""Tests written for mutants of factbench/stats/significance.py that survived the mutation run of 2026-12-01
(docs/mutation.md). Each pins down a behaviour no earlier test checked. Expected values are hand-computed from
the documented definitions (the +1 permutation p-value, the capped two-sided bootstrap p-value), or come from
scipy (exact permutation test) and numpy (percentiles); no expected value is copied from factbench output."""

import re
import warnings

import numpy as np
import pytest
from scipy import stats

from factbench.errors import ConfigError, DataError
from factbench.stats import make_layout, permutation_test, williams_test
from factbench.stats.significance import bootstrap_difference


def _exact(message):
    return "^" + re.escape(message) + "$"


# --- williams_test -----------------------------------------------------------------------------------------------

def test_williams_test_error_names_the_correlation_that_is_out_of_range():
    with pytest.raises(ConfigError, match=_exact("williams_test: r12 = 1.5 is not a correlation")):
        williams_test(1.5, 0.3, 0.2, 50)
    with pytest.raises(ConfigError, match=_exact("williams_test: r13 = -1.2 is not a correlation")):
        williams_test(0.3, -1.2, 0.2, 50)
    with pytest.raises(ConfigError, match=_exact("williams_test: r23 = nan is not a correlation")):
        williams_test(0.3, 0.4, float("nan"), 50)


# --- permutation_test: argument checks and description -----------------------------------------------------------

@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(3)
    y = rng.normal(size=12)
    return y + rng.normal(size=12), y + 2.0 * rng.normal(size=12), y


def test_permutation_test_errors_name_the_bad_argument(small_data):
    a, b, y = small_data
    lay = make_layout(n=12)
    with pytest.raises(ConfigError, match=_exact("number of permutations must be an integer >= 1; got 0")):
        permutation_test(a, b, y, lay, "global", "pearson", n_permutations=0)
    with pytest.raises(ConfigError,
                       match=_exact("permutation unit must be one of inputs, systems, both; got 'docs'")):
        permutation_test(a, b, y, lay, "global", "pearson", unit="docs")
    with pytest.raises(ConfigError,
                       match=_exact("alternative must be one of two-sided, greater, less; got 'bigger'")):
        permutation_test(a, b, y, lay, "global", "pearson", alternative="bigger")


def test_permutation_test_result_describes_unit_count_seed_and_alternative(small_data):
    """The description text is the format documented by the code: unit, permutations, seed, alternative."""
    a, b, y = small_data
    lay = make_layout([i // 3 for i in range(12)], [i % 3 for i in range(12)])
    res = permutation_test(a, b, y, lay, "global", "pearson", n_permutations=20, unit="systems", seed=7,
                           alternative="less")
    assert res.test == "paired permutation over systems, 20 permutations, seed 7, less"


@pytest.mark.parametrize("level", ["summary", "global", "system", "partial"])
def test_permutation_test_rejects_scores_shorter_than_the_layout(level):
    """Five scores for a six-row layout: an error naming the mismatch at every level (before the fix found by
    this mutation run, numpy's broadcast ValueError, or an IndexError inside the summary-level code)."""
    rng = np.random.default_rng(4)
    lay = make_layout(["d1"] * 3 + ["d2"] * 3, ["A", "B", "C"] * 2)
    a, b, y = rng.normal(size=(3, 5))
    with pytest.raises(DataError, match=_exact("length mismatch: metric_a=5, metric_b=5, human=5, mask=6")):
        permutation_test(a, b, y, lay, level, "pearson", n_permutations=20)
    with pytest.raises(DataError, match=_exact("permutation_test: 5 values per input, but the layout has 6 rows")):
        permutation_test(a, b, y, lay, level, "pearson", n_permutations=20, mask=np.ones(5, bool))


# --- permutation_test: standardisation and the mask ---------------------------------------------------------------

@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_positive_affine_copies_of_a_metric_give_p_one(alternative):
    """B = 2 A + 5 (A with standard deviation about 0.3, B about 0.6, both at most 1). The docstring says each
    metric is z-scored before swapping, so A and B become the same vector: every swap leaves the difference at
    0 (up to rounding, well inside the 1e-12 tolerance), every permutation is "as extreme" as the observed 0,
    and p = (1 + B) / (1 + B) = 1 for either one-sided alternative (hand-derived). Without z-scoring, or
    with a different scale for the two metrics, swaps mix two scales and about half the differences fall on
    each side of 0, so p is near 0.5."""
    rng = np.random.default_rng(21)
    y = rng.normal(size=40)
    a = 0.3 * (y + rng.normal(size=40))
    b = 2.0 * a + 5.0
    res = permutation_test(a, b, y, make_layout(n=40), "global", "pearson", n_permutations=200, seed=1,
                           alternative=alternative)
    assert abs(res.statistic) < 1e-12
    assert res.p_value == 1.0


def test_integer_zero_one_mask_selects_rows_like_a_boolean_mask():
    """A 0/1 integer mask means "use the rows marked 1". Rows marked 0 hold junk (1000) that must not matter.
    On the used rows B = 2 A + 5, so (as above) the z-scored metrics coincide: statistic 0 and p = 1 for a
    one-sided test (hand-derived). Read as positions (fancy indexing), the 0/1 values would pick rows 0 and 1
    to z-score with, giving the two metrics different scales and p near 0.5."""
    rng = np.random.default_rng(22)
    n = 40
    mask = np.ones(n, dtype=int)
    mask[[1, 5, 9, 17, 30]] = 0
    y = rng.normal(size=n)
    a = 0.3 * (y + rng.normal(size=n))
    b = 2.0 * a + 5.0
    a[mask == 0] = 1000.0
    b[mask == 0] = -1000.0
    res = permutation_test(a, b, y, make_layout(n=n), "global", "pearson", n_permutations=200, seed=2,
                           mask=mask, alternative="greater")
    assert abs(res.statistic) < 1e-12
    assert res.p_value == 1.0


def test_constant_metric_has_no_correlation_and_no_p_value_without_warnings():
    """A metric constant over the used rows has no correlation (the weighted module: "A vector that is constant
    over its present items gives NaN"), so statistic and p-value are NaN; z-scoring must not divide by its zero
    standard deviation (no RuntimeWarning). 30 rows, so Spearman ranks go through the sorting path, where NaN
    scores would get distinct ranks and a spurious finite correlation."""
    rng = np.random.default_rng(23)
    y = rng.normal(size=30)
    b = y + rng.normal(size=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = permutation_test(np.full(30, 0.5), b, y, make_layout(n=30), "global", "spearman",
                               n_permutations=50, seed=0)
    assert np.isnan(res.statistic)
    assert np.isnan(res.p_value)


# --- permutation_test: counting ------------------------------------------------------------------------------------

def test_identical_metrics_give_p_one_for_every_alternative():
    """A and B identical: the observed difference is exactly 0 and every swap leaves it exactly 0. Ties with the
    observed value count as "at least as extreme", so count = B and p = (1 + B) / (1 + B) = 1 (hand-derived)."""
    rng = np.random.default_rng(24)
    y = rng.normal(size=25)
    a = y + rng.normal(size=25)
    for alternative in ("greater", "less", "two-sided"):
        res = permutation_test(a, a.copy(), y, make_layout(n=25), "global", "pearson", n_permutations=99,
                               seed=5, alternative=alternative)
        assert res.statistic == 0.0
        assert res.p_value == 1.0, alternative


def test_p_value_denominator_is_one_plus_n_permutations_across_batches():
    """One document of 1000 summaries, summary level: permutations are evaluated in batches of
    4e6 // (1000 rows * 1000 cells) = 4, so 6 permutations take a full batch and a partial one of 2. A = y and
    B = -y, swapped per summary (unit "both"): the observed difference is r(y, y) - r(-y, y) = 2, and a
    permutation reaches |difference| 2 only if it swaps all summaries or none (probability 2 * 2**-1000), so no
    permutation counts and p = (1 + 0) / (1 + 6) = 1/7 (hand-derived)."""
    rng = np.random.default_rng(25)
    y = rng.normal(size=1000)
    lay = make_layout(["doc"] * 1000, [f"s{i}" for i in range(1000)])
    res = permutation_test(y, -y, y, lay, "summary", "pearson", n_permutations=6, unit="both", seed=0)
    assert res.statistic == pytest.approx(2.0, abs=1e-12)
    assert res.p_value == pytest.approx(1 / 7, rel=1e-12)


def test_unit_both_swaps_each_summary_like_scipys_paired_permutation_test():
    """unit="both" swaps A and B per summary (row). 12 summaries of 4 documents x 3 systems: scipy's
    permutation_test(permutation_type="samples") enumerates all 2**12 per-row swap patterns of the z-scored
    scores exactly. factbench draws 20 000 patterns; the Monte-Carlo standard error is at most 0.0035, so
    0.015 is over four of them."""
    rng = np.random.default_rng(11)
    y = rng.normal(size=12)
    a = y + 0.9 * rng.normal(size=12)
    b = y + 1.3 * rng.normal(size=12)
    za, zb = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()

    def diff(u, v, axis=-1):
        return stats.pearsonr(u, y, axis=axis).statistic - stats.pearsonr(v, y, axis=axis).statistic

    ref = stats.permutation_test((za, zb), diff, permutation_type="samples", vectorized=True, n_resamples=np.inf)
    lay = make_layout([i // 3 for i in range(12)], [i % 3 for i in range(12)])
    ours = permutation_test(a, b, y, lay, "global", "pearson", n_permutations=20_000, unit="both", seed=0)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, abs=0.015)


# --- bootstrap_difference ------------------------------------------------------------------------------------------

def test_bootstrap_difference_shape_mismatch_message_gives_both_shapes():
    with pytest.raises(ConfigError, match=_exact(
            "bootstrap_difference: the two distributions must come from the same resamples "
            "(shapes (3,) and (2,))")):
        bootstrap_difference(0.5, 0.3, [0.5, 0.6, 0.4], [0.3, 0.35])


@pytest.mark.parametrize("side", ["a", "b"])
def test_bootstrap_difference_treats_none_as_an_undefined_resample(side):
    """None in either distribution is a missing (NaN) resample and is dropped with its pair. Pairs left:
    differences 0.2, 0.25, -0.05, 0.35 (hand-computed); one of four <= 0, so p = 2 * 1/4 = 0.5; the interval is
    numpy's 2.5 and 97.5 percentiles of those four differences."""
    dist_a = [0.5, 0.9, 0.6, 0.4, 0.55]
    dist_b = [0.3, 0.2, 0.35, 0.45, 0.2]
    (dist_a if side == "a" else dist_b)[1] = None
    res = bootstrap_difference(0.5, 0.3, dist_a, dist_b)
    d = np.array([0.2, 0.25, -0.05, 0.35])
    low, high = np.percentile(d, [2.5, 97.5])
    assert res.difference == pytest.approx(0.2)
    assert res.p_value == 0.5
    assert (res.low, res.high) == (pytest.approx(low), pytest.approx(high))


def test_bootstrap_difference_with_no_defined_resample_has_nan_p_value():
    """Every resampled difference undefined: there is nothing to compare with 0, so p (and the interval) is NaN,
    not 1."""
    res = bootstrap_difference(0.5, 0.3, [np.nan, np.nan, np.nan], [0.1, 0.2, 0.3])
    assert res.difference == pytest.approx(0.2)
    assert np.isnan(res.p_value)
    assert np.isnan(res.low) and np.isnan(res.high)


def test_bootstrap_difference_p_value_is_capped_at_one():
    """Identical distributions: every difference is 0, so both shares (d <= 0 and d >= 0) are 1 and twice the
    smaller is 2; the documented cap makes p = 1 (hand-computed)."""
    res = bootstrap_difference(0.4, 0.4, [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])
    assert res.difference == 0.0
    assert res.p_value == 1.0
