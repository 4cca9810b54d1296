"""Detection: the SummaC threshold protocol on a hand-built case, AUC and balanced accuracy by hand."""

import numpy as np
import pytest

from factbench.errors import ConfigError, DataError
from factbench.stats import balanced_accuracy, evaluate_detection, roc_auc, tune_threshold
from factbench.stats.detection import roc_curve


def test_balanced_accuracy_hand_computed():
    # Recall of class 1: 3/4; of class 0: 1/2 -> 0.625 (plain accuracy would be 4/6).
    assert balanced_accuracy([1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1]) == pytest.approx(0.625)
    with pytest.raises(DataError, match="0 or 1"):
        balanced_accuracy([1, 2], [1, 0])


def test_roc_auc_hand_computed_with_ties():
    # Pairs (pos, neg): (0.5 vs 0.5) tie -> 1/2, (0.5 vs 0.2) win, (0.9 vs both) wins: (1/2 + 3) / 4.
    assert roc_auc([1, 1, 0, 0], [0.5, 0.9, 0.5, 0.2]) == pytest.approx(0.875)
    fpr, tpr, _ = roc_curve([1, 1, 0, 0], [0.5, 0.9, 0.5, 0.2])
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.875)


def test_threshold_is_tuned_on_val_only_and_applied_to_test():
    # Validation cut: any threshold in [0.4, 0.6) separates the classes. The last separating candidate is
    # percentile 66.6 of [0.2, 0.4, 0.6, 0.8] (position 1.998): 0.4 + 0.998 * 0.2 = 0.5996. On the test cut a
    # threshold of 0.75 would be perfect, but the protocol must not see it: with 0.5996 the inconsistent test
    # summary scored 0.7 is predicted consistent.
    val_s, val_y = [0.2, 0.4, 0.6, 0.8], [0, 0, 1, 1]
    test_s, test_y = [0.55, 0.7, 0.8, 0.9], [0, 0, 1, 1]
    threshold, val_bacc = tune_threshold(val_s, val_y)
    candidates = np.percentile(val_s, np.arange(0, 100, 0.2))
    assert val_bacc == 1.0
    assert threshold == pytest.approx(0.5996)
    assert threshold == pytest.approx(candidates[candidates < 0.6].max())
    res = evaluate_detection(val_s + test_s, val_y + test_y, ["valid"] * 4 + ["test"] * 4)
    assert res.threshold == pytest.approx(threshold)
    assert res.test_balanced_accuracy == pytest.approx(0.75)  # class 0 recall 1/2 (0.7 wrong), class 1 recall 1
    assert res.test_auc == 1.0  # ranking is perfect; only the threshold transfers badly
    assert (res.n_val, res.n_test, res.test_positive) == (4, 4, 2)


def test_predict_consistent_only_strictly_above_threshold():
    # All val scores equal: every candidate threshold is 0.5; 0.5 > 0.5 is False, so everything is predicted
    # inconsistent (balanced accuracy 0.5), and a test score equal to the threshold is predicted inconsistent.
    res = evaluate_detection([0.5, 0.5, 0.5, 0.6], [0, 1, 1, 1], ["val", "val", "test", "test"])
    assert res.threshold == 0.5 and res.val_balanced_accuracy == 0.5
    assert res.test_balanced_accuracy == pytest.approx(0.5)  # only one class in test: recall of 1 = 1/2


def test_tuning_on_test_is_refused():
    with pytest.raises(ConfigError, match="test cut is not allowed"):
        evaluate_detection([0.1, 0.9], [0, 1], ["val", "test"], tune_on="test")
    with pytest.raises(DataError, match="validation and a test cut"):
        evaluate_detection([0.1, 0.9], [0, 1], ["test", "test"])
    with pytest.raises(DataError, match="single class"):
        tune_threshold([0.1, 0.9], [1, 1])
