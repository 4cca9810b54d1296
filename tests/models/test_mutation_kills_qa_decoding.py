"""Tests written for mutants of factbench/models/qa.py that survived the mutation run (docs/mutation.md):
the batched model path of ``answer_questions`` (what the model is given, batch by batch, and what comes back),
the special-token layout read by ``_Template``, and the decoding rules of ``decode``, ``top_indexes``,
``doc_spans``, ``is_max_context`` and ``make_windows``.

Where expected values come from:

- token ids: small closed-vocabulary WordLevel tokenizers built here with the ``tokenizers`` library (ids
  listed in ``VOCAB``; whitespace-split words; the pair templates written below), so every window, padding
  and token type id is written out by hand from the rules of BERT's ``run_squad`` as ALGORITHMS.md §1.5
  gives them (question cut to ``max_query_length``; windows of ``max_seq_length - len(question) - specials``
  context tokens, ``doc_stride`` apart; ``[CLS] question [SEP] window [SEP]``, token type 1 from the window on);
- logits: a scripted stand-in model whose start/end logit at a position depends only on the token id there
  (``START``/``END`` tables), so the best span, the null score (minimum over windows of the start + end logit
  at [CLS]) and ``score_diff`` = null − best span are computed by hand in the comments;
- dtypes: transformers' own ``return_tensors="pt"`` encoding (int64 ids, mask and token types);
- the tie rules: the original's stable sort of the n-best positions and of the candidate spans (the first of
  equal scores wins), and ``_check_is_max_context``'s strict ``>`` (ties to the earlier window).
"""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from factbench.errors import ModelUnavailableError
from factbench.models.qa import (
    QAConfig,
    Window,
    _Template,
    answer_questions,
    decode,
    doc_spans,
    is_max_context,
    make_windows,
    max_context_flags,
    top_indexes,
)

WORDS = ["question", "context", "who", "met", "bob", "ann", "in", "paris", "where", "did", "go"]
# [MASK] 0, [PAD] 1, [CLS] 2, [SEP] 3, then the words: question 4, context 5, who 6, met 7, bob 8, ann 9,
# in 10, paris 11, where 12, did 13, go 14. "question"/"context" are in the vocabulary because _Template
# encodes that pair to find the special tokens; there is no unknown token, so any other word fails to encode.
VOCAB = {w: i for i, w in enumerate(["[MASK]", "[PAD]", "[CLS]", "[SEP]", *WORDS])}
CLS, SEP, PAD = 2, 3, 1
WHO, MET, BOB, ANN, IN, PARIS, WHERE, DID = (VOCAB[w] for w in WORDS[2:10])


def make_tokenizer(single: str, pair: str, model_max_length: int = 512, types: bool = True, **special):
    """A fast tokenizer over VOCAB with the given single and pair templates (``processors.TemplateProcessing``
    syntax); the single template adds special tokens too, as real tokenizers do, so a text encoded with
    special tokens where it should not be shows in the windows."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(VOCAB))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    used = [t for t in ("[MASK]", "[CLS]", "[SEP]") if t in single + pair]
    tok.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[(t, VOCAB[t]) for t in used]
    )
    names = ["input_ids", "token_type_ids", "attention_mask"] if types else ["input_ids", "attention_mask"]
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=model_max_length, model_input_names=names, **special
    )


def bert_like(**kw):
    """[CLS] question [SEP] context [SEP], token types 0 then 1, pad [PAD] = 1 (not 0, so padding shows)."""
    return make_tokenizer(
        "[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", **kw
    )


def no_cls():
    """question [SEP] context [SEP], T5-like: no [CLS], no pad token, no token types."""
    return make_tokenizer("$A [SEP]", "$A [SEP] $B [SEP]", types=False, sep_token="[SEP]")


class ScriptedQA(torch.nn.Module):
    """Start/end logit at each position = START/END table value of the token id there (0 if absent).

    Records, per forward call, every input's device, dtype and values; its one parameter sits on ``device``
    (``"meta"``: no values to read, all logits 0)."""

    def __init__(self, start: dict, end: dict, device: str = "cpu"):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1, device=device))
        self.start, self.end, self.calls = start, end, []

    def forward(self, **inputs):
        self.calls.append(
            {
                k: (v.device.type, v.dtype, None if v.device.type == "meta" else v.tolist())
                for k, v in inputs.items()
            }
        )
        ids = inputs["input_ids"]
        if ids.device.type == "meta":
            return SimpleNamespace(start_logits=torch.zeros(ids.shape), end_logits=torch.zeros(ids.shape))
        rows = ids.tolist()
        start = torch.tensor([[float(self.start.get(t, 0.0)) for t in row] for row in rows])
        end = torch.tensor([[float(self.end.get(t, 0.0)) for t in row] for row in rows])
        return SimpleNamespace(start_logits=start, end_logits=end)


# ------------------------------------------------------------------------------------- answer_questions


def test_batched_inputs_and_answers_on_a_bert_like_tokenizer():
    """Three pairs, four windows, two batches: the exact tensors the model gets, the per-batch token counts and
    the answers, all worked out by hand from the rules in the module docstring."""
    tok = bert_like()
    # what transformers gives a model for a pair: int64 ids, mask and token types
    ref = tok("who", "paris", return_tensors="pt")
    names = ["input_ids", "token_type_ids", "attention_mask"]
    assert {k: v.dtype for k, v in ref.items()} == dict.fromkeys(names, torch.int64)

    cfg = QAConfig(max_seq_length=9, doc_stride=2, max_query_length=3, max_answer_length=2, null_threshold=-2.0)
    pairs = [
        ("who met bob", "ann  met bob\nin paris"),  # A: context normalised to "ann met bob in paris"
        ("who met", "paris"),  # B
        ("where did bob go", "bob in"),  # C: question cut to 3 tokens, "where did bob"
    ]
    # A: 3 question tokens -> 9 - 3 - 3 = 3 context tokens per window, stride 2 over 5 tokens: (0, 3), (2, 3).
    #    Max context: token 2 (bob) scores min(2, 0) + 0.03 in window 0 and min(0, 2) + 0.03 in window 1: a tie,
    #    the earlier window wins; tokens 3, 4 are only in window 1. Flags: w0 [T, T, T], w1 [F, T, T].
    a0 = [CLS, WHO, MET, BOB, SEP, ANN, MET, BOB, SEP]
    a1 = [CLS, WHO, MET, BOB, SEP, BOB, IN, PARIS, SEP]
    # B: one window, 6 positions; C: one window, 8 positions
    b0 = [CLS, WHO, MET, SEP, PARIS, SEP]
    c0 = [CLS, WHERE, DID, BOB, SEP, BOB, IN, SEP]
    start = {CLS: 1.0, BOB: 3.0, IN: 0.5}
    end = {CLS: 1.0, IN: 1.0, PARIS: 3.0}
    model = ScriptedQA(start, end)
    batches = []
    out = answer_questions(model, tok, pairs, cfg, batch_size=2, on_batch=lambda *a: batches.append(a))

    # windows in order a0, a1, b0, c0; sorted by length, longest first (ties keep order): a0, a1 | c0, b0
    long = ("cpu", torch.int64)
    assert model.calls == [
        {
            "input_ids": (*long, [a0, a1]),
            "attention_mask": (*long, [[1] * 9, [1] * 9]),
            "token_type_ids": (*long, [[0] * 5 + [1] * 4, [0] * 5 + [1] * 4]),
        },
        {
            "input_ids": (*long, [c0, b0 + [PAD, PAD]]),  # b0 padded to 8 with the tokenizer's pad id
            "attention_mask": (*long, [[1] * 8, [1] * 6 + [0, 0]]),
            "token_type_ids": (*long, [[0] * 5 + [1] * 3, [0] * 4 + [1] * 2 + [0, 0]]),
        },
    ]
    # on_batch(n_windows, real tokens, padded tokens): 2 x 9 = 18 of 18; 8 + 6 = 14 of 2 x 8 = 16
    assert batches == [(2, 18, 18), (2, 14, 16)]

    # Null score of every pair: [CLS] 1 + 1 = 2 in each window.
    # A: w0 spans (start among ann met bob, all max context): best bob..bob 3 + 0 = 3;
    #    w1 (bob is not max context there): in..in 0.5 + 1 = 1.5, in..paris 0.5 + 3 = 3.5, paris..paris 3
    #    -> best "in paris" 3.5; diff 2 - 3.5 = -1.5 > -2.0 -> no answer
    # B: paris..paris 0 + 3 = 3; diff 2 - 3 = -1 > -2 -> no answer
    # C: bob..bob 3, bob..in 3 + 1 = 4, in..in 1.5 -> "bob in" 4; diff 2 - 4 = -2, not > -2 -> answered
    assert out == [
        {"answer": "", "score_diff": -1.5, "best": "in paris"},
        {"answer": "", "score_diff": -1.0, "best": "paris"},
        {"answer": "bob in", "score_diff": -2.0, "best": "bob in"},
    ]


def test_no_cls_no_pad_no_token_types():
    """A T5-like layout (question [SEP] context [SEP]): no [CLS], so the null score is read at position 0; no pad
    token, so padding is 0; no token types, so none are given to the model."""
    tok = no_cls()
    template = _Template(tok)
    assert (template.prefix, template.middle, template.suffix, template.types) == ([], [SEP], [SEP], None)
    assert (template.cls_index, template.n_special) == (0, 2)
    # position 0 is the first question token, "who", in both windows: null = 1 + 1 = 2
    model = ScriptedQA({WHO: 1.0, ANN: 2.0}, {WHO: 1.0, BOB: 2.0, PARIS: 3.0})
    batches = []
    pairs = [("who met", "paris"), ("who", "ann met bob")]
    out = answer_questions(model, tok, pairs, on_batch=lambda *a: batches.append(a))
    # windows: [who met SEP paris SEP] (5) and [who SEP ann met bob SEP] (6); longest first, one batch of 32
    long = ("cpu", torch.int64)
    assert model.calls == [
        {
            "input_ids": (*long, [[WHO, SEP, ANN, MET, BOB, SEP], [WHO, MET, SEP, PARIS, SEP, 0]]),
            "attention_mask": (*long, [[1] * 6, [1] * 5 + [0]]),
        }
    ]
    assert batches == [(2, 11, 12)]
    # pair 0: paris..paris 0 + 3 = 3, diff 2 - 3 = -1; pair 1: ann..bob 2 + 2 = 4 (3 tokens), diff 2 - 4 = -2
    assert out == [
        {"answer": "paris", "score_diff": -1.0, "best": "paris"},
        {"answer": "ann met bob", "score_diff": -2.0, "best": "ann met bob"},
    ]


def test_inputs_go_to_the_models_device():
    """Every input tensor is moved to the device of the model's parameters (here "meta", which needs no
    accelerator: a model on a GPU gets its inputs on the GPU)."""
    model = ScriptedQA({}, {}, device="meta")
    out = answer_questions(model, bert_like(), [("who met", "ann met bob")])
    assert [{k: v[0] for k, v in call.items()} for call in model.calls] == [
        {"input_ids": "meta", "attention_mask": "meta", "token_type_ids": "meta"}
    ]
    # all logits 0: the first candidate span (start ann, end ann) wins with 0; null 0 - 0 = 0 is not > 0
    assert out == [{"answer": "ann", "score_diff": 0.0, "best": "ann"}]


def test_no_length_warning_for_long_questions_and_contexts(length_warnings):
    """Texts above the tokenizer's ``model_max_length`` are read in windows on purpose: tokenizing them logs no
    transformers "longer than the specified maximum" warning; the same tokenizer called plainly afterwards
    does (so the check can see the warning)."""
    tok = bert_like(model_max_length=8)
    model = ScriptedQA({}, {})
    answer_questions(model, tok, [("who met bob " * 4, "ann met bob in paris " * 4)], QAConfig(max_seq_length=40))
    assert model.calls  # the pair went through the model
    assert not length_warnings()
    tok("ann met bob in paris " * 4)
    assert length_warnings()


def test_a_tokenizer_without_is_fast_is_refused_with_the_reason():
    class Bare:  # no is_fast attribute at all
        pass

    with pytest.raises(ModelUnavailableError) as err:
        answer_questions(ScriptedQA({}, {}), Bare(), [("q?", "c")])
    message = str(err.value)
    assert "QA model tokenizer Bare is not a fast tokenizer" in message
    assert message.endswith("character offsets (save the model with its tokenizer.json)")


# ------------------------------------------------------------------------------------ _Template, windows


def shifted_cls():
    """[MASK] [CLS] question [SEP] context [SEP]: [CLS] is the second prefix token."""
    return make_tokenizer(
        "[MASK] [CLS] $A [SEP]", "[MASK] [CLS] $A [SEP] $B [SEP]", types=False, cls_token="[CLS]"
    )


def test_template_layouts():
    """prefix / middle / suffix / token types / [CLS] position read off the pair encoding of each layout."""
    bert = _Template(bert_like())
    assert (bert.prefix, bert.middle, bert.suffix, bert.cls_index, bert.n_special) == ([CLS], [SEP], [SEP], 0, 3)
    assert bert.types == ([0], 0, [0], 1, [1])
    shifted = _Template(shifted_cls())
    assert (shifted.prefix, shifted.cls_index) == ([0, CLS], 1)
    # [CLS] after the context (XLNet-like): not in the prefix, the template still builds
    late = _Template(make_tokenizer("$A [SEP] [CLS]", "$A [SEP] $B [SEP] [CLS]", types=False, cls_token="[CLS]"))
    assert (late.prefix, late.middle, late.suffix) == ([], [SEP], [SEP, CLS])


def test_make_windows_keeps_pair_cls_index_and_absent_token_types():
    template = _Template(shifted_cls())
    (w,) = make_windows(3, [WHO], [ANN, MET], template, QAConfig())
    assert w == Window(3, [0, CLS, WHO, SEP, ANN, MET, SEP], None, 4, 0, 2, [True, True], 1)
    assert w.token_type_ids is None


# -------------------------------------------------------------------------------------------- decoding


CONTEXT = "Ann met Bob in Paris"
OFFSETS = [(0, 3), (4, 7), (8, 11), (12, 14), (15, 20)]  # Ann, met, Bob, in, Paris


def window():
    # [CLS] q q [SEP] Ann met Bob in Paris [SEP]: context at input positions 4..8, [SEP] at 9
    return Window(0, list(range(10)), None, doc_offset=4, doc_start=0, length=5, max_context=[True] * 5)


def scripted(start: dict, end: dict, dtype=np.float64):
    s, e = np.zeros(10, dtype=dtype), np.zeros(10, dtype=dtype)
    for i, v in start.items():
        s[i] = v
    for i, v in end.items():
        e[i] = v
    return s, e


def test_an_answer_may_end_on_the_first_context_token():
    # Ann..Ann = 4 + 4 = 8 beats met..met = 1 + 1 = 2
    out = decode([window()], [scripted({4: 4.0, 5: 1.0}, {4: 4.0, 5: 1.0})], OFFSETS, CONTEXT)
    assert out == {"answer": "Ann", "score_diff": -8.0, "best": "Ann"}


def test_an_answer_may_not_end_on_the_sep_after_the_context():
    # the [SEP] at position 9 has the best end logit but is outside the context: Paris..Paris = 1 + 0.5
    out = decode([window()], [scripted({8: 1.0}, {8: 0.5, 9: 10.0})], OFFSETS, CONTEXT)
    assert out == {"answer": "Paris", "score_diff": -1.5, "best": "Paris"}


def test_equal_scores_keep_the_first_candidate():
    # starts by logit, ties in position order: Ann (4), Bob (6); ends likewise: Ann (4), Bob (6).
    # Candidates in order: Ann..Ann 3, Ann..Bob 3, Bob..Bob 3 (Bob..Ann reversed): the first, Ann, wins.
    out = decode([window()], [scripted({4: 2.0, 6: 2.0}, {4: 1.0, 6: 1.0})], OFFSETS, CONTEXT)
    assert out == {"answer": "Ann", "score_diff": -3.0, "best": "Ann"}


@pytest.mark.skipif(np.finfo(np.longdouble).nmant <= 52, reason="long double is plain double here")
def test_logits_are_added_in_double_precision():
    """run_squad adds start and end logits as Python floats (double): logits given in extended precision are
    rounded to double first. Null: 1 + 0 = 1. Bob..Bob: 2**53 + 1 in double rounds (to even) to 2**53,
    so score_diff = 1 - 2**53; in extended precision it would be 1 - (2**53 + 1) = -2**53."""
    s, e = scripted({0: 1.0, 6: 2.0**53}, {6: 1.0}, dtype=np.longdouble)
    out = decode([window()], [(s, e)], OFFSETS, CONTEXT)
    assert out["best"] == "Bob"
    assert out["score_diff"] == -(2.0**53 - 1)


def test_top_indexes_are_stable_and_descending():
    # 384 logits, three of them 1 and the rest 0: the ones in position order, then the zeros in position order
    logits = np.zeros(384)
    logits[[5, 100, 200]] = 1.0
    assert top_indexes(logits, 12) == [5, 100, 200, 0, 1, 2, 3, 4, 6, 7, 8, 9]


def test_doc_spans_of_an_empty_context():
    # run_squad: `while start_offset < len(all_doc_tokens)` never runs for no tokens
    assert doc_spans(0, 4, 3) == []


def test_max_context_of_a_token_only_one_window_holds():
    """Windows of 200 and 1 tokens: doc_spans(201, 200, 200) = [(0, 200), (200, 1)]. Token 200 lies only in
    window 1 (score min(0, 0) + 0.01), so window 1 is its max-context window although window 0 is long (a
    window that does not hold the token is not scored at all)."""
    spans = doc_spans(201, 200, 200)
    assert spans == [(0, 200), (200, 1)]
    assert is_max_context(spans, 1, 200) and not is_max_context(spans, 0, 200)
    assert is_max_context(spans, 0, 199)
    assert max_context_flags(spans) == [[True] * 200, [True]]
