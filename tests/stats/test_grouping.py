"""Analysis by subgroup (`--by FIELD`) on a small run directory built here (scores.csv, run.json, groups.csv):
group estimates against scipy on the group's rows, the whole-dataset rows unchanged by grouping (consistency),
small groups reported, detection thresholds per group or once for all, intervals and paired tests per group."""

import csv
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from factbench import rundir
from factbench.cli import main
from factbench.errors import ConfigError
from factbench.report.analysis import analyze_run
from factbench.stats.detection import detection_bootstrap, tune_threshold

KW = dict(bootstrap=200, permutations=50, seed=0)


def _write_run(path, seed=0):
    """toy: 40 documents x systems A, B; documents 0-19 from origin "cnn", 20-39 from "bbc", document 40 (2
    summaries) from "rare"; even documents val, odd test. A continuous label, a binary one, two metrics."""
    rng = np.random.default_rng(seed)
    rows, groups = [], []
    for d in range(41):
        origin = "cnn" if d < 20 else "bbc" if d < 40 else "rare"
        for s in ("A", "B"):
            human = float(rng.integers(0, 4)) / 3
            good = human + rng.normal(scale=0.3) + (0.5 if origin == "bbc" else 0.0)
            bad = human + rng.normal(scale=1.5)
            rows.append(["toy", "val" if d % 2 == 0 else "test", f"{d}{s}", f"d{d}", s, human, int(human >= 0.5),
                         good, bad])
            groups.append(["toy", f"{d}{s}", origin, "long annotator note, not a group"])
    with open(path / "scores.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "split", "example_id", "doc_id", "system", "label:human", "label:consistent",
                    "good", "bad"])
        w.writerows(rows)
    with open(path / "groups.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "example_id", "origin", "note"])
        w.writerows(groups)
    scales = {"human": {"low": 0, "high": 1, "kind": "continuous", "description": "mean vote"},
              "consistent": {"low": 0, "high": 1, "kind": "binary", "description": "human >= 0.5"}}
    (path / "run.json").write_text(json.dumps({"datasets": [{"name": "toy", "label_scales": scales}],
                                               "metrics": {}, "files": rundir.fingerprints(path)}))
    frame = pd.read_csv(path / "scores.csv", dtype={"doc_id": str, "example_id": str})
    return frame.assign(origin=[g[2] for g in groups])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    plain, grouped, global_ = (tmp_path_factory.mktemp(n) for n in ("plain", "grouped", "global"))
    scores = _write_run(plain)
    for path in (grouped, global_):
        _write_run(path)
    analyze_run(plain, **KW)
    analyze_run(grouped, by="origin", **KW)
    analyze_run(global_, by="origin", thresholds="global", plots=False, **KW)
    return scores, plain, grouped, global_


def _read(run, name):
    return pd.read_csv(run / "analysis" / f"{name}.csv", keep_default_na=False, na_values=[""])


def test_group_estimates_equal_scipy_on_the_group_rows(runs):
    scores, _, grouped, _ = runs
    table = _read(grouped, "correlations")
    for origin in ("cnn", "bbc"):
        part = scores[scores.origin == origin]
        row = table[(table.group == origin) & (table.label == "human") & (table.metric == "good")
                    & (table.level == "global") & (table.method == "Pearson")].iloc[0]
        assert row.by == "origin" and row.n == len(part) == 40
        assert row.estimate == pytest.approx(stats.pearsonr(part.good, part["label:human"]).statistic, abs=1e-12)
        # Partial: scipy on the residuals from each system's mean within the group (FRANK's method).
        resid = lambda v: v - part.groupby("system")[v.name].transform("mean")  # noqa: E731
        row = table[(table.group == origin) & (table.label == "human") & (table.metric == "good")
                    & (table.level == "partial") & (table.method == "Pearson")].iloc[0]
        # (1e-9: factbench rounds residuals to 10 decimals so that tied values stay tied; see TIE_DECIMALS)
        assert row.estimate == pytest.approx(stats.pearsonr(resid(part.good), resid(part["label:human"])).statistic,
                                             abs=1e-9)
    # The groups really differ: "good" is shifted by 0.5 on bbc, which lowers the global correlation of "all".
    all_r = table[(table.group == "all") & (table.label == "human") & (table.metric == "good")
                  & (table.level == "global") & (table.method == "Pearson")].estimate.iloc[0]
    assert all_r < min(table[(table.group.isin(["cnn", "bbc"])) & (table.label == "human") & (table.metric == "good")
                             & (table.level == "global") & (table.method == "Pearson")].estimate)


def test_whole_dataset_rows_are_unchanged_by_grouping(runs):
    """Consistency (factbench with and without --by): group "all" holds exactly the ungrouped results, and the
    ungrouped tables have no by/group columns."""
    _, plain, grouped, _ = runs
    for name, keys in (("correlations", ["label", "metric", "level", "method"]),
                       ("detection", ["label", "metric"]),
                       ("detection_pairwise", ["label", "metric_a", "metric_b"])):
        a = _read(plain, name)
        b = _read(grouped, name)
        assert "group" not in a.columns and "by" not in a.columns
        b = b[b.group == "all"].drop(columns=["by", "group"])
        b["protocol"] = b["protocol"].str.split("; thresholds tuned").str[0]
        merged = a.merge(b, on=keys, suffixes=("", "_g"))
        assert len(merged) == len(a) > 0
        for col in a.columns.difference(keys):
            pd.testing.assert_series_equal(merged[col], merged[col + "_g"], check_names=False, check_dtype=False)


def test_small_group_is_reported_not_dropped(runs):
    _, _, grouped, _ = runs
    sizes = _read(grouped, "group_sizes").set_index("group")
    assert sizes.loc[["all", "bbc", "cnn", "rare"], "n"].tolist() == [82, 40, 40, 2]
    assert "label human: 2 labelled summaries (fewer than 3): no correlations" in sizes.loc["rare", "notes"]
    # Two systems per group: the system-level correlation exists but is ±1 whatever the metric; said so.
    assert sizes.loc["cnn", "notes"] == "two systems: a system-level correlation is ±1 by construction"
    md = (grouped / "analysis" / "analysis.md").read_text()
    assert "| toy | rare | 2 | 1 | 2 | 2 | 0 |" in md
    detection = _read(grouped, "detection")
    rare = detection[detection.group == "rare"]
    assert len(rare) == 2 and rare.note.str.contains("validation and a test cut").all()
    assert "toy (consistent) origin=rare: no detection result for good, bad" in md


def test_groups_side_by_side_in_markdown(runs):
    _, _, grouped, _ = runs
    md = (grouped / "analysis" / "comparison.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| metric |"))
    assert header == ("| metric | toy (human) origin=all (n=82) | toy (human) origin=bbc (n=40) | "
                      "toy (human) origin=cnn (n=40) | toy (consistent) origin=all (n=82) | "
                      "toy (consistent) origin=bbc (n=40) | toy (consistent) origin=cnn (n=40) |")
    det = (grouped / "analysis" / "detection.md").read_text()
    assert "| metric | toy (consistent) origin=all (n=40) | toy (consistent) origin=bbc (n=20) | " in det
    for name in ("heatmap_partial_pearson", "roc_toy_consistent", "detection_toy_consistent", "scatter_toy_human"):
        assert (grouped / "analysis" / f"{name}.png").stat().st_size > 0


def test_thresholds_per_group_or_global(runs):
    scores, _, grouped, global_ = runs
    per, once = _read(grouped, "detection"), _read(global_, "detection")
    val = scores[scores.split == "val"]
    for origin in ("cnn", "bbc"):
        v = val[val.origin == origin]
        expected, _ = tune_threshold(v.good, v["label:consistent"])
        row = per[(per.group == origin) & (per.metric == "good")].iloc[0]
        assert row.threshold == pytest.approx(expected)
        assert "each origin group separately" in row.protocol
        row = once[(once.group == origin) & (once.metric == "good")].iloc[0]
        assert row.threshold == once[(once.group == "all") & (once.metric == "good")].threshold.iloc[0]
        assert "tuned on the whole dataset's validation cut, applied to every origin group" in row.protocol
    # Tuned per group, the bbc threshold follows bbc's shifted scores; tuned once, it cannot.
    assert per[(per.group == "bbc") & (per.metric == "good")].threshold.iloc[0] != \
        once[(once.group == "bbc") & (once.metric == "good")].threshold.iloc[0]


def test_group_detection_intervals_and_paired_tests(runs):
    scores, _, grouped, _ = runs
    det = _read(grouped, "detection")
    row = det[(det.group == "cnn") & (det.metric == "good")].iloc[0]
    test = scores[(scores.split == "test") & (scores.origin == "cnn")]
    iv = detection_bootstrap(test["label:consistent"], test.good, row.threshold, n_resamples=200, seed=0)
    assert (row.bacc_ci_low, row.bacc_ci_high, row.auc_ci_low, row.auc_ci_high) == pytest.approx(
        (iv.bacc_low, iv.bacc_high, iv.auc_low, iv.auc_high))
    assert row.bacc_ci_low <= row.test_balanced_accuracy <= row.bacc_ci_high
    assert "within class" in row.interval and "200 resamples, seed 0" in row.interval
    pairs = _read(grouped, "detection_pairwise")
    assert sorted(pairs.group.unique()) == ["all", "bbc", "cnn"]  # rare has no detection result to compare
    p = pairs[(pairs.group == "cnn")].iloc[0]
    assert (p.metric_a, p.metric_b, p.n_common) == ("good", "bad", 20)
    assert p.bacc_difference == pytest.approx(row.test_balanced_accuracy
                                              - det[(det.group == "cnn") & (det.metric == "bad")]
                                              .test_balanced_accuracy.iloc[0])


def test_cli_by_and_bad_field(runs, tmp_path):
    _write_run(tmp_path)
    result = CliRunner().invoke(main, ["analyze", str(tmp_path), "--by", "nope", "--bootstrap", "20",
                                       "--permutations", "0", "--no-plots"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--by nope: no such field" in lines[0] and "origin" in lines[0]
    result = CliRunner().invoke(main, ["analyze", str(tmp_path), "--by", "system", "--thresholds", "global",
                                       "--bootstrap", "20", "--permutations", "0", "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "group_sizes.csv" in result.output
    sizes = _read(tmp_path, "group_sizes")
    assert sizes.group.tolist() == ["all", "A", "B"]
    assert "one system: system-level and partial correlations undefined" in sizes.notes.iloc[1]


def test_run_refuses_an_unknown_group_field_before_scoring(tmp_path):
    from factbench.runner import RunConfig, run

    with pytest.raises(ConfigError, match="--by origin: no selected record has this field"):
        run(RunConfig(datasets=["sample"], metrics=["rouge"], out_dir=tmp_path / "r", use_cache=False,
                      progress=False, analysis={"by": "origin"}))
    assert not (tmp_path / "r").exists()


def test_run_passes_by_through_and_report_repeats_it(tmp_path):
    """`factbench run --by` analyses by group, stores the option in run.json and writes groups.csv (the records'
    meta fields); `factbench report` re-analyses with the stored option."""
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "--dataset", "sample", "--metrics", "rouge", "--out", str(out),
                                       "--quiet", "--no-cache", "--by", "error_type", "--thresholds", "global"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "run.json").read_text())
    assert meta["analysis"] == {"by": "error_type", "thresholds": "global"}
    assert "system" in meta["datasets"][0]["group_fields"]
    groups = pd.read_csv(out / "groups.csv")
    assert list(groups.columns) == ["dataset", "example_id", "error_type"] and len(groups) == 30
    summary = (out / "summary.md").read_text()
    assert "#### Groups by `error_type`" in summary and "groupable by (`--by FIELD`): `system`" in summary
    (out / "analysis" / "group_sizes.csv").unlink()
    assert CliRunner().invoke(main, ["report", str(out)]).exit_code == 0
    sizes = _read(out, "group_sizes")
    assert sizes.group.tolist() == ["all", "entity_swap", "negation", "none", "number_change", "unsupported_addition"]
    assert (_read(out, "detection").query("group != 'all'").protocol.str.contains("applied to every")).all()


def test_data_list_names_the_groupable_fields(data_dir):
    result = CliRunner().invoke(main, ["data", "list", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    # Counts: DATASETS.md §3.3 (FRANK 1250 CNN/DM + 996 XSum; CLIFF 300 + 300).
    assert "  frank: origin: cnndm 1250, xsum 996; system: 9 values" in result.output
    assert "  cliff: origin: cnndm 300, xsum 300; system: BART 300, Pegasus 300" in result.output


def test_wide_tables_one_column_per_group(runs):
    """comparison_wide.csv / detection_wide.csv hold the long tables' estimates, one column per group."""
    _, _, grouped, _ = runs
    wide = _read(grouped, "comparison_wide")
    long = _read(grouped, "correlations")
    assert list(wide.columns[:3]) == ["level", "method", "metric"]
    assert "toy (human) origin=bbc (n=40)" in wide.columns and "toy (consistent) origin=cnn (n=40)" in wide.columns
    row = wide[(wide.level == "partial") & (wide.method == "Pearson") & (wide.metric == "good")].iloc[0]
    expected = long[(long.level == "partial") & (long.method == "Pearson") & (long.metric == "good")
                    & (long.label == "human") & (long.group == "bbc")].estimate.iloc[0]
    assert row["toy (human) origin=bbc (n=40)"] == expected
    det = _read(grouped, "detection_wide")
    assert list(det.columns) == ["statistic", "metric", "toy (consistent) origin=all", "toy (consistent) origin=bbc",
                                 "toy (consistent) origin=cnn"]
    assert det.statistic.tolist() == ["balanced accuracy"] * 2 + ["ROC AUC"] * 2


def test_old_run_without_groups_file(tmp_path):
    """A run directory from before group support has no groups.csv: record fields still work, meta fields are
    refused with the reason."""
    _write_run(tmp_path)
    (tmp_path / "groups.csv").unlink()
    with pytest.raises(ConfigError, match="groups.csv is missing.*fields: split, doc_id, system$"):
        analyze_run(tmp_path, by="origin", bootstrap=20, permutations=0, plots=False)
    analyze_run(tmp_path, by="split", bootstrap=20, permutations=0, plots=False)
    assert _read(tmp_path, "group_sizes").group.tolist() == ["all", "test", "val"]
