"""Is metric A better than metric B? Tests for the difference of two dependent correlations.

- :func:`williams_test`: Williams (1959) t-test for two correlations that share a variable (the human label),
  the test Graham & Baldwin (2014) recommend for comparing evaluation metrics; Pearson, parametric.
- :func:`permutation_test`: paired permutation test (Deutsch et al. 2021): swap the two metrics' (standardised)
  scores at random per input, system or summary, and see how often the difference is as large as observed.
- :func:`bootstrap_difference`: the bootstrap distribution of ``r_A - r_B`` over shared resamples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _sps

from ..errors import ConfigError, DataError
from ._checks import choice, confidence_level, positive_int, same_length
from .correlation import Layout, level_statistic
from .resampling import UNITS, percentile_interval

ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class SignificanceResult:
    """A test statistic, its p-value, and what was tested."""

    statistic: float
    p_value: float
    test: str


def williams_test(r12: float, r13: float, r23: float, n: int, alternative: str = "two-sided") -> SignificanceResult:
    """Williams test of H0: rho12 = rho13 for correlations sharing variable 1.

    ``t = (r12 - r13) sqrt((n-1)(1+r23)) / sqrt(2 K (n-1)/(n-3) + (r12+r13)^2/4 (1-r23)^3)`` with
    ``K = 1 - r12^2 - r13^2 - r23^2 + 2 r12 r13 r23`` and ``n - 3`` degrees of freedom (Steiger 1980, eq. 7;
    Graham & Baldwin 2014, eq. 1). Here variable 1 is the human label, 2 and 3 the two metrics.

    Parameters
    ----------
    r12, r13 : float
        Correlation of each metric with the human label.
    r23 : float
        Correlation between the two metrics (same level and method).
    n : int
        Sample size (> 3). For a partial correlation use ``n - n_controls``.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests rho12 > rho13.

    Examples
    --------
    Steiger (1980, Case A), as in the documentation of R's ``psych::r.test(103, .4, .5, .1)``:

    >>> res = williams_test(0.4, 0.5, 0.1, 103)
    >>> round(res.statistic, 2), round(res.p_value, 2)
    (-0.89, 0.37)
    """
    choice(alternative, ALTERNATIVES, "alternative")
    for name, r in (("r12", r12), ("r13", r13), ("r23", r23)):
        if not np.isfinite(r) or abs(r) > 1:
            raise ConfigError(f"williams_test: {name} = {r!r} is not a correlation")
    if n <= 3:
        raise ConfigError(f"williams_test: n = {n!r}; needs n > 3")
    k = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    denom = np.sqrt(2 * k * (n - 1) / (n - 3) + (r12 + r13) ** 2 / 4 * (1 - r23) ** 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (r12 - r13) * np.sqrt((n - 1) * (1 + r23)) / denom
    p = _p_from(_sps.t(n - 3), t, alternative)
    return SignificanceResult(float(t), p, f"Williams t ({n - 3} df, {alternative})")


def _p_from(dist, t, alternative):
    if np.isnan(t):
        return np.nan
    if alternative == "greater":
        return float(dist.sf(t))
    if alternative == "less":
        return float(dist.cdf(t))
    return float(min(1.0, 2 * dist.sf(abs(t))))


def _standardise(v, mask):
    sel = v[mask]
    sd = sel.std()
    return np.where(mask, (v - sel.mean()) / (sd if sd > 0 else 1.0), 0.0)


def permutation_test(xa, xb, y, layout: Layout, level: str, method: str, kendall_variant: str = "b", *,
                     n_permutations: int = 1000, unit: str = "inputs", seed: int = 0, mask=None,
                     alternative: str = "two-sided") -> SignificanceResult:
    """Paired permutation test of H0: metric A and metric B correlate equally with the human scores.

    Each metric is standardised (z-scored over the used rows) so that swapping scores between metrics is
    meaningful; this changes neither metric's Pearson, Spearman or Kendall correlation at the global level.
    In each permutation a fair coin per ``unit`` (document for "inputs", system for "systems", summary for
    "both") decides whether A's and B's scores are swapped. The p-value counts permutations whose difference is
    at least as extreme as observed, with the +1 correction: ``(1 + count) / (1 + n_permutations)``.

    Examples
    --------
    >>> from factbench.stats.correlation import make_layout
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=300); a = y + 0.5 * rng.normal(size=300); b = y + 2.0 * rng.normal(size=300)
    >>> res = permutation_test(a, b, y, make_layout(n=300), "global", "pearson", seed=0)
    >>> res.statistic > 0, res.p_value < 0.01
    (True, True)
    """
    n_permutations = positive_int(n_permutations, "number of permutations")
    choice(unit, UNITS, "permutation unit")
    choice(alternative, ALTERNATIVES, "alternative")
    mask = np.ones(layout.n, bool) if mask is None else np.asarray(mask, bool)
    if same_length(metric_a=np.ravel(xa), metric_b=np.ravel(xb), human=np.ravel(y), mask=mask) != layout.n:
        raise DataError(f"permutation_test: {len(mask)} values per input, but the layout has {layout.n} rows")
    a = _standardise(np.where(mask, xa, 0.0), mask)
    b = _standardise(np.where(mask, xb, 0.0), mask)
    y = np.where(mask, y, 0.0)

    def diff(xa_, xb_):
        ra = level_statistic(xa_, y, layout, level, method, kendall_variant, mask=mask)[0]
        rb = level_statistic(xb_, y, layout, level, method, kendall_variant, mask=mask)[0]
        return ra - rb

    observed = float(diff(a, b))
    rng = np.random.default_rng(seed)
    codes, size = {"inputs": (layout.doc_codes, layout.n_docs), "systems": (layout.sys_codes, layout.n_systems),
                   "both": (np.arange(layout.n), layout.n)}[unit]
    step = max(1, 4_000_000 // max(layout.n * (layout.cells.shape[1] if level == "summary" else 1), 1))
    null = []
    for i in range(0, n_permutations, step):
        swap = (rng.random((min(step, n_permutations - i), size)) < 0.5)[:, codes]
        null.append(diff(np.where(swap, b, a), np.where(swap, a, b)))
    null = np.concatenate(null)
    null = null[~np.isnan(null)]
    if np.isnan(observed) or len(null) == 0:
        return SignificanceResult(observed, np.nan, f"paired permutation over {unit}")
    eps = 1e-12  # differences equal up to rounding count as "as extreme"
    if alternative == "greater":
        count = np.sum(null >= observed - eps)
    elif alternative == "less":
        count = np.sum(null <= observed + eps)
    else:
        count = np.sum(np.abs(null) >= abs(observed) - eps)
    p = (1 + count) / (1 + len(null))
    return SignificanceResult(observed, float(p), f"paired permutation over {unit}, {n_permutations} permutations, "
                                          f"seed {seed}, {alternative}")


@dataclass(frozen=True)
class DifferenceResult:
    """Bootstrap distribution summary of ``r_A - r_B``."""

    difference: float
    low: float
    high: float
    p_value: float


def bootstrap_difference(estimate_a: float, estimate_b: float, dist_a, dist_b,
                         confidence: float = 0.95) -> DifferenceResult:
    """Confidence interval and two-sided p-value for ``r_A - r_B`` from paired bootstrap distributions.

    ``dist_a`` and ``dist_b`` must come from the *same* resamples (same weights). The p-value is twice the
    smaller share of resampled differences on either side of zero (the percentile-interval inversion: the
    largest ``1 - confidence`` at which the interval still covers 0), capped at 1.

    Examples
    --------
    >>> res = bootstrap_difference(0.5, 0.3, [0.5, 0.6, 0.4, 0.55], [0.3, 0.35, 0.45, 0.2])
    >>> round(res.difference, 2), res.p_value  # differences 0.2, 0.25, -0.05, 0.35: one of four <= 0
    (0.2, 0.5)
    """
    confidence_level(confidence)
    if np.shape(dist_a) != np.shape(dist_b):
        raise ConfigError("bootstrap_difference: the two distributions must come from the same resamples "
                          f"(shapes {np.shape(dist_a)} and {np.shape(dist_b)})")
    d = np.asarray(dist_a, float) - np.asarray(dist_b, float)
    d = d[~np.isnan(d)]
    low, high = percentile_interval(d, confidence)
    p = float(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0)))) if len(d) else np.nan
    return DifferenceResult(float(estimate_a - estimate_b), low, high, p)
