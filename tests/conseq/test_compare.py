"""``factbench compare`` statistics against scipy and hand-computed values (correctness), and the bootstrap
against a naive loop over the same documented draws (consistency)."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from factbench.conseq.compare import (compare_pair, compare_run, human_shares, metric_agreement, oriented,
                                      paired_bootstrap, paired_permutation, read_human, system_pairs)
from factbench import rundir
from factbench.errors import ConfigError, DataError


def test_exact_permutation_p_equals_scipys():
    rng = np.random.default_rng(3)
    for n in (5, 8, 11):
        x, y = rng.normal(size=n), rng.normal(size=n) + 0.4
        ref = stats.permutation_test((x, y), lambda a, b, axis: np.mean(a - b, axis=axis), permutation_type="samples",
                                     n_resamples=10**6, vectorized=True).pvalue
        assert paired_permutation(x - y, n_permutations=10000) == pytest.approx(ref, rel=1e-12)


def test_permutation_hand_computed():
    # d = (1, 2, 3): of the 8 sign patterns only (+,+,+) and (-,-,-) reach |mean| = 2 -> 2 / 8
    assert paired_permutation([1.0, 2.0, 3.0]) == 0.25
    # d = (1, -1): every pattern has |mean| >= 0 -> 1
    assert paired_permutation([1.0, -1.0]) == 1.0
    # randomised path (2^20 > 999): close to the exact value of a strong effect, (1 + count) / 1000 >= 1/1000
    p = paired_permutation(np.full(20, 0.5), n_permutations=999, seed=1)
    assert p == pytest.approx(1 / 1000)


def test_bootstrap_interval_equals_a_naive_loop_over_the_same_draws():
    """Consistency: resample_weights draws rng.integers(0, n_docs, (B, n_docs)) over the sorted document ids."""
    rng = np.random.default_rng(0)
    d = rng.normal(size=12)
    docs = [f"doc{i:02d}" for i in range(12)]
    low, high = paired_bootstrap(d, n_resamples=500, seed=7, docs=docs)
    draws = np.random.default_rng(7).integers(0, 12, size=(500, 12))
    means = np.array([d[idx].mean() for idx in draws])
    assert (low, high) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])), rel=1e-12)


def test_compare_pair_means_and_win_tie_loss_hand_computed():
    x = [0.5, 0.4, 0.3, 0.2]
    y = [0.1, 0.4, 0.5, 0.0]
    res = compare_pair(x, y, n_resamples=200)
    # differences 0.4, 0, -0.2, 0.2: mean 0.1; two wins, one tie, one loss
    assert (res.n, res.wins, res.ties, res.losses) == (4, 2, 1, 1)
    assert res.mean_x == pytest.approx(0.35) and res.mean_y == pytest.approx(0.25)
    assert res.difference == pytest.approx(0.1) and res.low <= 0.1 <= res.high
    # exact over 16 patterns: |mean| >= 0.1 for sums of (+-0.4, +-0.2, +-0.2) with |sum| >= 0.4: 12 of 16
    assert res.p_value == pytest.approx(12 / 16)


def test_human_shares_wilson_and_sign_test_hand_computed():
    rows = [{"outcome": o} for o in ["better"] * 8 + ["worse"] * 2 + ["equal"] * 2]
    res = human_shares(rows)
    assert res["n"] == 12 and res["better"] == pytest.approx(8 / 12)
    # sign test: 8 of 10 decided, two-sided: 2 * (C(10,8) + C(10,9) + C(10,10)) / 2^10 = 112 / 1024
    assert res["sign_test_p"] == pytest.approx(112 / 1024)
    # Wilson 95 %: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), p = 8/12, n = 12
    z, p, n = stats.norm.ppf(0.975), 8 / 12, 12
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert res["better_low"] == pytest.approx((centre - half) / (1 + z * z / n), rel=1e-9)
    assert res["better_high"] == pytest.approx((centre + half) / (1 + z * z / n), rel=1e-9)


def test_orientation_and_metric_agreement_hand_worked():
    rows = [
        {"doc_id": "d1", "system_a": "mle", "system_b": "conseq", "attribute": "factual", "preference": "b"},
        {"doc_id": "d2", "system_a": "conseq", "system_b": "mle", "attribute": "factual", "preference": "b"},
        {"doc_id": "d3", "system_a": "mle", "system_b": "conseq", "attribute": "factual", "preference": "equal"},
        {"doc_id": "d4", "system_a": "conseq", "system_b": "mle", "attribute": "factual", "preference": "a"},
        {"doc_id": "d1", "system_a": "x", "system_b": "mle", "attribute": "factual", "preference": "a"},
    ]
    o = oriented(rows, "conseq", "mle")
    assert [r["outcome"] for r in o] == ["better", "worse", "equal", "better"]
    scores = {"conseq": pd.Series({"d1": 0.9, "d2": 0.9, "d3": 0.1, "d4": 0.5}),
              "mle": pd.Series({"d1": 0.1, "d2": 0.2, "d3": 0.1, "d4": 0.5})}
    # d1: metric conseq, annotator conseq -> agree; d2: metric conseq, annotator mle -> disagree; d3: equal, left
    # out; d4: metric tie
    assert metric_agreement(o, scores, "conseq", "mle") == {"n": 3, "agree": 1, "disagree": 1, "metric_ties": 1,
                                                            "agreement": 0.5}


def test_system_pairs_compare_each_later_system_with_each_earlier():
    assert system_pairs(["a", "b", "c"]) == [("b", "a"), ("c", "a"), ("c", "b")]


def test_compare_run_writes_tables_and_refuses_unknown_systems(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rows = []
    for i, (a, b) in enumerate([(0.1, 0.3), (0.2, 0.2), (0.4, 0.7), (0.3, 0.5)]):
        rows += [{"dataset": "x", "split": "all", "example_id": f"d{i}:mle", "doc_id": f"d{i}", "system": "mle", "rouge1": a},
                 {"dataset": "x", "split": "all", "example_id": f"d{i}:cs", "doc_id": f"d{i}", "system": "conseq",
                  "rouge1": b}]
    pd.DataFrame(rows).to_csv(run / "scores.csv", index=False)
    (run / "run.json").write_text(json.dumps({"metrics": {"rouge": {"score_names": ["rouge1"], "profile": None}},
                                              "datasets": [], "files": rundir.fingerprints(run)}))
    human = tmp_path / "human.csv"
    human.write_text("doc_id,system_a,system_b,attribute,preference\nd0,mle,conseq,factual,b\nd1,conseq,mle,factual,equal\n"
                     "d2,conseq,mle,factual,a\n")
    md = compare_run(run, ["mle", "conseq"], human=human, n_resamples=100)
    table = pd.read_csv(run / "compare" / "compare.csv")
    assert table.loc[0, "difference"] == pytest.approx(0.175)  # (0.2 + 0 + 0.3 + 0.2) / 4
    assert (table.loc[0, "wins"], table.loc[0, "ties"], table.loc[0, "losses"]) == (3, 1, 0)
    human_table = pd.read_csv(run / "compare" / "human.csv")
    assert human_table.loc[0, "better_count"] == 2 and human_table.loc[0, "equal_count"] == 1
    agreement = pd.read_csv(run / "compare" / "agreement.csv")
    assert agreement.loc[0, "agree"] == 2  # d0 and d2: ROUGE also prefers conseq
    assert "| rouge1 | conseq | mle | 4 |" in md.read_text() and (run / "compare" / "compare.png").stat().st_size > 0
    with pytest.raises(ConfigError, match="not in .*systems: conseq, mle"):
        compare_run(run, ["mle", "beam"])
    bad = tmp_path / "bad.csv"
    bad.write_text("doc_id,system_a,system_b,attribute,preference\nd0,mle,conseq,factual,maybe\n")
    with pytest.raises(DataError, match="line 2: preference 'maybe'"):
        read_human(bad)
