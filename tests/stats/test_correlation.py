"""Correlations against scipy and hand-computed values, at every level."""

import numpy as np
import pytest
from scipy import stats

from factbench.errors import ConfigError, DataError
from factbench.stats import correlate, kendall, pearson, spearman
from factbench.stats.weighted import kendall as wkendall, ranks


@pytest.fixture
def tied():
    rng = np.random.default_rng(7)
    # Rounded values give many ties, which is where Spearman/Kendall implementations differ.
    return np.round(rng.normal(size=80), 1), np.round(rng.normal(size=80), 0)


def test_plain_correlations_equal_scipy(tied):
    x, y = tied
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert kendall(x, y) == pytest.approx(stats.kendalltau(x, y, variant="b").statistic, abs=1e-12)
    assert kendall(x, y, "c") == pytest.approx(stats.kendalltau(x, y, variant="c").statistic, abs=1e-12)
    assert kendall(x, y, "b") != pytest.approx(kendall(x, y, "c"), abs=1e-4)  # ties make the variants differ


def test_pairwise_kendall_path_equals_scipy_on_short_tied_vectors():
    # Vectors of <= 64 items take the all-pairs path (used for summary-level); longer ones loop over scipy.
    x, y = np.array([1, 2, 2, 3, 3, 3, 4.0]), np.array([2, 1, 2, 3, 5, 3, 3.0])
    for v in "bc":
        assert float(wkendall(x, y, np.ones(7), v)) == pytest.approx(stats.kendalltau(x, y, variant=v).statistic)


def test_weighted_equals_expanded_sample():
    x, y, w = np.array([0.3, 0.1, 0.3, 0.9]), np.array([1.0, 0.0, 2.0, 2.0]), np.array([2, 0, 1, 3])
    xe, ye = np.repeat(x, w), np.repeat(y, w)
    assert ranks(x, w)[w > 0].tolist() == stats.rankdata(np.repeat(x, w))[[0, 2, 3]].tolist()
    assert float(wkendall(x, y, w)) == pytest.approx(stats.kendalltau(xe, ye).statistic)


def test_summary_level_hand_computed_and_skips_constant():
    # d1: metric ranks agree perfectly (tau 1); d2: reversed (tau -1/3 after one concordant pair); d3: constant human.
    docs = ["d1"] * 3 + ["d2"] * 3 + ["d3"] * 3
    systems = ["A", "B", "C"] * 3
    x = [1, 2, 3, 1, 3, 2, 5, 6, 7]
    y = [1, 2, 3, 3, 2, 1, 4, 4, 4]
    res = correlate(x, y, docs=docs, systems=systems, level="summary", method="kendall")
    assert res.value == pytest.approx((1 + (-1 / 3)) / 2)
    assert (res.n_units, res.n_skipped) == (2, 1)
    assert "1 constant skipped" in res.describe() and "Kendall tau-b" in res.describe()


def test_system_level_is_correlation_of_system_means():
    docs = ["d1", "d2"] * 3
    systems = ["A", "A", "B", "B", "C", "C"]
    x = [1.0, 3.0, 2.0, 2.0, 5.0, 9.0]  # means 2, 2, 7
    y = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]  # means 0.5, 1, 0.5
    res = correlate(x, y, docs=docs, systems=systems, level="system", method="pearson")
    assert res.value == pytest.approx(stats.pearsonr([2, 2, 7], [0.5, 1, 0.5]).statistic)
    assert res.n_units == 3


def test_partial_equals_correlation_of_residuals_after_ols_on_system_dummies():
    rng = np.random.default_rng(3)
    systems = np.repeat(["s1", "s2", "s3"], 30)
    x = rng.normal(size=90) + (systems == "s2") * 2
    y = x * 0.3 + rng.normal(size=90) + (systems == "s3")
    dummies = (systems[:, None] == np.array(["s1", "s2", "s3"])).astype(float)
    rx = x - dummies @ np.linalg.lstsq(dummies, x, rcond=None)[0]  # FRANK's LinearRegression on one-hot
    ry = y - dummies @ np.linalg.lstsq(dummies, y, rcond=None)[0]
    res = correlate(x, y, systems=systems, level="partial", method="spearman")
    assert res.value == pytest.approx(stats.spearmanr(rx, ry).statistic, abs=1e-12)
    assert res.n_controls == 2


def test_constant_vector_is_nan_not_a_number():
    assert np.isnan(pearson([1, 2, 3], [0.3, 0.3, 0.3]))  # 0.3 * 3 / 3 != 0.3 in floating point


def test_bad_input_raises_named_errors():
    with pytest.raises(DataError, match="human scores: value at position 1"):
        correlate([1, 2, 3], [1, np.nan, 2])
    with pytest.raises(DataError, match="length mismatch"):
        correlate([1, 2, 3], [1, 2])
    with pytest.raises(ConfigError, match="level must be one of"):
        correlate([1, 2, 3], [1, 2, 3], level="corpus")
    with pytest.raises(ConfigError, match="needs document ids"):
        correlate([1, 2, 3], [1, 2, 3], level="summary")
