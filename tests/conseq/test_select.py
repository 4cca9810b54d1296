"""Selection against cases worked by hand from the rules of the original ``evaluate_hypo.py``
(``select_unlikelihood_hypos_lm_score`` + ``make_unlikelihood_dataset``): ties, sentinels, ratios. Correctness."""

import json

import pandas as pd
import pytest

from factbench.conseq.select import (NO_SCORE, Document, keep_count, negative_rule, pick_negative, select_documents,
                                     select_run, target_rule)
from factbench import rundir
from factbench.errors import ConfigError, DataError, RunError


def test_negative_scan_keeps_the_first_of_equal_lowest_and_skips_unscored_samples():
    # strict '<' from the start value 1e5: sample 1 (-0.9) beats 0 (-0.5); sample 2 ties at -0.9 and loses
    assert pick_negative([-0.5, -0.9, -0.9, -0.7]) == (1, -0.9)
    # no QA pair: a missing score (None/NaN) or QUALS's strict sentinel -1e5 is skipped, not the lowest
    assert pick_negative([-0.5, None, -1e5, float("nan"), -0.6]) == (4, -0.6)
    # nothing scored: the original keeps its start value 1e5 and sample 0
    assert pick_negative([None, -1e5]) == (0, NO_SCORE)


def test_ratios_use_pythons_round_halves_to_even():
    # round(0.3 * 5) = round(1.5) = 2, round(0.3 * 15) = round(4.5) = 4, round(0.3 * 6) = round(1.8) = 2
    assert [keep_count(0.3, n) for n in (5, 15, 6, 10, 1)] == [2, 4, 2, 3, 0]
    assert keep_count(1.0, 3) == 3


def test_negative_rule_sorts_ascending_with_ties_in_document_order():
    # values -1, -3, -2, -3, 1e5 -> order 1, 3 (tie, document order), 2, 0, 4 (1e5 last); keep 2
    assert negative_rule([-1, -3, -2, -3, NO_SCORE], 0.3) == [1, 3]
    assert sorted(negative_rule([-1, -3, -2, -3, NO_SCORE], 1.0)) == [0, 1, 2, 3, 4]  # ratio 1: every document


def test_target_rule_puts_unscored_references_last():
    # keys: -x, except 1e5 -> 1e5: 0.1, 1e5, 0.4, 0.1, 0.3 -> order 0, 3, 4, 2, 1; keep 2
    assert target_rule([-0.1, NO_SCORE, -0.4, -0.1, -0.3], 0.3) == [0, 3]
    # the sentinel sorts last even when every scored reference is very low
    assert target_rule([NO_SCORE, -50.0, -60.0], 0.5) == [1, 2][: round(1.5)]


def doc(i, ref, samples):
    return Document(f"d{i}", f"d{i}:reference", ref, [f"d{i}:s:{j}" for j in range(len(samples))], samples)


def test_intersection_of_both_rules_hand_worked():
    docs = [
        doc(0, -0.1, [-1.0, -1.0]),      # negative -1.0 (sample 0, tie)
        doc(1, None, [-3.0, -2.0]),      # negative -3.0; reference unscored -> 1e5, last for the target rule
        doc(2, -0.4, [-2.0, None]),      # negative -2.0
        doc(3, -0.1, [-1.5, -3.0]),      # negative -3.0 (sample 1)
        doc(4, -0.3, [None, -1e5]),      # no scored sample -> 1e5, last for the negative rule
    ]
    sel = select_documents(docs, "quals", 0.3, 0.3)
    # negative rule: -1, -3, -2, -3, 1e5 -> [1, 3]; target rule: [0, 3]; both: [3]
    assert [p["doc_id"] for p in sel.pairs] == ["d3"]
    assert sel.pairs[0]["negative_id"] == "d3:s:1" and sel.pairs[0]["negative_score"] == -3.0
    s = sel.summary
    assert (s["kept_by_negative_rule"], s["kept_by_target_rule"], s["kept_by_both"]) == (2, 2, 1)
    assert (s["negative_threshold"], s["target_threshold"]) == (-3.0, -0.1)
    assert (s["documents_without_scored_sample"], s["references_without_score"], s["samples_without_score"]) == (1, 1, 3)
    # with every document allowed, the unscored document comes with its sample 0 and is flagged
    sel = select_documents(docs, "quals", 1.0, 1.0)
    assert [p["doc_id"] for p in sel.pairs] == ["d0", "d1", "d2", "d3", "d4"]
    assert sel.pairs[4]["negative_id"] == "d4:s:0" and sel.pairs[4]["negative_unscored"]
    # by rouge: no target rule, every reference is a positive
    sel = select_documents(docs, "rouge", 0.3, 0.3)
    assert [p["doc_id"] for p in sel.pairs] == ["d1", "d3"] and sel.summary["target_threshold"] is None


@pytest.mark.parametrize("ratio", [0, 1.5, -0.3])
def test_ratios_outside_0_1_are_refused(ratio):
    with pytest.raises(ConfigError, match="must be in \\(0, 1\\]"):
        select_documents([doc(0, -0.1, [-1.0])], "quals", ratio, 0.3)


def fake_run(tmp_path, rows, metrics):
    """A finished run directory as `factbench run` writes it (run.json + scores.csv) over a dataset file."""
    data = tmp_path / "samples.jsonl"
    data.write_text("".join(json.dumps({"id": r["example_id"], "doc_id": r["doc_id"], "source": "src " + r["doc_id"],
                                        "summary": "text of " + r["example_id"], "system": r["system"]}) + "\n"
                            for r in rows))
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame([{"dataset": "samples", "split": "all", **r} for r in rows]).to_csv(run / "scores.csv", index=False)
    (run / "run.json").write_text(json.dumps({"metrics": {m: {"score_names": cols} for m, cols in metrics.items()},
                                              "datasets": [{"name": "samples", "path": str(data)}],
                                              "files": rundir.fingerprints(run)}))
    return run


def test_select_run_writes_pairs_summary_and_plot(tmp_path):
    rows = []
    for i, (ref, samples) in enumerate([(-0.1, [-1.0, -2.0]), (-0.2, [-3.0, -0.5]), (-0.9, [-0.2, -0.1])]):
        rows.append({"example_id": f"d{i}:reference", "doc_id": f"d{i}", "system": "reference", "quals": ref})
        rows += [{"example_id": f"d{i}:sample:{j}", "doc_id": f"d{i}", "system": "sample", "quals": s}
                 for j, s in enumerate(samples)]
    run = fake_run(tmp_path, rows, {"quals": ["quals"]})
    out = tmp_path / "pairs.jsonl"
    sel = select_run(run, out, "quals", 0.5, 0.5)
    # negatives -2, -3, -0.2 -> round(1.5) = 2 kept: d1, d0; references -0.1, -0.2, -0.9 -> d0, d1
    pairs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(p["doc_id"], p["negative"], p["positive"]) for p in pairs] == [
        ("d0", "text of d0:sample:1", "text of d0:reference"), ("d1", "text of d1:sample:0", "text of d1:reference")]
    assert pairs[0]["source"] == "src d0" and pairs[0]["rule"]["unlike_ratio"] == 0.5
    assert json.loads((tmp_path / "pairs.summary.json").read_text())["kept_by_both"] == 2 == sel.summary["kept_by_both"]
    assert (tmp_path / "pairs.png").stat().st_size > 0
    with pytest.raises(RunError, match="lacks the ROUGE"):
        select_run(run, tmp_path / "p2.jsonl", "rouge")


def test_select_by_rouge_uses_the_mean_of_the_three_f_measures(tmp_path):
    rows = []
    for i, samples in enumerate([[(0.5, 0.1, 0.3), (0.4, 0.2, 0.3)], [(0.1, 0.0, 0.1), (0.9, 0.9, 0.9)]]):
        rows.append({"example_id": f"d{i}:reference", "doc_id": f"d{i}", "system": "reference",
                     "rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0})
        rows += [{"example_id": f"d{i}:s:{j}", "doc_id": f"d{i}", "system": "s", "rouge1": a, "rouge2": b, "rougeL": c}
                 for j, (a, b, c) in enumerate(samples)]
    run = fake_run(tmp_path, rows, {"rouge": ["rouge1", "rouge2", "rougeL"]})
    sel = select_run(run, tmp_path / "pairs.jsonl", "rouge", 0.5)
    # d0: means 0.3 and 0.3 -> sample 0 (tie); d1: 0.0667 -> sample 0; lowest document: d1
    assert [(p["doc_id"], p["negative_id"]) for p in sel.pairs] == [("d1", "d1:s:0")]
    assert sel.pairs[0]["negative_score"] == pytest.approx(0.2 / 3)


def test_a_run_without_reference_rows_is_a_data_error(tmp_path):
    rows = [{"example_id": "d0:s:0", "doc_id": "d0", "system": "s", "quals": -1.0}]
    run = fake_run(tmp_path, rows, {"quals": ["quals"]})
    with pytest.raises(DataError, match="no row with system 'reference'"):
        select_run(run, tmp_path / "pairs.jsonl")


def test_a_moved_dataset_file_is_named_with_the_way_out(tmp_path):
    rows = [{"example_id": "d0:reference", "doc_id": "d0", "system": "reference", "quals": -0.1},
            {"example_id": "d0:s:0", "doc_id": "d0", "system": "s", "quals": -1.0}]
    run = fake_run(tmp_path, rows, {"quals": ["quals"]})
    (tmp_path / "moved").mkdir()
    moved = tmp_path / "moved" / "samples.jsonl"
    (tmp_path / "samples.jsonl").rename(moved)
    with pytest.raises(DataError, match="pass the sampled file with --dataset"):
        select_run(run, tmp_path / "pairs.jsonl", unlike_ratio=1.0, target_ratio=1.0)
    sel = select_run(run, tmp_path / "pairs.jsonl", unlike_ratio=1.0, target_ratio=1.0, dataset_files=[str(moved)])
    assert [p["doc_id"] for p in sel.pairs] == ["d0"]
