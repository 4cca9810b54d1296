"""Tests written for mutants of the metrics' ``format_details`` (the Markdown that summary.md shows for the
lowest-scoring summaries) that survived the mutation run of 2026-12-01 (docs/mutation.md). Each expected text is
written by hand from the details given, following the documented layout: what a reader sees."""

from factbench.metrics.qags import Qags
from factbench.metrics.quals import Quals


def _pair(question, answer, mean_source, mean_summary, tokens, diffs):
    return {"question": question, "answer": answer, "mean_source": mean_source, "mean_summary": mean_summary,
            "diff": mean_source - mean_summary, "tokens": tokens, "diff_per_token": diffs}


def test_quals_table_is_worst_pair_first_with_the_three_least_supported_tokens():
    details = {
        "n_selected": 2, "n_kept": 7, "source_tokens": 512, "source_truncated": True, "summary_side": "paper",
        "qa_pairs": [
            _pair("Who won?", "the | team", -1.0, -0.5, ["a", "b", "c", "d"], [0.5, -2.0, -1.0, -0.25]),
            _pair("When?\nToday", "", -3.0, -0.5, ["x"], [-2.5]),
        ],
    }
    assert Quals.format_details(details) == "\n".join([
        "2 pairs selected of 7 kept (source 512 tokens, truncated; summary side: paper).",
        "",
        "| question | answer | mean log p given source | given summary | difference | least supported tokens |",
        "|---|---|---|---|---|---|",
        # diff -2.5 before -0.5; a "|" in a cell escaped, a newline made a space, an empty cell marked
        "| When? Today | *(empty)* | -3.000 | -0.500 | -2.500 | `x` (-2.50) |",
        "| Who won? | the \\| team | -1.000 | -0.500 | -0.500 | `b` (-2.00), `c` (-1.00), `d` (-0.25) |",
    ])


def test_quals_header_defaults_and_the_warning_and_no_pair_texts():
    pair = _pair("Q?", "A", -1.0, -2.0, [], [])
    assert Quals.format_details({"qa_pairs": [pair]}).splitlines()[0] == (
        "1 pairs selected of ? kept (source ? tokens; summary side: ?).")
    assert Quals.format_details({"qa_pairs": [], "reason": "no answer was generated",
                                 "warning": "source cut at 1024 tokens"}) == (
        "**Warning: source cut at 1024 tokens.**\n\nNo QA pair: no answer was generated.")
    assert Quals.format_details({"qa_pairs": []}) == ""
    assert Quals.format_details({}) == ""
    # cells are cut at 160 characters
    long = Quals.format_details({"qa_pairs": [_pair("q" * 200, "A", -1.0, -2.0, [], [])]})
    assert "| " + "q" * 160 + " | A |" in long


def test_qags_table_lists_every_question_in_order_with_padding_marked():
    details = {
        "answers": ["Paris", "2019"],
        "questions": [
            {"question": "Where?", "qg_score": -0.125, "padded": False, "answer_summary": "Paris",
             "answer_source": "in Paris", "f1": 2 / 3},
            {"question": "", "qg_score": -1.5, "padded": True, "answer_summary": None,
             "answer_source": "a\nb", "f1": 0.0},
        ],
    }
    assert Qags.format_details(details) == "\n".join([
        "Answers: `Paris`, `2019`",
        "",
        "| # | question | QG score | answer on summary | answer on source | F1 |",
        "|---|---|---|---|---|---|",
        "| 1 | Where? | -0.125 | Paris | in Paris | 0.67 |",
        "| 2 | *(empty)* (padding) | -1.500 | *(no answer)* | a b | 0.00 |",
    ])
    assert Qags.format_details({"questions": [{"question": "x" * 250, "qg_score": 0.0, "answer_summary": "",
                                               "answer_source": "", "f1": 1.0}]}).splitlines()[0] == "Answers: "
    assert "| 1 | " + "x" * 200 + " | 0.000 |" in Qags.format_details(
        {"questions": [{"question": "x" * 250, "qg_score": 0.0, "answer_summary": "", "answer_source": "", "f1": 1.0}]})


def test_quals_warning_stays_above_the_table_and_pairs_without_token_details_show_none():
    pair = {"question": "Q?", "answer": "A", "mean_source": -1.0, "mean_summary": -2.0, "diff": 1.0}
    text = Quals.format_details({"qa_pairs": [pair], "n_selected": 3, "n_kept": 4, "warning": "source cut"})
    assert text.splitlines() == [
        "**Warning: source cut.**",
        "",
        # n_selected as stored (3), not the number of pairs listed (1)
        "3 pairs selected of 4 kept (source ? tokens; summary side: ?).",
        "",
        "| question | answer | mean log p given source | given summary | difference | least supported tokens |",
        "|---|---|---|---|---|---|",
        "| Q? | A | -1.000 | -2.000 | +1.000 | *(empty)* |",
    ]
