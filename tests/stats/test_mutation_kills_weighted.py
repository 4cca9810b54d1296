"""Tests written for mutants of factbench/stats/weighted.py that survived the mutation run of 2026-12-01
(docs/mutation.md).

Expected values come from scipy (``rankdata``, ``pearsonr``, ``kendalltau``) or numpy (``np.cov`` with
``aweights``) on the expanded sample, where each item is repeated as often as its integer weight, or are
hand-computed; the derivations are in the docstrings and comments.
"""

import re
import warnings

import numpy as np
import pytest
from scipy import stats

from factbench.stats import weighted


def _expand(w):
    """Indices of the expanded sample: item i repeated w[i] times (integer frequency weights)."""
    return np.repeat(np.arange(len(w)), np.rint(w).astype(int))


def _expanded_ranks(x, w):
    """Mid-rank of each item in the expanded sample (scipy); copies of one item tie, so any copy gives it."""
    idx = _expand(w)
    r = stats.rankdata(x[idx], method="average")
    return r[np.searchsorted(idx, np.arange(len(x)))]


def _expanded_pearson(x, y, w):
    idx = _expand(w)
    return stats.pearsonr(np.asarray(x, float)[idx], np.asarray(y, float)[idx]).statistic


def _expanded_kendall(x, y, w, variant="b"):
    idx = _expand(w)
    return stats.kendalltau(np.asarray(x, float)[idx], np.asarray(y, float)[idx], variant=variant).statistic


# ----------------------------------------------------------------------------------------------- ranks


def test_ranks_of_long_vectors_equal_scipy_mid_ranks_of_the_expanded_sample():
    """n = 30 > PAIRWISE_RANK_MAX_N, so the sort-based code runs: once with x 1-D (shared order, w of shape
    (B, n)) and once with x 2-D (one order per row). Ties are frequent (values 0..7), so each item's rank is
    the mid-rank T_below + (T_tie + 1) / 2 that scipy's rankdata gives on the expanded sample."""
    rng = np.random.default_rng(11)
    n = 30
    x = rng.integers(0, 8, size=n).astype(float)
    w = rng.integers(1, 4, size=(3, n)).astype(float)
    got = weighted.ranks(x, w)
    assert got.shape == (3, n)
    for b in range(3):
        np.testing.assert_allclose(got[b], _expanded_ranks(x, w[b]), rtol=0, atol=1e-12)
    x2 = rng.integers(0, 8, size=(3, n)).astype(float)
    got2 = weighted.ranks(x2, w)
    for b in range(3):
        np.testing.assert_allclose(got2[b], _expanded_ranks(x2[b], w[b]), rtol=0, atol=1e-12)
    # unit weights: plain scipy rankdata, row by row
    np.testing.assert_allclose(weighted.ranks(x2, np.ones(n)), stats.rankdata(x2, method="average", axis=-1),
                               rtol=0, atol=1e-12)


def test_ranks_of_three_dimensional_input_are_taken_along_the_last_axis():
    """x of shape (2, 3, 20) (sort-based code, n > 16) with weights (3, 20): every length-20 vector is ranked
    on its own, as scipy's rankdata on its expanded sample."""
    rng = np.random.default_rng(5)
    x = rng.integers(0, 6, size=(2, 3, 20)).astype(float)
    w = rng.integers(1, 4, size=(3, 20)).astype(float)
    got = weighted.ranks(x, w)
    assert got.shape == (2, 3, 20)
    for a in range(2):
        for b in range(3):
            np.testing.assert_allclose(got[a, b], _expanded_ranks(x[a, b], w[b]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [8, 20])  # the all-pairs code (n <= 16) and the sort-based code
def test_ranks_broadcast_x_with_more_leading_axes_than_w(n):
    """x of shape (4, n) with one shared weight vector of shape (n,): the result has x's shape, each row being
    scipy's rankdata on that row's expanded sample."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=(4, n)).astype(float)
    w = rng.integers(1, 3, size=n).astype(float)
    got = weighted.ranks(x, w)
    assert got.shape == (4, n)
    for b in range(4):
        np.testing.assert_allclose(got[b], _expanded_ranks(x[b], w), rtol=0, atol=1e-12)


def test_ranks_with_float32_weights_are_accurate_to_float64():
    """Fractional float32 weights (e.g. from a float32 tensor), n = 40 (sort-based code): the ranks must be the
    defining sums computed in float64 -- weight of strictly smaller items plus (tie-group weight + 1) / 2 --
    not float32 running sums (which are off by ~1e-7 relative)."""
    rng = np.random.default_rng(21)
    n = 40
    x = rng.integers(0, 10, size=n).astype(float)
    w32 = rng.uniform(0.1, 3.0, size=n).astype(np.float32)
    w64 = w32.astype(np.float64)  # exact
    expected = np.array([w64[x < xi].sum() + (w64[x == xi].sum() + 1.0) / 2.0 for xi in x])
    got = weighted.ranks(x, w32)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)
    np.testing.assert_allclose(weighted.ranks(x[None, :].repeat(2, 0), w32), np.stack([expected] * 2),
                               rtol=1e-13, atol=0)


def test_ranks_and_spearman_compare_values_as_numbers_not_as_text():
    """Like pearson and kendall, ranks converts x to float, so numeric strings (as read from a CSV file) rank by
    value: 10, 9, 100, 9 -> hand-computed mid-ranks 3, 1.5, 4, 1.5 (as text, "100" < "9" would sort first)."""
    assert weighted.ranks(["10", "9", "100", "9"], np.ones(4)).tolist() == [3.0, 1.5, 4.0, 1.5]
    xs = ["10", "9", "100", "2", "30", "7", "55", "8", "1000", "6", "11", "40", "5", "70", "90", "3", "20", "4"]
    x = np.array([float(v) for v in xs])
    y = np.random.default_rng(8).normal(size=len(xs)) + np.log(x)
    w = np.ones(len(xs))
    assert weighted.ranks(xs, w).tolist() == stats.rankdata(x).tolist()  # n = 18: sort-based code
    assert weighted.spearman(xs, y, w) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


# ----------------------------------------------------------------------------------------------- pearson


def test_pearson_of_an_exact_linear_relation_stays_within_minus_one_and_one():
    """y = 3x + 1 and y = -3x + 1: r is +1 / -1 (Cauchy-Schwarz bound |r| <= 1). With this seed the raw
    quotient cov / sqrt(vx * vy) rounds to 1 + 2**-52 and -1 - 2**-52, so the result must be clipped."""
    x = np.random.default_rng(11).normal(size=5)
    w = np.ones(5)
    up, down = float(weighted.pearson(x, 3 * x + 1, w)), float(weighted.pearson(x, -3 * x + 1, w))
    assert up <= 1.0 and up == pytest.approx(1.0, abs=1e-15)
    assert down >= -1.0 and down == pytest.approx(-1.0, abs=1e-15)


def test_pearson_is_nan_when_one_vector_is_constant_even_if_rounding_leaves_a_tiny_variance():
    """x = (0.1, 0.1, 0.1) is constant; its weighted mean rounds to a value other than 0.1, so the centred x is
    not exactly 0 and the raw quotient is a finite number. The module docstring (and scipy's pearsonr, which
    returns NaN for constant input) say the answer is NaN -- for x constant, y constant, or both."""
    y = np.array([0.0, 1.0, 2.0])
    c = np.full(3, 0.1)
    w = np.ones(3)
    assert np.isnan(weighted.pearson(c, y, w))
    assert np.isnan(weighted.pearson(y, c, w))
    assert np.isnan(weighted.pearson(c, c, w))


def test_pearson_of_float32_scores_over_many_weightings_is_accurate_to_float64():
    """Shared float32 x and y (e.g. model scores) with integer weights of shape (4, n) (the one-matrix-product
    path): each value equals scipy's pearsonr on the expanded sample in float64 to 1e-12; computing the centred
    values and their products in float32 would be off by ~1e-8."""
    rng = np.random.default_rng(4)
    n = 25
    x = rng.normal(size=n).astype(np.float32)
    y = (0.5 * x + rng.normal(size=n)).astype(np.float32)
    w = rng.integers(0, 3, size=(4, n)).astype(float)
    got = weighted.pearson(x, y, w)
    for b in range(4):
        assert got[b] == pytest.approx(_expanded_pearson(x, y, w[b]), rel=1e-12, abs=0)


def test_pearson_with_float32_fractional_weights_is_accurate_to_float64():
    """One weighting of float32 fractional weights; x and y sit far from 0 (1e5 + noise), so the weighted means
    must be computed with the float64 weight total. Expected: numpy's weighted covariance (np.cov with aweights)
    normalised to a correlation, in float64."""
    rng = np.random.default_rng(9)
    n = 50
    x = 1e5 + rng.normal(size=n)
    y = 1e5 + 0.3 * (x - 1e5) + rng.normal(size=n)
    w32 = rng.uniform(0.05, 1.0, size=n).astype(np.float32)
    c = np.cov(x, y, aweights=w32.astype(np.float64))
    expected = c[0, 1] / np.sqrt(c[0, 0] * c[1, 1])
    assert float(weighted.pearson(x, y, w32)) == pytest.approx(expected, rel=1e-9, abs=0)


@pytest.mark.parametrize("x_2d, y_2d, w_2d", [(False, True, False), (True, False, True), (False, True, True),
                                              (True, False, False)])
def test_pearson_broadcasts_any_mix_of_one_and_two_dimensional_inputs(x_2d, y_2d, w_2d):
    """Each of x, y, w is either shared (n,) or per-row (3, n); every row equals scipy's pearsonr on that row's
    expanded sample."""
    rng = np.random.default_rng(12)
    n = 12
    x = rng.normal(size=(3, n) if x_2d else n)
    y = rng.normal(size=(3, n) if y_2d else n)
    w = rng.integers(1, 4, size=(3, n) if w_2d else n).astype(float)
    got = weighted.pearson(x, y, w)
    assert got.shape == (3,)
    for b in range(3):
        xb, yb, wb = (a[b] if a.ndim == 2 else a for a in (x, y, w))
        assert got[b] == pytest.approx(_expanded_pearson(xb, yb, wb), rel=1e-12, abs=1e-15)


def test_pearson_of_one_weighting_ignores_a_far_away_zero_weight_item_exactly():
    """One weighting (x, y, w all 1-D) whose absent item (weight 0) lies at 1e6: r must equal scipy's pearsonr
    on the five present items to 1e-12, i.e. be centred on the weighted means (the one-pass formula centred on
    the unweighted mean, ~2e5 away, loses ~6 digits to cancellation)."""
    rng = np.random.default_rng(2)
    x = np.append(rng.normal(size=5), 1e6)
    y = np.append(rng.normal(size=5), -1e6)
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    assert float(weighted.pearson(x, y, w)) == pytest.approx(stats.pearsonr(x[:5], y[:5]).statistic,
                                                            rel=1e-12, abs=0)


def test_pearson_over_many_weightings_of_values_far_from_zero_keeps_full_precision():
    """Shared x and y around 1e6 with integer weights of shape (5, n): each value equals scipy's pearsonr on the
    expanded sample to 1e-9 (centring on the mean first avoids the cancellation of the one-pass moments)."""
    rng = np.random.default_rng(6)
    n = 30
    x = 1e6 + rng.normal(size=n)
    y = 1e6 + 0.5 * (x - 1e6) + rng.normal(size=n)
    w = rng.integers(0, 3, size=(5, n)).astype(float)
    got = weighted.pearson(x, y, w)
    for b in range(5):
        assert got[b] == pytest.approx(_expanded_pearson(x, y, w[b]), rel=1e-9, abs=0)


def test_pearson_with_three_dimensional_weights_is_per_weighting():
    """Shared x and y with weights of shape (2, 3, n): result shape (2, 3), each entry scipy's pearsonr on its
    expanded sample."""
    rng = np.random.default_rng(10)
    n = 15
    x = rng.normal(size=n)
    y = x + rng.normal(size=n)
    w = rng.integers(0, 3, size=(2, 3, n)).astype(float)
    got = weighted.pearson(x, y, w)
    assert got.shape == (2, 3)
    for a in range(2):
        for b in range(3):
            assert got[a, b] == pytest.approx(_expanded_pearson(x, y, w[a, b]), rel=1e-12, abs=1e-15)


# ----------------------------------------------------------------------------------------------- kendall


def test_kendall_of_uint8_values_and_counts_equals_scipy_on_the_expanded_sample():
    """uint8 inputs (values 0..200, counts 10..39) must be taken as numbers: differences of uint8 values wrap
    around (1 - 2 == 255) and products of uint8 counts overflow (20 * 20 == 144), so all arithmetic must be in
    float. Expected: scipy's kendalltau (tau-b and tau-c) on the expanded sample."""
    rng = np.random.default_rng(13)
    n = 10
    x = rng.integers(0, 200, size=n).astype(np.uint8)
    y = rng.integers(0, 200, size=n).astype(np.uint8)
    ones = np.ones(n)
    counts = rng.integers(10, 40, size=n).astype(np.uint8)
    for variant in ("b", "c"):
        assert float(weighted.kendall(x, y, ones, variant)) == pytest.approx(
            stats.kendalltau(x.astype(float), y.astype(float), variant=variant).statistic, abs=1e-12)
        assert float(weighted.kendall(x.astype(float), y.astype(float), counts, variant)) == pytest.approx(
            _expanded_kendall(x, y, counts, variant), abs=1e-12)


def test_kendall_of_64_items_accepts_fractional_weights():
    """n = 64 = PAIRWISE_KENDALL_MAX_N still uses all pairs, which take any weights. With every weight 0.5, each
    pair's weight is 0.25 in the numerator and in both denominator sums, so tau-b equals scipy's unweighted
    kendalltau (hand argument)."""
    rng = np.random.default_rng(14)
    x = rng.integers(0, 20, size=64).astype(float)
    y = x + rng.integers(0, 10, size=64)
    assert float(weighted.kendall(x, y, np.full(64, 0.5))) == pytest.approx(stats.kendalltau(x, y).statistic,
                                                                          abs=1e-12)


def test_kendall_tau_c_of_perfect_agreement_stays_within_minus_one_and_one():
    """x = (0, 1, 2), y = +/-x, every weight 0.3: P = 3 * 0.09 = 0.27 concordant (discordant) pair weight,
    total T = 0.9, m = 3 distinct values, so tau-c = 2P / (T**2 (m - 1) / m) = 0.54 / 0.54 = +/-1 (hand-computed;
    |tau-c| <= 1 always). The raw quotient rounds to 1 + 2**-52 here, so the result must be clipped."""
    x = np.array([0.0, 1.0, 2.0])
    w = np.full(3, 0.3)
    up, down = float(weighted.kendall(x, x, w, "c")), float(weighted.kendall(x, -x, w, "c"))
    assert up <= 1.0 and up == pytest.approx(1.0, abs=1e-15)
    assert down >= -1.0 and down == pytest.approx(-1.0, abs=1e-15)


@pytest.mark.parametrize("shapes", [((3, 70), (70,), (70,)), ((70,), (3, 70), (70,)), ((70,), (70,), (3, 70))])
def test_kendall_of_long_vectors_broadcasts_each_of_x_y_w(shapes):
    """n = 70 > PAIRWISE_KENDALL_MAX_N (scipy loop): whichever of x, y, w has the leading axis of 3, the result
    has shape (3,) and each entry is scipy's kendalltau on that row's expanded sample."""
    rng = np.random.default_rng(15)
    sx, sy, sw = shapes
    x = rng.integers(0, 9, size=sx).astype(float)
    y = rng.integers(0, 9, size=sy).astype(float)
    w = rng.integers(0, 3, size=sw).astype(float)
    got = weighted.kendall(x, y, w)
    assert got.shape == (3,)
    for b in range(3):
        xb, yb, wb = (a[b] if a.ndim == 2 else a for a in (x, y, w))
        assert got[b] == pytest.approx(_expanded_kendall(xb, yb, wb), abs=1e-12)


def test_kendall_of_one_long_vector_returns_a_scalar():
    """x, y, w all of shape (70,) (scipy loop): the result is 0-d, like the all-pairs code's, and equals scipy's
    kendalltau on the expanded sample."""
    rng = np.random.default_rng(16)
    x, y = rng.normal(size=70), rng.normal(size=70)
    w = rng.integers(0, 3, size=70).astype(float)
    got = weighted.kendall(x, y, w)
    assert np.shape(got) == ()
    assert float(got) == pytest.approx(_expanded_kendall(x, y, w), abs=1e-12)


def test_kendall_of_long_vectors_rejects_fractional_weights_with_its_message():
    x = np.arange(70.0)
    with pytest.raises(ValueError, match="^" + re.escape(
            "Kendall over more than PAIRWISE_KENDALL_MAX_N items needs integer (frequency) weights") + "$"):
        weighted.kendall(x, x[::-1], np.full(70, 0.5))


def test_kendall_of_long_vectors_with_fewer_than_two_drawn_items_is_nan_without_warnings():
    """n = 70 (scipy loop): with no item drawn, or a single one, tau is undefined -- NaN, returned quietly
    (scipy's kendalltau would warn SmallSampleWarning on such input, so it must not be called)."""
    rng = np.random.default_rng(17)
    x, y = rng.normal(size=70), rng.normal(size=70)
    single = np.zeros(70)
    single[5] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(weighted.kendall(x, y, np.zeros(70)))
        assert np.isnan(weighted.kendall(x, y, single))


# ----------------------------------------------------------------------------------------------- correlation


def test_correlation_kendall_defaults_to_tau_b():
    """With y binary and x all distinct, tau-b (0.66) and tau-c (0.875, scipy) differ; correlation(..., "kendall") without a variant must be
    scipy's default, tau-b (on unit weights, and on the expanded sample for integer weights)."""
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    y = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    tau_b = stats.kendalltau(x, y, variant="b").statistic
    assert tau_b != pytest.approx(stats.kendalltau(x, y, variant="c").statistic, abs=0.05)
    assert float(weighted.correlation(x, y, np.ones(8), "kendall")) == pytest.approx(tau_b, abs=1e-12)
    w = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 2.0, 1.0, 1.0])
    assert float(weighted.correlation(x, y, w, "kendall")) == pytest.approx(_expanded_kendall(x, y, w), abs=1e-12)
