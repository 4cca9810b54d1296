"""Tests written for mutants of ``_write``, ``wide_table`` and ``_clean`` (factbench/report/analysis.py) that
survived the mutation run of 2026-12-01 (docs/mutation.md): which files ``RUN_DIR/analysis/`` gets, under which
names, and what each holds.

``_write`` is given hand-built inputs (correlation and pairwise rows, a detection table, groups), so every
expected CSV cell below is one of those inputs or a hand-pivoted copy of them (correctness of the writing and
the pivots). The Markdown files are compared with the table functions' own output assembled as ``_write``
documents it (header, groups table, one table per (level, method); analysis.md = comparison tables + detection
tables): that part shows consistency of the assembly only; the tables' own text is pinned against hand-written
expectations in test_mutation_kills_analysis_tables.py.
"""

import os
import subprocess
import sys
import textwrap

import pandas as pd

from factbench.report.analysis import (Column, Settings, _write, comparison_markdown, detection_markdown,
                                       groups_markdown, wide_table)

NAN = float("nan")
COMBOS = (("global", "pearson"), ("system", "pearson"))
NO_DETECTION = "No binary label with both a validation and a test cut.\n"


def _row(metric, level, estimate):
    return {"dataset": "d", "label": "l", "metric": metric, "level": level, "method": "Pearson",
            "estimate": estimate, "ci_low": estimate - 0.1, "ci_high": estimate + 0.1, "n_skipped": 0,
            "_level": level, "_method": "pearson"}


def _pair(level, p):
    return {"dataset": "d", "label": "l", "level": level, "metric_a": "a", "metric_b": "b", "p_williams": p,
            "p_permutation": NAN, "p_bootstrap": p, "_level": level, "_method": "pearson"}


def _column():
    # global: a 0.5 beats b 0.25 (b marked at p 0.01); system: b 0.75 beats a 0.125 (p 0.5, no marker)
    rows = [_row("a", "global", 0.5), _row("b", "global", 0.25), _row("a", "system", 0.125),
            _row("b", "system", 0.75)]
    return Column("d", "l", "continuous", 4, 3, rows=rows, pairs=[_pair("global", 0.01), _pair("system", 0.5)])


def _detection(grouped):
    tag = {"by": "origin", "group": "all"} if grouped else {}
    base = {"dataset": "d", "label": "l", **tag, "threshold": 0.5, "n_test": 10, "interval": "percentile bootstrap",
            "bacc_ci_low": 0.1, "bacc_ci_high": 0.9, "auc_ci_low": 0.2, "auc_ci_high": 0.95}
    rows = [{**base, "metric": "a", "test_balanced_accuracy": 0.75, "test_auc": 0.875, "note": ""},
            {**base, "metric": "b", "test_balanced_accuracy": 0.5, "test_auc": 0.625, "note": ""},
            {"dataset": "d", "label": "l", **tag, "metric": "c", "note": "one class in val"}]
    pairs = [{"dataset": "d", "label": "l", **tag, "metric_a": "a", "metric_b": "b", "p_bacc": 0.01, "p_auc": 0.3}]
    return pd.DataFrame(rows), pd.DataFrame(pairs)


def _files(out):
    return sorted(p.name for p in out.iterdir())


def test_write_without_groups_or_detection(tmp_path):
    settings = Settings(combos=COMBOS, permutations=0, plots=False)
    (tmp_path / "group_sizes.csv").write_text("left by an earlier grouped analysis\n", encoding="utf-8")
    col = _column()
    _write(tmp_path, [col], ["a", "b"], pd.DataFrame(), pd.DataFrame(), [], settings)

    assert _files(tmp_path) == ["analysis.md", "comparison.csv", "comparison.md", "comparison_wide.csv",
                                "correlations.csv", "detection.csv", "detection.md", "detection_pairwise.csv",
                                "pairwise.csv"]
    # the rows as given, the private _level/_method keys dropped, no index column
    corr = pd.read_csv(tmp_path / "correlations.csv")
    assert list(corr.columns) == ["dataset", "label", "metric", "level", "method", "estimate", "ci_low", "ci_high",
                                  "n_skipped"]
    assert list(corr["estimate"]) == [0.5, 0.25, 0.125, 0.75]
    pairs = pd.read_csv(tmp_path / "pairwise.csv")
    assert list(pairs.columns) == ["dataset", "label", "level", "metric_a", "metric_b", "p_williams",
                                   "p_permutation", "p_bootstrap"]
    assert list(pairs["level"]) == ["global", "system"]
    # one comparison row per (level, method) x metric, both combinations, the best and its markers by hand
    comp = pd.read_csv(tmp_path / "comparison.csv", keep_default_na=False)
    assert list(comp.columns) == ["dataset", "label", "metric", "level", "method", "estimate", "ci_low", "ci_high",
                                  "n_skipped", "column", "best", "marker"]
    assert list(zip(comp["level"], comp["metric"], comp["best"], comp["marker"])) == [
        ("global", "a", True, ""), ("global", "b", False, "‡§"), ("system", "a", False, ""),
        ("system", "b", True, "")]
    # the wide table: one row per (level, method, metric), the column's estimate (pivot by hand)
    wide = pd.read_csv(tmp_path / "comparison_wide.csv")
    assert list(wide.columns) == ["level", "method", "metric", "d (l)"]
    assert wide.values.tolist() == [["global", "Pearson", "a", 0.5], ["global", "Pearson", "b", 0.25],
                                    ["system", "Pearson", "a", 0.125], ["system", "Pearson", "b", 0.75]]
    # empty detection: empty files, and the sentence in detection.md
    assert (tmp_path / "detection.csv").read_text(encoding="utf-8") == "\n"
    assert (tmp_path / "detection_pairwise.csv").read_text(encoding="utf-8") == "\n"
    assert (tmp_path / "detection.md").read_text(encoding="utf-8") == NO_DETECTION
    tables = ["# Comparison tables", ""] + [comparison_markdown([col], ["a", "b"], lv, m, settings) for lv, m in COMBOS]
    assert (tmp_path / "comparison.md").read_text(encoding="utf-8") == "\n".join(tables)
    # ‡ and § are not ASCII: the files are UTF-8 whatever the locale's encoding
    assert "‡§" in (tmp_path / "comparison.md").read_bytes().decode("utf-8")
    assert (tmp_path / "analysis.md").read_bytes().decode("utf-8") == "\n".join(tables) + "\n"


def test_write_with_groups_and_detection(tmp_path):
    settings = Settings(combos=COMBOS[:1], permutations=0, plots=False, by="origin",
                        excluded="self-references left out")
    groups = [{"dataset": "d", "by": "origin", "group": "all", "n": 8, "n_docs": 4, "n_systems": 2, "n_val": 4,
               "n_test": 4, "notes": ["first", "second"]},
              {"dataset": "d", "by": "origin", "group": "x", "n": 2, "n_docs": 2, "n_systems": 1, "n_val": 1,
               "n_test": 1, "notes": []}]
    detection, det_pairs = _detection(grouped=True)
    col = _column()
    _write(tmp_path, [col], ["a", "b"], detection, det_pairs, groups, settings)

    assert _files(tmp_path) == ["analysis.md", "comparison.csv", "comparison.md", "comparison_wide.csv",
                                "correlations.csv", "detection.csv", "detection.md", "detection_pairwise.csv",
                                "detection_wide.csv", "group_sizes.csv", "pairwise.csv"]
    sizes = pd.read_csv(tmp_path / "group_sizes.csv", keep_default_na=False)
    assert list(sizes.columns) == ["dataset", "by", "group", "n", "n_docs", "n_systems", "n_val", "n_test", "notes"]
    assert list(sizes["notes"]) == ["first; second", ""] and list(sizes["n"]) == [8, 2]
    # the detection tables as given, no index column
    assert list(pd.read_csv(tmp_path / "detection.csv").columns) == list(detection.columns)
    assert pd.read_csv(tmp_path / "detection.csv")["metric"].tolist() == ["a", "b", "c"]
    assert pd.read_csv(tmp_path / "detection_pairwise.csv").values.tolist() == det_pairs.values.tolist()
    # the wide detection table: rows with a result only (c has a note), statistic x metric, by hand
    wide = pd.read_csv(tmp_path / "detection_wide.csv")
    assert list(wide.columns) == ["statistic", "metric", "d (l) origin=all"]
    assert wide.values.tolist() == [["balanced accuracy", "a", 0.75], ["balanced accuracy", "b", 0.5],
                                    ["ROC AUC", "a", 0.875], ["ROC AUC", "b", 0.625]]
    det_md = detection_markdown(detection, det_pairs, settings)
    assert "origin" in det_md and "§" in det_md and "Self-references left out." in det_md  # the settings reached it
    assert (tmp_path / "detection.md").read_text(encoding="utf-8") == det_md
    tables = ["# Comparison tables", "", groups_markdown(groups, settings),
              comparison_markdown([col], ["a", "b"], "global", "pearson", settings)]
    assert (tmp_path / "comparison.md").read_text(encoding="utf-8") == "\n".join(tables)
    assert (tmp_path / "analysis.md").read_text(encoding="utf-8") == "\n".join(tables) + "\n" + det_md


def test_detection_without_auc_column_writes_no_wide_table(tmp_path):
    """A detection table of notes only (no metric could be evaluated) has no test_auc column: no wide table."""
    notes = pd.DataFrame([{"dataset": "d", "label": "l", "metric": "a", "note": "one class in val"}])
    _write(tmp_path, [], ["a"], notes, pd.DataFrame(), [], Settings(combos=COMBOS[:1], plots=False))
    assert "detection_wide.csv" not in _files(tmp_path)
    assert pd.read_csv(tmp_path / "detection.csv").values.tolist() == [["d", "l", "a", "one class in val"]]


def test_wide_table_keeps_the_first_seen_order_and_the_given_columns():
    rows = [{"k": "z", "column": "c2", "v": 1.0}, {"k": "a", "column": "c1", "v": 2.0},
            {"k": "z", "column": "c1", "v": 3.0}]
    # rows in first-seen order of k (z, a), columns in the order asked, a missing cell NaN
    wide = wide_table(rows, ["c1", "c2", "c3"], ["k"], "v")
    assert list(wide.columns) == ["k", "c1", "c2", "c3"]
    assert wide["k"].tolist() == ["z", "a"]
    assert wide[["c1", "c2"]].fillna(-1).values.tolist() == [[3.0, 1.0], [2.0, -1]]
    assert wide["c3"].isna().all()
    empty = wide_table([], ["c1"], ["k"], "v")
    assert list(empty.columns) == ["k", "c1"] and empty.empty


def test_markdown_files_are_utf8_under_an_ascii_locale(tmp_path):
    """The tables' markers (‡ §, –) are not ASCII: under a locale whose encoding cannot hold them (the C locale
    with Python's UTF-8 mode and locale coercion off, as on a Windows code page) the files are still written, in
    UTF-8."""
    script = textwrap.dedent(f"""
        import pandas as pd
        from factbench.report.analysis import Column, Settings, _write
        row = dict(dataset="d", label="l", metric="a", level="global", method="Pearson", estimate=0.5,
                   ci_low=0.4, ci_high=0.6, n_skipped=0, _level="global", _method="pearson")
        detection = pd.DataFrame([dict(dataset="d", label="l", metric="a", note="", test_balanced_accuracy=0.75,
                                       test_auc=0.875, bacc_ci_low=0.5, bacc_ci_high=1.0, auc_ci_low=0.5,
                                       auc_ci_high=1.0, n_test=4, interval="percentile")])
        _write(__import__("pathlib").Path({str(tmp_path)!r}), [Column("d", "l", "continuous", 3, 1, rows=[row])],
               ["a"], detection, pd.DataFrame(), [], Settings(combos=(("global", "pearson"),), plots=False))
    """)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("comparison.md", "detection.md", "analysis.md"):
        assert "§" in (tmp_path / name).read_bytes().decode("utf-8"), name
