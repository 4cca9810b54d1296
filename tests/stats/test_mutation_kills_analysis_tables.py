"""Tests written for mutants of factbench/report/analysis.py that survived the mutation run of 2026-12-01
(docs/mutation.md): the Markdown tables of the analysis and what they are built from (``comparison_markdown``,
``comparison_table``, ``_markers``, ``_cell``, ``_fmt``, ``detection_markdown``, ``groups_markdown``,
``Settings.protocol``, ``label_kinds``).

The inputs are built by hand (``Column`` objects with chosen correlation rows and pairwise rows, detection tables
with chosen values and notes, group lists, ``run.json`` metadata), so every branch of the tables is reached:
grouped and ungrouped, the summary level with its skipped-documents row, the permutation test on and off, the
Williams test only for Pearson above the summary level, all estimates undefined, the best value in bold, the
markers † ‡ § in every combination, ``n/a`` and ``–`` cells, note lines, and ``|`` escaped in group notes.

Expected values: the whole Markdown text is written out by hand from the format the code documents (its format
strings and docstrings: "Protocol: ... Bold: best in column. Worse than the best at p < 0.05: † by a paired
permutation test ...", three decimals, ``n/a`` for an undefined value, ``–`` for a metric without a row in a
column); numbers in it are the hand-chosen inputs rounded to three decimals, and means are hand-computed (the
arithmetic is in the comments). Nothing expected here was produced by running factbench.
"""

import pandas as pd

from factbench.report.analysis import (ALPHA, Column, Settings, _cell, _det_markers, _fmt, _markers,
                                       comparison_markdown, comparison_table, detection_markdown, groups_markdown,
                                       label_kinds)

NAN = float("nan")


# ---------------------------------------------------------------------------------------------------------
# Settings.protocol, _fmt, _cell, _markers


def test_protocol_names_the_kendall_variant_and_the_excluded_records():
    s = Settings(kendall="c", resample="systems", bootstrap=200, seed=7)
    assert s.protocol("system", "kendall") == \
        "Kendall tau-c, system-level; 95% CI: percentile bootstrap over systems, 200 resamples, seed 7"
    s.excluded = "reference summaries scored against themselves left out of rouge1: frank 2 (system GOLD)"
    assert s.protocol("global", "pearson") == (
        "Pearson, global; 95% CI: percentile bootstrap over systems, 200 resamples, seed 7; reference summaries "
        "scored against themselves left out of rouge1: frank 2 (system GOLD)")


def test_fmt_three_decimals_and_n_a_for_none_and_nan():
    assert _fmt(0.12345) == "0.123"
    assert _fmt(-0.5) == "-0.500"
    assert _fmt(2) == "2.000"  # an int is formatted, not n/a
    assert _fmt(0.12345, digits=1) == "0.1"
    assert _fmt(None) == "n/a"
    assert _fmt(NAN) == "n/a"


def test_cell_estimate_interval_marker_and_bold_for_the_best():
    r = {"estimate": 0.61234, "ci_low": 0.4, "ci_high": NAN, "marker": "‡§", "best": False}
    assert _cell(r) == "0.612 [0.400, n/a]‡§"
    assert _cell({**r, "marker": "", "best": True}) == "**0.612 [0.400, n/a]**"


def _pair(a, b, perm, will, boot, level="global", method="pearson"):
    return {"metric_a": a, "metric_b": b, "p_permutation": perm, "p_williams": will, "p_bootstrap": boot,
            "_level": level, "_method": method}


def test_markers_every_combination_and_p_equal_to_alpha_is_not_significant():
    assert ALPHA == 0.05
    cases = {  # (p_permutation, p_williams, p_bootstrap) -> markers; a test marks when p < 0.05
        (0.01, 0.01, 0.01): "†‡§",
        (0.01, 0.5, 0.01): "†§",
        (0.01, 0.01, 0.5): "†‡",
        (0.5, 0.01, 0.01): "‡§",
        (0.01, NAN, NAN): "†",
        (NAN, 0.04, NAN): "‡",
        (NAN, NAN, 0.049): "§",
        (0.05, 0.05, 0.05): "",
    }
    for (perm, will, boot), expected in cases.items():
        # the pair in either orientation
        assert _markers([_pair("m", "best", perm, will, boot)], "m", "best") == expected
        assert _markers([_pair("best", "m", perm, will, boot)], "m", "best") == expected


def test_markers_only_the_pair_with_the_best_counts():
    pairs = [_pair("m", "other", 0.001, 0.001, 0.001), _pair("other", "best", 0.001, 0.001, 0.001),
             _pair("m", "best", 0.5, 0.001, 0.5)]
    assert _markers(pairs, "m", "best") == "‡"
    assert _markers(pairs, "lonely", "best") == ""  # no pair with the best at all
    assert _markers(pairs, "m", None) == ""  # no best (every estimate undefined)
    # the best itself is never worse than the best, whatever the pairs hold
    assert _markers([_pair("best", "best", 0.001, 0.001, 0.001)] + pairs, "best", "best") == ""


# ---------------------------------------------------------------------------------------------------------
# comparison_table / comparison_markdown


def _row(metric, est, low, high, level="global", method="pearson", n_skipped=0):
    return {"metric": metric, "estimate": est, "ci_low": low, "ci_high": high, "n_skipped": n_skipped,
            "_level": level, "_method": method}


def _columns():
    """Two columns. frank: alpha best (alphabetically last would be gamma), beta worse by all three tests, gamma
    by Williams only (its permutation p is exactly 0.05); pairs of other (level, method) tables come first and are
    significant, so they change the markers if they are picked up. summeval: beta best, alpha worse by the
    bootstrap only, delta undefined, gamma has no row. Both have summary-level Kendall rows only in frank."""
    frank = Column("frank", "factuality", "continuous", 10, 5, rows=[
        _row("gamma", 0.9, 0.8, 1.0, level="global", method="spearman"),
        _row("alpha", 0.61234, 0.401, 0.777),
        _row("beta", 0.25, 0.1, 0.4),
        _row("gamma", 0.3333, NAN, 0.5),
        _row("alpha", 0.2, 0.1, 0.3, level="summary", method="kendall", n_skipped=2),
        _row("beta", 0.1, 0.0, 0.2, level="summary", method="kendall", n_skipped=5),
    ], pairs=[
        _pair("gamma", "alpha", 0.001, 0.001, 0.001, level="global", method="spearman"),
        _pair("gamma", "alpha", 0.001, 0.001, 0.001, level="system", method="pearson"),
        _pair("alpha", "beta", 0.01, 0.02, 0.03),
        _pair("gamma", "alpha", 0.05, 0.001, 0.5),
        _pair("beta", "gamma", 0.001, 0.001, 0.001),
        _pair("alpha", "beta", 0.01, NAN, 0.2, level="summary", method="kendall"),
    ])
    summeval = Column("summeval", "consistency", "continuous", 8, 4, rows=[
        _row("alpha", 0.1, -0.05, 0.2),
        _row("beta", 0.4, 0.3, 0.5),
        _row("delta", NAN, NAN, NAN),
    ], pairs=[
        _pair("alpha", "beta", NAN, 0.3, 0.01),
        _pair("alpha", "delta", 0.001, 0.001, 0.001),
    ])
    return [frank, summeval]


METRICS = ["alpha", "gamma", "beta", "delta", "epsilon"]  # epsilon has no row anywhere: no line


def test_comparison_table_rows_best_and_markers():
    rows = comparison_table(_columns(), METRICS, "global", "pearson", Settings())
    got = [(r["column"], r["metric"], r["estimate"], r["best"], r["marker"]) for r in rows]
    # in column order, then METRICS order; a metric without a row in a column (gamma in summeval) is skipped
    # and the next one still comes; the undefined delta is never the best (NAN is the same object: == holds)
    assert got == [
        ("frank (factuality)", "alpha", 0.61234, True, ""),
        ("frank (factuality)", "gamma", 0.3333, False, "‡"),
        ("frank (factuality)", "beta", 0.25, False, "†‡§"),
        ("summeval (consistency)", "alpha", 0.1, False, "§"),
        ("summeval (consistency)", "beta", 0.4, True, ""),
        ("summeval (consistency)", "delta", NAN, False, ""),
    ]
    # every key of the correlation row except the private ones (leading "_"), plus column / best / marker
    assert rows[0] == {"metric": "alpha", "estimate": 0.61234, "ci_low": 0.401, "ci_high": 0.777, "n_skipped": 0,
                       "column": "frank (factuality)", "best": True, "marker": ""}


def test_comparison_markdown_global_pearson_with_all_three_tests():
    settings = Settings(resample="systems", bootstrap=200, seed=3, permutations=500)
    expected = (
        "#### Pearson, global\n"
        "\n"
        "Protocol: Pearson, global; 95% CI: percentile bootstrap over systems, 200 resamples, seed 3. Bold: best in "
        "column. Worse than the best at p < 0.05: † by a paired permutation test over systems (500 permutations, "
        "seed 3, two-sided); ‡ by the Williams test (two-sided); § by the bootstrap difference on the same "
        "resamples (two-sided).\n"
        "\n"
        "| metric | frank (factuality) | summeval (consistency) |\n"
        "|---|---|---|\n"
        "| alpha | **0.612 [0.401, 0.777]** | 0.100 [-0.050, 0.200]§ |\n"
        "| gamma | 0.333 [n/a, 0.500]‡ | – |\n"
        "| beta | 0.250 [0.100, 0.400]†‡§ | **0.400 [0.300, 0.500]** |\n"
        "| delta | – | n/a [n/a, n/a] |\n"
    )
    assert comparison_markdown(_columns(), METRICS, "global", "pearson", settings) == expected


def test_comparison_markdown_summary_level_explains_skips_and_counts_them():
    """Summary-level Pearson: no Williams test (‡) and, not being a headline table, no permutation test (†);
    the skipped-documents row holds the largest count of the column (frank: max(2, 5) = 5) and 0 for a column
    without summary-level rows."""
    cols = _columns()
    for r in cols[0].rows:
        if r["_level"] == "summary":
            r["_method"] = "pearson"
    for p in cols[0].pairs:
        if p["_level"] == "summary":
            p["_method"] = "pearson"
    expected = (
        "#### Pearson, summary-level\n"
        "\n"
        "Protocol: Pearson, summary-level; 95% CI: percentile bootstrap over inputs, 1000 resamples, seed 0. Bold: "
        "best in column. Worse than the best at p < 0.05: § by the bootstrap difference on the same resamples "
        "(two-sided).\n"
        # the note goes right under the protocol (same paragraph), then two empty lines
        "Summary-level: per document across systems, then averaged; documents with a constant metric or human "
        "vector (or a single summary) are skipped (counts in correlations.csv).\n"
        "\n"
        "\n"
        "| metric | frank (factuality) | summeval (consistency) |\n"
        "|---|---|---|\n"
        "| alpha | **0.200 [0.100, 0.300]** | – |\n"
        "| beta | 0.100 [0.000, 0.200]† | – |\n"  # the pair's permutation p (0.01) is in the table
        "| *documents skipped (max over metrics)* | 5 | 0 |\n"
    )
    assert comparison_markdown(cols, METRICS, "summary", "pearson", Settings()) == expected


def test_comparison_markdown_summary_kendall_headline_has_the_permutation_test():
    expected = (
        "#### Kendall tau-c, summary-level\n"
        "\n"
        "Protocol: Kendall tau-c, summary-level; 95% CI: percentile bootstrap over inputs, 1000 resamples, seed 0. "
        "Bold: best in column. Worse than the best at p < 0.05: † by a paired permutation test over inputs (1000 "
        "permutations, seed 0, two-sided); § by the bootstrap difference on the same resamples (two-sided).\n"
        "Summary-level: per document across systems, then averaged; documents with a constant metric or human "
        "vector (or a single summary) are skipped (counts in correlations.csv).\n"
        "\n"
        "\n"
        "| metric | frank (factuality) | summeval (consistency) |\n"
        "|---|---|---|\n"
        "| alpha | **0.200 [0.100, 0.300]** | – |\n"
        "| beta | 0.100 [0.000, 0.200]† | – |\n"
        "| *documents skipped (max over metrics)* | 5 | 0 |\n"
    )
    assert comparison_markdown(_columns(), METRICS, "summary", "kendall", Settings(kendall="c")) == expected


def test_comparison_markdown_no_permutation_line_when_not_run():
    """System-level Kendall is not a permutation table, and Pearson global is one but with permutations=0:
    neither names the permutation test; Kendall has no Williams test."""
    col = Column("d", "l", "continuous", 3, 3, rows=[_row("m", 0.5, 0.25, 0.75, level="system", method="kendall"),
                                                     _row("m", 0.5, 0.25, 0.75)])
    expected = (
        "#### Kendall tau-c, system-level\n"
        "\n"
        "Protocol: Kendall tau-c, system-level; 95% CI: percentile bootstrap over inputs, 1000 resamples, seed 0. "
        "Bold: best in column. Worse than the best at p < 0.05: § by the bootstrap difference on the same "
        "resamples (two-sided).\n"
        "\n"
        "| metric | d (l) |\n"
        "|---|---|\n"
        "| m | **0.500 [0.250, 0.750]** |\n"
    )
    assert comparison_markdown([col], ["m"], "system", "kendall", Settings(kendall="c")) == expected
    text = comparison_markdown([col], ["m"], "global", "pearson", Settings(permutations=0))
    assert text.splitlines()[2] == (
        "Protocol: Pearson, global; 95% CI: percentile bootstrap over inputs, 1000 resamples, seed 0. Bold: best in "
        "column. Worse than the best at p < 0.05: ‡ by the Williams test (two-sided); § by the bootstrap difference "
        "on the same resamples (two-sided).")


def test_comparison_markdown_every_estimate_undefined():
    col = Column("d", "l", "continuous", 3, 1, rows=[_row("m", NAN, NAN, NAN, level="partial"),
                                                     _row("m", NAN, NAN, NAN, level="summary", method="kendall")])
    settings = Settings(kendall="c")
    assert comparison_markdown([col], ["m"], "partial", "pearson", settings) == (
        "#### Pearson, partial (controlling for system, FRANK)\n\nUndefined for every dataset of this run (no "
        "metric or human score varies within a system).\n")
    assert comparison_markdown([col], ["m"], "summary", "kendall", settings) == (
        "#### Kendall tau-c, summary-level\n\nUndefined for every dataset of this run (it needs documents with "
        "several summaries whose metric and human scores both vary).\n")


# ---------------------------------------------------------------------------------------------------------
# detection_markdown

# The interval text of detection rows, as DetectionInterval.describe() words it.
INTERVAL = ("95% percentile bootstrap over test summaries resampled within class (class sizes fixed), threshold "
            "held fixed, 1000 resamples, seed 0")
SINGLE_CLASS = "validation labels contain a single class; a threshold cannot be tuned"
HEAD = ("Protocol: balanced accuracy / ROC AUC on the test cut; threshold tuned on the validation cut only, over "
        "score percentiles 0, 0.2, ..., 99.8 (SummaC), predict consistent if score > threshold")
MARKS = ("Bold: best in column; § worse than the best at p < 0.05 by the paired bootstrap on the same resamples "
         "(two-sided).")


def _det(dataset, label, metric, bacc=None, auc=None, n_test=None, note="", interval=INTERVAL, **group):
    """A detection row as _detection writes it: values and intervals, or only a note (no value keys)."""
    r = {"dataset": dataset, "label": label, **group, "metric": metric}
    if note:
        return {**r, "note": note}
    return {**r, "test_balanced_accuracy": bacc[0], "bacc_ci_low": bacc[1], "bacc_ci_high": bacc[2],
            "test_auc": auc[0], "auc_ci_low": auc[1], "auc_ci_high": auc[2], "n_test": n_test, "note": "",
            "interval": interval}


def _det_pairs(rows):
    return pd.DataFrame([{"dataset": d, "label": l, **g, "metric_a": a, "metric_b": b, "p_bacc": pb, "p_auc": pa}
                         for d, l, g, a, b, pb, pa in rows])


def test_detection_markdown_two_datasets_markers_notes_and_overall_mean():
    """Columns and metrics in the order of the table (zeta before alpha, summac before bertscore); best in bold
    per column (alpha's AUC is undefined for every metric: no best); § from the pairs table at p < 0.05 (alpha's
    p_bacc is exactly 0.05: no §); a metric with a note is n/a in its column and – where it has no row; the
    excluded records close the protocol with a capital letter."""
    table = pd.DataFrame([
        _det("zeta", "ok", "summac", (0.75, 0.6, 0.9), (0.8, 0.7, 0.9), 40),
        _det("zeta", "ok", "bertscore", (0.7, 0.55, 0.85), (0.85, 0.75, 0.95), 40),
        _det("zeta", "ok", "rouge", note=SINGLE_CLASS),
        _det("zeta", "ok", "qags", note=SINGLE_CLASS),
        _det("alpha", "ok", "summac", (0.6, 0.5, 0.7), (NAN, NAN, NAN), 30),
        _det("alpha", "ok", "bertscore", (0.68, 0.5, 0.8), (NAN, NAN, NAN), 32),
        _det("alpha", "ok", "rouge", note="detection_bootstrap: no test summaries to resample"),
    ])
    pairs = _det_pairs([("zeta", "ok", {}, "summac", "bertscore", 0.01, 0.03),
                        ("alpha", "ok", {}, "summac", "bertscore", 0.05, NAN)])
    settings = Settings(excluded="reference summaries scored against themselves left out of rouge: zeta 2 "
                                 "(system GOLD)")
    header = "| metric | zeta (ok) (n=40) | alpha (ok) (n=32) | overall |\n|---|---|---|---|\n"
    expected = (
        "#### Binary detection (test cut)\n"
        "\n"
        f"{HEAD}. Intervals: {INTERVAL}. {MARKS} Overall: mean over datasets. Reference summaries scored against "
        "themselves left out of rouge: zeta 2 (system GOLD).\n"
        "\n"
        "Balanced accuracy:\n"
        "\n"
        + header +
        "| summac | **0.750 [0.600, 0.900]** | 0.600 [0.500, 0.700] | 0.675 |\n"  # (0.75 + 0.6) / 2
        "| bertscore | 0.700 [0.550, 0.850]§ | **0.680 [0.500, 0.800]** | 0.690 |\n"  # (0.7 + 0.68) / 2
        "| rouge | n/a | n/a | n/a |\n"
        "| qags | n/a | – | n/a |\n"
        "\n"
        "ROC AUC:\n"
        "\n"
        + header +
        "| summac | 0.800 [0.700, 0.900]§ | n/a [n/a, n/a] | 0.800 |\n"  # mean of 0.8 and undefined: 0.8
        "| bertscore | **0.850 [0.750, 0.950]** | n/a [n/a, n/a] | 0.850 |\n"
        "| rouge | n/a | n/a | n/a |\n"
        "| qags | n/a | – | n/a |\n"
        "\n"
        f"- zeta (ok): no detection result for rouge, qags ({SINGLE_CLASS})\n"
        "- alpha (ok): no detection result for rouge (detection_bootstrap: no test summaries to resample)\n"
    )
    assert detection_markdown(table, pairs, settings) == expected


def test_detection_markdown_grouped_columns_threshold_text_and_overall_of_group_all():
    """With --by origin (thresholds tuned once on the whole dataset): one column per group, the threshold
    protocol in the header, and the overall column is the group all value only (one dataset)."""
    g = {"by": "origin"}
    note = "no threshold: none could be tuned on the whole dataset"
    table = pd.DataFrame([
        _det("aggrefact", "consistent", "m1", (0.7, 0.6, 0.8), (0.75, 0.65, 0.85), 100, **g, group="all"),
        _det("aggrefact", "consistent", "m2", (0.6, 0.5, 0.7), (0.8, 0.7, 0.9), 100, **g, group="all"),
        _det("aggrefact", "consistent", "m1", (0.8, 0.7, 0.9), (0.9, 0.85, 0.95), 60, **g, group="cnndm"),
        _det("aggrefact", "consistent", "m2", note=note, **g, group="cnndm"),
        _det("aggrefact", "consistent", "m1", note=note, **g, group="xsum"),
        _det("aggrefact", "consistent", "m2", note=note, **g, group="xsum"),
    ])
    pairs = _det_pairs([("aggrefact", "consistent", {**g, "group": "all"}, "m1", "m2", 0.02, 0.3)])
    settings = Settings(by="origin", thresholds="global")
    c = "aggrefact (consistent) origin="
    header = f"| metric | {c}all (n=100) | {c}cnndm (n=60) | {c}xsum | overall |\n|---|---|---|---|---|\n"
    expected = (
        "#### Binary detection (test cut)\n"
        "\n"
        f"{HEAD}; one threshold per metric, tuned on the whole dataset's validation cut, applied to every origin "
        f"group. Intervals: {INTERVAL}. {MARKS} Overall: mean over datasets (group all).\n"
        "\n"
        "Balanced accuracy:\n"
        "\n"
        + header +
        "| m1 | **0.700 [0.600, 0.800]** | **0.800 [0.700, 0.900]** | n/a | 0.700 |\n"
        "| m2 | 0.600 [0.500, 0.700]§ | n/a | n/a | 0.600 |\n"
        "\n"
        "ROC AUC:\n"
        "\n"
        + header +
        "| m1 | 0.750 [0.650, 0.850] | **0.900 [0.850, 0.950]** | n/a | 0.750 |\n"
        "| m2 | **0.800 [0.700, 0.900]** | n/a | n/a | 0.800 |\n"
        "\n"
        f"- {c}cnndm: no detection result for m2 ({note})\n"
        f"- {c}xsum: no detection result for m1, m2 ({note})\n"
    )
    assert detection_markdown(table, pairs, settings) == expected
    # without settings the threshold words are left out (nothing says where the thresholds came from)
    assert detection_markdown(table, pairs).splitlines()[2] == (
        f"{HEAD}. Intervals: {INTERVAL}. {MARKS} Overall: mean over datasets (group all).")


def test_detection_markdown_one_result_and_no_settings_or_pairs():
    """One metric with a result (its interval text is the header's), one with a note; no pairs: no §."""
    interval = "90% percentile bootstrap ..., 200 resamples, seed 5"
    table = pd.DataFrame([_det("d", "l", "m1", (0.5, 0.25, 0.75), (0.625, 0.5, 0.75), 8, interval=interval),
                          _det("d", "l", "m2", note=SINGLE_CLASS)])
    header = "| metric | d (l) (n=8) | overall |\n|---|---|---|\n"
    assert detection_markdown(table) == (
        "#### Binary detection (test cut)\n"
        "\n"
        f"{HEAD}. Intervals: {interval}. {MARKS} Overall: mean over datasets.\n"
        "\n"
        "Balanced accuracy:\n\n" + header +
        "| m1 | **0.500 [0.250, 0.750]** | 0.500 |\n"
        "| m2 | n/a | n/a |\n"
        "\n"
        "ROC AUC:\n\n" + header +
        "| m1 | **0.625 [0.500, 0.750]** | 0.625 |\n"
        "| m2 | n/a | n/a |\n"
        "\n"
        f"- d (l): no detection result for m2 ({SINGLE_CLASS})\n")


def test_detection_markdown_every_row_a_note():
    """No result anywhere: without value columns (what _detection writes then) there is no table; with them
    (hand-built), every cell is n/a, no column has a test size and the interval text is empty."""
    assert detection_markdown(pd.DataFrame()) == ""
    assert detection_markdown(pd.DataFrame([_det("d", "l", "m", note=SINGLE_CLASS)])) == ""
    table = pd.DataFrame([_det("d", "l", "m", (0.5, 0.4, 0.6), (0.5, 0.4, 0.6), 8)]).iloc[:0]
    table = pd.concat([table, pd.DataFrame([_det("d", "l", "m", note=SINGLE_CLASS)])], ignore_index=True)
    header = "| metric | d (l) | overall |\n|---|---|---|\n"
    assert detection_markdown(table) == (
        "#### Binary detection (test cut)\n\n"
        f"{HEAD}. Intervals: . {MARKS} Overall: mean over datasets.\n\n"
        "Balanced accuracy:\n\n" + header + "| m | n/a | n/a |\n\n"
        "ROC AUC:\n\n" + header + "| m | n/a | n/a |\n\n"
        f"- d (l): no detection result for m ({SINGLE_CLASS})\n")


def test_det_markers_p_equal_to_alpha_is_not_significant():
    pairs = _det_pairs([("d", "l", {}, "m", "best", ALPHA, 0.049)])
    assert _det_markers(pairs, "d (l)", "m", "best", "bacc") == ""
    assert _det_markers(pairs, "d (l)", "m", "best", "auc") == "§"


# ---------------------------------------------------------------------------------------------------------
# groups_markdown, label_kinds


def test_groups_markdown_sizes_notes_and_escaped_bars():
    groups = [
        {"dataset": "aggrefact", "by": "origin", "group": "all", "n": 120, "n_docs": 40, "n_systems": 3,
         "n_val": 50, "n_test": 70, "notes": []},
        {"dataset": "aggrefact", "by": "origin", "group": "cnndm", "n": 30, "n_docs": 29, "n_systems": 1,
         "n_val": 10, "n_test": 20, "notes": ["one system: system-level and partial correlations undefined",
                                             "label a|b: 2 labelled summaries (fewer than 3): no correlations"]},
    ]
    assert groups_markdown(groups, Settings(by="origin")) == (
        "#### Groups by `origin`\n"
        "\n"
        "Every statistic below is computed for the whole dataset (group all) and for each group; a statistic a "
        "group is too small for is n/a in the tables and named here.\n"
        "\n"
        "| dataset | group | summaries | documents | systems | val | test | not computed |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| aggrefact | all | 120 | 40 | 3 | 50 | 70 | – |\n"
        "| aggrefact | cnndm | 30 | 29 | 1 | 10 | 20 | one system: system-level and partial correlations undefined; "
        "label a\\|b: 2 labelled summaries (fewer than 3): no correlations |\n"
    )
    assert groups_markdown([], Settings(by="origin")) == ""


def test_label_kinds_reads_label_scales_with_continuous_as_default():
    meta = {"datasets": [
        {"name": "frank", "label_scales": {"factuality": {"kind": "continuous", "min": 0},
                                           "faithful": {"kind": "binary"}}},
        {"name": "summeval", "label_scales": {"consistency": {"min": 1, "max": 5}, "coherence": None}},
        {"name": "xsum", "label_scales": None},
        {"name": "bare"},
    ]}
    assert label_kinds(meta) == {("frank", "factuality"): "continuous", ("frank", "faithful"): "binary",
                                 ("summeval", "consistency"): "continuous", ("summeval", "coherence"): "continuous"}
    assert label_kinds({}) == {}
