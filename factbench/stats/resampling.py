"""Confidence intervals for correlations: the bootstrap over inputs, systems or both, and Fisher's z interval.

The bootstrap follows Deutsch, Dror & Roth (2021), "A Statistical Analysis of Summarization Evaluation Metrics
using Resampling Methods" (TACL): resample the *inputs* (documents, with all their summaries), the *systems*,
or *both* independently, recompute the correlation at the chosen level, and take the 2.5th and 97.5th
percentiles. Resampling the documents is the right unit when the question is "for new documents"; resampling
systems when it is "for new systems".

Vectorised: the draws are index matrices (``rng.integers`` of shape ``(n_resamples, n_docs)``), turned into
count matrices; the correlation kernels take the counts as frequency weights, so all resamples are computed
together (ranks by one sort of the original values). The result equals materialising every resample and
calling scipy (:func:`bootstrap_distribution_loop`, used by the tests and the benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _sps

from .correlation import TIE_DECIMALS, Layout, level_statistic, make_layout, validated
from ._checks import choice, confidence_level, positive_int

UNITS = ("inputs", "systems", "both")
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0

# Upper bound on the elements of one intermediate array (float64): keeps a chunk of resamples near 100 MB.
_CHUNK_ELEMENTS = 12_000_000


def _counts(idx: np.ndarray, size: int) -> np.ndarray:
    """Row-wise bincount of an index matrix: how often each of ``size`` units was drawn in each resample."""
    b = idx.shape[0]
    flat = (np.arange(b)[:, None] * size + idx).ravel()
    return np.bincount(flat, minlength=b * size).reshape(b, size).astype(float)


def resample_weights(layout: Layout, n_resamples: int = DEFAULT_RESAMPLES, unit: str = "inputs",
                     seed: int = DEFAULT_SEED):
    """Draw the bootstrap resamples as count matrices.

    Returns
    -------
    doc_w : ndarray, shape (n_resamples, n_docs)
    sys_w : ndarray, shape (n_resamples, n_systems)
        How many times each document / system is in each resample (all ones for the unit not resampled).
        Inputs are drawn first, then systems, from ``numpy.random.default_rng(seed)``.

    Examples
    --------
    >>> lay = make_layout(["a", "b", "c"])
    >>> doc_w, sys_w = resample_weights(lay, 4, "inputs", seed=0)
    >>> doc_w.sum(axis=1).tolist(), sys_w.tolist()
    ([3.0, 3.0, 3.0, 3.0], [[1.0], [1.0], [1.0], [1.0]])
    """
    n_resamples = positive_int(n_resamples, "number of bootstrap resamples")
    choice(unit, UNITS, "bootstrap unit")
    rng = np.random.default_rng(seed)
    doc_w = np.ones((n_resamples, layout.n_docs))
    sys_w = np.ones((n_resamples, layout.n_systems))
    if unit in ("inputs", "both"):
        doc_w = _counts(rng.integers(0, layout.n_docs, size=(n_resamples, layout.n_docs)), layout.n_docs)
    if unit in ("systems", "both"):
        sys_w = _counts(rng.integers(0, layout.n_systems, size=(n_resamples, layout.n_systems)), layout.n_systems)
    return doc_w, sys_w


def _chunk_size(layout: Layout, level: str, method: str) -> int:
    per = layout.n
    if level == "summary":
        m = layout.cells.shape[1]
        per = layout.n_docs * m * (m if method == "kendall" else 1)
    return max(1, _CHUNK_ELEMENTS // max(per, 1))


def bootstrap_distribution(x, y, layout: Layout, level: str, method: str, kendall_variant: str = "b", *,
                           weights, mask=None) -> np.ndarray:
    """The correlation in every resample given by ``weights = (doc_w, sys_w)`` from :func:`resample_weights`.

    ``x`` and ``y`` are per-row scores (rows outside ``mask`` are ignored). Returns shape ``(n_resamples,)``;
    NaN where a resample has no defined correlation (e.g. all its documents constant).
    """
    doc_w, sys_w = weights
    x = np.where(np.isfinite(x), x, 0.0) if mask is not None else np.asarray(x, float)
    y = np.where(np.isfinite(y), y, 0.0) if mask is not None else np.asarray(y, float)
    step = _chunk_size(layout, level, method)
    out = [
        level_statistic(x, y, layout, level, method, kendall_variant, doc_w=doc_w[i:i + step],
                        sys_w=sys_w[i:i + step], mask=mask)[0]
        for i in range(0, len(doc_w), step)
    ]
    return np.concatenate(out)


@dataclass(frozen=True)
class Interval:
    """A confidence interval and how it was obtained."""

    estimate: float
    low: float
    high: float
    confidence: float
    kind: str  # "bootstrap" or "fisher"
    unit: str = ""
    n_resamples: int = 0
    seed: int | None = None
    n_undefined: int = 0  # resamples without a defined correlation, left out of the percentiles

    def describe(self) -> str:
        """E.g. ``"95% percentile bootstrap over inputs, 1000 resamples, seed 0"``."""
        pct = f"{self.confidence * 100:g}%"
        if self.kind == "fisher":
            return f"{pct} Fisher z interval"
        text = f"{pct} percentile bootstrap over {self.unit}, {self.n_resamples} resamples, seed {self.seed}"
        if self.n_undefined:
            text += f" ({self.n_undefined} undefined resamples left out)"
        return text


def percentile_interval(distribution, confidence: float = 0.95):
    """The (low, high) percentiles of a bootstrap distribution, ignoring undefined (NaN) resamples."""
    confidence = confidence_level(confidence)
    d = np.asarray(distribution, float)
    d = d[~np.isnan(d)]
    if len(d) == 0:
        return np.nan, np.nan
    alpha = (1 - confidence) / 2 * 100
    low, high = np.percentile(d, [alpha, 100 - alpha])
    return float(low), float(high)


def bootstrap_ci(x, y, *, docs=None, systems=None, level: str = "global", method: str = "pearson",
                 kendall_variant: str = "b", n_resamples: int = DEFAULT_RESAMPLES, unit: str = "inputs",
                 seed: int = DEFAULT_SEED, confidence: float = 0.95) -> Interval:
    """Percentile bootstrap confidence interval of a correlation.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Metric and human scores (finite).
    docs, systems : array_like, shape (n,), optional
        Document and system of every row. Without ``docs`` every row is its own input.
    level, method, kendall_variant
        As in :func:`factbench.stats.correlation.correlate`.
    n_resamples : int
        Number of resamples (default 1000).
    unit : {"inputs", "systems", "both"}
        What is resampled.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same interval.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=200); y = x + rng.normal(size=200)
    >>> ci = bootstrap_ci(x, y, seed=0)
    >>> ci.low < ci.estimate < ci.high, ci.describe()
    (True, '95% percentile bootstrap over inputs, 1000 resamples, seed 0')
    """
    x, y = validated(x, y, docs, systems, level, method, kendall_variant)
    layout = make_layout(docs, systems, n=len(x))
    estimate = float(level_statistic(x, y, layout, level, method, kendall_variant)[0])
    weights = resample_weights(layout, n_resamples, unit, seed)
    dist = bootstrap_distribution(x, y, layout, level, method, kendall_variant, weights=weights)
    low, high = percentile_interval(dist, confidence)
    return Interval(estimate, low, high, confidence, "bootstrap", unit, n_resamples, seed, int(np.isnan(dist).sum()))


def fisher_interval(r: float, n: int, confidence: float = 0.95, n_controls: int = 0) -> Interval:
    """Fisher z interval for a Pearson correlation: ``tanh(atanh(r) ± z * 1/sqrt(n - 3 - n_controls))``.

    For a partial correlation controlling for ``n_controls`` variables (systems - 1 dummies for FRANK's partial
    correlation) the effective sample size is ``n - n_controls``. NaN bounds when ``n - 3 - n_controls < 1``.

    Examples
    --------
    >>> ci = fisher_interval(0.5, 28)  # se = 1/5: tanh(0.5493 - 0.3920), tanh(0.5493 + 0.3920)
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.156, 0.7358)
    """
    confidence = confidence_level(confidence)
    dof = n - 3 - n_controls
    if not np.isfinite(r) or dof < 1 or abs(r) > 1:
        return Interval(float(r), np.nan, np.nan, confidence, "fisher")
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    half = _sps.norm.ppf(1 - (1 - confidence) / 2) / np.sqrt(dof)
    return Interval(float(r), float(np.tanh(z - half)), float(np.tanh(z + half)), confidence, "fisher")


# ----------------------------------------------------------------------------------------------------------
# Reference implementation: materialise every resample and use scipy. Slow; for tests and the benchmark.


def _scipy_corr(x, y, method, variant, derived=False):
    if derived:  # the same rule as level_statistic (see TIE_DECIMALS)
        x, y = np.round(x, TIE_DECIMALS), np.round(y, TIE_DECIMALS)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    if method == "pearson":
        return _sps.pearsonr(x, y).statistic
    if method == "spearman":
        return _sps.spearmanr(x, y).statistic
    return _sps.kendalltau(x, y, variant=variant).statistic


def _naive_level(x, y, docs, systems, level, method, variant):
    if level == "global":
        return _scipy_corr(x, y, method, variant)
    if level == "partial":
        xr, yr = x.copy(), y.copy()
        for s in np.unique(systems):
            xr[systems == s] -= x[systems == s].mean()
            yr[systems == s] -= y[systems == s].mean()
        return _scipy_corr(xr, yr, method, variant, derived=True)
    if level == "system":
        keys = np.unique(systems)
        return _scipy_corr(np.array([x[systems == s].mean() for s in keys]),
                           np.array([y[systems == s].mean() for s in keys]), method, variant, derived=True)
    vals = [_scipy_corr(x[docs == d], y[docs == d], method, variant) for d in np.unique(docs)]
    vals = [v for v in vals if not np.isnan(v)]
    return float(np.mean(vals)) if vals else np.nan


def bootstrap_distribution_loop(x, y, layout: Layout, level: str, method: str, kendall_variant: str = "b", *,
                                n_resamples: int = DEFAULT_RESAMPLES, unit: str = "inputs",
                                seed: int = DEFAULT_SEED) -> np.ndarray:
    """Same draws as :func:`resample_weights`, but each resample is built row by row and scored with scipy.

    A resampled document or system that appears twice becomes two distinct documents or systems.
    """
    rng = np.random.default_rng(seed)
    draw_docs = (rng.integers(0, layout.n_docs, size=(n_resamples, layout.n_docs))
                 if unit in ("inputs", "both") else np.tile(np.arange(layout.n_docs), (n_resamples, 1)))
    draw_sys = (rng.integers(0, layout.n_systems, size=(n_resamples, layout.n_systems))
                if unit in ("systems", "both") else np.tile(np.arange(layout.n_systems), (n_resamples, 1)))
    rows_of = {}
    for r, (d, s) in enumerate(zip(layout.doc_codes, layout.sys_codes)):
        rows_of.setdefault((d, s), []).append(r)
    x, y = np.asarray(x, float), np.asarray(y, float)
    out = np.empty(n_resamples)
    for b in range(n_resamples):
        rows, new_doc, new_sys = [], [], []
        for j, d in enumerate(draw_docs[b]):
            for k, s in enumerate(draw_sys[b]):
                for r in rows_of.get((d, s), ()):
                    rows.append(r), new_doc.append(j), new_sys.append(k)
        rows = np.array(rows, dtype=int)
        out[b] = _naive_level(x[rows], y[rows], np.array(new_doc), np.array(new_sys), level, method,
                              kendall_variant)
    return out
