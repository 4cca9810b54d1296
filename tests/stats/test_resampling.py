"""Bootstrap: the vectorised resamples equal a row-by-row scipy loop; seeds; the Fisher interval."""

import numpy as np
import pytest
from scipy import stats

from factbench.errors import ConfigError
from factbench.stats import bootstrap_ci, fisher_interval
from factbench.stats.correlation import make_layout
from factbench.stats.resampling import bootstrap_distribution, bootstrap_distribution_loop, resample_weights


@pytest.fixture(scope="module")
def grid():
    """12 documents x 4 systems with ties in the human scores, like a small SummEval."""
    rng = np.random.default_rng(11)
    docs = np.repeat([f"d{i}" for i in range(12)], 4)
    systems = np.tile(["A", "B", "C", "D"], 12)
    y = np.round(rng.uniform(size=48) * 3) / 3
    x = y + rng.normal(scale=0.4, size=48) + (systems == "B") * 0.5
    return x, y, docs, systems


@pytest.mark.parametrize("unit", ["inputs", "systems", "both"])
@pytest.mark.parametrize("level", ["summary", "system", "global", "partial"])
@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_vectorised_bootstrap_equals_materialised_loop(grid, unit, level, method):
    x, y, docs, systems = grid
    layout = make_layout(docs, systems)
    weights = resample_weights(layout, 25, unit, seed=5)
    fast = bootstrap_distribution(x, y, layout, level, method, weights=weights)
    slow = bootstrap_distribution_loop(x, y, layout, level, method, n_resamples=25, unit=unit, seed=5)
    np.testing.assert_allclose(fast, slow, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("level", ["partial", "system"])
def test_metric_constant_within_systems_gives_undefined_partial_correlation(grid, level):
    # A per-system score: its residuals are all zero (partial undefined in every resample); at system level
    # it is a proper variable. Both code paths must agree, including the undefined cases.
    x, y, docs, systems = grid
    per_system = np.select([systems == s for s in "ABCD"], [0.1, 0.7, 0.3, 0.3])
    layout = make_layout(docs, systems)
    weights = resample_weights(layout, 25, "both", seed=2)
    fast = bootstrap_distribution(per_system, y, layout, level, "pearson", weights=weights)
    slow = bootstrap_distribution_loop(per_system, y, layout, level, "pearson", n_resamples=25, unit="both", seed=2)
    np.testing.assert_allclose(fast, slow, atol=1e-12, equal_nan=True)
    if level == "partial":
        assert np.isnan(fast).all()


def test_same_seed_same_interval_other_seed_other_interval(grid):
    x, y, docs, systems = grid
    a = bootstrap_ci(x, y, docs=docs, systems=systems, level="summary", method="kendall", seed=0)
    b = bootstrap_ci(x, y, docs=docs, systems=systems, level="summary", method="kendall", seed=0)
    c = bootstrap_ci(x, y, docs=docs, systems=systems, level="summary", method="kendall", seed=1)
    assert (a.low, a.high) == (b.low, b.high)
    assert (a.low, a.high) != (c.low, c.high)
    assert a.describe() == "95% percentile bootstrap over inputs, 1000 resamples, seed 0"


def test_bootstrap_interval_covers_estimate_and_narrows_with_n():
    rng = np.random.default_rng(2)
    x = rng.normal(size=2000)
    y = 0.5 * x + rng.normal(size=2000)
    small = bootstrap_ci(x[:100], y[:100], seed=0)
    large = bootstrap_ci(x, y, seed=0)
    assert small.low < small.estimate < small.high
    assert (large.high - large.low) < (small.high - small.low) / 3  # width ~ 1/sqrt(n): sqrt(20) = 4.5
    # For Pearson on normal data the percentile bootstrap and Fisher intervals nearly agree.
    fisher = fisher_interval(large.estimate, 2000)
    assert abs(fisher.low - large.low) < 0.02 and abs(fisher.high - large.high) < 0.02


def test_fisher_interval_hand_computed():
    ci = fisher_interval(0.3, 103)  # se = 0.1; atanh(0.3) = 0.309520
    assert ci.low == pytest.approx(np.tanh(0.309520 - 0.1 * stats.norm.ppf(0.975)), abs=1e-6)
    assert ci.high == pytest.approx(np.tanh(0.309520 + 0.195996), abs=1e-6)
    partial = fisher_interval(0.3, 103, n_controls=4)  # fewer degrees of freedom: wider
    assert partial.high - partial.low > ci.high - ci.low
    assert np.isnan(fisher_interval(0.3, 3).low)


def test_bad_bootstrap_settings():
    with pytest.raises(ConfigError, match="bootstrap unit"):
        bootstrap_ci([1, 2, 3, 4], [1, 3, 2, 4], unit="documents")
    with pytest.raises(ConfigError, match="resamples"):
        bootstrap_ci([1, 2, 3, 4], [1, 3, 2, 4], n_resamples=0)
