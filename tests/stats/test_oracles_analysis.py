"""analyze_run's tables against independent oracles: scipy's bootstrap and permutation test, the Fisher interval
and the Williams test at the partial level with the effective n written out here, Kendall tau-c from scipy.
These test that the analysis passes the right level, n, variant and alternative to the statistics (correctness:
the expected values never come from factbench)."""

import csv
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from factbench.report.analysis import analyze_run

N_IND = 12  # "ind": 12 documents x 1 system (independent summaries; 2^12 swap patterns for scipy's exact test)
SYSTEMS = "ABCDE"  # "sys": 15 documents x 5 systems
N_SYS_DOCS = 15
BOOT = 999
PERMS = 4000


def _scores():
    rng = np.random.default_rng(21)
    rows = []
    y = rng.normal(size=N_IND)
    a, b = y + 0.9 * rng.normal(size=N_IND), y + 1.3 * rng.normal(size=N_IND)
    for i in range(N_IND):
        rows.append(["ind", "test", f"i{i}", f"d{i:03d}", "X", y[i], a[i], b[i]])
    for d in range(N_SYS_DOCS):
        for k, s in enumerate(SYSTEMS):
            h = float(rng.integers(0, 4))  # discrete human score: ties, tau-b != tau-c
            rows.append(["sys", "test", f"s{d}{s}", f"e{d:03d}", s, h,
                         round(h / 3 + 0.2 * k + rng.normal(scale=0.4), 1),
                         round(h / 3 - 0.1 * k + rng.normal(scale=0.8), 1)])
    return pd.DataFrame(rows, columns=["dataset", "split", "example_id", "doc_id", "system", "label:human", "a",
                                       "b"])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("oracle_run")
    frame = _scores()
    frame.to_csv(path / "scores.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
    scale = {"human": {"low": 0, "high": 3, "kind": "continuous"}}
    (path / "run.json").write_text(json.dumps({"datasets": [{"name": n, "split": "test", "label_scales": scale}
                                                            for n in ("ind", "sys")], "metrics": {}}))
    analyze_run(path, bootstrap=BOOT, permutations=PERMS, seed=3, kendall="c", plots=False,
                levels=["global", "summary", "system", "partial"], methods=["pearson", "kendall"])
    corr = pd.read_csv(path / "analysis" / "correlations.csv")
    pairs = pd.read_csv(path / "analysis" / "pairwise.csv")
    return frame, corr, pairs


def _row(table, dataset, level, method, **kw):
    sel = (table.dataset == dataset) & (table.level == level) & (table.method == method)
    for k, v in kw.items():
        sel &= table[k] == v
    assert sel.sum() == 1, (dataset, level, method, kw)
    return table[sel].iloc[0]


def _residuals(frame, col):
    return (frame[col] - frame.groupby("system")[col].transform("mean")).to_numpy()


def _pearson(u, v, axis=-1):
    u = u - u.mean(axis, keepdims=True)
    v = v - v.mean(axis, keepdims=True)
    return (u * v).sum(axis) / np.sqrt((u * u).sum(axis) * (v * v).sum(axis))


def test_bootstrap_interval_in_the_tables_is_scipys_95_percent_percentile_interval(run):
    """One summary per document: the analysis' bootstrap over inputs (seed 3, 999 resamples) draws the same rows
    as scipy.stats.bootstrap with default_rng(3); the table must hold scipy's 95 % percentile interval."""
    frame, corr, _ = run
    ind = frame[frame.dataset == "ind"]
    row = _row(corr, "ind", "global", "Pearson", metric="a")
    ref = stats.bootstrap((ind["a"].to_numpy(), ind["label:human"].to_numpy()), _pearson, paired=True,
                          vectorized=True, n_resamples=BOOT, method="percentile", confidence_level=0.95,
                          rng=np.random.default_rng(3))
    assert (row.ci_low, row.ci_high) == pytest.approx(tuple(ref.confidence_interval), abs=1e-12)
    assert "95% CI: percentile bootstrap over inputs, 999 resamples, seed 3" in row.protocol


def test_permutation_p_value_in_the_tables_is_two_sided(run):
    """pairwise.csv's p_permutation (global Pearson, the best metric against the other) against scipy's exact
    two-sided paired permutation test on the z-scored scores; 4000 random patterns: Monte-Carlo standard error
    <= 0.008, tolerance 0.03. scipy's one-sided p differs from the two-sided one by more than 0.1 here."""
    frame, _, pairs = run
    ind = frame[frame.dataset == "ind"]
    y = ind["label:human"].to_numpy()
    za, zb = (stats.zscore(ind[c].to_numpy()) for c in ("a", "b"))

    def diff(u, v, axis=-1):
        return stats.pearsonr(u, y, axis=axis).statistic - stats.pearsonr(v, y, axis=axis).statistic

    ref = {alt: stats.permutation_test((za, zb), diff, permutation_type="samples", vectorized=True,
                                       n_resamples=np.inf, alternative=alt).pvalue for alt in ("two-sided", "greater")}
    assert abs(ref["two-sided"] - ref["greater"]) > 0.1
    row = _row(pairs, "ind", "global", "Pearson")
    assert row.p_permutation == pytest.approx(ref["two-sided"], abs=0.03)
    assert "two-sided" in row.protocol


def test_fisher_interval_at_the_partial_level_uses_n_minus_3_minus_systems_plus_1(run):
    """Partial Pearson controlling for 5 systems (4 dummies): r from residuals of each system's mean (numpy +
    scipy here), interval tanh(atanh r +- 1.96 / sqrt(75 - 3 - 4))."""
    frame, corr, _ = run
    sys_ = frame[frame.dataset == "sys"].reset_index(drop=True)
    for metric in ("a", "b"):
        r = stats.pearsonr(_residuals(sys_, metric), _residuals(sys_, "label:human")).statistic
        row = _row(corr, "sys", "partial", "Pearson", metric=metric)
        assert row.estimate == pytest.approx(r, abs=1e-12)
        half = stats.norm.ppf(0.975) / np.sqrt(len(sys_) - 3 - (len(SYSTEMS) - 1))
        assert (row.fisher_low, row.fisher_high) == pytest.approx((np.tanh(np.arctanh(r) - half),
                                                                   np.tanh(np.arctanh(r) + half)), abs=1e-12)
        glob = _row(corr, "sys", "global", "Pearson", metric=metric)  # no controls at the global level
        half = stats.norm.ppf(0.975) / np.sqrt(len(sys_) - 3)
        assert glob.fisher_high == pytest.approx(np.tanh(np.arctanh(glob.estimate) + half), abs=1e-12)


def test_williams_p_value_at_the_partial_level_uses_the_effective_n(run):
    """Williams test on the three partial correlations (residuals on the system means), n_eff = 75 - 4 = 71,
    68 df (Steiger 1980 eq. 7, written out here)."""
    frame, _, pairs = run
    sys_ = frame[frame.dataset == "sys"].reset_index(drop=True)
    ra, rb, ry = (_residuals(sys_, c) for c in ("a", "b", "label:human"))
    r12, r13, r23 = (stats.pearsonr(u, v).statistic for u, v in ((ra, ry), (rb, ry), (ra, rb)))
    n = len(sys_) - (len(SYSTEMS) - 1)
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    t = (r12 - r13) * np.sqrt((n - 1) * (1 + r23) / (2 * (n - 1) / (n - 3) * det + ((r12 + r13) / 2) ** 2
                                                     * (1 - r23) ** 3))
    row = _row(pairs, "sys", "partial", "Pearson")
    assert row.p_williams == pytest.approx(2 * stats.t.sf(abs(t), n - 3), rel=1e-9)
    # and at the global level no reduction: n = 75
    r12, r13, r23 = (stats.pearsonr(sys_[u], sys_[v]).statistic for u, v in (("a", "label:human"),
                                                                              ("b", "label:human"), ("a", "b")))
    n = len(sys_)
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    t = (r12 - r13) * np.sqrt((n - 1) * (1 + r23) / (2 * (n - 1) / (n - 3) * det + ((r12 + r13) / 2) ** 2
                                                     * (1 - r23) ** 3))
    assert _row(pairs, "sys", "global", "Pearson").p_williams == pytest.approx(2 * stats.t.sf(abs(t), n - 3),
                                                                              rel=1e-9)


@pytest.mark.parametrize("level", ["global", "summary", "system", "partial"])
def test_kendall_tau_c_in_the_tables_is_scipys_tau_c(run, level):
    frame, corr, _ = run
    sys_ = frame[frame.dataset == "sys"].reset_index(drop=True)
    x, y = sys_["a"].to_numpy(), sys_["label:human"].to_numpy()
    tau = lambda u, v, variant="c": stats.kendalltau(u, v, variant=variant).statistic  # noqa: E731
    if level == "global":
        expected, tau_b = tau(x, y), tau(x, y, "b")
    elif level == "system":
        g = sys_.groupby("system")[["a", "label:human"]].mean()
        expected, tau_b = tau(g["a"], g["label:human"]), tau(g["a"], g["label:human"], "b")
    elif level == "partial":
        u, v = np.round(_residuals(sys_, "a"), 10), np.round(_residuals(sys_, "label:human"), 10)
        expected, tau_b = tau(u, v), tau(u, v, "b")
    else:
        per = [(tau(g["a"], g["label:human"]), tau(g["a"], g["label:human"], "b"))
               for _, g in sys_.groupby("doc_id")]
        expected, tau_b = (np.nanmean([p[i] for p in per]) for i in (0, 1))
    row = _row(corr, "sys", level, "Kendall tau-c", metric="a")
    assert row.estimate == pytest.approx(expected, abs=1e-12)
    if level != "system":
        assert abs(expected - tau_b) > 1e-4  # tau-b would be a different number (the tolerance is 1e-12)
    assert "Kendall tau-c" in row.protocol and not (corr.method == "Kendall tau-b").any()
