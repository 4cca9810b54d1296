"""The QAGS question filter on a hand-built candidate list; expected results worked out by hand with the
rules of qa_utils.py::filter_qsts (ALGORITHMS.md §1.4)."""

import random

import pytest

from factbench.errors import ConfigError
from factbench.metrics.qags_filter import Candidate, QuestionFilter, cut_question, filter_questions

# (raw question, QG score, answerable on the summary)
HAND_BUILT = [
    ("Who visited Paris? extra words", -0.5, True),  # 0: cut at '?', kept
    ("Who visited Paris?", -0.6, True),  # 1: same cut string as 0: duplicate
    ("Where did Obama go", -0.1, True),  # 2: no '?': dropped
    ("When?", -0.2, True),  # 3: 1 token < 3: dropped
    ("What did Obama visit?", -0.3, False),  # 4: not answerable on the summary: dropped
    ("What did Obama visit on Monday?", -0.9, True),  # 5: kept
    ("Who is his wife?", -0.3, True),  # 6: ties with 4, comes after it (stable sort): kept
    ("Who is his wife? really", -0.4, True),  # 7: duplicate of 6 once cut
    ("Why did he go there ?", -1.5, True),  # 8: kept (5 whitespace tokens)
    ("What did Obama visit? x", -1.0, True),  # 9: cut equals 4, but 4 was never kept: kept
]
CANDS = [Candidate(q, s, answer=f"ans{i}") for i, (q, s, _) in enumerate(HAND_BUILT)]
ANSWERABLE = {q: a for q, _, a in HAND_BUILT}

# score order: 2 (-0.1), 3 (-0.2), 4 (-0.3), 6 (-0.3), 7 (-0.4), 0 (-0.5), 1 (-0.6), 5 (-0.9), 9 (-1.0), 8 (-1.5)
EXPECTED_KEPT = [
    "Who is his wife?",
    "Who visited Paris?",
    "What did Obama visit on Monday?",
    "What did Obama visit?",
    "Why did he go there ?",
]


def test_cut_question():
    assert cut_question("Who won? The cup? yes") == "Who won?"
    assert cut_question("Who won") is None
    assert cut_question("?") == "?"


def test_clean_filter_keeps_exactly_the_hand_worked_list():
    out = filter_questions(CANDS, ANSWERABLE, n_keep=20, fill="clean")
    assert [q["question"] for q in out] == EXPECTED_KEPT
    assert [q["answer"] for q in out] == ["ans6", "ans0", "ans5", "ans9", "ans8"]
    assert [q["score"] for q in out] == [-0.3, -0.5, -0.9, -1.0, -1.5]
    assert not any(q["padded"] for q in out)


def test_keep_cuts_after_k():
    out = filter_questions(CANDS, ANSWERABLE, n_keep=3, fill="paper")
    assert [q["question"] for q in out] == EXPECTED_KEPT[:3]


def test_paper_fill_pads_with_random_raw_candidates():
    out = filter_questions(CANDS, ANSWERABLE, n_keep=8, fill="paper", rng=random.Random(5))
    assert len(out) == 8
    assert [q["question"] for q in out[:5]] == EXPECTED_KEPT
    # filter_qsts: random.sample(all candidates, K - n), raw (not cut, not checked); same generator state
    expected_idx = random.Random(5).sample(range(len(HAND_BUILT)), 3)
    assert [q["question"] for q in out[5:]] == [HAND_BUILT[i][0] for i in expected_idx]
    assert [q["padded"] for q in out] == [False] * 5 + [True] * 3


def test_paper_fill_when_nothing_survives():
    cands = [Candidate("no question mark", -1.0), Candidate("Who?", -2.0)]
    out = filter_questions(cands, {"no question mark": True, "Who?": True}, n_keep=20, fill="paper")
    # asks for 20 from 2 candidates: all of them, in a random order (the original would raise here)
    assert sorted(q["question"] for q in out) == ["Who?", "no question mark"]
    assert filter_questions(cands, {}, n_keep=20, fill="clean") == []


def test_lazy_filter_asks_only_what_it_reaches_and_agrees():
    f = QuestionFilter(CANDS, n_keep=2, fill="clean")
    asked: list[str] = []
    known: dict[str, bool] = {}
    while True:
        need = f.pending(known)
        if not need:
            break
        asked += need
        known.update({q: ANSWERABLE[q] for q in need})
    # round 1 asks for 2 (4 and 6, the first text-valid ones); 4 fails, 6 is kept; round 2 asks for 0
    assert asked == ["What did Obama visit?", "Who is his wife?", "Who visited Paris? extra words"]
    assert [q["question"] for q in f.result(random.Random(0))] == EXPECTED_KEPT[:2]
    assert [q["question"] for q in filter_questions(CANDS, ANSWERABLE, 2, "clean")] == EXPECTED_KEPT[:2]


def test_result_before_done_and_bad_mode():
    f = QuestionFilter(CANDS, n_keep=2)
    with pytest.raises(RuntimeError):
        f.result(random.Random(0))
    with pytest.raises(ConfigError):
        QuestionFilter(CANDS, fill="pad")
