"""SQuAD normalisation and token F1 (QAGS scoring). Expected values are hand-computed with the rules of the
official SQuAD v2.0 evaluation script (``normalize_answer``, ``get_tokens``, ``compute_f1``), which
W4ngatang/qags ``qa_utils.py`` copies."""

import pytest

from factbench.metrics.squad import answer_tokens, exact_match, f1_score, normalize_answer


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Quick, brown fox!", "quick brown fox"),  # lower, punctuation deleted, article removed
        ("an apple a day", "apple day"),
        ("Theater anthem", "theater anthem"),  # articles only as whole words (\b)
        ("U.S.-based", "usbased"),  # punctuation is deleted, not replaced by a space
        ("  many\t\nspaces  ", "many spaces"),
        ("“curly quotes”", "“curly quotes”"),  # string.punctuation is ASCII only
        ("the", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_tokens_of_empty_and_article_only_answers():
    assert answer_tokens("") == []
    assert answer_tokens("The") == []  # normalises to nothing: counts as no answer


@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        ("", "", 1.0),  # both unanswerable
        ("", "Paris", 0.0),  # only one unanswerable
        ("Paris", "", 0.0),
        ("", "the", 1.0),  # "the" normalises to no tokens: both empty
        ("Paris", "paris.", 1.0),
        ("the cat sat on the mat", "cat on mat", 2 * 1.0 * 0.75 / 1.75),  # P = 3/3, R = 3/4
        ("x x y", "x y y", 2 / 3),  # Counter intersection: one x, one y; P = R = 2/3
        ("red car", "blue bike", 0.0),  # no overlap
        ("New York City", "york", 2 * 1.0 * (1 / 3) / (1 + 1 / 3)),  # P = 1, R = 1/3 -> 0.5
    ],
)
def test_f1(gold, pred, expected):
    assert f1_score(gold, pred) == pytest.approx(expected, abs=1e-12)
    assert f1_score(pred, gold) == pytest.approx(expected, abs=1e-12)  # symmetric


def test_exact_match():
    assert exact_match("The Eiffel Tower", "eiffel tower!") == 1.0
    assert exact_match("Eiffel Tower", "Eiffel") == 0.0
