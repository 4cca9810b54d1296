"""Binary detection of inconsistent summaries: balanced accuracy at a tuned threshold, and ROC AUC.

Protocol of SummaC (Laban et al. 2022, Table 2; ``choose_best_threshold`` in its benchmark code): candidate
thresholds are the percentiles 0, 0.2, ..., 99.8 of the *validation* scores; a summary is predicted consistent
when ``score > threshold``; the threshold with the best validation balanced accuracy is kept (on ties the
later, i.e. higher, candidate, as the original loop's ``>=`` does) and applied unchanged to the test cut.
Tuning on the test cut would report an optimistic number and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from ._checks import as_vector, same_length
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


def evaluate_detection(scores, labels, cuts, *, tune_on: str = "val") -> DetectionResult:
    """Tune the threshold on the validation cut and report balanced accuracy and ROC AUC on the test cut.

    Parameters
    ----------
    scores, labels : array_like, shape (n,)
        Metric scores and binary labels (1 = consistent).
    cuts : array_like of str, shape (n,)
        The split of every item; ``val``/``valid``/``validation``/``dev`` count as validation, ``test`` as test.
    tune_on : {"val"}
        Only the validation cut may be used for tuning; ``"test"`` raises ConfigError.

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
    if not val.any() or not test.any():
        raise DataError(f"detection needs a validation and a test cut; found cuts {sorted(set(cut.tolist()))}")
    threshold, val_bacc = tune_threshold(s[val], y[val])
    test_pred = (s[test] > threshold).astype(int)
    return DetectionResult(
        threshold=round(threshold, 12), val_balanced_accuracy=val_bacc,
        test_balanced_accuracy=balanced_accuracy(y[test], test_pred), test_auc=roc_auc(y[test], s[test]),
        n_val=int(val.sum()), n_test=int(test.sum()), test_positive=int(y[test].sum()),
    )
