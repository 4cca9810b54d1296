"""Kendall tau-b / tau-c at every level against scipy.stats.kendalltau(variant=...), and balanced accuracy and
ROC AUC against their definitions counted by hand (pairs, per-class recalls) on tied data. Correctness tests."""

import itertools

import numpy as np
import pytest
from scipy import stats

from factbench.stats import balanced_accuracy, correlate, evaluate_detection, roc_auc


def _tied_grid(n_docs, systems="ABCD", seed=0):
    """Discrete human scores (0..3) and a coarse metric: many ties, and the contingency table is not square,
    so tau-b and tau-c differ."""
    rng = np.random.default_rng(seed)
    docs = np.repeat([f"d{i:03d}" for i in range(n_docs)], len(systems))
    sys_ = np.tile(list(systems), n_docs)
    y = rng.integers(0, 4, size=len(docs)).astype(float)
    x = np.round(y / 3 + rng.normal(scale=0.4, size=len(docs)), 1)
    return x, y, docs, sys_


def _scipy_level(x, y, docs, sys_, level, variant):
    tau = lambda u, v: stats.kendalltau(u, v, variant=variant).statistic  # noqa: E731
    if level == "global":
        return tau(x, y)
    if level == "system":
        keys = np.unique(sys_)
        return tau([x[sys_ == s].mean() for s in keys], [y[sys_ == s].mean() for s in keys])
    if level == "partial":
        xr, yr = x.copy(), y.copy()
        for s in np.unique(sys_):
            xr[sys_ == s] -= x[sys_ == s].mean()
            yr[sys_ == s] -= y[sys_ == s].mean()
        # residuals equal in exact arithmetic must tie (factbench rounds derived values to 10 decimals for that)
        return tau(np.round(xr, 10), np.round(yr, 10))
    vals = [tau(x[docs == d], y[docs == d]) for d in np.unique(docs)]
    return np.nanmean(vals)


@pytest.mark.parametrize("n_docs", [6, 30])  # 24 rows: all-pairs kernel; 120 rows: the scipy loop (> 64 items)
@pytest.mark.parametrize("level", ["global", "summary", "system", "partial"])
def test_kendall_b_and_c_equal_scipy_at_every_level(level, n_docs):
    x, y, docs, sys_ = _tied_grid(n_docs)
    values = {}
    for variant in ("b", "c"):
        res = correlate(x, y, docs=docs, systems=sys_, level=level, method="kendall", kendall_variant=variant)
        expected = _scipy_level(x, y, docs, sys_, level, variant)
        assert res.value == pytest.approx(expected, abs=1e-12)
        assert res.statistic == f"Kendall tau-{variant}"
        values[variant] = res.value
    if level != "system":  # 4 system means have no ties: tau-b = tau-c there
        assert abs(values["b"] - values["c"]) > 1e-3  # the data tell the variants apart


def test_balanced_accuracy_equals_mean_recall_counted_by_hand():
    # Class 1: 7 items, 5 predicted 1 -> 5/7; class 0: 3 items, 2 predicted 0 -> 2/3; (5/7 + 2/3) / 2 = 29/42.
    labels = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    preds = [1, 1, 0, 1, 1, 0, 1, 0, 1, 0]
    assert balanced_accuracy(labels, preds) == pytest.approx(29 / 42, abs=1e-15)
    # One class only: the mean over the classes present (sklearn's balanced_accuracy_score does the same).
    assert balanced_accuracy([1, 1, 1], [1, 0, 1]) == pytest.approx(2 / 3)


def test_roc_auc_with_ties_hand_computed_and_by_pair_counting():
    # Positives 0.5, 0.7, 0.5; negatives 0.5, 0.2. Pairs: (0.5, 0.5) tie 1/2 twice, every other pair a win:
    # (2 * 1/2 + 4) / 6 = 5/6.
    assert roc_auc([1, 0, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.5]) == pytest.approx(5 / 6, abs=1e-15)
    # All scores tied: every pair counts 1/2.
    assert roc_auc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3]) == 0.5
    rng = np.random.default_rng(2)
    for _ in range(20):
        labels = rng.integers(0, 2, size=15)
        scores = rng.integers(0, 4, size=15) / 4  # heavy ties
        if labels.min() == labels.max():
            continue
        pos, neg = scores[labels == 1], scores[labels == 0]
        wins = sum((p > q) + 0.5 * (p == q) for p, q in itertools.product(pos, neg))
        assert roc_auc(labels, scores) == pytest.approx(wins / (len(pos) * len(neg)), abs=1e-12)


def test_detection_with_tied_scores_at_the_threshold_hand_computed():
    """Validation scores [0.2, 0.4, 0.4, 0.4, 0.9] (labels 0, 0, 1, 1, 1): a threshold t predicts consistent when
    score > t. For t in [0.2, 0.4) the validation balanced accuracy is (1/2 + 1) / 2 = 0.75; t in [0.4, 0.9) gives
    (1 + 1/3) / 2 = 2/3; the best, 0.75, is reached last by percentile 24.8 of the scores, which lies at
    position 0.992 between 0.2 and 0.4: t = 0.2 + 0.992 * 0.2 = 0.3984. On the test cut [0.4 (0), 0.35 (0), 0.4
    (1), 0.1 (1)] everything at 0.4 is consistent: recall 0 = 1/2, recall 1 = 1/2 -> 0.5; AUC: pairs (pos 0.4:
    tie with 0.4, win over 0.35; pos 0.1: loses twice) = 1.5 / 4."""
    res = evaluate_detection([0.2, 0.4, 0.4, 0.4, 0.9, 0.4, 0.35, 0.4, 0.1], [0, 0, 1, 1, 1, 0, 0, 1, 1],
                             ["val"] * 5 + ["test"] * 4)
    assert res.threshold == pytest.approx(0.3984, abs=1e-12)
    assert res.val_balanced_accuracy == pytest.approx(0.75)
    assert res.test_balanced_accuracy == pytest.approx(0.5)
    assert res.test_auc == pytest.approx(1.5 / 4)
