"""summary.md shows, per metric, the share of generated sequences that did not parse and of summaries left
with no usable pair (issue #13, item 9); counts hand-made here, shares hand-computed."""

import json

from factbench.metrics import create
from factbench.metrics.qags_filter import Candidate
from factbench.records import Record
from factbench.report import unparsable_shares
from factbench.runner import RunConfig, run


def _row(metric, i, details):
    return {"dataset": "d", "example_id": f"e{i}", "metric": metric, "signature": "s", "scores": {},
            "missing": None, "details": details}


def test_shares_are_summed_over_the_run(tmp_path):
    rows = [
        _row("quals", 0, {"n_generated": 60, "n_unparsable": 6, "n_usable": 2}),
        _row("quals", 1, {"n_generated": 60, "n_unparsable": 54, "n_usable": 0}),
        _row("quals", 2, {"n_generated": 60, "n_unparsable": 0, "n_usable": 10}),
        _row("qags", 0, {"n_generated": 100, "n_unparsable": 1, "n_usable": 20}),
        _row("rouge", 0, {"against": "reference"}),  # counts nothing: not listed
    ]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = unparsable_shares(tmp_path)
    # quals: (6 + 54 + 0) / 180 = 33.3 %; 1 of 3 summaries without a pair. qags: 1 / 100; 0 of 1
    assert "| quals | 33.3 % (60 of 180) | 33.3 % (1 of 3) |" in text
    assert "| qags | 1.0 % (1 of 100) | 0.0 % (0 of 1) |" in text
    assert "rouge" not in text
    assert unparsable_shares(tmp_path / "nowhere") == ""


def test_qags_counts_questions_without_a_question_mark():
    """filter_qsts drops a generated question without '?' (ALGORITHMS.md §1.4): it counts as unparsable."""
    metric = create("qags", profile="tiny")
    cands = [Candidate("who won?", -1.0, "x"), Candidate("who won", -2.0, "x"), Candidate("when", -3.0, "y")]
    qs = [{"question": "who won?", "score": -1.0, "answer": "x", "padded": False}]
    res = metric._result(["x", "y"], qs, ["x"], ["x"], cands)
    assert (res.details["n_generated"], res.details["n_unparsable"], res.details["n_usable"]) == (3, 2, 1)
    res = metric._result(["x"], [], [], [], cands[1:])
    assert (res.details["n_generated"], res.details["n_unparsable"], res.details["n_usable"]) == (2, 2, 0)


def test_a_quals_run_reports_its_shares_in_summary_md(tmp_path, tiny_models):
    path = tmp_path / "d.jsonl"
    summaries = ["The council approved the budget on Monday.", "The mayor said taxes would fall by ten percent."]
    path.write_text("".join(json.dumps({"id": f"e{i}", "source": "The city council approved a new budget on Monday.",
                                        "summary": s}) + "\n" for i, s in enumerate(summaries)))
    out = run(RunConfig(datasets=[str(path)], metrics=["quals"], out_dir=tmp_path / "run", use_cache=False,
                        progress=False, profile="tiny",
                        settings={"quals": {"model": str(tiny_models["bart"]), "num_pairs": 12, "max_tokens": 20}}))
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    bad = sum(r["details"]["n_unparsable"] for r in rows)
    none = sum(r["details"]["n_selected"] == 0 for r in rows)
    summary = (out / "summary.md").read_text()
    assert f"| quals | {100 * bad / 24:.1f} % ({bad} of 24) | {100 * none / 2:.1f} % ({none} of 2) |" in summary
    assert summary.index("## Scores") < summary.index("did not parse")
