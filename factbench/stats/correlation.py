"""Correlation of a metric with a human label at the levels the summarization literature reports.

Levels (Deutsch et al. 2021 naming; Louis & Nenkova 2013 "summary-level"):

- ``summary``: for each document, correlate the scores of the summaries of that document (one per system),
  then average over documents. Documents whose metric or human vector is constant (or that have fewer than two
  summaries) have no correlation; they are skipped and counted in ``n_skipped``.
- ``system``: correlate the per-system mean scores (one point per system).
- ``global``: correlate all (summary, label) pairs at once.
- ``partial``: the FRANK method (Pagnoni et al. 2021, ``evaluate.py``): residualise metric and label on
  one-hot(system) with least squares — the same as subtracting each system's mean — then correlate the
  residuals. It measures agreement *within* systems, not the ability to rank systems.

Methods: ``pearson``, ``spearman`` and ``kendall`` (tau-b by default, tau-c on request, as scipy defines them).
All functions accept the frequency weights that :mod:`factbench.stats.resampling` uses for the bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import weighted
from ..errors import ConfigError, DataError
from ._checks import as_vector, choice, same_length

LEVELS = ("summary", "system", "global", "partial")
METHODS = ("pearson", "spearman", "kendall")
KENDALL_VARIANTS = ("b", "c")

LEVEL_TEXT = {
    "summary": "summary-level",
    "system": "system-level",
    "global": "global",
    "partial": "partial (controlling for system, FRANK)",
}


def method_name(method: str, kendall_variant: str = "b") -> str:
    """Human-readable statistic name, e.g. ``"Kendall tau-b"``."""
    return {"pearson": "Pearson", "spearman": "Spearman"}.get(method, f"Kendall tau-{kendall_variant}")


@dataclass(frozen=True)
class Layout:
    """How the rows of a score table group into documents (inputs) and systems.

    Attributes
    ----------
    doc_codes, sys_codes : ndarray of int, shape (n,)
        Document and system index of every row.
    doc_names, sys_names : tuple of str
        The names behind the codes.
    cells : ndarray of int, shape (n_docs, max summaries per document)
        Row indices of each document's summaries, padded with -1.
    """

    doc_codes: np.ndarray
    sys_codes: np.ndarray
    doc_names: tuple
    sys_names: tuple
    cells: np.ndarray

    @property
    def n(self) -> int:
        return len(self.doc_codes)

    @property
    def n_docs(self) -> int:
        return len(self.doc_names)

    @property
    def n_systems(self) -> int:
        return len(self.sys_names)

    def onehot(self) -> np.ndarray:
        return np.eye(self.n_systems)[self.sys_codes]


def make_layout(docs=None, systems=None, *, n: int | None = None) -> Layout:
    """Build a :class:`Layout` from per-row document and system ids.

    ``docs=None`` makes every row its own document; ``systems=None`` puts every row in one system.

    Examples
    --------
    >>> lay = make_layout(["d1", "d1", "d2"], ["A", "B", "A"])
    >>> lay.n_docs, lay.n_systems, lay.cells.tolist()
    (2, 2, [[0, 1], [2, -1]])
    """
    if n is None:
        n = len(docs) if docs is not None else len(systems) if systems is not None else None
    if n is None:
        raise ValueError("make_layout needs docs, systems or n")
    same_length(docs=docs, systems=systems, n=range(n))
    doc_names, doc_codes = np.unique(np.asarray([str(d) for d in docs] if docs is not None else np.arange(n).astype(str)),
                                     return_inverse=True)
    if systems is None:
        sys_names, sys_codes = np.array(["all"]), np.zeros(n, dtype=int)
    else:
        sys_names, sys_codes = np.unique(np.asarray([str(s) for s in systems]), return_inverse=True)
    order = np.argsort(doc_codes, kind="stable")
    sizes = np.bincount(doc_codes, minlength=len(doc_names))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    slot = np.empty(n, dtype=int)
    slot[order] = np.arange(n) - starts[doc_codes[order]]
    cells = np.full((len(doc_names), max(int(sizes.max(initial=0)), 1)), -1, dtype=int)
    cells[doc_codes, slot] = np.arange(n)
    return Layout(doc_codes.astype(int), sys_codes.astype(int), tuple(doc_names), tuple(sys_names), cells)


# Derived values (system means, residuals) are rounded to this many decimals: values tied in exact arithmetic
# can differ in the last bit depending on summation order; a rank statistic would break such ties arbitrarily,
# and equal system means (or all-zero residuals) would look non-constant and give a meaningless correlation.
TIE_DECIMALS = 10


def _group_means(x, row_w, onehot):
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((row_w * x) @ onehot) / (row_w @ onehot)


def _settle(v):
    return np.round(np.where(np.isnan(v), 0.0, v), TIE_DECIMALS)


def _constant_within(v, row_w, layout: Layout):
    """True where, in every system with weight, ``v`` is constant over the present rows (residuals all 0)."""
    order = np.lexsort((v, layout.sys_codes))
    vs, ss = v[order], layout.sys_codes[order]
    group_starts = np.flatnonzero(np.r_[True, (vs[1:] != vs[:-1]) | (ss[1:] != ss[:-1])])
    sys_starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
    ws = np.take(row_w, order, axis=-1)
    groups = (np.add.reduceat(ws, group_starts, axis=-1) > 0).sum(-1)
    systems = (np.add.reduceat(ws, sys_starts, axis=-1) > 0).sum(-1)
    return groups <= systems


def _partial_pearson_shared(x, y, row_w, layout: Layout):
    """Partial Pearson for shared x, y and many weightings: per-system weighted moments in one product.

    Same value as residualising and correlating (the within-system covariance over the within-system
    variances), without materialising residuals for every resample.
    """
    onehot = layout.onehot()
    counts = onehot.sum(0)
    # Centre on the unweighted per-system means so the one-pass moment formulas do not cancel.
    xc = x - ((x @ onehot) / counts)[layout.sys_codes]
    yc = y - ((y @ onehot) / counts)[layout.sys_codes]
    feats = np.stack([np.ones_like(xc), xc, yc, xc * xc, yc * yc, xc * yc], axis=1)
    k = layout.n_systems
    mom = (row_w @ (onehot[:, :, None] * feats[:, None, :]).reshape(layout.n, k * 6))
    sw, sx, sy, sxx, syy, sxy = np.moveaxis(mom.reshape(mom.shape[:-1] + (k, 6)), -1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(sw > 0, 1.0 / np.where(sw > 0, sw, 1.0), 0.0)
        cov = (sxy - sx * sy * inv).sum(-1)
        r = cov / np.sqrt((sxx - sx * sx * inv).sum(-1) * (syy - sy * sy * inv).sum(-1))
    const = _constant_within(x, row_w, layout) | _constant_within(y, row_w, layout)
    return np.where(const, np.nan, np.clip(r, -1.0, 1.0))


def level_statistic(x, y, layout: Layout, level: str, method: str, kendall_variant: str = "b", *,
                    doc_w=None, sys_w=None, mask=None):
    """Vectorised correlation at one level, for any number of weightings at once.

    Parameters
    ----------
    x, y : ndarray, shape (n,) or (..., n)
        Metric and human scores per row (rows with ``mask`` False may hold any finite value).
    layout : Layout
    level, method, kendall_variant : str
        See the module docstring.
    doc_w : ndarray, shape (..., n_docs), optional
        How many times each document is drawn (bootstrap over inputs); default 1.
    sys_w : ndarray, shape (..., n_systems), optional
        How many times each system is drawn (bootstrap over systems); default 1.
    mask : ndarray of bool, shape (n,), optional
        Rows to use (e.g. the rows where this metric has a score).

    Returns
    -------
    value, n_used, n_skipped : ndarray
        The correlation (NaN where undefined); how many units (rows, systems or documents) it used; how many
        documents the summary level skipped as constant or with fewer than two summaries.
    """
    onehot = layout.onehot()
    doc_w = np.ones(layout.n_docs) if doc_w is None else np.asarray(doc_w, float)
    sys_w = np.ones(layout.n_systems) if sys_w is None else np.asarray(sys_w, float)
    mask = np.ones(layout.n) if mask is None else np.asarray(mask, float)
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if level == "summary":
        valid = layout.cells >= 0
        idx = np.where(valid, layout.cells, 0)
        within_w = (sys_w[..., layout.sys_codes] * mask)[..., idx] * valid
        r = weighted.correlation(x[..., idx], y[..., idx], within_w, method, kendall_variant)
        dw = doc_w * (within_w.sum(axis=-1) > 0)
        r = np.broadcast_to(r, np.broadcast_shapes(r.shape, dw.shape))
        dw = np.broadcast_to(dw, r.shape)
        usable = ~np.isnan(r) & (dw > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(usable, dw * np.nan_to_num(r), 0).sum(-1) / np.where(usable, dw, 0).sum(-1)
        return value, usable.sum(-1), ((dw > 0) & ~usable).sum(-1)
    row_w = doc_w[..., layout.doc_codes] * sys_w[..., layout.sys_codes] * mask
    if level == "system":
        mass = row_w @ onehot
        mx, my = _group_means(x, row_w, onehot), _group_means(y, row_w, onehot)
        w = sys_w * (mass > 0)
        value = weighted.correlation(_settle(mx), _settle(my),
                                     w, method, kendall_variant)
        return value, (w > 0).sum(-1), np.zeros_like(value, dtype=int)
    if level == "partial" and method == "pearson" and x.ndim == 1 and y.ndim == 1 and row_w.ndim > 1:
        return _partial_pearson_shared(x, y, row_w, layout), (row_w > 0).sum(-1), np.zeros(row_w.shape[:-1], int)
    if level == "partial":
        x = _settle(x - _group_means(x, row_w, onehot)[..., layout.sys_codes])
        y = _settle(y - _group_means(y, row_w, onehot)[..., layout.sys_codes])
    value = weighted.correlation(x, y, row_w, method, kendall_variant)
    return value, (row_w > 0).sum(-1), np.zeros_like(value, dtype=int)


@dataclass(frozen=True)
class CorrelationResult:
    """One correlation with the protocol that produced it.

    ``n`` counts summaries used; ``n_units`` the points actually correlated (documents averaged at summary
    level, systems at system level, summaries otherwise); ``n_controls`` the number of dummy variables
    partialled out (systems - 1 for the partial level, else 0).
    """

    value: float
    level: str
    method: str
    kendall_variant: str
    n: int
    n_units: int
    n_skipped: int
    n_controls: int

    @property
    def statistic(self) -> str:
        return method_name(self.method, self.kendall_variant)

    def describe(self) -> str:
        """E.g. ``"Kendall tau-b, summary-level (240 documents; 10 constant skipped)"``."""
        text = f"{self.statistic}, {LEVEL_TEXT[self.level]}"
        if self.level == "summary":
            text += f" ({self.n_units} documents; {self.n_skipped} constant skipped)"
        elif self.level == "system":
            text += f" ({self.n_units} systems)"
        return text


def validated(x, y, docs, systems, level, method, kendall_variant):
    """``x`` and ``y`` as float vectors, after checking them and the level/method/variant names (the
    checks of :func:`correlate`, shared with the resampling functions)."""
    x = as_vector(x, "metric scores")
    y = as_vector(y, "human scores")
    if not same_length(x=x, y=y, docs=docs, systems=systems):
        raise DataError("no scores to correlate: the metric and human scores are empty")
    choice(level, LEVELS, "level")
    choice(method, METHODS, "method")
    choice(kendall_variant, KENDALL_VARIANTS, "kendall variant")
    return x, y


def correlate(x, y, *, docs=None, systems=None, level: str = "global", method: str = "pearson",
              kendall_variant: str = "b") -> CorrelationResult:
    """Correlate metric scores ``x`` with human scores ``y`` at one level.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Finite scores (drop missing rows first).
    docs, systems : array_like, shape (n,), optional
        Document and system of every row; needed for the summary, system and partial levels.
    level : {"summary", "system", "global", "partial"}
    method : {"pearson", "spearman", "kendall"}
    kendall_variant : {"b", "c"}
        Tau-b (default; corrects for ties) or tau-c (Stuart's, for non-square contingency tables).

    Examples
    --------
    >>> docs = ["d1", "d1", "d1", "d2", "d2", "d2"]
    >>> systems = ["A", "B", "C", "A", "B", "C"]
    >>> res = correlate([1, 2, 3, 1, 3, 2], [1, 2, 3, 3, 2, 1], docs=docs, systems=systems,
    ...                 level="summary", method="kendall")
    >>> round(res.value, 4), res.describe()  # (1 + (-1/3)) / 2
    (0.3333, 'Kendall tau-b, summary-level (2 documents; 0 constant skipped)')
    """
    x, y = validated(x, y, docs, systems, level, method, kendall_variant)
    if level == "summary" and docs is None:
        raise ConfigError("the summary level needs document ids (docs=...)")
    layout = make_layout(docs, systems, n=len(x))
    value, used, skipped = level_statistic(x, y, layout, level, method, kendall_variant)
    return CorrelationResult(
        value=float(value), level=level, method=method, kendall_variant=kendall_variant, n=len(x),
        n_units=int(used), n_skipped=int(skipped),
        n_controls=layout.n_systems - 1 if level == "partial" else 0,
    )


def pearson(x, y) -> float:
    """Pearson correlation of two finite vectors; NaN if either is constant.

    Examples
    --------
    >>> round(pearson([1, 2, 3, 4], [2, 4, 5, 9]), 4)  # 11 / sqrt(5 * 26)
    0.9648
    """
    return correlate(x, y, method="pearson").value


def spearman(x, y) -> float:
    """Spearman correlation (Pearson of average ranks), as ``scipy.stats.spearmanr``.

    Examples
    --------
    >>> spearman([1, 2, 3, 4], [10, 30, 20, 40])
    0.8
    """
    return correlate(x, y, method="spearman").value


def kendall(x, y, variant: str = "b") -> float:
    """Kendall tau-b (default) or tau-c, as ``scipy.stats.kendalltau``.

    Examples
    --------
    >>> round(kendall([1, 2, 3, 4], [1, 3, 2, 4]), 4)
    0.6667
    """
    return correlate(x, y, method="kendall", kendall_variant=variant).value
