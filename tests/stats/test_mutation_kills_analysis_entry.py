"""Tests written for mutants of the entry point of factbench/report/analysis.py (``analyze_run``, ``_fragment``,
``read_run``, ``Settings.check``) that survived the mutation run of 2026-12-01 (docs/mutation.md).

They pin down what ``analyze_run`` does around the statistics (which the other test_mutation_kills_analysis*
files pin down): datasets in sorted order, label by label, the groups of ``--by FIELD`` side by side (group
``all`` first), the ``by`` / ``group`` tags of the correlation and pairwise rows, ``label_kind`` from run.json's
``label_scales`` (``continuous`` where none is given), no correlations for a label with fewer than 3 labelled
summaries in a group, the notes of ``group_sizes.csv`` (the group's shape, metrics without enough scored rows,
labels without enough labelled rows, detection notes grouped by label and note, in the order found), an
``analysis/`` folder that already exists, what is handed to the plots; the Markdown fragment for summary.md; the
errors of ``read_run`` and of ``Settings.check``.

Expected values: the run directory is written here by hand, so every expected row key, count and note is derived
by hand from it (the derivation is in the comments); the note texts are the documented wording of the code's
format strings. The statistics themselves are not checked here. Where the fragment is compared with the
table functions' output (``comparison_markdown``, ``detection_markdown``, ``groups_markdown``) or with the
written Markdown files, that part shows consistency of the assembly only (the tables' own text is pinned against
hand-written expectations in test_mutation_kills_analysis_tables.py); the fixed sentences are written by hand.
"""

import csv
import json
import math

import pandas as pd
import pytest

from factbench.errors import ConfigError, DataError, RunError
from factbench.report import plots as plots_module
from factbench.report.analysis import (Column, Settings, _fragment, analyze_run, comparison_markdown,
                                       detection_markdown, groups_markdown, read_run)

NAN = float("nan")
HEADER = ["dataset", "split", "example_id", "doc_id", "system", "label:human", "label:ok", "m1", "m2", "m3"]
FAST = dict(bootstrap=20, permutations=20, seed=0, levels=["global"], methods=["pearson"], plots=False)
TAIL = ("All levels, methods, pairwise p-values and plots: `analysis/` (analysis.md, correlations.csv, "
        "comparison.csv, comparison_wide.csv, pairwise.csv, detection.csv, detection_wide.csv, "
        "detection_pairwise.csv{}, *.png).\n")
ONE_SYSTEM = "one system: system-level and partial correlations undefined"
TWO_SYSTEMS = "two systems: a system-level correlation is ±1 by construction"
ONE_SUMMARY = "one summary per document: summary-level correlations undefined"
NO_VAL = "detection needs a validation and a test cut; found cuts ['test']"
SINGLE_CLASS = "validation labels contain a single class; a threshold cannot be tuned"


def _rows():
    """(row, origin). zeta comes first in the file, alpha second (the analysis sorts them).

    zeta/cnn: documents c0..c3 x systems A, B; c0, c1 val, c2, c3 test; both labels on every row, ok has both
    classes in val and in test; m1, m2 everywhere, m3 only on the test rows.
    zeta/bbc: documents x0..x2, system C, one summary each; x0 val, x1 x2 test; human on all three rows, ok on x0
    (1) and x1 (0) only; m1 everywhere, m2 and m3 only on x1 and x2.
    alpha: documents a0..a4, system A, all test, no origin; human on all five, ok on a0 and a1 only; m1..m3
    everywhere."""
    rows = []
    human = {"c0": (0.9, 0.2), "c1": (0.7, 0.1), "c2": (0.8, 0.3), "c3": (0.6, 0.0)}
    for d in ("c0", "c1", "c2", "c3"):
        split = "val" if d in ("c0", "c1") else "test"
        for s, h, ok in (("A", human[d][0], 1), ("B", human[d][1], 0)):
            m3 = "" if split == "val" else h + 0.05
            rows.append((("zeta", split, f"{d}{s}", d, s, h, ok, h + 0.1 * (s == "A"), 1 - h, m3), "cnn"))
    for d, split, h, ok, m1, m23 in (("x0", "val", 0.2, 1, 0.3, ""), ("x1", "test", 0.5, 0, 0.4, 0.6),
                                     ("x2", "test", 0.9, "", 0.8, 0.1)):
        rows.append((("zeta", split, d, d, "C", h, ok, m1, m23, m23), "bbc"))
    for i, (h, ok) in enumerate(((0.1, 1), (0.4, 0), (0.3, ""), (0.8, ""), (0.6, ""))):
        rows.append((("alpha", "test", f"a{i}", f"a{i}", "A", h, ok, h, h * h, 1 - h), ""))
    return rows


def _write_run(path):
    rows = _rows()
    with open(path / "scores.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(r for r, _ in rows)
    with open(path / "groups.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "example_id", "origin"])
        w.writerows((r[0], r[2], origin) for r, origin in rows)
    # zeta: only ok has a scale (binary), so human's kind is the default; alpha: human is likert, ok unscaled
    meta = {"datasets": [{"name": "zeta", "split": "val", "n": 5, "label_scales": {"ok": {"kind": "binary"}}},
                         {"name": "zeta", "split": "test", "n": 6, "label_scales": {"ok": {"kind": "binary"}}},
                         {"name": "alpha", "split": "test", "n": 5,
                          "label_scales": {"human": {"kind": "likert", "low": 0, "high": 1}}}],
            "metrics": {}}
    (path / "run.json").write_text(json.dumps(meta))


def _read(out):
    files = {name: (out / name) for name in ("correlations.csv", "pairwise.csv", "group_sizes.csv",
                                                "comparison.md", "detection.md", "detection.csv")}
    got = {}
    for name, p in files.items():
        if not p.exists():
            got[name] = None
        elif name.endswith(".csv"):
            got[name] = pd.read_csv(p, keep_default_na=False, na_values=[""])
        else:
            got[name] = p.read_text(encoding="utf-8")
    return got


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """The same run analysed by origin, then as a whole (into the same, already existing analysis/ folder)."""
    run = tmp_path_factory.mktemp("entry")
    _write_run(run)
    (run / "analysis").mkdir()  # left by an earlier analysis: must be reused, not refused
    grouped_fragment = analyze_run(run, by="origin", **FAST)
    grouped = _read(run / "analysis")
    whole_fragment = analyze_run(run, **FAST)
    whole = _read(run / "analysis")
    return run, (grouped_fragment, grouped), (whole_fragment, whole)


# Hand-derived row keys of correlations.csv: datasets sorted (alpha before zeta although zeta comes first in
# scores.csv), labels in column order (human, ok), groups all then sorted values (bbc before cnn although cnn
# comes first in scores.csv; alpha has no origin: all only; the ok label of bbc, too small, does not stop
# cnn's), metrics in column order, one (global, pearson) row each. No rows for: alpha/ok (2 labelled: a0, a1);
# zeta/bbc/ok (2 labelled: x0, x1); zeta/bbc/human m2 and m3 (scored and labelled on x1, x2 only: 2 < 3).
# label_kind: alpha human from run.json (likert); zeta human not in zeta's label_scales -> continuous; zeta ok
# binary.
GROUPED_ROWS = (
    [("alpha", "human", "origin", "all", "likert", m) for m in ("m1", "m2", "m3")]
    + [("zeta", "human", "origin", "all", "continuous", m) for m in ("m1", "m2", "m3")]
    + [("zeta", "human", "origin", "bbc", "continuous", "m1")]
    + [("zeta", "human", "origin", "cnn", "continuous", m) for m in ("m1", "m2", "m3")]
    + [("zeta", "ok", "origin", g, "binary", m) for g in ("all", "cnn") for m in ("m1", "m2", "m3")]
)
# Every pair of the metrics of a column in column order; zeta/bbc/human has one metric: no pair.
PAIRS = (("m1", "m2"), ("m1", "m3"), ("m2", "m3"))
GROUPED_PAIRS = (
    [("alpha", "human", "origin", "all", a, b) for a, b in PAIRS]
    + [("zeta", "human", "origin", g, a, b) for g in ("all", "cnn") for a, b in PAIRS]
    + [("zeta", "ok", "origin", g, a, b) for g in ("all", "cnn") for a, b in PAIRS]
)


def test_grouped_correlation_rows_are_tagged_after_the_label_in_dataset_label_group_order(analysed):
    _, (_, got), _ = analysed
    corr = got["correlations.csv"]
    assert list(corr.columns[:6]) == ["dataset", "label", "by", "group", "label_kind", "metric"]
    assert [tuple(r) for r in corr[["dataset", "label", "by", "group", "label_kind", "metric"]].itertuples(
        index=False)] == GROUPED_ROWS
    # n: summaries with both the label and the metric; alpha 5 rows; zeta/all human m3: the 6 test rows
    # (c2A c2B c3A c3B x1 x2); zeta/bbc m1: 3; zeta/all ok m1: 8 cnn + x0 x1 = 10, m3: 4 cnn test + x1 = 5
    n = dict(zip(zip(corr["dataset"], corr["label"], corr["group"], corr["metric"]), corr["n"]))
    assert n[("alpha", "human", "all", "m1")] == 5
    assert n[("zeta", "human", "all", "m3")] == 6
    assert n[("zeta", "human", "bbc", "m1")] == 3
    assert n[("zeta", "ok", "all", "m1")] == 10
    assert n[("zeta", "ok", "all", "m3")] == 5
    assert n[("zeta", "ok", "cnn", "m2")] == 8


def test_grouped_pairwise_rows_are_tagged(analysed):
    _, (_, got), _ = analysed
    pairs = got["pairwise.csv"]
    assert list(pairs.columns[:4]) == ["dataset", "label", "by", "group"]
    assert [tuple(r) for r in pairs[["dataset", "label", "by", "group", "metric_a", "metric_b"]].itertuples(
        index=False)] == GROUPED_PAIRS


def test_group_sizes_and_every_note_in_the_order_found(analysed):
    """Sizes counted by hand from _rows(); notes: the group's shape first (_group_info), then per label the
    metrics with fewer than 3 scored and labelled rows or the label with fewer than 3 labelled rows, then the
    detection notes of the binary label grouped by note in the order the metrics meet them."""
    _, (_, got), _ = analysed
    sizes = got["group_sizes.csv"]
    expected = pd.DataFrame([
        # alpha: 5 rows, 5 documents, 1 system, all test; ok labelled on a0, a1 only (alpha has ok values, so
        # the note is given); no detection (alpha's ok has no binary scale)
        {"dataset": "alpha", "by": "origin", "group": "all", "n": 5, "n_docs": 5, "n_systems": 1, "n_val": 0,
         "n_test": 5, "notes": "; ".join([ONE_SYSTEM, ONE_SUMMARY,
                                          "label ok: 2 labelled summaries (fewer than 3): no correlations"])},
        # zeta all: 8 + 3 rows, 4 + 3 documents, systems A B C, val c0 c1 (4) + x0, test 4 + 2; m3 has no val
        # row anywhere in zeta
        {"dataset": "zeta", "by": "origin", "group": "all", "n": 11, "n_docs": 7, "n_systems": 3, "n_val": 5,
         "n_test": 6, "notes": f"detection ok: {NO_VAL} (m3)"},
        # bbc: m1 is scored on x0 (val, ok 1) and x1 (test, ok 0): a single class to tune on; m2 and m3 are
        # scored on test rows only
        {"dataset": "zeta", "by": "origin", "group": "bbc", "n": 3, "n_docs": 3, "n_systems": 1, "n_val": 1,
         "n_test": 2, "notes": "; ".join([
             ONE_SYSTEM, ONE_SUMMARY,
             "label human: m2: 2 summaries with both a score and a label (fewer than 3): no correlation",
             "label human: m3: 2 summaries with both a score and a label (fewer than 3): no correlation",
             "label ok: 2 labelled summaries (fewer than 3): no correlations",
             f"detection ok: {SINGLE_CLASS} (m1)",
             f"detection ok: {NO_VAL} (m2, m3)"])},
        {"dataset": "zeta", "by": "origin", "group": "cnn", "n": 8, "n_docs": 4, "n_systems": 2, "n_val": 4,
         "n_test": 4, "notes": f"{TWO_SYSTEMS}; detection ok: {NO_VAL} (m3)"},
    ])
    pd.testing.assert_frame_equal(sizes, expected, check_dtype=False)


def test_detection_runs_per_group_for_the_binary_label_only(analysed):
    """Only zeta's ok is binary (alpha's human is likert, zeta's human unscaled): one row per group and metric."""
    _, (_, got), _ = analysed
    det = got["detection.csv"]
    assert [tuple(r) for r in det[["dataset", "label", "by", "group", "metric"]].itertuples(index=False)] == [
        ("zeta", "ok", "origin", g, m) for g in ("all", "bbc", "cnn") for m in ("m1", "m2", "m3")]


def test_ungrouped_rows_and_no_group_sizes(analysed):
    """Without --by: no by/group columns, the whole datasets only (bbc's three rows are part of zeta), and
    group_sizes.csv of the earlier grouped analysis is gone."""
    _, _, (_, got) = analysed
    corr = got["correlations.csv"]
    assert "by" not in corr.columns and "group" not in corr.columns
    assert list(corr.columns[:4]) == ["dataset", "label", "label_kind", "metric"]
    assert [tuple(r) for r in corr[["dataset", "label", "label_kind", "metric"]].itertuples(index=False)] == [
        ("alpha", "human", "likert", m) for m in ("m1", "m2", "m3")] + [
        ("zeta", "human", "continuous", m) for m in ("m1", "m2", "m3")] + [
        ("zeta", "ok", "binary", m) for m in ("m1", "m2", "m3")]
    pairs = got["pairwise.csv"]
    assert [tuple(r) for r in pairs[["dataset", "label", "metric_a", "metric_b"]].itertuples(index=False)] == [
        (d, l, a, b) for d, l in (("alpha", "human"), ("zeta", "human"), ("zeta", "ok")) for a, b in PAIRS]
    assert got["group_sizes.csv"] is None
    assert "group" not in got["detection.csv"].columns


def _expected_fragment(files, groups_file):
    """Assembly consistency with the written files: the fragment is the heading, the groups table and the
    (global, pearson) table as in comparison.md (its only combination, a headline one), the detection tables as
    in detection.md, and the closing sentence (written by hand)."""
    comparison = files["comparison.md"]
    head = "# Comparison tables\n\n"
    assert comparison.startswith(head)
    return ("### Agreement with human judgments\n\n" + comparison[len(head):] + "\n" + files["detection.md"] + "\n"
            + TAIL.format(groups_file))


def test_fragments_of_both_runs(analysed):
    _, (grouped_fragment, grouped), (whole_fragment, whole) = analysed
    assert grouped_fragment == _expected_fragment(grouped, ", group_sizes.csv")
    assert "#### Groups by `origin`" in grouped_fragment
    # zeta's test rows (all and cnn): m2 puts every inconsistent summary above every consistent one (AUC 0:
    # positives c2A 0.2, c3A 0.4; negatives c2B 0.7, c3B 1.0, x1 0.6), m1 the other way round (AUC 1: 0.9, 0.7 vs
    # 0.3, 0.0, 0.4), in every resample: the paired AUC difference is 1 in every resample, so p < 0.05 -> §
    assert "| m2 | 0.000 [0.000, 0.000]§ | n/a | 0.000 [0.000, 0.000]§ | 0.000 |" in grouped_fragment
    assert whole_fragment == _expected_fragment(whole, "")
    assert "Groups by" not in whole_fragment


def test_plots_get_the_folder_scores_metrics_columns_detection_settings_and_groups(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(plots_module, "write_plots", lambda *args: seen.append(args) or [])
    _write_run(tmp_path)
    analyze_run(tmp_path, by="origin", **{**FAST, "plots": True, "permutations": 7, "seed": 5},
                confidence=0.9, thresholds="global")
    assert len(seen) == 1
    out_dir, scores, metrics, columns, detection, settings, values = seen[0]
    assert out_dir == tmp_path / "analysis"
    rows = _rows()
    assert list(scores["example_id"]) == [r[2] for r, _ in rows]
    assert list(scores.columns) == HEADER
    assert metrics == ["m1", "m2", "m3"]
    # the columns in the order of GROUPED_ROWS' (dataset, label, group), each named with its n rows
    assert [c.name for c in columns] == [
        "alpha (human) origin=all (n=5)", "zeta (human) origin=all (n=11)", "zeta (human) origin=bbc (n=3)",
        "zeta (human) origin=cnn (n=8)", "zeta (ok) origin=all (n=11)", "zeta (ok) origin=cnn (n=8)"]
    assert [c.kind for c in columns] == ["likert", "continuous", "continuous", "continuous", "binary", "binary"]
    assert list(zip(detection["group"], detection["metric"])) == [
        (g, m) for g in ("all", "bbc", "cnn") for m in ("m1", "m2", "m3")]
    # every argument ends up in the settings
    assert (settings.by, settings.plots, settings.bootstrap, settings.permutations, settings.seed,
            settings.confidence, settings.thresholds, settings.combos) == (
        "origin", True, 20, 7, 5, 0.9, "global", (("global", "pearson"),))
    assert list(values) == [origin or "(none)" for _, origin in rows]


def test_defaults(tmp_path, monkeypatch):
    """The documented defaults (analyze_run's signature and docstring: 1000 bootstrap resamples, 1000
    permutations, seed 0, resampling over inputs, Kendall tau-b, tuning on val, plots on, no grouping,
    thresholds per group, DEFAULT_COMBOS: every level and method but Kendall at the global and partial levels).
    A run without labels: nothing is computed, so the defaults cost nothing."""
    seen = []
    monkeypatch.setattr(plots_module, "write_plots", lambda *args: seen.append(args) or [])
    (tmp_path / "scores.csv").write_text("dataset,split,example_id,doc_id,system,m\nd,test,e0,e0,A,0.5\n")
    (tmp_path / "run.json").write_text(json.dumps({"datasets": [{"name": "d", "split": "test", "n": 1}],
                                                   "metrics": {}}))
    fragment = analyze_run(tmp_path)
    assert len(seen) == 1
    s = seen[0][5]
    assert (s.bootstrap, s.permutations, s.seed, s.resample, s.kendall, s.tune_on, s.confidence, s.by,
            s.thresholds, s.plots) == (1000, 1000, 0, "inputs", "b", "val", 0.95, None, "per-group", True)
    assert s.combos == (("summary", "pearson"), ("summary", "spearman"), ("summary", "kendall"),
                        ("system", "pearson"), ("system", "spearman"), ("system", "kendall"),
                        ("global", "pearson"), ("global", "spearman"), ("partial", "pearson"),
                        ("partial", "spearman"))
    assert fragment == ("### Agreement with human judgments\n\n"
                        "No dataset in this run has human labels and scores to correlate.\n\n" + TAIL.format(""))


def test_metrics_named_index_and_level_0(tmp_path):
    """Metric columns may be called ``index`` and ``level_0``: the per-group frame's row numbers are dropped,
    not inserted as a column (pandas would name it ``index``, or ``level_0`` when ``index`` is taken, and refuse
    when both are)."""
    rows = [("d", "test", f"e{i}", f"e{i}", "A", h, x, 1 - x)
            for i, (h, x) in enumerate(((0.1, 0.2), (0.5, 0.4), (0.9, 0.7), (0.3, 0.5)))]
    with open(tmp_path / "scores.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "split", "example_id", "doc_id", "system", "label:human", "index", "level_0"])
        w.writerows(rows)
    (tmp_path / "run.json").write_text(json.dumps({"datasets": [{"name": "d", "split": "test", "n": 4}],
                                                   "metrics": {}}))
    analyze_run(tmp_path, **FAST)
    corr = pd.read_csv(tmp_path / "analysis" / "correlations.csv")
    assert list(corr["metric"]) == ["index", "level_0"] and list(corr["n"]) == [4, 4]


# ---------------------------------------------------------------------------------------------------------
# _fragment with hand-built inputs


def _column():
    rows = [{"metric": m, "estimate": e, "ci_low": e - 0.1, "ci_high": e + 0.1, "n_skipped": 0,
             "_level": lv, "_method": "pearson"} for lv in ("global", "partial") for m, e in (("m1", 0.5), ("m2", 0.3))]
    return Column("d", "l", "continuous", 4, 2, rows=rows)


def test_fragment_without_columns_groups_or_detection():
    """Nothing to correlate: the heading, the sentence saying so and the closing sentence (all by hand)."""
    got = _fragment([], ["m1"], pd.DataFrame(), pd.DataFrame(), [], Settings())
    assert got == ("### Agreement with human judgments\n"
                   "\n"
                   "No dataset in this run has human labels and scores to correlate.\n"
                   "\n"
                   + TAIL.format(""))


def test_fragment_with_groups_headline_tables_in_headline_order_and_detection():
    """The headline tables asked for, in HEADLINE's order (global Pearson before partial Pearson although the
    settings list them the other way round); system-level Pearson is not a headline table and summary-level
    Kendall was not asked for. The tables' text: assembly consistency with the table functions."""
    settings = Settings(combos=(("partial", "pearson"), ("system", "pearson"), ("global", "pearson")),
                        by="origin", bootstrap=20, permutations=0, excluded="rouge left out of 3 records")
    cols = [_column()]
    groups = [{"dataset": "d", "by": "origin", "group": "all", "n": 4, "n_docs": 2, "n_systems": 2, "n_val": 2,
               "n_test": 2, "notes": []}]
    detection = pd.DataFrame([
        {"dataset": "d", "label": "l", "by": "origin", "group": "all", "metric": m, "note": "",
         "test_balanced_accuracy": b, "bacc_ci_low": b - 0.1, "bacc_ci_high": b + 0.1, "test_auc": b,
         "auc_ci_low": b - 0.1, "auc_ci_high": b + 0.1, "n_test": 2, "protocol": "p", "interval": "iv"}
        for m, b in (("m1", 0.75), ("m2", 0.5))])
    pairs = pd.DataFrame([{"dataset": "d", "label": "l", "by": "origin", "group": "all", "metric_a": "m1",
                           "metric_b": "m2", "p_bacc": 0.01, "p_auc": 0.01}])
    got = _fragment(cols, ["m1", "m2"], detection, pairs, groups, settings)
    expected = "\n".join([
        "### Agreement with human judgments", "",
        groups_markdown(groups, settings),
        comparison_markdown(cols, ["m1", "m2"], "global", "pearson", settings),
        comparison_markdown(cols, ["m1", "m2"], "partial", "pearson", settings),
        detection_markdown(detection, pairs, settings),
        TAIL.format(", group_sizes.csv"),
    ])
    assert got == expected
    assert got.startswith("### Agreement with human judgments\n\n#### Groups by `origin`\n")
    assert "No dataset" not in got
    assert got.index("#### Pearson, global") < got.index("#### Pearson, partial")
    assert "#### Pearson, system" not in got and "Kendall" not in got
    # the detection tables get the pairs (m2 is worse than the best, m1, at p = 0.01 < 0.05: §) and the settings
    # (the thresholds of the origin groups, the excluded records)
    assert "| m2 | 0.500 [0.400, 0.600]§ |" in got
    assert "thresholds tuned on the validation cut of each origin group separately" in got
    assert "Rouge left out of 3 records." in got


# ---------------------------------------------------------------------------------------------------------
# read_run


def test_read_run_errors(tmp_path):
    with pytest.raises(RunError, match="not a run directory"):
        read_run(tmp_path / "nowhere")
    run = tmp_path / "run"
    run.mkdir()
    (run / "scores.csv").write_text("dataset,split,example_id,doc_id,system,m\n")
    with pytest.raises(RunError, match=r"run\.json: missing; is .* a factbench run directory\?"):
        read_run(run)
    (run / "scores.csv").unlink()
    (run / "run.json").write_text(json.dumps({"datasets": [], "metrics": {}}))
    with pytest.raises(RunError, match=r"scores\.csv: missing"):
        read_run(run)
    # run.json names the score columns of each metric: one that scores.csv lacks is an error
    (run / "scores.csv").write_text("dataset,split,example_id,doc_id,system,m\nd,test,e0,e0,A,0.5\n")
    (run / "run.json").write_text(json.dumps({"datasets": [], "metrics": {"x": {"score_names": ["m", "m_f1"]}}}))
    with pytest.raises(DataError, match="missing column.*m_f1"):
        read_run(run)


def test_read_run_splits_labels_and_metrics(tmp_path):
    (tmp_path / "scores.csv").write_text("dataset,split,example_id,doc_id,system,m1,label:h,m2\n"
                                         "d,test,e0,e0,A,0.5,1,\n"
                                         "d,test,e1,e1,A,0.25,,2\n")
    (tmp_path / "run.json").write_text(json.dumps({"datasets": [{"name": "d", "split": "test", "n": 2}],
                                                   "metrics": {"x": {"score_names": ["m1"]}, "y": {}}}))
    scores, meta, metrics, labels = read_run(tmp_path)
    assert metrics == ["m1", "m2"] and labels == ["label:h"]
    assert meta["metrics"]["x"] == {"score_names": ["m1"]}
    assert list(scores["example_id"]) == ["e0", "e1"]
    assert list(scores["m1"]) == [0.5, 0.25]
    assert scores["label:h"].iloc[0] == 1.0 and math.isnan(scores["label:h"].iloc[1])
    assert math.isnan(scores["m2"].iloc[0]) and scores["m2"].iloc[1] == 2.0
    assert all(scores[c].dtype == float for c in ("m1", "m2", "label:h"))


# ---------------------------------------------------------------------------------------------------------
# Settings.check


@pytest.mark.parametrize("kw, message", [
    ({"bootstrap": 0}, "--bootstrap must be an integer >= 1; got 0"),
    ({"permutations": -1}, "number of permutations must be an integer >= 0; got -1"),
    ({"resample": "docs"}, "--resample must be one of inputs, systems, both; got 'docs'"),
    ({"kendall": "a"}, "--kendall must be one of b, c; got 'a'"),
    ({"tune_on": "dev2"}, "tune_on must be 'val'; got 'dev2'"),
    ({"tune_on": "test"}, "tuning the detection threshold on the test cut is not allowed"),
    ({"thresholds": "each"}, "--thresholds must be one of per-group, global; got 'each'"),
    ({"combos": (("global", "pearson"), ("doc", "pearson"))},
     "--level must be one of summary, system, global, partial; got 'doc'"),
    ({"combos": (("global", "pearson"), ("global", "cosine"))},
     "--method must be one of pearson, spearman, kendall; got 'cosine'"),
    ({"seed": 1.5}, "--seed must be an integer; got 1.5"),
])
def test_settings_check_refuses(kw, message):
    with pytest.raises(ConfigError) as exc:
        Settings(**kw).check()
    assert str(exc.value).startswith(message)


def test_settings_check_accepts_the_edges():
    """permutations=0 (no permutation test), bootstrap=1, every level and method, the other units and variant."""
    Settings(bootstrap=1, permutations=0, resample="both", kendall="c", thresholds="global",
             combos=tuple((lv, m) for lv in ("summary", "system", "global", "partial")
                          for m in ("pearson", "spearman", "kendall"))).check()
