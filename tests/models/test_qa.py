"""SQuAD 2.0 extractive QA (the QAGS QA step): windows, span decoding and the null rule on hand-set logits,
then the batched model path on the tiny QA model. Expected values are worked out by hand from the rules of
BERT's run_squad (``doc_spans``, ``_check_is_max_context``, ``write_predictions`` with
``version_2_with_negative``), as ALGORITHMS.md §1.5 describes them."""

import numpy as np
import pytest

from factbench.models.loading import load_model
from factbench.models.qa import (
    QAConfig,
    Window,
    _Template,
    answer_questions,
    decode,
    doc_spans,
    format_context,
    is_max_context,
    make_windows,
)


CONTEXT = "Ann met Bob in Paris"
OFFSETS = [(0, 3), (4, 7), (8, 11), (12, 14), (15, 20)]  # Ann, met, Bob, in, Paris


def one_window():
    # [CLS] q q [SEP] Ann met Bob in Paris [SEP]: context at input positions 4..8
    return Window(0, list(range(10)), None, doc_offset=4, doc_start=0, length=5, max_context=[True] * 5)


def logits(start: dict, end: dict, n: int = 10):
    s, e = np.zeros(n), np.zeros(n)
    for i, v in start.items():
        s[i] = v
    for i, v in end.items():
        e[i] = v
    return s, e


@pytest.mark.parametrize(
    "cls, expected, diff",
    [
        ((1.0, 1.0), "Bob", 2.0 - 9.0),  # null 2 < span 9: answer
        ((5.0, 5.0), "", 10.0 - 9.0),  # null - best = 1 > 0: no answer
        ((4.5, 4.5), "Bob", 0.0),  # null - best = 0 is not > 0.0: answer
    ],
)
def test_null_rule(cls, expected, diff):
    s, e = logits({0: cls[0], 6: 5.0}, {0: cls[1], 6: 4.0})
    out = decode([one_window()], [(s, e)], OFFSETS, CONTEXT)
    assert out["answer"] == expected
    assert out["best"] == "Bob"
    assert out["score_diff"] == pytest.approx(diff)


def test_span_text_comes_from_character_offsets():
    s, e = logits({6: 3.0}, {8: 3.0})  # start at Bob, end at Paris
    assert decode([one_window()], [(s, e)], OFFSETS, CONTEXT)["answer"] == "Bob in Paris"


def test_positions_outside_the_context_and_reversed_spans_are_skipped():
    # best start is a question token (position 1), best end precedes the second-best start
    s, e = logits({1: 9.0, 7: 2.0, 5: 1.0}, {1: 9.0, 6: 3.0, 8: 1.0})
    out = decode([one_window()], [(s, e)], OFFSETS, CONTEXT)
    # valid pairs: (7, 8) = 2 + 1 = 3; (5, 6) = 1 + 3 = 4; (5, 8) = 1 + 1 = 2; (7, 6) reversed
    assert out["best"] == "met Bob"


def test_max_answer_length_and_n_best():
    s, e = logits({4: 5.0, 7: 1.0}, {8: 5.0, 7: 1.0})
    long_span = decode([one_window()], [(s, e)], OFFSETS, CONTEXT)
    assert long_span["best"] == "Ann met Bob in Paris"  # 5 tokens, score 10
    short = decode([one_window()], [(s, e)], OFFSETS, CONTEXT, QAConfig(max_answer_length=2))
    assert short["best"] == "in Paris"  # (7, 8): 1 + 5 = 6 beats (7, 7): 2; (4, 8) is too long
    # n_best = 1: only the single best start (4) and end (8) are tried; with max length 2 nothing is left
    none = decode([one_window()], [(s, e)], OFFSETS, CONTEXT, QAConfig(max_answer_length=2, n_best=1))
    assert none == {"answer": "", "score_diff": None, "best": ""}


def test_null_score_is_the_minimum_over_windows_and_starts_need_max_context():
    # context tokens 0..4 in two windows: tokens 0-3 (offset 2) and tokens 2-4 (offset 2)
    spans = [(0, 4), (2, 3)]
    w0 = Window(0, list(range(7)), None, 2, 0, 4, [is_max_context(spans, 0, p) for p in range(0, 4)])
    w1 = Window(0, list(range(6)), None, 2, 2, 3, [is_max_context(spans, 1, p) for p in range(2, 5)])
    # token 2 (Bob): window 0 gives min(2, 1) = 1 + 0.04; window 1 gives min(0, 2) = 0 + 0.03 -> window 0
    assert w0.max_context == [True, True, True, False] and w1.max_context == [False, True, True]
    s0, e0 = logits({0: 3.0, 4: 6.0}, {0: 3.0, 4: 4.0}, 7)  # Bob..Bob in window 0: 10; null 6
    s1, e1 = logits({0: 1.0, 2: 9.0}, {0: 0.5, 2: 9.0}, 6)  # Bob again, but not its max-context window
    out = decode([w0, w1], [(s0, e0), (s1, e1)], OFFSETS, CONTEXT)
    assert out["best"] == "Bob"
    assert out["score_diff"] == pytest.approx(1.5 - 10.0)  # null = min(6, 1.5)


def test_doc_spans_step_by_stride():
    # 1000 context tokens, 373 per window (384 - 8 question tokens - 3 specials), windows 128 apart
    assert doc_spans(1000, 373, 128) == [(0, 373), (128, 373), (256, 373), (384, 373), (512, 373), (640, 360)]
    assert doc_spans(5, 373, 128) == [(0, 5)]


def test_is_max_context_ties_go_to_the_first_window():
    spans = [(0, 4), (3, 4), (6, 4)]
    assert is_max_context(spans, 0, 3)  # 0 + 0.04 in both windows 0 and 1: the first wins
    assert is_max_context(spans, 1, 5)  # window 1: min(2, 1) = 1; window 2 does not hold it
    assert not is_max_context(spans, 2, 6)  # window 1: min(3, 0) = 0.04 vs window 2: 0.04: window 1


@pytest.fixture(scope="module")
def qa(tiny_models):
    return load_model(str(tiny_models["qa"]), "qa", device="cpu")


def test_window_layout_matches_the_tokenizer_pair_encoding(qa):
    tok = qa.tokenizer
    question, context = "who approved the budget?", "The city council approved a new budget on Monday."
    template = _Template(tok)
    ctx_ids = tok(context, add_special_tokens=False)["input_ids"]
    (w,) = make_windows(0, tok(question, add_special_tokens=False)["input_ids"], ctx_ids, template, QAConfig())
    enc = tok(question, context)
    assert w.input_ids == enc["input_ids"]
    assert w.token_type_ids == enc["token_type_ids"]
    assert w.input_ids[w.doc_offset : w.doc_offset + w.length] == ctx_ids
    assert w.cls_index == 0 and w.input_ids[0] == tok.cls_token_id


def test_long_question_is_cut_and_windows_fit(qa):
    tok = qa.tokenizer
    q_ids = tok("who " * 100, add_special_tokens=False)["input_ids"]
    ctx_ids = tok("the city council approved a new budget . " * 120, add_special_tokens=False)["input_ids"]
    windows = make_windows(0, q_ids, ctx_ids, _Template(tok), QAConfig())
    assert len(windows) > 2
    assert all(len(w.input_ids) <= 384 for w in windows)
    assert all(w.doc_offset == 1 + 64 + 1 for w in windows)  # [CLS] + 64 question tokens + [SEP]
    assert [w.doc_start for w in windows][:3] == [0, 128, 256]


def test_batched_equals_one_at_a_time_and_answers_are_context_substrings(qa):
    long_ctx = "The city council   approved a new budget on Monday after a long debate about schools. " * 25
    pairs = [
        ("who approved the budget?", long_ctx),
        ("when did the fire start?", "The fire started early on Sunday morning in a warehouse."),
        ("who approved the budget?", "The mayor said the plan would raise taxes."),
    ]
    batched = answer_questions(qa.model, qa.tokenizer, pairs, batch_size=64)
    single = answer_questions(qa.model, qa.tokenizer, pairs, batch_size=1)
    assert [b["best"] for b in batched] == [s["best"] for s in single]
    assert [b["answer"] for b in batched] == [s["answer"] for s in single]
    for b, s in zip(batched, single):
        assert b["score_diff"] == pytest.approx(s["score_diff"], abs=1e-4)
    for (_, ctx), b in zip(pairs, batched):
        assert b["best"] and b["best"] in format_context(ctx)
    calls = []
    answer_questions(qa.model, qa.tokenizer, pairs, batch_size=64, on_batch=lambda *a: calls.append(a))
    assert len(calls) == 1 and calls[0][0] > 3  # every window of every pair in one forward pass


def test_slow_tokenizer_is_refused(qa):
    from factbench.errors import ModelUnavailableError

    class Slow:
        is_fast = False

    with pytest.raises(ModelUnavailableError, match="fast tokenizer"):
        answer_questions(qa.model, Slow(), [("q?", "c")])


# -- issue 15, item 5: the max-context flags in linear time, and a bound on the whole source ---------------


@pytest.mark.parametrize("n_tokens, max_tokens, stride", [(1, 4, 3), (10, 4, 3), (37, 8, 3), (200, 30, 7),
                                                          (500, 64, 64), (333, 50, 128)])
def test_max_context_flags_equal_run_squads_check_token_by_token(n_tokens, max_tokens, stride):
    """Against ``is_max_context``, the port of run_squad's ``_check_is_max_context`` (the original algorithm),
    asked for every token of every window, including the ties that go to the earlier window."""
    from factbench.models.qa import max_context_flags

    spans = doc_spans(n_tokens, max_tokens, stride)
    expected = [[is_max_context(spans, i, start + j) for j in range(length)] for i, (start, length) in enumerate(spans)]
    assert max_context_flags(spans) == expected


class _PlainTemplate:
    """[CLS] question [SEP] context [SEP], as _Template reads it off a BERT tokenizer."""

    prefix, middle, suffix, types, cls_index, n_special = [101], [102], [102], None, 0, 3

    def build(self, q, d):
        return [101, *q, 102, *d, 102], None, 2 + len(q)


def test_windows_of_a_60k_word_source_are_built_in_seconds():
    """The quadratic check took minutes per question here (about 600 windows x 80k tokens x 600 windows);
    the bound below is far above the linear version's time on a loaded 2-core machine, a guard against the
    quadratic one coming back, not a speed measurement."""
    import time

    ctx = list(range(80_000))  # ~60k words in wordpieces
    began = time.perf_counter()
    windows = make_windows(0, [7] * 10, ctx, _PlainTemplate(), QAConfig())
    elapsed = time.perf_counter() - began
    # Every context token is in its window of maximal context exactly once.
    counts = np.zeros(len(ctx), dtype=int)
    for w in windows:
        counts[w.doc_start : w.doc_start + w.length] += np.asarray(w.max_context, dtype=int)
    assert (counts == 1).all()
    assert elapsed < 30, f"{elapsed:.1f} s for {len(windows)} windows"


def test_max_context_tokens_bounds_the_context_and_says_so(tiny_models):
    loaded = load_model(str(tiny_models["qa"]), "qa", device="cpu")
    context = " ".join(["Ann met Bob in Paris."] * 200)  # 1000+ wordpieces
    pairs = [("Who met Bob?", context), ("Who met Bob?", "Ann met Bob in Paris.")]
    cut, short = answer_questions(loaded.model, loaded.tokenizer, pairs, QAConfig(max_context_tokens=50))
    assert cut["context_truncated"] is True and "context_truncated" not in short
    # The cut context is read as if it were the text's first 50 wordpieces: the same answer and score.
    offsets = loaded.tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    first = context[: offsets[49][1]]
    alone = answer_questions(loaded.model, loaded.tokenizer, [("Who met Bob?", first)], QAConfig())[0]
    assert (cut["best"], cut["score_diff"]) == (alone["best"], pytest.approx(alone["score_diff"], abs=1e-5))
