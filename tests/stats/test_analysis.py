"""analyze_run and `factbench analyze` on a small run directory built here (scores.csv + run.json)."""

import csv
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from factbench.errors import ConfigError, RunError
from factbench.report.analysis import analyze_run
from factbench.stats import correlate, evaluate_detection


def _write_run(path, seed=0):
    """toy-a: 24 documents x 3 systems, a continuous and a binary label, val and test cuts.
    toy-b: 30 documents x 1 system (like QAGS-C): summary and system level are undefined there."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(24):
        for s in ("A", "B", "C"):
            human = float(rng.integers(0, 4)) / 3
            good = human + rng.normal(scale=0.3)
            bad = human + rng.normal(scale=1.5)
            rows.append(["toy-a", "val" if d < 12 else "test", f"a{d}{s}", f"a{d}", s, human, int(human == 1.0),
                         good, bad, "" if d == 3 else good * 0.5 + rng.normal(scale=0.2)])
    for d in range(30):
        human = float(rng.random())
        rows.append(["toy-b", "test", f"b{d}", f"b{d}", "X", human, "", human + rng.normal(scale=0.3),
                     rng.normal(), rng.normal()])
    with open(path / "scores.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "split", "example_id", "doc_id", "system", "label:human", "label:consistent",
                    "good", "bad", "partly_missing"])
        w.writerows(rows)
    scales = {"human": {"low": 0, "high": 1, "kind": "continuous", "description": "mean vote"},
              "consistent": {"low": 0, "high": 1, "kind": "binary", "description": "human == 1"}}
    meta = {"datasets": [{"name": "toy-a", "split": "val", "n": 36, "label_scales": scales},
                         {"name": "toy-a", "split": "test", "n": 36, "label_scales": scales},
                         {"name": "toy-b", "split": "test", "n": 30, "label_scales": {"human": scales["human"]}}],
            "metrics": {}}
    (path / "run.json").write_text(json.dumps(meta))
    return pd.read_csv(path / "scores.csv", dtype={"doc_id": str})


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    scores = _write_run(run)
    fragment = analyze_run(run, bootstrap=200, permutations=100, seed=0)
    return run, scores, fragment


def test_correlations_match_direct_computation(analysed):
    run, scores, _ = analysed
    table = pd.read_csv(run / "analysis" / "correlations.csv")
    a = scores[scores.dataset == "toy-a"]
    keep = a["partly_missing"].notna()
    row = table[(table.dataset == "toy-a") & (table.label == "human") & (table.metric == "partly_missing")
                & (table.level == "global") & (table.method == "Pearson")].iloc[0]
    # Missing scores drop their rows (document a3 has none): 72 - 3 = 69.
    assert row.n == 69
    assert row.estimate == pytest.approx(stats.pearsonr(a.partly_missing[keep], a["label:human"][keep]).statistic)
    assert row.ci_low < row.estimate < row.ci_high
    assert row.fisher_low < row.estimate < row.fisher_high
    assert row.protocol == "Pearson, global; 95% CI: percentile bootstrap over inputs, 200 resamples, seed 0"
    summ = table[(table.dataset == "toy-a") & (table.label == "human") & (table.metric == "good")
                 & (table.level == "summary") & (table.method == "Kendall tau-b")].iloc[0]
    direct = correlate(a.good, a["label:human"], docs=a.doc_id, systems=a.system, level="summary",
                       method="kendall")
    assert summ.estimate == pytest.approx(direct.value)
    assert summ.n_skipped == direct.n_skipped > 0  # some documents have a constant human vector
    # Kendall at the global level is not a default combination (cost); partial Pearson is.
    assert not ((table.level == "global") & (table.method == "Kendall tau-b")).any()
    assert ((table.level == "partial") & (table.method == "Pearson")).any()


def test_single_system_dataset_has_no_summary_or_system_correlation(analysed):
    run, _, _ = analysed
    table = pd.read_csv(run / "analysis" / "correlations.csv")
    b = table[table.dataset == "toy-b"]
    assert b[b.level.isin(["summary", "system"])].estimate.isna().all()
    assert b[b.level == "global"].estimate.notna().all()


def test_comparison_table_states_protocol_and_marks_the_worse_metric(analysed):
    run, _, fragment = analysed
    md = (run / "analysis" / "comparison.md").read_text()
    assert "Protocol: Kendall tau-b, summary-level; 95% CI: percentile bootstrap over inputs, 200 resamples, " \
           "seed 0" in md
    comp = pd.read_csv(run / "analysis" / "comparison.csv")
    glob = comp[(comp.level == "global") & (comp.method == "Pearson") & (comp.dataset == "toy-a")
                & (comp.label == "human")].set_index("metric")
    assert bool(glob.loc["good", "best"])
    # "bad" has 5x the noise of "good": every test applied to global Pearson finds it worse.
    assert glob.loc["bad", "marker"] == "†‡§"
    pairs = pd.read_csv(run / "analysis" / "pairwise.csv")
    p = pairs[(pairs.dataset == "toy-a") & (pairs.label == "human") & (pairs.level == "global")
              & (pairs.method == "Pearson") & (pairs.metric_a == "good") & (pairs.metric_b == "bad")].iloc[0]
    assert p.p_williams < 0.05 and p.p_permutation < 0.05 and p.p_bootstrap < 0.05
    assert "| good |" in fragment and "Pearson, global" in fragment


def test_detection_tunes_on_val_only(analysed):
    run, scores, _ = analysed
    det = pd.read_csv(run / "analysis" / "detection.csv")
    assert set(det.dataset) == {"toy-a"}  # toy-b has neither a binary label nor a val cut
    a = scores[scores.dataset == "toy-a"]
    direct = evaluate_detection(a.good, a["label:consistent"], a.split)
    row = det[det.metric == "good"].iloc[0]
    assert row.threshold == pytest.approx(direct.threshold)
    assert row.test_balanced_accuracy == pytest.approx(direct.test_balanced_accuracy)
    assert row.test_auc == pytest.approx(direct.test_auc)
    assert "Binary detection" in (run / "analysis" / "detection.md").read_text()


def test_plots_written(analysed):
    run, _, _ = analysed
    names = {p.name for p in (run / "analysis").glob("*.png")}
    assert {"scatter_toy-a_human.png", "heatmap_global_pearson.png", "roc_toy-a_consistent.png"} <= names
    assert all((run / "analysis" / n).stat().st_size > 1000 for n in names)


def test_same_seed_same_numbers(tmp_path, analysed):
    run, _, _ = analysed
    _write_run(tmp_path)
    analyze_run(tmp_path, bootstrap=200, permutations=100, seed=0, plots=False)
    pd.testing.assert_frame_equal(pd.read_csv(run / "analysis" / "correlations.csv"),
                                  pd.read_csv(tmp_path / "analysis" / "correlations.csv"))


def test_tuning_on_test_and_missing_files_are_errors(tmp_path):
    with pytest.raises(RunError, match="run.json: missing"):
        analyze_run(tmp_path)
    _write_run(tmp_path)
    with pytest.raises(ConfigError, match="test cut is not allowed"):
        analyze_run(tmp_path, tune_on="test")


def test_cli(tmp_path):
    from factbench.cli import main

    _write_run(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["analyze", str(tmp_path), "--bootstrap", "50", "--permutations", "20",
                               "--seed", "3", "--resample", "both", "--kendall", "c", "--level", "summary",
                               "--no-plots"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "analysis" / "correlations.csv")
    assert set(table.level) == {"summary"} and "Kendall tau-c" in set(table.method)
    assert table.protocol.str.contains("bootstrap over both, 50 resamples, seed 3").all()
    bad = runner.invoke(main, ["analyze", str(tmp_path), "--tune-on", "test"])
    assert bad.exit_code == 2 and "test cut is not allowed" in bad.output
