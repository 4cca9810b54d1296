"""Binary detection of inconsistent summaries: balanced accuracy at a tuned threshold, and ROC AUC.

Protocol of SummaC (Laban et al. 2022, Table 2; ``choose_best_threshold`` in its benchmark code): candidate
thresholds are the percentiles 0, 0.2, ..., 99.8 of the *validation* scores; a summary is predicted consistent
when ``score > threshold``; the threshold with the best validation balanced accuracy is kept (on ties the
later, i.e. higher, candidate, as the original loop's ``>=`` does) and applied unchanged to the test cut.
Tuning on the test cut would report an optimistic number and is refused.

Intervals (:func:`detection_bootstrap`): percentile bootstrap over the test summaries, resampled *within class*
(the positives among the positives, the negatives among the negatives, so every resample keeps the test cut's
class sizes; a stratified bootstrap), with the tuned threshold held fixed: the interval is the uncertainty of
the test-set estimate, not of the tuning. :func:`paired_detection_test` compares two metrics on the same
summaries through the same resamples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from ._checks import as_vector, confidence_level, positive_int, same_length
from .resampling import _counts, percentile_interval
from .significance import bootstrap_difference
from .weighted import ranks

VAL_NAMES = ("val", "valid", "validation", "dev")
TEST_NAMES = ("test",)
PERCENTILES = np.arange(0, 100, 0.2)


def normalise_cut(name: str) -> str:
    """Map split names to ``"val"`` / ``"test"`` (others unchanged): ``valid`` and ``validation`` are ``val``."""
    low = str(name).lower()
    return "val" if low in VAL_NAMES else "test" if low in TEST_NAMES else low


def _binary(labels, name="labels") -> np.ndarray:
    arr = as_vector(labels, name)
    if not np.all((arr == 0) | (arr == 1)):
        raise DataError(f"{name}: binary labels must be 0 or 1; got {sorted(set(arr.tolist()) - {0.0, 1.0})[:3]}")
    return arr.astype(int)


def balanced_accuracy(labels, predictions) -> float:
    """Mean of the recall of each class (as ``sklearn.metrics.balanced_accuracy_score``).

    Examples
    --------
    >>> balanced_accuracy([1, 1, 1, 0], [1, 1, 0, 0])  # (2/3 + 1/1) / 2
    0.8333333333333333
    """
    y = _binary(labels)
    p = _binary(predictions, "predictions")
    same_length(labels=y, predictions=p)
    recalls = [np.mean(p[y == c] == c) for c in (0, 1) if np.any(y == c)]
    return float(np.mean(recalls))


def _bacc_matrix(y, pred):
    """Balanced accuracy of each row of a (k, n) prediction matrix; classes absent from y are left out."""
    recalls = [(pred[:, y == c] == c).mean(axis=1) for c in (0, 1) if np.any(y == c)]
    return np.mean(recalls, axis=0)


def tune_threshold(scores, labels):
    """Pick the SummaC threshold on validation data.

    Returns
    -------
    threshold, balanced_accuracy : float

    Examples
    --------
    >>> t, bacc = tune_threshold([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    >>> round(t, 4), bacc  # [0.2, 0.8) separates; the last such candidate is percentile 66.6: 0.2 + 0.998 * 0.6
    (0.7988, 1.0)
    """
    s = as_vector(scores, "validation scores")
    y = _binary(labels, "validation labels")
    same_length(scores=s, labels=y)
    if len(np.unique(y)) < 2:
        raise DataError("validation labels contain a single class; a threshold cannot be tuned")
    candidates = np.percentile(s, PERCENTILES)
    bacc = _bacc_matrix(y, (s[None, :] > candidates[:, None]).astype(int))
    best = len(bacc) - 1 - int(np.argmax(bacc[::-1]))  # last maximum, as SummaC's ``>=`` keeps it
    return float(candidates[best]), float(bacc[best])


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve: the probability that a consistent summary outscores an inconsistent one
    (ties count one half), computed from mid-ranks (Mann-Whitney U).

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y = _binary(labels)
    s = as_vector(scores, "scores")
    same_length(labels=y, scores=s)
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    if n1 == 0 or n0 == 0:
        return np.nan
    r = ranks(s, np.ones(len(s)))
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def roc_curve(labels, scores):
    """False- and true-positive rates for every distinct threshold (predict consistent when score >= t)."""
    y = _binary(labels)
    s = as_vector(scores, "scores")
    same_length(labels=y, scores=s)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp, fp = np.cumsum(y)[last], np.cumsum(1 - y)[last]
    tpr = np.r_[0, tp / max(y.sum(), 1)]
    fpr = np.r_[0, fp / max(len(y) - y.sum(), 1)]
    return fpr, tpr, np.r_[np.inf, s[last]]


def check_tune_on(tune_on: str) -> None:
    """Raise a ConfigError unless the threshold is tuned on the validation cut."""
    if tune_on != "val":
        if normalise_cut(tune_on) == "test":
            raise ConfigError("tuning the detection threshold on the test cut is not allowed (it reports an "
                              "optimistic accuracy); tune on the validation cut: --tune-on val")
        raise ConfigError(f"tune_on must be 'val'; got {tune_on!r}")


@dataclass(frozen=True)
class DetectionResult:
    """Detection quality of one metric on one dataset, with the protocol."""

    threshold: float
    val_balanced_accuracy: float
    test_balanced_accuracy: float
    test_auc: float
    n_val: int
    n_test: int
    test_positive: int
    protocol: str = ("balanced accuracy on test; threshold tuned on val over score percentiles 0, 0.2, ..., 99.8 "
                     "(SummaC), consistent if score > threshold")


def evaluate_detection(scores, labels, cuts, *, tune_on: str = "val",
                       threshold: float | None = None) -> DetectionResult:
    """Tune the threshold on the validation cut and report balanced accuracy and ROC AUC on the test cut.

    Parameters
    ----------
    scores, labels : array_like, shape (n,)
        Metric scores and binary labels (1 = consistent).
    cuts : array_like of str, shape (n,)
        The split of every item; ``val``/``valid``/``validation``/``dev`` count as validation, ``test`` as test.
    tune_on : {"val"}
        Only the validation cut may be used for tuning; ``"test"`` raises ConfigError.
    threshold : float, optional
        A threshold tuned elsewhere (e.g. once on the validation cut of the whole dataset, applied to each
        subgroup): used as is, and ``val_balanced_accuracy`` is that threshold's accuracy on this validation cut
        (NaN without one; only the test cut is then needed).

    Examples
    --------
    >>> res = evaluate_detection([0.1, 0.9, 0.2, 0.7, 0.3, 0.95], [0, 1, 0, 1, 1, 1],
    ...                          ["val", "val", "test", "test", "test", "test"])
    >>> res.threshold, res.test_balanced_accuracy  # threshold from val only: 0.1 + 0.998 * 0.8
    (0.8984, 0.6666666666666666)
    """
    check_tune_on(tune_on)
    s = as_vector(scores, "scores")
    y = _binary(labels)
    cut = np.array([normalise_cut(c) for c in cuts])
    same_length(scores=s, labels=y, cuts=cut)
    val, test = cut == "val", cut == "test"
    if not test.any() or (threshold is None and not val.any()):
        raise DataError(f"detection needs a validation and a test cut; found cuts {sorted(set(cut.tolist()))}")
    if threshold is None:
        threshold, val_bacc = tune_threshold(s[val], y[val])
    else:  # tuned elsewhere: this validation cut (if any) only reports how well it fits here
        val_bacc = balanced_accuracy(y[val], (s[val] > threshold).astype(int)) if val.any() else np.nan
    test_pred = (s[test] > threshold).astype(int)
    return DetectionResult(
        threshold=round(threshold, 12), val_balanced_accuracy=val_bacc,
        test_balanced_accuracy=balanced_accuracy(y[test], test_pred), test_auc=roc_auc(y[test], s[test]),
        n_val=int(val.sum()), n_test=int(test.sum()), test_positive=int(y[test].sum()),
    )


# ----------------------------------------------------------------------------------------------------------
# Intervals and paired comparison


WITHIN_CLASS = "within class"
INTERVAL_TEXT = ("percentile bootstrap over test summaries resampled within class (class sizes fixed), "
                 "threshold held fixed")


def class_resample_weights(labels, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Within-class bootstrap resamples of a labelled test cut, as a count matrix.

    The positives are drawn with replacement from the positives and the negatives from the negatives
    (``numpy.random.default_rng(seed)``: all positives' draws first, then the negatives'), so every resample
    has the original number of each class.

    Returns
    -------
    ndarray, shape (n_resamples, n)
        How many times each item is in each resample.

    Examples
    --------
    >>> w = class_resample_weights([1, 1, 1, 0, 0], n_resamples=3, seed=0)
    >>> w[:, :3].sum(axis=1).tolist(), w[:, 3:].sum(axis=1).tolist()
    ([3.0, 3.0, 3.0], [2.0, 2.0, 2.0])
    """
    y = _binary(labels)
    n_resamples = positive_int(n_resamples, "number of bootstrap resamples")
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_resamples, len(y)))
    for c in (1, 0):
        members = np.flatnonzero(y == c)
        if len(members):
            weights[:, members] = _counts(rng.integers(0, len(members), size=(n_resamples, len(members))),
                                          len(members))
    return weights


def weighted_balanced_accuracy(labels, predictions, weights) -> np.ndarray:
    """Balanced accuracy of every row of a ``(B, n)`` frequency-weight matrix (classes absent from a row
    are left out, as in :func:`balanced_accuracy`)."""
    y, p = _binary(labels), _binary(predictions, "predictions")
    w = np.atleast_2d(np.asarray(weights, float))
    correct = (p == y).astype(float)
    recalls = []
    for c in (0, 1):
        wc = w[:, y == c]
        total = wc.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls.append(np.where(total > 0, (wc * correct[y == c]).sum(axis=1) / total, np.nan))
    return np.nanmean(np.stack(recalls), axis=0)


def weighted_roc_auc(labels, scores, weights) -> np.ndarray:
    """ROC AUC of every row of a ``(B, n)`` frequency-weight matrix: with integer weights, the AUC of the
    sample in which every item appears as often as its weight (ties count one half); NaN without both classes.

    Examples
    --------
    >>> float(weighted_roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], np.ones((1, 4)))[0])  # as roc_auc
    0.75
    >>> float(weighted_roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], [[1, 2, 1, 1]])[0])  # 0.4 twice: (1 + 3) / 6
    0.6666666666666666
    """
    y = _binary(labels)
    s = as_vector(scores, "scores")
    w = np.atleast_2d(np.asarray(weights, float))
    order = np.argsort(s, kind="stable")
    ss, ys, ws = s[order], y[order], w[:, order]
    starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
    pos = np.add.reduceat(np.where(ys == 1, ws, 0.0), starts, axis=1)
    neg = np.add.reduceat(np.where(ys == 0, ws, 0.0), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg  # negative weight strictly below each distinct score
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


@dataclass(frozen=True)
class DetectionInterval:
    """Balanced accuracy and ROC AUC on a test cut with percentile-bootstrap intervals.

    ``bacc_dist`` and ``auc_dist`` are the resampled values (for paired comparisons on the same resamples).
    """

    balanced_accuracy: float
    bacc_low: float
    bacc_high: float
    auc: float
    auc_low: float
    auc_high: float
    confidence: float
    n_resamples: int
    seed: int
    bacc_dist: np.ndarray
    auc_dist: np.ndarray

    def describe(self) -> str:
        """E.g. ``"95% percentile bootstrap over test summaries resampled within class ..., 1000 resamples,
        seed 0"``."""
        return f"{self.confidence * 100:g}% {INTERVAL_TEXT}, {self.n_resamples} resamples, seed {self.seed}"


def detection_bootstrap(labels, scores, threshold: float, *, n_resamples: int = 1000, seed: int = 0,
                        confidence: float = 0.95) -> DetectionInterval:
    """Percentile-bootstrap intervals of balanced accuracy (at a fixed ``threshold``) and ROC AUC on a test cut.

    Parameters
    ----------
    labels, scores : array_like, shape (n,)
        Binary labels (1 = consistent) and metric scores of the test summaries.
    threshold : float
        The threshold tuned on the validation cut; predict consistent when ``score > threshold``.
    n_resamples, seed, confidence
        Within-class resamples (:func:`class_resample_weights`), their seed, and the interval's level.

    Examples
    --------
    Two positives, one predicted right, and two negatives, both right: a resample's positive recall is 0, 1/2
    or 1 (probabilities 1/4, 1/2, 1/4), its negative recall always 1, so its balanced accuracy is 0.5, 0.75
    or 1 and the 95% interval runs from 0.5 to 1:

    >>> res = detection_bootstrap([1, 1, 0, 0], [0.9, 0.2, 0.1, 0.3], threshold=0.5, n_resamples=2000)
    >>> res.balanced_accuracy, (res.bacc_low, res.bacc_high), sorted(set(res.bacc_dist.tolist()))
    (0.75, (0.5, 1.0), [0.5, 0.75, 1.0])
    """
    confidence = confidence_level(confidence)
    y = _binary(labels)
    s = as_vector(scores, "scores")
    if not same_length(labels=y, scores=s):
        raise DataError("detection_bootstrap: no test summaries to resample")
    pred = (s > threshold).astype(int)
    weights = class_resample_weights(y, n_resamples, seed)
    bacc_dist = weighted_balanced_accuracy(y, pred, weights)
    auc_dist = weighted_roc_auc(y, s, weights) if 0 < y.sum() < len(y) else np.full(len(weights), np.nan)
    return DetectionInterval(balanced_accuracy(y, pred), *percentile_interval(bacc_dist, confidence),
                             roc_auc(y, s), *percentile_interval(auc_dist, confidence), confidence,
                             len(weights), seed, bacc_dist, auc_dist)


@dataclass(frozen=True)
class PairedDetection:
    """Metric A minus metric B on the same test summaries: differences, bootstrap intervals and p-values."""

    bacc_difference: float
    bacc_low: float
    bacc_high: float
    p_bacc: float
    auc_difference: float
    auc_low: float
    auc_high: float
    p_auc: float


def paired_detection_test(a: DetectionInterval, b: DetectionInterval) -> PairedDetection:
    """Paired bootstrap comparison of two metrics' detection results on the *same* test summaries.

    ``a`` and ``b`` must come from :func:`detection_bootstrap` on the same labels with the same ``n_resamples``
    and ``seed`` (hence the same resamples); the p-value is two-sided, as
    :func:`factbench.stats.significance.bootstrap_difference` defines it.

    Examples
    --------
    >>> y = [1, 1, 1, 0, 0, 0]
    >>> a = detection_bootstrap(y, [0.9, 0.8, 0.7, 0.1, 0.2, 0.3], 0.5, n_resamples=500)
    >>> b = detection_bootstrap(y, [0.9, 0.1, 0.7, 0.8, 0.2, 0.3], 0.5, n_resamples=500)
    >>> res = paired_detection_test(a, b)
    >>> round(res.bacc_difference, 4), res.bacc_low >= 0, res.p_auc < 1
    (0.3333, True, True)
    """
    if a.n_resamples != b.n_resamples or a.seed != b.seed or len(a.bacc_dist) != len(b.bacc_dist):
        raise ConfigError("paired_detection_test: both results must come from the same resamples "
                          f"(resamples {a.n_resamples}/{b.n_resamples}, seeds {a.seed}/{b.seed})")
    bacc = bootstrap_difference(a.balanced_accuracy, b.balanced_accuracy, a.bacc_dist, b.bacc_dist, a.confidence)
    auc = bootstrap_difference(a.auc, b.auc, a.auc_dist, b.auc_dist, a.confidence)
    return PairedDetection(bacc.difference, bacc.low, bacc.high, bacc.p_value,
                           auc.difference, auc.low, auc.high, auc.p_value)
