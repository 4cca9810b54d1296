"""Acceptance: FRANK's official metric outputs analysed ``--by origin`` give, for CNN/DM and XSum separately (and
all data), the partial Pearson and Spearman of all 15 official metrics that FRANK's method gives.

Path under test: the FRANK loader (origin from the official ``dataset`` field, whose "bbc" is XSum) -> the
runner's groups.csv -> ``analyze_run(by="origin")`` -> analysis/correlations.csv.

Expected values: computed here from the two official files alone (human_annotations.json and
baseline_factuality_metrics_outputs.json, joined on hash + model_name) by a separate minimal numpy/scipy
script, FRANK's method (``evaluate.py``): within each origin, residualise the metric and ``Factuality`` on
one-hot(model_name) by least squares, then ``scipy.stats.pearsonr`` / ``spearmanr`` of the residuals; rows where
the metric is missing (FEQA, Dep Entail) are dropped first. No factbench statistics function is used for them.

The same figures rounded to two decimals, for comparison with FRANK Table 4 (Pagnoni et al. 2021; its CNN/DM and
XSum columns are not in ../shared/reference/DATASETS.md, and no copy of the paper is reachable from this
machine, so they are not asserted against it here) — partial Pearson, partial Spearman:

    metric            CNN/DM        XSum
    Rouge 1           0.12  0.10    0.15  0.09
    Rouge 2           0.08  0.07    0.17  0.14
    Rouge L           0.11  0.09    0.16  0.10
    Bleu              0.08  0.08    0.14  0.20
    Meteor            0.12  0.10    0.15  0.10
    BertScore P       0.14  0.13    0.18  0.10
    BertScore R       0.15  0.13    0.11  0.06
    BertScore F1      0.16  0.14    0.16  0.09
    BertScore P Art   0.35  0.29    0.18  0.09
    BertScore R Art   0.21  0.17    0.07  0.03
    BertScore F1 Art  0.32  0.26    0.15  0.06
    FEQA             -0.01 -0.01    0.02  0.07
    QAGS              0.13  0.09   -0.02  0.01
    Dep Entail        0.25  0.24    0.04  0.28
    FactCC            0.36  0.33    0.07  0.25

(``test_two_decimal_table_in_docstring`` keeps this table honest: it is the expected values rounded.)
"""

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from factbench.metrics.precomputed import SOURCES
from factbench.report.analysis import analyze_run

ORIGINS = {"cnndm": "cnndm", "xsum": "bbc"}  # group name in factbench -> value of FRANK's `dataset` field
METRICS = list(SOURCES["frank-official"].columns)  # the 15 official metric names -> factbench score columns


def frank_partial(human, outputs, metric, origin=None):
    """FRANK's partial correlation, independently: least-squares residuals on one-hot(system), then scipy."""
    rows = [r for r in human if origin is None or r["dataset"] == origin]
    x = np.array([outputs[(r["hash"], r["model_name"])][metric] for r in rows], dtype=float)
    y = np.array([r["Factuality"] for r in rows], dtype=float)
    systems = np.array([r["model_name"] for r in rows])
    keep = ~np.isnan(x)
    x, y, systems = x[keep], y[keep], systems[keep]
    onehot = (systems[:, None] == np.unique(systems)[None, :]).astype(float)
    rx = x - onehot @ np.linalg.lstsq(onehot, x, rcond=None)[0]
    ry = y - onehot @ np.linalg.lstsq(onehot, y, rcond=None)[0]
    return stats.pearsonr(rx, ry).statistic, stats.spearmanr(rx, ry).statistic, len(x)


@pytest.fixture(scope="module")
def official(data_dir):
    folder = data_dir / "frank"
    human = json.loads((folder / "human_annotations.json").read_text())
    outputs = {(r["hash"], r["model_name"]): r
               for r in json.loads((folder / "baseline_factuality_metrics_outputs.json").read_text())}
    return human, outputs


@pytest.fixture(scope="module")
def grouped(data_dir, tmp_path_factory, official):
    """A real run (loader, precomputed metric, groups.csv), analysed by origin: partial level only, few resamples
    and no permutations (the estimates do not depend on them), no plots; the run's own default report is skipped
    to keep the test to seconds."""
    import factbench.report as report
    from factbench.runner import RunConfig, run

    out = tmp_path_factory.mktemp("frank-by-origin") / "run"
    mp = pytest.MonkeyPatch()
    mp.setattr(report, "write_reports", lambda run_dir: None)
    try:
        run(RunConfig(datasets=["frank"], metrics=["precomputed:frank-official"], out_dir=out,
                      data_dir=str(data_dir), use_cache=False, progress=False))
    finally:
        mp.undo()
    analyze_run(out, by="origin", levels=["partial"], methods=["pearson", "spearman"], bootstrap=20,
                permutations=0, plots=False)
    table = pd.read_csv(out / "analysis" / "correlations.csv")
    return table[table["label"] == "Factuality"], out


@pytest.mark.parametrize("group", ["all", "cnndm", "xsum"])
def test_partial_correlations_per_origin_equal_frank_method(official, grouped, group):
    human, outputs = official
    table, _ = grouped
    for metric, column in SOURCES["frank-official"].columns.items():
        pearson, spearman, n = frank_partial(human, outputs, metric, None if group == "all" else ORIGINS[group])
        rows = table[(table["metric"] == column) & (table["group"] == group) & (table["by"] == "origin")]
        got = rows.set_index("method")
        assert got.loc["Pearson", "estimate"] == pytest.approx(pearson, abs=1e-9), (group, metric)
        assert got.loc["Spearman", "estimate"] == pytest.approx(spearman, abs=1e-9), (group, metric)
        assert got.loc["Pearson", "n"] == got.loc["Spearman", "n"] == n, (group, metric)


def test_groups_are_the_official_origins(grouped):
    _, out = grouped
    sizes = pd.read_csv(out / "analysis" / "group_sizes.csv").set_index("group")
    # DATASETS.md §3.3: 1250 CNN/DM and 996 XSum summaries; 5 and 4 systems (FRANK paper, Table 1).
    assert sizes.loc[["all", "cnndm", "xsum"], "n"].tolist() == [2246, 1250, 996]
    assert sizes.loc[["cnndm", "xsum"], "n_systems"].tolist() == [5, 4]


def test_two_decimal_table_in_docstring(official):
    human, outputs = official
    text = __doc__.split("XSum\n", 1)[1]
    for metric in METRICS:
        line = re.search(rf"^\s+{re.escape(metric)}\s+(-?\d\.\d\d)\s+(-?\d\.\d\d)\s+(-?\d\.\d\d)\s+(-?\d\.\d\d)$",
                         text, re.M)
        assert line, metric
        expected = [v for origin in ("cnndm", "bbc") for v in frank_partial(human, outputs, metric, origin)[:2]]
        assert [float(v) for v in line.groups()] == pytest.approx(np.round(expected, 2).tolist(), abs=1e-9), metric
