"""Tests written for mutants of factbench/stats/ that survived the first mutation run (docs/mutation.md): each
checks a behaviour no earlier test pinned down. Expected values are hand-computed or come from scipy on the
expanded sample (correctness), except where a docstring says the check is factbench against its own
materialised reference loop (consistency)."""

import numpy as np
import pytest
from scipy import stats

from factbench.errors import DataError
from factbench.stats import evaluate_detection, make_layout, tune_threshold
from factbench.stats import weighted
from factbench.stats.detection import normalise_cut, roc_curve
from factbench.stats.resampling import bootstrap_distribution, bootstrap_distribution_loop, resample_weights


def test_cut_names_are_normalised_case_insensitively_and_others_kept():
    assert [normalise_cut(c) for c in ("TEST", "Dev", "validation", "Train", "test")] == [
        "test", "val", "val", "train", "test"]


def test_detection_errors_name_the_bad_input():
    with pytest.raises(DataError, match=r"^length mismatch: scores=2, labels=3$"):
        tune_threshold([0.1, 0.2], [0, 1, 1])
    with pytest.raises(DataError, match=r"^validation scores: value at position 1"):
        tune_threshold([0.1, float("nan")], [0, 1])
    with pytest.raises(DataError, match=r"^validation labels: binary labels must be 0 or 1; got \[2.0\]"):
        tune_threshold([0.1, 0.2], [0, 2])
    with pytest.raises(DataError, match=r"^length mismatch: scores=3, labels=2, cuts=3$"):
        evaluate_detection([0.1, 0.2, 0.3], [0, 1], ["val", "val", "test"])
    with pytest.raises(DataError, match=r"^length mismatch: scores=2, labels=2, cuts=1$"):
        evaluate_detection([0.1, 0.2], [0, 1], ["val"])
    with pytest.raises(DataError, match=r"^scores: value at position 1"):
        evaluate_detection([0.1, float("inf")], [0, 1], ["val", "test"])


def test_roc_curve_points_with_ties_hand_computed():
    """Scores 0.7 (pos), 0.5 (pos, pos, neg), 0.2 (neg); 3 positives, 2 negatives. Thresholds (predict consistent
    when score >= t): inf -> (0, 0); 0.7 -> (0, 1/3); 0.5 -> (1/2, 1); 0.2 -> (1, 1)."""
    fpr, tpr, thr = roc_curve([1, 0, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.5])
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert tpr == pytest.approx([0.0, 1 / 3, 1.0, 1.0])
    assert thr.tolist() == [np.inf, 0.7, 0.5, 0.2]
    # two negatives and one positive: the denominators are the class sizes, not 1 or 2
    fpr, tpr, _ = roc_curve([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.9])
    assert fpr.tolist() == [0.0, 0.0, 1 / 3, 2 / 3, 1.0] and tpr.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]


def _expanded_tau(x, y, w, variant):
    idx = np.repeat(np.arange(len(x)), np.rint(w).astype(int))
    return stats.kendalltau(x[idx], y[idx], variant=variant).statistic


@pytest.mark.parametrize("n", [10, 80])  # the all-pairs kernel and the scipy loop (> 64 items)
@pytest.mark.parametrize("variant", ["b", "c"])
def test_weighted_kendall_on_a_batch_of_weightings_equals_scipy_on_each_expanded_sample(n, variant):
    """x of shape (B, n) against a shared y, frequency weights with zeros: every row equals scipy on that row's
    expanded sample. Items with weight 0 carry extra distinct values, which must not count in tau-c's m."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, size=n).astype(float)
    x = rng.integers(0, 2, size=(3, n)).astype(float)
    w = rng.integers(0, 3, size=(3, n)).astype(float)
    # values only absent items have: present x takes 2 values, so tau-c's m = min(2, 3) must stay 2
    x[w == 0] = 100 + np.arange(int((w == 0).sum()))
    got = weighted.kendall(x, y, w, variant)
    assert got.shape == (3,)
    assert got == pytest.approx([_expanded_tau(x[i], y, w[i], variant) for i in range(3)], abs=1e-12)


def test_weighted_kendall_of_two_present_items_is_plus_or_minus_one():
    """Only two items have weight (once each): tau = +1 or -1 (scipy on the two pairs), not undefined."""
    n = 70
    x, y = np.arange(n, dtype=float), np.arange(n, dtype=float)[::-1].copy()
    w = np.zeros(n)
    w[[3, 40]] = 1
    assert float(weighted.kendall(x, y, w)) == -1.0
    assert float(weighted.kendall(x, x, w, "c")) == 1.0


def test_bootstrap_of_partial_pearson_with_one_varying_system_equals_the_loop():
    """Partial Pearson over system resamples, where the metric takes two values within the first system and is
    constant within the others: the vectorised shared-moment path must neither call it constant (NaN) nor
    miscount. Consistency check against factbench's materialised reference loop (scipy per resample)."""
    rng = np.random.default_rng(3)
    systems = np.repeat(["A", "B", "C"], 8)
    docs = np.tile([f"d{i}" for i in range(8)], 3)
    # two values within A (one more (system, value) group than systems), constant within B and C
    x = np.where(systems == "A", np.tile([0.0, 1.0], 12), np.where(systems == "B", 1.0, 2.0))
    y = rng.normal(size=24) + 0.5 * x
    layout = make_layout(docs, systems)
    for unit in ("systems", "inputs"):
        w = resample_weights(layout, 60, unit, seed=1)
        fast = bootstrap_distribution(x, y, layout, "partial", "pearson", weights=w)
        loop = bootstrap_distribution_loop(x, y, layout, "partial", "pearson", n_resamples=60, unit=unit, seed=1)
        assert np.isnan(fast).tolist() == np.isnan(loop).tolist()
        assert fast[~np.isnan(fast)] == pytest.approx(loop[~np.isnan(loop)], abs=1e-9)
        assert np.isfinite(fast).sum() > 20  # most resamples contain system A


def test_correlation_result_records_the_protocol_and_counts():
    from factbench.stats import correlate

    docs, systems = ["d1", "d1", "d2", "d2", "d3", "d3"], ["A", "B", "A", "B", "A", "B"]
    x, y = [1.0, 2.0, 3.0, 1.0, 2.0, 5.0], [1.0, 3.0, 2.0, 2.0, 1.0, 4.0]
    res = correlate(x, y, docs=docs, systems=systems, level="partial", method="spearman")
    assert (res.method, res.level, res.kendall_variant, res.n, res.n_controls) == ("spearman", "partial", "b", 6, 1)
    assert res.statistic == "Spearman"
    glob = correlate(x, y, docs=docs, systems=systems, level="global", method="pearson")
    assert (glob.statistic, glob.n_controls, glob.n) == ("Pearson", 0, 6)
    sys_level = correlate(x, y, docs=docs, systems=systems, level="system", method="kendall", kendall_variant="c")
    assert sys_level.describe() == "Kendall tau-c, system-level (2 systems)"
    assert glob.describe() == "Pearson, global"
    with pytest.raises(DataError, match=r"^length mismatch: x=6, y=6, docs=5"):
        correlate(x, y, docs=docs[:5], level="summary")
    with pytest.raises(DataError, match=r"^length mismatch: x=6, y=6, docs=6, systems=4"):
        correlate(x, y, docs=docs, systems=systems[:4], level="partial")


def test_roc_auc_with_a_single_positive_and_single_class():
    # one positive (0.6) against negatives 0.2, 0.6, 0.9: wins 1, ties 1/2, losses 1 -> 1.5 / 3
    from factbench.stats import roc_auc

    assert roc_auc([0, 1, 0, 0], [0.2, 0.6, 0.6, 0.9]) == pytest.approx(0.5)
    assert roc_auc([1, 0, 1, 1], [0.2, 0.6, 0.6, 0.9]) == pytest.approx(1.5 / 3)
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3])) and np.isnan(roc_auc([0, 0], [0.2, 0.3]))
    with pytest.raises(DataError, match=r"^length mismatch: labels=2, scores=3$"):
        roc_auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match=r"^labels: binary labels must be 0 or 1; got \[-1.0, 2.0\]$"):
        roc_auc([0, 2, -1, 1], [0.1, 0.2, 0.3, 0.4])


def test_balanced_accuracy_refuses_unequal_lengths():
    from factbench.stats import balanced_accuracy

    with pytest.raises(DataError, match=r"^length mismatch: labels=2, predictions=3$"):
        balanced_accuracy([1, 0], [1, 0, 1])


def test_bootstrap_of_partial_pearson_with_a_system_of_two_summaries_equals_the_loop():
    """System C has two summaries (documents d0 and d1, which A and B also have): in many resamples only one of
    them is drawn, once, and then C's residual is 0 (the shared-moment path must subtract C's weighted mean
    even when C's total weight is 1). Consistency check against the materialised reference loop."""
    rng = np.random.default_rng(5)
    systems = np.array(["A"] * 10 + ["B"] * 10 + ["C"] * 2)
    docs = np.array([f"d{i}" for i in range(10)] * 2 + ["d0", "d1"])
    x, y = rng.normal(size=22), rng.normal(size=22)
    x[-2:], y[-2:] = [4.0, 6.0], [6.0, 4.0]  # C's two summaries are outliers: counting them moves r a lot
    layout = make_layout(docs, systems)
    w = resample_weights(layout, 80, "inputs", seed=2)
    fast = bootstrap_distribution(x, y, layout, "partial", "pearson", weights=w)
    loop = bootstrap_distribution_loop(x, y, layout, "partial", "pearson", n_resamples=80, unit="inputs", seed=2)
    assert fast == pytest.approx(loop, abs=1e-9)
    c_weight = w[0][:, layout.doc_names.index("d0")] + w[0][:, layout.doc_names.index("d1")]
    assert (c_weight == 1).sum() > 10  # resamples where system C has total weight 1


def test_williams_less_and_boundaries():
    """p('less') = P(T <= t) of the t distribution with n - 3 df; r = 1 and n = 4 (1 df) are valid inputs."""
    from factbench.errors import ConfigError
    from factbench.stats import williams_test

    two = williams_test(0.4, 0.5, 0.1, 103)
    less = williams_test(0.4, 0.5, 0.1, 103, alternative="less")
    assert less.p_value == pytest.approx(stats.t.cdf(two.statistic, 100), abs=1e-12)
    assert williams_test(1.0, 0.5, 0.5, 10).statistic > 0
    assert "1 df" in williams_test(0.6, 0.2, 0.3, 4).test
    with pytest.raises(ConfigError, match=r"^williams_test: r13 = 1.5 is not a correlation$"):
        williams_test(0.5, 1.5, 0.2, 10)
    with pytest.raises(ConfigError, match=r"^alternative must be one of"):
        williams_test(0.5, 0.4, 0.2, 10, alternative="bigger")


def test_bootstrap_difference_counts_ties_at_zero_and_uses_the_confidence():
    """Differences [0, 0.1, 0.2, 0.3]: a quarter at or below 0, all at or above 0 -> p = 2 * 1/4 = 0.5;
    identical distributions -> p = min(1, 2 * 1) = 1; the interval is the 5th/95th percentile at 90 %."""
    from factbench.stats import bootstrap_difference

    res = bootstrap_difference(0.5, 0.5, [0.1, 0.2, 0.3, 0.4], [0.1, 0.1, 0.1, 0.1])
    assert res.p_value == 0.5
    res = bootstrap_difference(0.5, 0.5, [0.3, 0.2, 0.1, 0.1], [0.3, 0.3, 0.2, 0.1])  # d = [0, -0.1, -0.1, 0]
    assert res.p_value == 1.0
    d = np.arange(101) / 100.0
    res = bootstrap_difference(1.0, 0.5, d, np.zeros(101), confidence=0.9)
    assert (res.low, res.high) == pytest.approx((0.05, 0.95))


def _grid_with_a_missing_score():
    rng = np.random.default_rng(9)
    docs = np.repeat([f"d{i:02d}" for i in range(12)], 3)
    systems = np.tile(["A", "B", "C"], 12)
    y = rng.integers(0, 4, size=36).astype(float)
    a, b = y + rng.normal(size=36), y + 2 * rng.normal(size=36)
    keep = np.ones(36, bool)
    keep[[4, 17]] = False  # two summaries without a score; their documents keep other summaries
    return docs, systems, y, a, b, keep


@pytest.mark.parametrize("level, method", [("global", "pearson"), ("partial", "pearson"), ("summary", "kendall")])
def test_masked_rows_are_left_out_of_bootstrap_and_permutation(level, method):
    """Rows outside ``mask`` (a missing score, NaN) count as absent: the bootstrap distribution and the
    permutation test equal those of the data without these rows (same documents, so the same draws).
    Consistency check (factbench with a mask against factbench on the subset)."""
    from factbench.stats import permutation_test

    docs, systems, y, a, b, keep = _grid_with_a_missing_score()
    full, sub = make_layout(docs, systems), make_layout(docs[keep], systems[keep])
    x = np.where(keep, a, np.nan)
    w_full, w_sub = resample_weights(full, 40, "inputs", seed=4), resample_weights(sub, 40, "inputs", seed=4)
    masked = bootstrap_distribution(x, y, full, level, method, "c", weights=w_full, mask=keep)
    plain = bootstrap_distribution(a[keep], y[keep], sub, level, method, "c", weights=w_sub)
    assert masked == pytest.approx(plain, abs=1e-12, nan_ok=True)
    for unit in ("inputs", "systems"):
        p_masked = permutation_test(np.where(keep, a, 0.0), np.where(keep, b, 0.0), np.where(keep, y, 0.0), full,
                                    level, method, "c", n_permutations=200, unit=unit, seed=0, mask=keep)
        p_sub = permutation_test(a[keep], b[keep], y[keep], sub, level, method, "c", n_permutations=200,
                                 unit=unit, seed=0)
        assert (p_masked.statistic, p_masked.p_value) == pytest.approx((p_sub.statistic, p_sub.p_value), abs=1e-12)


def test_permutation_test_is_scale_free_and_seeded_by_default():
    """Each metric is z-scored first, so rescaling one metric changes nothing; the default seed is 0."""
    from factbench.stats import correlate, permutation_test

    docs, systems, y, a, b, _ = _grid_with_a_missing_score()
    lay = make_layout(docs, systems)
    base = permutation_test(a, b, y, lay, "summary", "kendall", "c", n_permutations=300, seed=0)
    scaled = permutation_test(a, 1000 * b + 7, y, lay, "summary", "kendall", "c", n_permutations=300)
    assert (scaled.statistic, scaled.p_value) == (base.statistic, base.p_value)
    expected = (correlate(a, y, docs=docs, level="summary", method="kendall", kendall_variant="c").value
                - correlate(b, y, docs=docs, level="summary", method="kendall", kendall_variant="c").value)
    assert base.statistic == pytest.approx(expected, abs=1e-12)  # tau-c, not tau-b


def test_permutation_test_default_variant_single_permutation_and_undefined_case():
    from factbench.stats import correlate, permutation_test

    docs, systems, y, a, b, _ = _grid_with_a_missing_score()
    lay = make_layout(docs, systems)
    res = permutation_test(a, b, y, lay, "summary", "kendall", n_permutations=50)  # default variant: tau-b
    expected = (correlate(a, y, docs=docs, level="summary", method="kendall").value
                - correlate(b, y, docs=docs, level="summary", method="kendall").value)
    assert res.statistic == pytest.approx(expected, abs=1e-12)
    # one permutation: p = (1 + count) / 2, count 0 or 1
    assert permutation_test(a, b, y, lay, "global", "pearson", n_permutations=1).p_value in (0.5, 1.0)
    flat = permutation_test(np.ones(36), b, y, lay, "global", "pearson", n_permutations=20)
    assert np.isnan(flat.statistic) and np.isnan(flat.p_value) and flat.test == "paired permutation over inputs"


def test_fisher_interval_edges():
    from factbench.stats import fisher_interval

    undefined = fisher_interval(0.3, 3)
    assert (undefined.estimate, undefined.confidence, undefined.kind) == (0.3, 0.95, "fisher")
    assert np.isnan(undefined.low) and np.isnan(undefined.high)
    assert undefined.describe() == "95% Fisher z interval"
    one_df = fisher_interval(0.3, 4)  # n - 3 = 1: defined, z +- 1.96
    assert one_df.high == pytest.approx(np.tanh(np.arctanh(0.3) + stats.norm.ppf(0.975)), abs=1e-12)
    perfect = fisher_interval(1.0, 10)  # r = 1 is a correlation: a (degenerate) interval at 1
    assert perfect.high == pytest.approx(1.0) and perfect.low > 0.99
    assert (perfect.estimate, perfect.kind, perfect.confidence) == (1.0, "fisher", 0.95)


def test_detection_interval_describes_its_confidence_level_resamples_and_seed():
    """The text the analysis tables print next to the interval: 90 % must read "90%", not 95 % or 0.9 %."""
    from factbench.stats.detection import INTERVAL_TEXT, detection_bootstrap

    iv = detection_bootstrap([0, 1, 0, 1, 1, 0], [0.1, 0.8, 0.3, 0.7, 0.9, 0.2], 0.5, n_resamples=50, seed=3,
                             confidence=0.9)
    assert iv.describe() == f"90% {INTERVAL_TEXT}, 50 resamples, seed 3"


def test_roc_curve_and_detection_bootstrap_refuse_mismatched_or_empty_input():
    """Found while accounting for detection's survivors: roc_curve drew a curve from 3 of 5 labels while dividing
    by the positives of all 5; an empty test cut gave an all-NaN interval with numpy warnings."""
    from factbench.stats.detection import detection_bootstrap

    with pytest.raises(DataError, match=r"^length mismatch: labels=5, scores=3$"):
        roc_curve([1, 0, 1, 0, 1], [0.5, 0.2, 0.7])
    with pytest.raises(DataError, match=r"^detection_bootstrap: no test summaries to resample$"):
        detection_bootstrap([], [], 0.5)


def test_correlating_no_scores_is_a_data_error():
    """Found while accounting for correlation's survivors: empty input reached numpy's argmax and failed there."""
    from factbench.stats import correlate

    with pytest.raises(DataError, match=r"^no scores to correlate: the metric and human scores are empty$"):
        correlate([], [])
