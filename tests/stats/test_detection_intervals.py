"""Bootstrap intervals of detection accuracy: hand-computed bootstrap distributions, AUC on weighted samples
against scipy's Mann-Whitney U, and coverage by simulation against a known balanced accuracy and AUC."""

import numpy as np
import pytest
from scipy import stats

from factbench.errors import ConfigError
from factbench.stats.detection import (class_resample_weights, detection_bootstrap, paired_detection_test,
                                       weighted_roc_auc)


def _shares(values, support):
    values = np.asarray(values)
    return [float(np.mean(np.isclose(values, v))) for v in support]


def test_balanced_accuracy_bootstrap_distribution_hand_computed():
    """Positives 0.9 (right) and 0.2 (wrong, threshold 0.5); negatives 0.1 and 0.3 (both right). Resampled within
    class, the positive recall is 1, 1/2 or 0 with probabilities 1/4, 1/2, 1/4 (two draws from {right, wrong});
    the negative recall is always 1. So balanced accuracy is 1, 0.75 or 0.5 with probabilities 1/4, 1/2, 1/4,
    and the 95% percentile interval is [0.5, 1] (each end holds far more than 2.5 % of the mass)."""
    res = detection_bootstrap([1, 1, 0, 0], [0.9, 0.2, 0.1, 0.3], threshold=0.5, n_resamples=20000, seed=3)
    assert res.balanced_accuracy == 0.75
    assert set(np.round(res.bacc_dist, 12)) == {0.5, 0.75, 1.0}
    # 20000 draws: the standard error of each share is at most 0.0035; 0.015 is > 4 of them.
    assert _shares(res.bacc_dist, [0.5, 0.75, 1.0]) == pytest.approx([0.25, 0.5, 0.25], abs=0.015)
    assert (res.bacc_low, res.bacc_high) == (0.5, 1.0)
    assert "within class" in res.describe() and "20000 resamples, seed 3" in res.describe()


def test_auc_bootstrap_distribution_hand_computed():
    """Positives {0.9, 0.4}, negatives {0.5, 0.1}: AUC 3/4. Each class resample is {hi, hi}, {hi, lo} or
    {lo, lo} with probabilities 1/4, 1/2, 1/4. Enumerating the nine combinations by hand: positives {.9, .9}
    give 1 whatever the negatives; {.9, .4} give 0.5 / 0.75 / 1 against negatives {.5, .5} / mixed / {.1, .1};
    {.4, .4} give 0 / 0.5 / 1. Hence P(AUC = 0) = 1/16, P(0.5) = 1/4, P(0.75) = 1/4, P(1) = 7/16, and the 95 %
    interval is [0, 1] (P(0) = 6.25 % > 2.5 %)."""
    res = detection_bootstrap([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1], threshold=0.45, n_resamples=20000, seed=1)
    assert res.auc == 0.75
    assert set(np.round(res.auc_dist, 12)) == {0.0, 0.5, 0.75, 1.0}
    assert _shares(res.auc_dist, [0.0, 0.5, 0.75, 1.0]) == pytest.approx([1 / 16, 1 / 4, 1 / 4, 7 / 16], abs=0.015)
    assert (res.auc_low, res.auc_high) == (0.0, 1.0)


def test_weighted_auc_equals_mann_whitney_on_the_expanded_sample():
    """Independent reference: scipy's Mann-Whitney U on each resample materialised (items repeated by their
    counts), AUC = U / (n1 n0), with ties in the scores."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.normal(size=60) + y, 1)  # rounding makes ties
    weights = class_resample_weights(y, 20, seed=5)
    got = weighted_roc_auc(y, s, weights)
    for w, value in zip(weights, got):
        idx = np.repeat(np.arange(60), w.astype(int))
        pos, neg = s[idx][y[idx] == 1], s[idx][y[idx] == 0]
        u = stats.mannwhitneyu(pos, neg).statistic
        assert value == pytest.approx(u / (len(pos) * len(neg)), abs=1e-12)


def test_resamples_keep_class_sizes():
    y = np.array([1] * 7 + [0] * 3)
    w = class_resample_weights(y, 50, seed=0)
    assert (w[:, y == 1].sum(axis=1) == 7).all() and (w[:, y == 0].sum(axis=1) == 3).all()
    assert not np.allclose(w, w[0])  # the resamples differ


def test_interval_coverage_by_simulation():
    """Positives score N(1, 1), negatives N(0, 1), threshold 0.5 fixed: the true recall of each class is
    Phi(0.5), so the true balanced accuracy is Phi(0.5) = 0.6915; the true AUC is Phi(1 / sqrt 2) = 0.7602
    (binormal model). Over 400 simulated test sets of 80 positives and 120 negatives, the 95 % interval must
    cover the truth in about 95 % of them: 400 draws give a Monte Carlo standard error of 0.011, and the
    percentile bootstrap runs slightly short at this size, so [0.91, 0.98] is accepted. (Fixed seeds: the test
    is deterministic.)"""
    true_bacc, true_auc = stats.norm.cdf(0.5), stats.norm.cdf(1 / np.sqrt(2))
    rng = np.random.default_rng(2024)
    y = np.r_[np.ones(80, int), np.zeros(120, int)]
    cover_bacc = cover_auc = 0
    sims = 400
    for i in range(sims):
        s = rng.normal(size=200) + y
        res = detection_bootstrap(y, s, threshold=0.5, n_resamples=500, seed=i)
        cover_bacc += res.bacc_low <= true_bacc <= res.bacc_high
        cover_auc += res.auc_low <= true_auc <= res.auc_high
    assert 0.91 <= cover_bacc / sims <= 0.98
    assert 0.91 <= cover_auc / sims <= 0.98


def test_paired_test_same_metric_and_clear_difference():
    rng = np.random.default_rng(7)
    y = np.r_[np.ones(100, int), np.zeros(100, int)]
    good = y + rng.normal(scale=0.5, size=200)
    noise = rng.normal(size=200)
    a = detection_bootstrap(y, good, 0.5, n_resamples=1000, seed=0)
    same = paired_detection_test(a, detection_bootstrap(y, good, 0.5, n_resamples=1000, seed=0))
    assert same.bacc_difference == 0 and same.p_bacc == 1.0 and same.p_auc == 1.0
    b = detection_bootstrap(y, noise, 0.0, n_resamples=1000, seed=0)
    diff = paired_detection_test(a, b)
    assert diff.bacc_difference == pytest.approx(a.balanced_accuracy - b.balanced_accuracy)
    assert diff.bacc_low > 0 and diff.p_bacc < 0.01 and diff.auc_low > 0 and diff.p_auc < 0.01
    with pytest.raises(ConfigError, match="same resamples"):
        paired_detection_test(a, detection_bootstrap(y, noise, 0.0, n_resamples=1000, seed=1))


def test_fixed_threshold_needs_only_a_test_cut():
    """A threshold tuned elsewhere (one for all groups) is applied as given: hand-computed on three test items."""
    from factbench.stats import evaluate_detection

    res = evaluate_detection([0.2, 0.6, 0.7], [0, 0, 1], ["test"] * 3, threshold=0.65)
    assert res.threshold == 0.65 and np.isnan(res.val_balanced_accuracy)
    assert res.test_balanced_accuracy == 1.0  # 0.2, 0.6 below 0.65 (right), 0.7 above (right)
    res = evaluate_detection([0.9, 0.1, 0.2, 0.6, 0.7], [0, 1, 0, 0, 1], ["val", "val", "test", "test", "test"],
                             threshold=0.5)
    assert res.val_balanced_accuracy == 0.0 and res.test_balanced_accuracy == 0.75  # 0.6 wrong: (1/2 + 1) / 2
