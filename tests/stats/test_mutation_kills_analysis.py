"""Tests written for mutants of factbench/report/analysis.py that survived the mutation run of 2026-12-01
(docs/mutation.md).

They pin down the detection part of the analysis (``_detect_group``, ``_detect_pairs``), the column names and
``§`` markers of the detection tables (``_det_column``, ``_det_markers``) and the group sizes of an analysis
``--by FIELD`` (``_group_info``), which the tests of the mutation run's selection only reached through whole
run directories without a binary label having both cuts. Expected values are hand-computed (the arithmetic is
in the comments) from the documented protocols: SummaC's threshold (percentiles 0, 0.2, ..., 99.8 of the
validation scores, last best candidate, consistent if score > threshold), balanced accuracy as the mean
per-class recall, ROC AUC as the probability that a positive outscores a negative (ties one half).
"""

import re

import pandas as pd
import pytest

from factbench.errors import ConfigError
from factbench.report.analysis import (ALPHA, Settings, _det_column, _det_markers, _detect_group, _detect_pairs,
                                       _group_info)

NAN = float("nan")
LABEL = "label:consistent"


# ---------------------------------------------------------------------------------------------------------
# _det_column: the column name of a detection row


def test_det_column_names_the_group_when_the_row_is_grouped():
    assert _det_column({"dataset": "aggrefact", "label": "consistent", "by": "origin", "group": "cnndm"}) \
        == "aggrefact (consistent) origin=cnndm"
    # as pandas hands rows to it (DataFrame.apply(axis=1)), and without grouping (by missing or NaN)
    assert _det_column(pd.Series({"dataset": "d", "label": "l", "by": "origin", "group": "xsum"})) \
        == "d (l) origin=xsum"
    assert _det_column({"dataset": "d", "label": "l"}) == "d (l)"
    assert _det_column(pd.Series({"dataset": "d", "label": "l", "by": NAN, "group": NAN})) == "d (l)"


# ---------------------------------------------------------------------------------------------------------
# _det_markers: § when the paired bootstrap puts a metric below the column's best at p < ALPHA


def _pairs(rows, by=None):
    """A detection_pairwise table: (column group, metric_a, metric_b, p_bacc, p_auc) per row."""
    out = []
    for group, a, b, p_bacc, p_auc in rows:
        r = {"dataset": "d", "label": "l"}
        if by is not None:
            r.update(by=by, group=group)
        out.append({**r, "metric_a": a, "metric_b": b, "p_bacc": p_bacc, "p_auc": p_auc})
    return pd.DataFrame(out)


def test_det_markers_flags_a_significant_pair_in_either_orientation():
    assert ALPHA == 0.05
    pairs = _pairs([(None, "m", "best", 0.01, 0.5)])
    assert _det_markers(pairs, "d (l)", "m", "best", "bacc") == "§"  # p_bacc 0.01 < 0.05
    assert _det_markers(pairs, "d (l)", "m", "best", "auc") == ""  # p_auc 0.5
    flipped = _pairs([(None, "best", "m", 0.5, 0.001)])
    assert _det_markers(flipped, "d (l)", "m", "best", "auc") == "§"
    assert _det_markers(flipped, "d (l)", "m", "best", "bacc") == ""


def test_det_markers_no_marker_without_pairs_or_for_the_best_itself():
    assert _det_markers(None, "d (l)", "m", "best", "bacc") == ""
    assert _det_markers(pd.DataFrame(), "d (l)", "m", "best", "bacc") == ""
    # the best metric is never "worse than the best", whatever the table holds
    odd = _pairs([(None, "best", "best", 0.001, 0.001), (None, "best", "m", 0.001, 0.001)])
    assert _det_markers(odd, "d (l)", "best", "best", "bacc") == ""


def test_det_markers_uses_only_the_pair_of_metric_and_best():
    """Rows that share one metric with the asked pair, or lie in another column, are significant; the asked
    pair itself (last row) is not: no marker."""
    rows = [(None, "m", "other", 0.001, 0.001),
            (None, "other", "best", 0.001, 0.001),
            (None, "best", "other", 0.001, 0.001),
            (None, "other", "m", 0.001, 0.001),
            (None, "m", "best", 0.5, 0.5)]
    assert _det_markers(_pairs(rows), "d (l)", "m", "best", "bacc") == ""
    assert _det_markers(_pairs(rows), "d (l)", "m", "best", "auc") == ""
    grouped = _pairs([("cnndm", "m", "best", 0.5, 0.5), ("xsum", "m", "best", 0.001, 0.001)], by="origin")
    assert _det_markers(grouped, "d (l) origin=cnndm", "m", "best", "bacc") == ""
    assert _det_markers(grouped, "d (l) origin=xsum", "m", "best", "bacc") == "§"


# ---------------------------------------------------------------------------------------------------------
# _detect_group: detection of every metric on one dataset or group

# validation: scores 0.1 0.2 0.8 0.9, labels 0 0 1 1; [0.2, 0.8) separates them and the last separating candidate
# is percentile 66.6: 0.2 + 0.998 * (0.8 - 0.2) = 0.7988 (the example of tune_threshold's docstring).
# test: 0.05 0.3 0.85 0.95, labels 0 0 1 1: all right at 0.7988 (balanced accuracy 1, AUC 1, in every resample).
# Then a test row without a score, a test row without a label, and a train row: all three are left out.
SPLITS = ["validation"] * 4 + ["test"] * 4 + ["test", "test", "train"]
LABELS = [0, 0, 1, 1, 0, 0, 1, 1, 1, NAN, 1]
SCORES = [0.1, 0.2, 0.8, 0.9, 0.05, 0.3, 0.85, 0.95, NAN, 0.9, 0.5]
TEST_MASK = [False] * 4 + [True] * 4 + [False] * 3


def _part(**metrics):
    return pd.DataFrame({"split": SPLITS, LABEL: LABELS, **metrics})


def _settings(**kw):
    return Settings(**{"bootstrap": 200, "seed": 3, "confidence": 0.9, **kw})


def test_detect_group_tunes_on_val_and_drops_rows_without_score_label_or_cut():
    found, rows = _detect_group(_part(m=SCORES), ["m"], LABEL, _settings(), None)
    assert list(found) == ["m"]
    (r,) = rows
    assert set(r) == {"metric", "threshold", "val_balanced_accuracy", "test_balanced_accuracy", "test_auc",
                      "n_val", "n_test", "test_positive", "protocol", "note", "bacc_ci_low", "bacc_ci_high",
                      "auc_ci_low", "auc_ci_high", "interval"}
    assert r["metric"] == "m" and r["note"] == ""
    assert r["threshold"] == pytest.approx(0.7988)
    assert (r["val_balanced_accuracy"], r["test_balanced_accuracy"], r["test_auc"]) == (1.0, 1.0, 1.0)
    assert (r["n_val"], r["n_test"], r["test_positive"]) == (4, 4, 2)
    assert (r["bacc_ci_low"], r["bacc_ci_high"], r["auc_ci_low"], r["auc_ci_high"]) == (1.0, 1.0, 1.0, 1.0)
    # the interval is drawn as asked (90%, 200 resamples, seed 3) on the test rows kept
    assert r["interval"].startswith("90% ") and r["interval"].endswith(", 200 resamples, seed 3")
    assert not r["protocol"].endswith("; ")  # nothing excluded: no tail
    res, (x, y, test, iv) = found["m"]
    assert test.tolist() == TEST_MASK
    assert (iv.seed, iv.n_resamples, iv.confidence) == (3, 200, 0.9)


def test_detect_group_protocol_names_the_excluded_records():
    _, (r,) = _detect_group(_part(m=SCORES), ["m"], LABEL, _settings(excluded="self-references left out of m"),
                            None)
    assert r["protocol"].endswith("; self-references left out of m")
    assert len(r["protocol"]) > len("; self-references left out of m")


def test_detect_group_fixed_thresholds_are_used_as_given_and_missing_ones_noted():
    # with threshold 0.5 (not the 0.7988 val would give): val 0.1 0.2 | 0.8 0.9 and test 0.05 0.3 | 0.85 0.95
    # are all right: balanced accuracy 1 on both cuts
    found, rows = _detect_group(_part(a=SCORES, b=SCORES), ["a", "b"], LABEL, _settings(), {"b": 0.5})
    assert list(found) == ["b"]
    assert rows[0] == {"metric": "a", "note": "no threshold: none could be tuned on the whole dataset"}
    assert rows[1]["metric"] == "b" and rows[1]["note"] == ""
    assert rows[1]["threshold"] == 0.5
    assert found["b"][0].threshold == 0.5
    assert (rows[1]["val_balanced_accuracy"], rows[1]["test_balanced_accuracy"]) == (1.0, 1.0)
    assert len(rows) == 2


def test_detect_group_a_metric_that_cannot_be_tuned_gets_a_note_and_the_next_is_still_done():
    # metric "one" has no score on the two negative validation rows: its validation cut holds one class only
    one = [NAN, NAN] + SCORES[2:]
    found, rows = _detect_group(_part(one=one, good=SCORES), ["one", "good"], LABEL, _settings(), None)
    assert rows[0] == {"metric": "one",
                       "note": "validation labels contain a single class; a threshold cannot be tuned"}
    assert list(found) == ["good"]
    assert rows[1]["metric"] == "good" and rows[1]["note"] == ""
    assert len(rows) == 2


def test_detect_group_refuses_tuning_on_the_test_cut():
    msg = ("tuning the detection threshold on the test cut is not allowed (it reports an optimistic accuracy); "
           "tune on the validation cut: --tune-on val")
    with pytest.raises(ConfigError, match=re.escape(msg)):
        _detect_group(_part(m=SCORES), ["m"], LABEL, _settings(tune_on="test"), None)


def test_detect_group_reads_object_columns_as_numbers():
    """Scores and labels held as Python objects (None for missing) are read as floats, as a CSV column before
    conversion would be."""
    part = pd.DataFrame({"split": SPLITS, LABEL: pd.Series([None if v != v else v for v in LABELS], dtype=object),
                         "m": pd.Series([None if v != v else v for v in SCORES], dtype=object)})
    found, (r,) = _detect_group(part, ["m"], LABEL, _settings(), None)
    assert r["note"] == "" and (r["n_val"], r["n_test"]) == (4, 4)
    assert r["threshold"] == pytest.approx(0.7988)


# ---------------------------------------------------------------------------------------------------------
# _detect_pairs: paired comparison of every two metrics on the test summaries both scored

# Eight test summaries, labels 1 1 1 1 0 0 0 0, threshold 0.5 for both metrics (fixed).
# a scores every one; b has no score for rows 2 and 6, so the shared rows are 0 1 3 4 5 7 (labels 1 1 1 0 0 0).
#   a on the shared rows: 0.9 0.8 0.2 | 0.1 0.2 0.6 -> predictions 1 1 0 | 0 0 1: recalls 2/3, 2/3 -> bacc 2/3
#     (on all eight rows a's balanced accuracy is 0.75: 1 1 1 0 | 0 0 0 1, recalls 3/4 and 3/4)
#     AUC: 0.9 and 0.8 beat all 3 negatives (6), 0.2 beats 0.1, ties 0.2, loses to 0.6 (1.5): 7.5 / 9
#   b on the shared rows: 0.9 0.1 0.8 | 0.1 0.2 0.2 -> predictions 1 0 1 | 0 0 0: recalls 2/3, 1 -> bacc 5/6
#     AUC: 0.9 and 0.8 beat all 3 (6), 0.1 ties 0.1 (0.5): 6.5 / 9
PAIR_Y = [1, 1, 1, 1, 0, 0, 0, 0]
PAIR_A = [0.9, 0.8, 0.7, 0.2, 0.1, 0.2, 0.3, 0.6]
PAIR_B = [0.9, 0.1, NAN, 0.8, 0.1, 0.2, NAN, 0.2]


def _found(settings, **metrics):
    part = pd.DataFrame({"split": ["test"] * len(PAIR_Y), LABEL: PAIR_Y, **metrics})
    found, rows = _detect_group(part, list(metrics), LABEL, settings, {m: 0.5 for m in metrics})
    assert all(r["note"] == "" for r in rows)
    return found


def test_detect_pairs_compares_on_the_shared_test_rows_only():
    settings = _settings()
    found = _found(settings, a=PAIR_A, b=PAIR_B)
    assert found["a"][1][3].balanced_accuracy == 0.75  # a alone, all eight rows (see above)
    (p,) = _detect_pairs(found, settings)
    assert set(p) == {"metric_a", "metric_b", "bacc_a", "bacc_b", "bacc_difference", "bacc_diff_low",
                      "bacc_diff_high", "p_bacc", "auc_a", "auc_b", "auc_difference", "auc_diff_low",
                      "auc_diff_high", "p_auc", "n_common", "protocol"}
    assert (p["metric_a"], p["metric_b"], p["n_common"]) == ("a", "b", 6)
    assert p["bacc_a"] == pytest.approx(2 / 3) and p["bacc_b"] == pytest.approx(5 / 6)
    assert p["bacc_difference"] == pytest.approx(2 / 3 - 5 / 6)
    assert p["auc_a"] == pytest.approx(7.5 / 9) and p["auc_b"] == pytest.approx(6.5 / 9)
    assert p["auc_difference"] == pytest.approx(1 / 9)
    for stat in ("bacc", "auc"):
        assert p[f"{stat}_diff_low"] <= p[f"{stat}_difference"] <= p[f"{stat}_diff_high"]
        assert 0 <= p[f"p_{stat}"] <= 1
    # the re-drawn resamples follow the settings: 90%, 200 resamples, seed 3
    assert p["protocol"].startswith("paired bootstrap difference on the same resamples (90% ")
    assert p["protocol"].endswith(", 200 resamples, seed 3), two-sided")


def test_detect_pairs_every_pair_once_and_none_without_shared_rows():
    """p scores only rows 0-3, q only rows 4-7, r all: p and q share nothing (no pair), the others do."""
    settings = _settings()
    p_ = PAIR_A[:4] + [NAN] * 4
    q_ = [NAN] * 4 + PAIR_A[4:]
    found = _found(settings, p=p_, q=q_, r=PAIR_A)
    pairs = _detect_pairs(found, settings)
    assert [(x["metric_a"], x["metric_b"]) for x in pairs] == [("p", "r"), ("q", "r")]
    assert [x["n_common"] for x in pairs] == [4, 4]
    # three metrics that all share rows: 3 * 2 / 2 = 3 pairs, each once
    found = _found(settings, a=PAIR_A, b=PAIR_B, c=PAIR_A[::-1])
    assert [(x["metric_a"], x["metric_b"]) for x in _detect_pairs(found, settings)] \
        == [("a", "b"), ("a", "c"), ("b", "c")]


# ---------------------------------------------------------------------------------------------------------
# _group_info: size of one group and the statistics its shape rules out


def _group(systems, docs, splits):
    return pd.DataFrame({"system": systems, "doc_id": docs, "split": splits})


def test_group_info_counts_and_notes_one_system_and_single_summaries():
    # 3 summaries, one system, three documents (one summary each); "validation" and "dev" are val, "TEST" test
    part = _group(["s1"] * 3, ["d1", "d2", "d3"], ["validation", "dev", "TEST"])
    assert _group_info("frank", "xsum", part, Settings(by="origin")) == {
        "dataset": "frank", "by": "origin", "group": "xsum", "n": 3, "n_docs": 3, "n_systems": 1, "n_val": 2,
        "n_test": 1, "notes": ["one system: system-level and partial correlations undefined",
                               "one summary per document: summary-level correlations undefined"]}


def test_group_info_two_systems_note_and_no_note_from_three_systems_or_two_summaries_per_document():
    two = _group(["s1", "s2", "s1", "s2"], ["d1", "d1", "d2", "d2"], ["test", "test", "val", "train"])
    assert _group_info("frank", "cnndm", two, Settings(by="origin")) == {
        "dataset": "frank", "by": "origin", "group": "cnndm", "n": 4, "n_docs": 2, "n_systems": 2, "n_val": 1,
        "n_test": 2, "notes": ["two systems: a system-level correlation is ±1 by construction"]}
    three = _group(["s1", "s2", "s3"], ["d1", "d1", "d2"], ["test", "test", "test"])
    info = _group_info("frank", "all", three, Settings(by="origin"))
    assert info["notes"] == [] and (info["n_systems"], info["n_docs"], info["n_val"], info["n_test"]) == (3, 2, 0, 3)
