"""QAGS on its default ("paper") path end to end: real spaCy answers, scripted question generation that yields
real-looking questions, most of which pass the filter, and scripted QA. Expected scores are worked out by hand
from the paper's rules (ALGORITHMS.md §1: keep answerable questions by QG score, cut at '?', drop duplicates and
questions under 3 tokens, keep K = 20; the score is the mean SQuAD F1 over the K questions). Correctness tests:
the expected values do not come from factbench."""

import re

import pytest

from factbench.metrics.qags import Qags
from factbench.records import Record

SUMMARY = "Barack Obama visited Paris on Monday with his wife Michelle."
SOURCE = "Barack Obama visited Paris on Tuesday, accompanied by his wife Michelle Obama and two advisers."

# Scripted QG (question, QG score) per highlighted answer: 25 candidates with distinct scores. Four fail the
# text filter (marked), 21 pass it and are answerable on the summary, so the 20 best are kept and the worst
# passing one (score -2.5) is not.
QG = {
    "Barack Obama": [("Who visited Paris on Monday?", -0.1), ("Who travelled to Paris?", -0.2),
                     ("Which politician visited Paris?", -0.3), ("Who went to France with his wife", -0.35),  # no '?'
                     ("Who was in Paris on Monday?", -0.5)],
    "Paris": [("Where did Obama go on Monday?", -0.6), ("Which city did Obama visit?", -0.7),
              ("Where?", -0.05),  # under 3 tokens
              ("Where was Barack Obama on Monday?", -0.9), ("What city did the couple visit?", -1.0)],
    "Monday": [("When did Obama visit Paris?", -1.1), ("On which day did Obama visit Paris?", -1.2),
               ("When was the visit to Paris?", -1.3), ("Which day was Obama in Paris?", -1.4),
               ("When did Obama visit Paris? Why?", -0.15)],  # cut at '?': a duplicate of -1.1's question
    "Michelle": [("Who is Obama's wife?", -1.5), ("Who came along with Obama?", -1.6),
                 ("Who did Obama travel with?", -1.7), ("Who accompanied Obama to Paris?", -1.8),
                 ("Who is the wife of the president?", -0.25)],  # not answerable on the summary
    "his wife": [("Who travelled with Obama?", -1.9), ("Who was with Obama in Paris?", -2.0),
                 ("Who joined Obama on the trip?", -2.1), ("Who was at Obama's side?", -2.2),
                 ("Who went with him to Paris?", -2.5)],
}
# Scripted QA on the summary (every passing question is answerable) and on the source, with the F1 of the pair
# worked out by hand (SQuAD normalisation: lower case, no punctuation, no articles). Listed in the order the
# filter keeps them (QG score, descending): "When did Obama visit Paris? Why?" (-0.15) is cut to the question of
# -1.1, which is then the duplicate.
SUMMARY_ANSWER = {"Barack Obama": "Barack Obama", "Paris": "Paris", "Monday": "Monday", "Michelle": "Michelle",
                  "his wife": "his wife Michelle"}
SOURCE_ANSWER = {
    # question -> (answer on the source, F1 against the summary's answer)
    "Who visited Paris on Monday?": ("", 0.0),  # Tuesday in the source: unanswerable there -> 0
    "When did Obama visit Paris?": ("on Tuesday", 0.0),  # kept at -0.15 (cut); {on, tuesday} vs {monday}
    "Who travelled to Paris?": ("Barack Obama", 1.0),
    "Which politician visited Paris?": ("Barack Obama", 1.0),
    "Who was in Paris on Monday?": ("", 0.0),
    "Where did Obama go on Monday?": ("", 0.0),
    "Which city did Obama visit?": ("Paris", 1.0),
    "Where was Barack Obama on Monday?": ("", 0.0),
    "What city did the couple visit?": ("Paris", 1.0),
    "On which day did Obama visit Paris?": ("Tuesday", 0.0),
    "When was the visit to Paris?": ("Tuesday", 0.0),
    "Which day was Obama in Paris?": ("Tuesday", 0.0),
    "Who is Obama's wife?": ("Michelle Obama", 2 / 3),  # {michelle, obama} vs {michelle}: P 1, R 1/2
    "Who came along with Obama?": ("his wife Michelle Obama", 0.4),  # 4 tokens vs 1: P 1, R 1/4 -> 0.4
    "Who did Obama travel with?": ("Michelle Obama and two advisers", 1 / 3),  # 5 vs 1: P 1, R 1/5
    "Who accompanied Obama to Paris?": ("Michelle", 1.0),
    "Who travelled with Obama?": ("his wife Michelle Obama", 6 / 7),  # 4 vs 3 tokens, 3 common
    "Who was with Obama in Paris?": ("his wife Michelle", 1.0),
    "Who joined Obama on the trip?": ("two advisers", 0.0),
    "Who was at Obama's side?": ("his wife", 0.8),  # 2 vs 3 tokens, 2 common: P 2/3, R 1 -> 0.8
    "Who went with him to Paris?": ("his wife Michelle", 1.0),  # 21st: not kept
}
KEPT_F1 = [f1 for q, (_, f1) in SOURCE_ANSWER.items() if q != "Who went with him to Paris?"]
# 20 kept: 6 exact answers (1.0) + 2/3 + 0.4 + 1/3 + 6/7 + 0.8 = 9.057142..., mean 0.452857...
EXPECTED_SCORE = (6 + 2 / 3 + 0.4 + 1 / 3 + 6 / 7 + 0.8) / 20


def _answer_of(question):
    for answer, beams in QG.items():
        if any(q == question for q, _ in beams):
            return answer
    return None


@pytest.fixture
def scripted(monkeypatch):
    import factbench.metrics.qags_qg as qg_mod
    import factbench.models.qa as qa_mod

    def fake_generate(loaded, inputs, **kw):
        assert kw["num_return_sequences"] == 10 and kw["num_beams"] == 10  # the paper's settings reached QG
        return [[list(q) for q in QG[re.search("<hl> (.*?) <hl>", x).group(1)]] for x in inputs]

    def fake_answer(model, tokenizer, pairs, cfg, batch_size, on_batch=None):
        out = []
        for question, context in pairs:
            if context == SUMMARY:
                answer = "" if question == "Who is the wife of the president?" else \
                    SUMMARY_ANSWER.get(_answer_of(question) or _answer_of(question.split("?")[0] + "?"), "")
            else:
                answer = SOURCE_ANSWER.get(question, ("", 0.0))[0]
            out.append({"answer": answer, "score_diff": None, "best": ""})
        return out

    monkeypatch.setattr(qg_mod, "generate_questions", fake_generate)
    monkeypatch.setattr(qa_mod, "answer_questions", fake_answer)


def _record(summary=SUMMARY, rid="r1"):
    return Record("test", "test", rid, "d1", "sys", SOURCE, summary, ())


def test_default_paper_path_keeps_20_real_questions_and_averages_their_f1(scripted, tiny_models):
    m = Qags({"qg_model": str(tiny_models["bart"]), "qa_model": str(tiny_models["qa"])}, profile="tiny")
    s = m.settings
    assert (s["answer_selection"], s["question_fill"], s["n_questions"]) == ("paper", "paper", 20)  # defaults
    (res,) = m.score([_record()])
    qs = res.details["questions"]
    # paper answer selection: the 5 spaCy answers padded to 10 with repeats
    assert len(res.details["answers"]) == 10 and set(res.details["answers"]) == set(SUMMARY_ANSWER)
    assert res.details["n_passed_filter"] == 20 and not any(q["padded"] for q in qs)
    assert [q["question"] for q in qs] == [q for q in SOURCE_ANSWER if q != "Who went with him to Paris?"]
    assert [q["f1"] for q in qs] == pytest.approx(KEPT_F1, abs=1e-12)
    assert res.scores["qags"] == pytest.approx(EXPECTED_SCORE, abs=1e-12)
    assert res.scores["qags"] == pytest.approx(0.452857, abs=1e-6)


def test_paper_fill_averages_over_all_k_questions_padding_included(scripted, tiny_models):
    """With n_questions = 24 only 21 questions pass: the paper pads with 3 raw candidates and the score is the
    mean over all 24 F1 values (padding included), as aggregate_examples averages K values per summary. The
    padded questions are raw candidates (not cut), answered on both texts like any other."""
    m = Qags({"qg_model": str(tiny_models["bart"]), "qa_model": str(tiny_models["qa"]), "n_questions": 24},
             profile="tiny")
    (res,) = m.score([_record()])
    qs = res.details["questions"]
    assert len(qs) == 24 and res.details["n_passed_filter"] == 21
    assert [q["padded"] for q in qs] == [False] * 21 + [True] * 3
    by_hand = [SOURCE_ANSWER[q["question"]][1] if not q["padded"] else None for q in qs]
    for i, q in enumerate(qs):
        if q["padded"]:
            # a raw candidate: answered on the summary by the script (or not), on the source likewise
            on_sum = "" if q["question"] == "Who is the wife of the president?" else SUMMARY_ANSWER.get(
                _answer_of(q["question"]), "")
            on_src = SOURCE_ANSWER.get(q["question"], ("", 0.0))[0]
            assert (q["answer_summary"], q["answer_source"]) == (on_sum, on_src)
            by_hand[i] = q["f1"]
    assert by_hand[:21] == pytest.approx(KEPT_F1 + [1.0], abs=1e-12)
    assert res.scores["qags"] == pytest.approx(sum(by_hand) / 24, abs=1e-12)
    assert res.scores["qags"] != pytest.approx(sum(by_hand[:21]) / 21, abs=1e-6)  # not the mean of the kept only


def test_clean_fill_averages_over_the_kept_questions_only(scripted, tiny_models):
    m = Qags({"qg_model": str(tiny_models["bart"]), "qa_model": str(tiny_models["qa"]), "n_questions": 24,
              "question_fill": "clean"}, profile="tiny")
    (res,) = m.score([_record()])
    assert len(res.details["questions"]) == 21
    assert res.scores["qags"] == pytest.approx((sum(KEPT_F1) + 1.0) / 21, abs=1e-12)
