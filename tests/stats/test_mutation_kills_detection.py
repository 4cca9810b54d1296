"""Tests written for mutants of factbench/stats/detection.py that survived the mutation run of 2026-12-01
(docs/mutation.md).

Each test pins down a behaviour of the detection statistics that no test in the mutation run's selection
checked. Expected values are hand-computed (the arithmetic is in the docstrings), come from numpy/scipy
applied to the documented definitions (the within-class resampling protocol of ``class_resample_weights``,
balanced accuracy as the mean per-class recall, ROC AUC as the Mann-Whitney probability with ties counting
one half, the percentile interval and the bootstrap p-value of ``bootstrap_difference``), or are the exact
error texts the code produces.
"""

import dataclasses
import warnings

import numpy as np
import pytest
from scipy import stats

from factbench.errors import ConfigError, DataError
from factbench.stats.detection import (balanced_accuracy, check_tune_on, class_resample_weights,
                                       detection_bootstrap, evaluate_detection, paired_detection_test, roc_auc,
                                       roc_curve, tune_threshold, weighted_balanced_accuracy, weighted_roc_auc)

NAN = float("nan")


# ---------------------------------------------------------------------------------------------------------
# Independent references (numpy / scipy on the documented definitions, no factbench code)


def _reference_weights(y, n_resamples, seed):
    """The documented within-class bootstrap: ``numpy.random.default_rng(seed)``, the positives' draws (indices
    into the positives, with replacement) first, then the negatives'; counted per resample with np.bincount."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    w = np.zeros((n_resamples, len(y)))
    for c in (1, 0):
        members = np.flatnonzero(y == c)
        if len(members):
            draws = rng.integers(0, len(members), size=(n_resamples, len(members)))
            for b in range(n_resamples):
                w[b, members] = np.bincount(draws[b], minlength=len(members))
    return w


def _reference_bacc(y, pred, w):
    """Per weight row: mean over the classes with positive weight of (weight of correct items / class weight)."""
    y, pred, w = np.asarray(y), np.asarray(pred), np.atleast_2d(np.asarray(w, np.float64))
    out = []
    for row in w:
        recalls = [row[(y == c) & (pred == c)].sum() / row[y == c].sum() for c in (0, 1) if row[y == c].sum() > 0]
        out.append(np.mean(recalls))
    return np.array(out)


def _reference_auc(y, s, w):
    """Per weight row: Mann-Whitney probability that a positive outscores a negative, ties one half, every pair
    weighted by the product of the two items' weights (the expanded sample)."""
    y, s, w = np.asarray(y), np.asarray(s, float), np.atleast_2d(np.asarray(w, np.float64))
    pos, neg = y == 1, y == 0
    win = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
    return np.array([row[pos] @ win @ row[neg] / (row[pos].sum() * row[neg].sum()) for row in w])


def _expanded_auc_scipy(y, s, w_row):
    """scipy's Mann-Whitney U on the sample in which item i appears w_row[i] times, divided by n1 * n0."""
    idx = np.repeat(np.arange(len(y)), np.asarray(w_row).astype(int))
    ye, se = np.asarray(y)[idx], np.asarray(s, float)[idx]
    x1, x0 = se[ye == 1], se[ye == 0]
    return stats.mannwhitneyu(x1, x0).statistic / (len(x1) * len(x0))


# ---------------------------------------------------------------------------------------------------------
# Error messages: the text a user reads names the argument at fault


def test_detection_input_errors_name_the_bad_argument():
    with pytest.raises(DataError, match=r"^labels: binary labels must be 0 or 1; got \[2\.0, 3\.0, 4\.0\]$"):
        balanced_accuracy([0, 1, 5, 4, 3, 2], [0] * 6)  # at most the three smallest bad values are listed
    with pytest.raises(DataError, match=r"^labels: value at position 1 is np\.float64\(nan\) "
                                        r"\(missing values must be dropped first\)$"):
        balanced_accuracy([0, NAN], [0, 1])
    with pytest.raises(DataError, match=r"^predictions: binary labels must be 0 or 1; got \[2\.0\]$"):
        balanced_accuracy([0, 1], [0, 2])
    with pytest.raises(DataError, match=r"^predictions: binary labels must be 0 or 1; got \[2\.0\]$"):
        weighted_balanced_accuracy([0, 1], [0, 2], np.ones((1, 2)))
    scores_nan = r"^scores: value at position 1 is np\.float64\(nan\) \(missing values must be dropped first\)$"
    for call in (lambda: roc_auc([0, 1], [0.1, NAN]), lambda: roc_curve([0, 1], [0.1, NAN]),
                 lambda: weighted_roc_auc([0, 1], [0.1, NAN], np.ones((1, 2))),
                 lambda: detection_bootstrap([0, 1], [0.1, NAN], 0.5, n_resamples=5)):
        with pytest.raises(DataError, match=scores_nan):
            call()
    with pytest.raises(DataError, match=r"^length mismatch: labels=3, scores=2$"):
        detection_bootstrap([0, 1, 1], [0.1, 0.2], 0.5, n_resamples=5)
    with pytest.raises(DataError, match=r"^length mismatch: labels=2, scores=3$"):
        detection_bootstrap([0, 1], [0.1, 0.2, 0.3], 0.5, n_resamples=5)
    with pytest.raises(ConfigError, match=r"^number of bootstrap resamples must be an integer >= 1; got 0$"):
        class_resample_weights([0, 1], n_resamples=0)
    with pytest.raises(DataError, match=r"^validation labels contain a single class; a threshold cannot be tuned$"):
        tune_threshold([0.1, 0.2, 0.3], [1, 1, 1])


def test_tuning_anywhere_but_val_is_refused_with_the_reason():
    refused = (r"^tuning the detection threshold on the test cut is not allowed \(it reports an optimistic "
               r"accuracy\); tune on the validation cut: --tune-on val$")
    for name in ("test", "TEST"):
        with pytest.raises(ConfigError, match=refused):
            check_tune_on(name)
    with pytest.raises(ConfigError, match=r"^tune_on must be 'val'; got 'train'$"):
        check_tune_on("train")
    check_tune_on("val")  # accepted: no exception


# ---------------------------------------------------------------------------------------------------------
# Within-class resampling and the bootstrap intervals


def test_class_resample_weights_are_the_documented_numpy_draws_positives_first():
    """4 positives and 3 negatives (unequal, interleaved): the count matrix equals the documented draws made
    directly with numpy, for an explicit seed and for the defaults (1000 resamples, seed 0)."""
    y = [1, 0, 1, 1, 0, 1, 0]
    np.testing.assert_array_equal(class_resample_weights(y, 25, seed=4), _reference_weights(y, 25, 4))
    default = class_resample_weights(y)
    assert default.shape == (1000, 7)
    np.testing.assert_array_equal(default, _reference_weights(y, 1000, 0))


def test_detection_bootstrap_distributions_and_intervals_equal_the_reference():
    """5 positives, 3 negatives, tied scores across classes (0.5 and 0.3 occur in both) and one score equal to
    the threshold (0.4, a positive: predicted inconsistent since consistent means score > threshold).
    Point estimates by hand: predictions [1, 1, 1, 0, 1, 0, 0, 0] at threshold 0.4; positive recall 3/5 (0.9,
    0.5, 0.7 right; 0.4, 0.3 wrong), negative recall 2/3 (0.5 wrong), balanced accuracy (3/5 + 2/3) / 2 = 19/30.
    AUC by counting the 15 pairs: 0.9 and 0.7 beat all three negatives (6); 0.5 beats 0.3 and 0.2, ties 0.5
    (2.5); 0.4 beats 0.3 and 0.2 (2); 0.3 beats 0.2, ties 0.3 (1.5); total 12 / 15 = 0.8.
    Distributions: the reference weights, balanced accuracy and Mann-Whitney AUC above; interval: numpy's
    percentiles at (1 - confidence) / 2 and 1 - (1 - confidence) / 2."""
    y = np.array([1, 1, 0, 1, 1, 0, 1, 0])
    s = np.array([0.9, 0.5, 0.5, 0.4, 0.7, 0.3, 0.3, 0.2])
    res = detection_bootstrap(y, s, 0.4, n_resamples=300, seed=5, confidence=0.8)
    assert res.balanced_accuracy == pytest.approx(19 / 30) and res.auc == pytest.approx(0.8)
    assert (res.n_resamples, res.seed, res.confidence) == (300, 5, 0.8)
    w = _reference_weights(y, 300, 5)
    pred = (s > 0.4).astype(int)
    assert pred.tolist() == [1, 1, 1, 0, 1, 0, 0, 0]  # as in the docstring
    bacc, auc = _reference_bacc(y, pred, w), _reference_auc(y, s, w)
    np.testing.assert_allclose(res.bacc_dist, bacc, rtol=1e-12)
    np.testing.assert_allclose(res.auc_dist, auc, rtol=1e-12)
    assert (res.bacc_low, res.bacc_high) == pytest.approx(tuple(np.percentile(bacc, [10, 90])), rel=1e-12)
    assert (res.auc_low, res.auc_high) == pytest.approx(tuple(np.percentile(auc, [10, 90])), rel=1e-12)
    assert res.auc_low < res.auc_high and res.bacc_low < res.bacc_high  # a real interval, not a point


def test_detection_bootstrap_defaults_are_1000_resamples_with_seed_0():
    y = np.array([1, 0, 1, 0, 1])
    s = np.array([0.8, 0.3, 0.2, 0.6, 0.9])
    res = detection_bootstrap(y, s, 0.5)
    assert (res.n_resamples, res.seed, len(res.bacc_dist)) == (1000, 0, 1000)
    w = _reference_weights(y, 1000, 0)
    np.testing.assert_allclose(res.bacc_dist, _reference_bacc(y, (s > 0.5).astype(int), w), rtol=1e-12)
    np.testing.assert_allclose(res.auc_dist, _reference_auc(y, s, w), rtol=1e-12)


def test_auc_interval_is_defined_with_a_single_positive():
    """One positive (0.6) among four negatives (0.1, 0.7, 0.3, 0.5): every within-class resample keeps that
    positive, so every resampled AUC is defined (the weighted share of negatives below 0.6), never NaN; the
    full-sample AUC is 3/4 (0.1, 0.3, 0.5 below, 0.7 above)."""
    y = np.array([0, 0, 1, 0, 0])
    s = np.array([0.1, 0.7, 0.6, 0.3, 0.5])
    res = detection_bootstrap(y, s, 0.55, n_resamples=200, seed=2)
    assert res.auc == 0.75
    assert not np.isnan(res.auc_dist).any()
    np.testing.assert_allclose(res.auc_dist, _reference_auc(y, s, _reference_weights(y, 200, 2)), rtol=1e-12)


def test_single_class_test_cut_gives_nan_auc_and_a_float_nan_distribution():
    """All three items consistent: AUC is undefined (NaN point, interval and every resample, as a float array of
    one value per resample); balanced accuracy is the positive recall, 2/3 at threshold 0.5 (0.4 is missed)."""
    res = detection_bootstrap([1, 1, 1], [0.9, 0.4, 0.7], 0.5, n_resamples=50, seed=1)
    assert res.auc_dist.shape == (50,) and res.auc_dist.dtype == np.float64
    assert np.isnan(res.auc_dist).all()
    assert np.isnan(res.auc) and np.isnan(res.auc_low) and np.isnan(res.auc_high)
    assert res.balanced_accuracy == pytest.approx(2 / 3)


def test_roc_auc_of_a_single_class_is_nan_without_a_division_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))
        assert np.isnan(roc_auc([0, 0], [0.2, 0.5]))


# ---------------------------------------------------------------------------------------------------------
# The weighted metrics on batches of weight rows


def test_weighted_roc_auc_with_ties_on_several_rows_equals_scipy_on_each_expanded_sample():
    """Scores tie across classes (0.5 twice, 0.3 twice); three integer weight rows, zeros included. Row 0 (unit
    weights) by hand: 5 x 3 pairs as in the bootstrap test above, 12 / 15 = 0.8."""
    y = np.array([1, 1, 0, 1, 1, 0, 1, 0])
    s = np.array([0.9, 0.5, 0.5, 0.4, 0.7, 0.3, 0.3, 0.2])
    w = np.array([[1, 1, 1, 1, 1, 1, 1, 1], [0, 3, 1, 2, 0, 2, 1, 0], [2, 0, 4, 1, 1, 0, 3, 1]], float)
    got = weighted_roc_auc(y, s, w)
    assert got.shape == (3,)
    assert got[0] == pytest.approx(0.8)
    assert got == pytest.approx([_expanded_auc_scipy(y, s, row) for row in w], rel=1e-12)
    assert got == pytest.approx(_reference_auc(y, s, w), rel=1e-12)


def test_weighted_balanced_accuracy_rows_hand_computed():
    """Labels [1, 1, 1, 0, 0] (unequal classes), predictions [1, 0, 1, 0, 1]: correct = [1, 0, 1, 1, 0].
    Row [1, 1, 1, 1, 1]: recalls 2/3 and 1/2, mean 7/12. Row [2, 1, 0, 1, 0]: the lone counted negative has
    weight 1 and is right, recall 1; positives 2/3; mean 5/6. Row [0, 1, 0, 1, 3]: negatives 1/4, positives
    0/1; mean 1/8. Row [1, 0, 0, 0, 0]: no negative weight, that class is left out: 1. Row [0.5, 0.5, 0, 0.5,
    0]: fractional weights, positives 0.5/1, negatives 0.5/0.5, mean 3/4."""
    y, p = [1, 1, 1, 0, 0], [1, 0, 1, 0, 1]
    w = [[1, 1, 1, 1, 1], [2, 1, 0, 1, 0], [0, 1, 0, 1, 3], [1, 0, 0, 0, 0], [0.5, 0.5, 0, 0.5, 0]]
    got = weighted_balanced_accuracy(y, p, w)
    assert got.dtype == np.float64
    assert got == pytest.approx([7 / 12, 5 / 6, 1 / 8, 1.0, 3 / 4], rel=1e-12)


def test_float32_weights_are_accumulated_in_double_precision():
    """A float32 weight matrix gives the float64 result (to 1e-12): the weights are converted to float64
    before any sum. References: the numpy definitions above on the same weights cast to float64."""
    rng = np.random.default_rng(11)
    n = 600
    y = rng.integers(0, 2, size=n)
    s = np.round(rng.normal(size=n) + y, 1)  # rounded: many ties
    pred = (s > 0.5).astype(int)
    w32 = rng.random((2, n)).astype(np.float32)
    w64 = w32.astype(np.float64)
    assert weighted_balanced_accuracy(y, pred, w32) == pytest.approx(_reference_bacc(y, pred, w64), rel=1e-12)
    assert weighted_roc_auc(y, s, w32) == pytest.approx(_reference_auc(y, s, w64), rel=1e-12)


def test_roc_curve_with_a_single_negative_hand_computed():
    """Scores 0.9 (pos), 0.7 (neg), 0.5 (pos); one negative, so the false-positive rate steps from 0 to 1 (not
    to 1/2). Thresholds inf, 0.9, 0.7, 0.5 give (fpr, tpr) = (0, 0), (0, 1/2), (1, 1/2), (1, 1)."""
    fpr, tpr, thr = roc_curve([1, 0, 1], [0.9, 0.7, 0.5])
    assert fpr.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 0.5, 1.0]
    assert thr.tolist() == [np.inf, 0.9, 0.7, 0.5]


# ---------------------------------------------------------------------------------------------------------
# A threshold given from elsewhere


def test_given_threshold_reports_its_validation_accuracy_with_ties_predicted_inconsistent():
    """Threshold 0.5 given; validation items (score, label): (0.5, 1) -> predicted 0 (not > 0.5), wrong;
    (0.8, 1) right; (0.2, 0) right; (0.6, 0) wrong. Validation balanced accuracy (1/2 + 1/2) / 2 = 0.5.
    Test items (0.7, 1) right, (0.5, 0) right (0.5 is not > 0.5), (0.4, 1) wrong: (1/2 + 1) / 2 = 0.75."""
    scores = [0.5, 0.8, 0.2, 0.6, 0.7, 0.5, 0.4]
    labels = [1, 1, 0, 0, 1, 0, 1]
    cuts = ["val", "valid", "dev", "validation", "test", "test", "test"]
    res = evaluate_detection(scores, labels, cuts, threshold=0.5)
    assert res.val_balanced_accuracy == 0.5 and res.test_balanced_accuracy == 0.75
    assert (res.n_val, res.n_test, res.test_positive) == (4, 3, 2)


def test_given_threshold_without_validation_cut_gives_nan_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = evaluate_detection([0.2, 0.6, 0.7], [0, 0, 1], ["test"] * 3, threshold=0.65)
    assert np.isnan(res.val_balanced_accuracy) and res.test_balanced_accuracy == 1.0


def test_reported_threshold_is_rounded_to_12_decimals():
    """1/3 given as the threshold is reported as 0.333333333333 (12 decimals, which is what turns the float
    error of 0.1 + 0.998 * 0.8 into the 0.8984 of evaluate_detection's docstring)."""
    res = evaluate_detection([0.2, 0.6, 0.7], [0, 0, 1], ["test"] * 3, threshold=1 / 3)
    assert res.threshold == 0.333333333333


# ---------------------------------------------------------------------------------------------------------
# Paired comparison


def _pair(confidence):
    y = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 1])
    sa = np.array([0.9, 0.5, 0.5, 0.4, 0.7, 0.3, 0.3, 0.2, 0.6, 0.8])
    sb = np.array([0.6, 0.2, 0.7, 0.3, 0.4, 0.1, 0.5, 0.3, 0.8, 0.55])
    a = detection_bootstrap(y, sa, 0.45, n_resamples=400, seed=6, confidence=confidence)
    b = detection_bootstrap(y, sb, 0.45, n_resamples=400, seed=6, confidence=confidence)
    return a, b


def test_paired_detection_fields_follow_the_percentile_interval_and_bootstrap_p_value():
    """Given two results on the same resamples at confidence 0.8, each field is computed from them with numpy:
    difference of the point estimates, numpy percentiles 10 and 90 of the resampled differences, and
    p = min(1, 2 * min(share of differences <= 0, share >= 0)) (bootstrap_difference's documented p-value)."""
    a, b = _pair(0.8)
    res = paired_detection_test(a, b)
    for diff, low, high, p, (ea, eb, da, db) in (
            (res.bacc_difference, res.bacc_low, res.bacc_high, res.p_bacc,
             (a.balanced_accuracy, b.balanced_accuracy, a.bacc_dist, b.bacc_dist)),
            (res.auc_difference, res.auc_low, res.auc_high, res.p_auc, (a.auc, b.auc, a.auc_dist, b.auc_dist))):
        d = da - db
        assert diff == pytest.approx(ea - eb, rel=1e-12)
        assert (low, high) == pytest.approx(tuple(np.percentile(d, [10, 90])), rel=1e-12)
        assert p == pytest.approx(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))), rel=1e-12)
        assert low < high and 0 < p < 1  # a non-degenerate case


def test_paired_detection_refuses_results_from_different_resamples():
    a, b = _pair(0.95)
    other_seed = detection_bootstrap([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2], 0.5, n_resamples=400, seed=7)
    with pytest.raises(ConfigError, match=r"^paired_detection_test: both results must come from the same "
                                          r"resamples \(resamples 400/400, seeds 6/7\)$"):
        paired_detection_test(a, other_seed)
    # recorded resample counts differ although the stored distributions have the same length: still refused
    relabelled = dataclasses.replace(b, n_resamples=800)
    with pytest.raises(ConfigError, match=r"^paired_detection_test: both results must come from the same "
                                          r"resamples \(resamples 400/800, seeds 6/6\)$"):
        paired_detection_test(a, relabelled)
