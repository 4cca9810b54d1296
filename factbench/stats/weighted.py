"""Frequency-weighted correlations along the last axis, vectorised over any leading axes.

Why weights: a bootstrap resample of n items is the same as the original items with integer weights (how often
each was drawn), so a ``(B, n)`` weight matrix evaluates B resamples in one pass without materialising them. With
integer weights every function here equals the plain statistic on the expanded sample (each item repeated
``w`` times) exactly; with all weights 1 it is the plain statistic (scipy's ``pearsonr``, ``spearmanr``,
``kendalltau``). Items with weight 0 are absent. A vector that is constant over its present items gives NaN.

Shapes: ``x`` and ``y`` broadcast against ``w`` (e.g. ``x`` of shape ``(n,)`` with ``w`` of shape ``(B, n)``);
the result has ``w.shape[:-1]``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _sps

# Kendall by all pairs costs O(n^2) per vector; above this size a per-vector O(n log n) loop is cheaper.
PAIRWISE_KENDALL_MAX_N = 64
# Ranks of vectors up to this length come from all pairwise comparisons rather than a sort per row.
PAIRWISE_RANK_MAX_N = 16


def is_constant(x, w) -> np.ndarray:
    """True where ``x`` takes fewer than two distinct values among the items with positive weight."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    present = w > 0
    if x.ndim == 1:
        # Shared values (the bootstrap): the first and last present item in sorted order decide.
        order = np.argsort(x, kind="stable")
        ps = np.take(present, order, axis=-1)
        n = len(x)
        first = np.argmax(ps, axis=-1)
        last = n - 1 - np.argmax(ps[..., ::-1], axis=-1)
        xs = x[order]
        return ~(xs[last] > xs[first]) | ~ps.any(axis=-1)
    hi = np.where(present, x, -np.inf).max(axis=-1)
    lo = np.where(present, x, np.inf).min(axis=-1)
    # Compared directly rather than via the variance, which rounding makes tiny but non-zero for constants.
    return ~(hi > lo)


def _rowdot(a, b):
    return np.einsum("...i,...i->...", a, b)


def pearson(x, y, w) -> np.ndarray:
    """Weighted Pearson correlation along the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(pearson([1, 2, 3, 4], [1, 3, 2, 4], np.ones(4))), 4)
    0.8
    >>> round(float(pearson([1, 2, 3], [1, 3, 2], np.array([1, 2, 1]))), 4)  # == pearson([1,2,2,3], [1,3,3,2])
    0.4264
    """
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if x.ndim == 1 and y.ndim == 1 and w.ndim > 1:
            # Shared values, many weightings (the bootstrap): all weighted moments in one matrix product.
            # Centring on the unweighted means first keeps the one-pass formulas free of cancellation.
            xc, yc = x - x.mean(), y - y.mean()
            moments = w @ np.stack([np.ones_like(xc), xc, yc, xc * xc, yc * yc, xc * yc], axis=1)
            sw, sx, sy, sxx, syy, sxy = np.moveaxis(moments, -1, 0)
            cov, vx, vy = sxy - sx * sy / sw, sxx - sx * sx / sw, syy - sy * sy / sw
        else:
            sw = w.sum(axis=-1)
            dx = x - (_rowdot(w, x) / sw)[..., None]
            dy = y - (_rowdot(w, y) / sw)[..., None]
            wdx = w * dx
            cov, vx, vy = _rowdot(wdx, dy), _rowdot(wdx, dx), _rowdot(w * dy, dy)
        r = cov / np.sqrt(vx * vy)
    r = np.clip(r, -1.0, 1.0)
    return np.where(is_constant(x, w) | is_constant(y, w), np.nan, r)


def ranks(x, w) -> np.ndarray:
    """Weighted mid-ranks along the last axis: the average rank each item gets in the expanded sample.

    The rank of an item is the total weight of strictly smaller items plus ``(T + 1) / 2``, where ``T`` is the
    total weight of its tie group; with unit weights this is ``scipy.stats.rankdata(method="average")``.
    When ``x`` is 1-D and ``w`` is not (the bootstrap case), ``x`` is sorted once and the order reused.

    Examples
    --------
    >>> ranks(np.array([3.0, 1.0, 3.0, 2.0]), np.ones(4)).tolist()
    [3.5, 1.0, 3.5, 2.0]
    >>> ranks(np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 1.0])).tolist()  # 1, 1, 2, 3 -> 1.5, 3, 4
    [4.0, 1.5, 3.0]
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    shape = np.broadcast_shapes(x.shape, w.shape)
    n = x.shape[-1]
    if n <= PAIRWISE_RANK_MAX_N:
        # Short vectors (summary level: one per document): compare all pairs instead of sorting each row.
        below = np.einsum("...j,...ij->...i", w, (x[..., None, :] < x[..., :, None]).astype(float))
        tied = np.einsum("...j,...ij->...i", w, (x[..., None, :] == x[..., :, None]).astype(float))
        return np.broadcast_to(below + (tied + 1.0) / 2.0, shape)
    order = np.argsort(x, axis=-1)  # tie order is irrelevant: ties share a mid-rank
    xs = np.take_along_axis(x, order, axis=-1)
    pos = np.arange(n)
    starts = np.concatenate([np.ones(xs.shape[:-1] + (1,), bool), xs[..., 1:] != xs[..., :-1]], axis=-1)
    ends = np.concatenate([xs[..., 1:] != xs[..., :-1], np.ones(xs.shape[:-1] + (1,), bool)], axis=-1)
    # Index of the first / last item of each item's tie group, in sorted order.
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, pos, n - 1), axis=-1), axis=-1), axis=-1)
    if x.ndim == 1:
        # One order for every weighting: plain gathers along the last axis (much cheaper than
        # take_along_axis with broadcast index arrays), and the inverse permutation instead of a scatter.
        ws = np.take(np.broadcast_to(w, shape), order, axis=-1)
        cw = np.cumsum(ws, axis=-1)
        below = np.take(cw - ws, first, axis=-1)
        through = np.take(cw, last, axis=-1)
        inverse = np.empty(n, dtype=int)
        inverse[order] = pos
        return np.take(below + (through - below + 1.0) / 2.0, inverse, axis=-1)
    order_b = np.broadcast_to(order, shape)
    ws = np.take_along_axis(np.broadcast_to(w, shape), order_b, axis=-1)
    cw = np.cumsum(ws, axis=-1)
    below = np.take_along_axis(cw - ws, np.broadcast_to(first, shape), axis=-1)
    through = np.take_along_axis(cw, np.broadcast_to(last, shape), axis=-1)
    sorted_ranks = below + (through - below + 1.0) / 2.0
    out = np.empty(shape)
    np.put_along_axis(out, order_b, sorted_ranks, axis=-1)
    return out


def spearman(x, y, w) -> np.ndarray:
    """Weighted Spearman correlation: weighted Pearson of weighted mid-ranks.

    Examples
    --------
    >>> round(float(spearman([1, 2, 3, 4], [1, 30, 20, 40], np.ones(4))), 4)
    0.8
    """
    w = np.asarray(w, dtype=float)
    # Ranks of present items are constant exactly when the values are, so pearson() flags those as NaN.
    return pearson(ranks(x, w), ranks(y, w), w)


def _kendall_pairwise(x, y, w, variant):
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    ww = w[..., :, None] * w[..., None, :]
    # Each unordered pair appears twice in the full matrix; duplicates of one item (the diagonal) tie in x and y.
    s = (ww * sx * sy).sum(axis=(-1, -2)) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        if variant == "b":
            px = (ww * np.abs(sx)).sum(axis=(-1, -2)) / 2.0
            py = (ww * np.abs(sy)).sum(axis=(-1, -2)) / 2.0
            tau = s / np.sqrt(px * py)
        else:
            total = w.sum(axis=-1)
            m = np.minimum(_distinct(x, w), _distinct(y, w))
            tau = 2.0 * s / (total**2 * (m - 1) / m)
    return tau


def _distinct(x, w):
    """Number of distinct values among items with positive weight."""
    xs = np.sort(np.where(w > 0, x, np.nan), axis=-1)  # NaNs sort last
    valid = ~np.isnan(xs)
    new = np.concatenate([valid[..., :1], valid[..., 1:] & (xs[..., 1:] != xs[..., :-1])], axis=-1)
    return new.sum(axis=-1)


def _kendall_loop(x, y, w, variant):
    shape = np.broadcast_shapes(x.shape, y.shape, w.shape)
    xb, yb, wb = (np.broadcast_to(a, shape).reshape(-1, shape[-1]) for a in (x, y, w))
    counts = np.rint(wb).astype(np.int64)
    if not np.allclose(counts, wb):
        raise ValueError("Kendall over more than PAIRWISE_KENDALL_MAX_N items needs integer (frequency) weights")
    out = np.empty(len(xb))
    for i in range(len(xb)):
        idx = np.repeat(np.arange(shape[-1]), counts[i])
        out[i] = _sps.kendalltau(xb[i][idx], yb[i][idx], variant=variant).statistic if len(idx) > 1 else np.nan
    return out.reshape(shape[:-1])


def kendall(x, y, w, variant: str = "b") -> np.ndarray:
    """Weighted Kendall tau (``variant`` ``"b"`` or ``"c"``, as ``scipy.stats.kendalltau``).

    Small vectors use all pairs at once; longer ones loop over the leading axes with scipy on the expanded sample.

    Examples
    --------
    >>> round(float(kendall([1, 2, 3, 4], [1, 3, 2, 4], np.ones(4))), 4)
    0.6667
    """
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape[-1] <= PAIRWISE_KENDALL_MAX_N:
        tau = _kendall_pairwise(x, y, w, variant)
    else:
        tau = _kendall_loop(x, y, w, variant)
    return np.where(is_constant(x, w) | is_constant(y, w), np.nan, np.clip(tau, -1.0, 1.0))


def correlation(x, y, w, method: str, kendall_variant: str = "b") -> np.ndarray:
    """Dispatch to :func:`pearson`, :func:`spearman` or :func:`kendall` by name."""
    if method == "pearson":
        return pearson(x, y, w)
    if method == "spearman":
        return spearman(x, y, w)
    return kendall(x, y, w, kendall_variant)
