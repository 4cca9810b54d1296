"""Tests written for mutants of factbench/models/generation.py (``beam_search``, ``_encode_all``) that survived the
mutation run of 2026-12-01 (docs/mutation.md).

They pin down, on a scripted seq2seq "model" whose next-token log-probabilities are a table of (step, first
source token), so that every score is a sum of known logarithms:

- the documented defaults of ``beam_search`` (``num_beams = num_return = 10``, ``max_new_tokens = 32``,
  ``early_stopping = True``, the timer stage ``"generation"``, the shared cross-attention execution unless
  ``plain``), the per-token log-probs, sums, normalised scores and decoded texts of the returned hypotheses, and the
  cost counters (one encoder pass, one decoder pass over ``inputs x num_beams`` rows per generated position);
- how string inputs reach the encoder: the tokenizer's own encoding (``truncation=True, max_length=n``), the task
  prefix, ``no_bos``, and a batch padded with the model's pad id as the tokenizer's own ``padding=True`` pads it;
- transformers 4.56's beam-search rules (``generation/utils.py``: ``_update_finished_beams``,
  ``_check_early_stop_heuristic``, ``_beam_search_has_unfinished_sequences``): the length penalty
  ``sum log p / len ** lp`` both for finished hypotheses and for the best running one in the early-stop heuristic
  (length = tokens generated so far, ``cur_len - decoder_prompt_len``), the strict ``>`` of that heuristic, and
  that an input which is done (``early_stopping=True``: k finished; ``False``: the heuristic says no running beam
  can enter) takes no more hypotheses while other inputs of the batch go on;
- that every tensor of the search is made on the model's device, not torch's default one: on a CUDA machine with
  the model on the GPU, and on any machine with a probe (DefaultDeviceIsNotTheModels) that makes the default
  device another one than the model's and refuses the calls that mix the two, as CUDA does.

Expected values are derived by hand from those rules (the arithmetic is in the docstrings and comments), from the
documented format, or from the tokenizer's own encoding; none is a value produced by running factbench.
"""

import math
from types import SimpleNamespace

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves, tree_map

from factbench.models.generation import beam_search
from factbench.timing import StageTimer

EOS = 1
B_, C_ = 2, 3  # the tokens "b" and "c" of the small tables


class CountingLinear(torch.nn.Linear):
    """A cross-attention key projection that records how many rows it computes per call."""

    def __init__(self):
        super().__init__(1, 1)
        self.seen = []

    def forward(self, x):
        self.seen.append(int(x.shape[0]))
        return super().forward(x)


class SourceScripted(torch.nn.Module):
    """Stands in for a seq2seq model: the next-token log-probs of a decoder row are ``table(step, s)`` where ``s``
    is the first token of the row's source (so inputs of one batch can follow different tables), given as logits
    (log-softmax of normalised log-probs is the identity up to rounding). Records the encoder's inputs and the
    number of decoder rows per call; its decoder holds a cross-attention key projection named like BART's
    (``encoder_attn.k_proj``) that every decoder pass applies to the encoder states, so the rows it computes
    show whether they were computed per input (factbench's shared execution) or per beam (the stock forward)."""

    def __init__(self, table, vocab, eos=EOS, pad=None, start=0):
        super().__init__()
        self.table, self.vocab = table, vocab
        self.decoder = torch.nn.Module()
        self.decoder.encoder_attn = torch.nn.Module()
        self.decoder.encoder_attn.k_proj = CountingLinear()
        self.config = SimpleNamespace(pad_token_id=pad, eos_token_id=eos, decoder_start_token_id=start,
                                      model_type="scripted", is_encoder_decoder=True)
        self.encoder_inputs = []  # (input_ids, attention_mask) per encoder call
        self.rows = []  # decoder rows per decoder call

    @property
    def k_rows(self):
        return self.decoder.encoder_attn.k_proj.seen

    def get_encoder(self):
        def encode(input_ids, attention_mask, **kwargs):  # e.g. return_dict=True, as a real encoder takes
            self.encoder_inputs.append((input_ids.tolist(), attention_mask.tolist()))
            return SimpleNamespace(last_hidden_state=input_ids[..., None].float())

        return encode

    def get_decoder(self):
        return self.decoder

    def get_output_embeddings(self):
        return None

    def forward(self, encoder_outputs=None, attention_mask=None, decoder_input_ids=None, use_cache=True,
                return_dict=True, past_key_values=None):
        hidden = encoder_outputs.last_hidden_state
        self.decoder.encoder_attn.k_proj(hidden)
        hist = decoder_input_ids if past_key_values is None else torch.cat([past_key_values[0][0],
                                                                            decoder_input_ids], 1)
        self.rows.append(int(hist.shape[0]))
        step = hist.shape[1] - 1
        rows = [self.table(step, int(s)) for s in hidden[:, 0, 0].tolist()]
        logits = torch.tensor(rows, dtype=torch.float32, device=hidden.device)[:, None, :]
        return SimpleNamespace(logits=logits, past_key_values=((hist, hist),))


class IdTokenizer:
    """Decodes ids as their numbers; like transformers' ``decode``, special tokens (EOS) are kept unless
    ``skip_special_tokens=True`` (the default is False)."""

    pad_token_id = None
    eos_token_id = EOS
    bos_token_id = None

    def decode(self, ids, skip_special_tokens=False):
        return " ".join(str(i) for i in ids if not (skip_special_tokens and i == EOS))


def logs(probs: dict, vocab: int):
    return [math.log(probs[i]) for i in range(vocab)]


L = math.log


# --------------------------------------------------------------------------------------------------------------
# The defaults


FIRST = {2: .2, 3: .15, 4: .12, 5: .1, 6: .09, 7: .08, 8: .07, 9: .06, 10: .05, 11: .04, 12: .03, 13: .008}
V14 = 14


def defaults_table(step, src):
    if step == 0:  # sums to 1: 0.99 + 0.008 + 0.0015 + 0.0005
        return logs({0: .0005, EOS: .0015, **FIRST}, V14)
    if step < 31:  # "2" dominant, EOS unlikely
        return logs({0: 1e-4, EOS: 1e-4, 2: .9, **{k: (.1 - 2e-4) / 11 for k in range(3, 14)}}, V14)
    return logs({0: .01, EOS: .55, 2: .35, **{k: .09 / 11 for k in range(3, 14)}}, V14)  # from step 31 on


def test_defaults_return_ten_beams_of_32_tokens_with_their_scores_texts_and_costs():
    """``beam_search(model, tokenizer, [src])`` with every default: 10 beams, 10 returned, 32 new tokens.

    Step 0 (only beam 0 live): the 10 best first tokens are k = 2..11 (p_k = .2 .15 .12 .1 .09 .08 .07 .06 .05
    .04; EOS has .0015 and is not among them). Steps 1..30: each beam's best continuation is "2" (p = .9); the
    worst beam's "2" (ln .04 + ln .9 = -3.324) beats the best beam's second-best token (ln .2 + ln 0.00908 =
    -6.31), so the beams keep their first token and append "2"; EOS (1e-4) is never among the top 10, so nothing
    finishes. Step 31 is the last (``max_new_tokens`` = 32 counts EOS): every candidate stops, and the 10 best of
    them, by p_k x q with q = .55 for EOS and .35 for "2" (the common factor .9 ** 30 left out), finish:
    .11 (2, EOS), .0825 (3, EOS), .07 (2, "2"), .066 (4, EOS), .055 (5, EOS), .0525 (3, "2"), .0495 (6, EOS),
    .044 (7, EOS), .042 (4, "2"), .0385 (8, EOS); next would be .035. All have 32 tokens: token_logprobs
    [ln p_k] + [ln .9] * 30 + [ln q]; score their sum; norm_score score / 32 ** 1.0 (length penalty 1), e.g.
    (2, EOS): ln .2 + 30 ln .9 + ln .55 = -1.6094 - 3.1608 - 0.5978 = -5.3681, / 32 = -0.16775; text: the
    tokens decoded without special tokens (EOS dropped).
    Costs: one encoder pass over 3 tokens, then 32 decoder passes over 1 input x 10 beams = 10 rows:
    model_calls 33, tokens_in 3, tokens_out 320. The cross-attention keys are computed once per input (1 row) per
    pass, not per beam; ``plain=True`` runs the stock forward, which computes them for all 10 rows."""
    model = SourceScripted(defaults_table, V14)
    timer = StageTimer()
    (hyps,) = beam_search(model, IdTokenizer(), [[5, 6, 7]], timer=timer)
    order = [(2, EOS), (3, EOS), (2, 2), (4, EOS), (5, EOS), (3, 2), (6, EOS), (7, EOS), (4, 2), (8, EOS)]
    assert [h.tokens for h in hyps] == [[k] + [2] * 30 + [last] for k, last in order]
    for h, (k, last) in zip(hyps, order):
        expected = [L(FIRST[k])] + [L(.9)] * 30 + [L(.55 if last == EOS else .35)]
        assert h.token_logprobs == pytest.approx(expected, abs=1e-5)
        assert h.score == pytest.approx(sum(expected), abs=1e-4)
        assert h.norm_score == pytest.approx(sum(expected) / 32, abs=1e-5)
        assert h.text == " ".join([str(k)] + ["2"] * 30 + ([] if last == EOS else ["2"]))
    assert hyps[0].norm_score == pytest.approx(-0.16775, abs=1e-5)
    assert model.rows == [10] * 32
    assert model.k_rows == [1] * 32
    counts = timer.as_dict()
    assert set(counts) == {"generation"}
    assert {k: counts["generation"][k] for k in ("model_calls", "tokens_in", "tokens_out")} == {
        "model_calls": 33, "tokens_in": 3, "tokens_out": 320}

    plain = SourceScripted(defaults_table, V14)
    (phyps,) = beam_search(plain, IdTokenizer(), [[5, 6, 7]], plain=True)
    assert plain.k_rows == [10] * 32  # the stock forward: keys per beam
    assert [h.tokens for h in phyps] == [h.tokens for h in hyps]  # consistency: the same search


def test_num_return_above_num_beams_is_refused():
    model = SourceScripted(defaults_table, V14)
    with pytest.raises(ValueError, match=r"num_return \(3\) must not exceed num_beams \(2\)"):
        beam_search(model, IdTokenizer(), [[5]], num_beams=2, num_return=3)


# --------------------------------------------------------------------------------------------------------------
# String inputs: encoding and padding


@pytest.fixture(scope="module")
def bart_tokenizer(tmp_path_factory):
    """The tiny BART tokenizer (byte-level BPE; <s> = 0, <pad> = 1, </s> = 2), loaded by transformers."""
    from transformers import AutoTokenizer

    from factbench.models.tiny import _bart_tokenizer

    d = tmp_path_factory.mktemp("bart_tok")
    _bart_tokenizer(d)
    return AutoTokenizer.from_pretrained(str(d))


def test_string_inputs_reach_the_encoder_as_the_tokenizer_encodes_and_pads_them(bart_tokenizer):
    """Expected encoder inputs come from the tokenizer itself: ``tok(texts, padding=True)`` (BOS kept by default,
    the shorter source padded with the pad id 1, mask 0 there); with ``max_source_tokens=16, prefix, no_bos=True``:
    ``tok(prefix + text, truncation=True, max_length=16)`` with the leading BOS then dropped (encode_source's
    documented order), padded the same way."""
    tok = bart_tokenizer
    texts = ["The airline cancelled hundreds of flights because of a strike.", "Rain fell."]
    table = lambda step, src: logs({0: .1, 1: .2, 2: .3, 3: .4}, 4)  # noqa: E731
    model = SourceScripted(table, 4, eos=tok.eos_token_id, pad=tok.pad_token_id, start=tok.eos_token_id)
    beam_search(model, tok, texts, num_beams=2, num_return=1, max_new_tokens=2)
    ref = tok(texts, padding=True)
    assert len(set(map(len, tok(texts)["input_ids"]))) == 2 and ref["input_ids"][0][0] == tok.bos_token_id
    assert model.encoder_inputs == [(ref["input_ids"], ref["attention_mask"])]

    prefix = "q: "
    model = SourceScripted(table, 4, eos=tok.eos_token_id, pad=tok.pad_token_id, start=tok.eos_token_id)
    beam_search(model, tok, texts, num_beams=2, num_return=1, max_new_tokens=2, max_source_tokens=16,
                prefix=prefix, no_bos=True)
    cut = [tok(prefix + t, truncation=True, max_length=16)["input_ids"] for t in texts]
    assert all(c[0] == tok.bos_token_id for c in cut) and len(cut[0]) == 16 and cut[0][-1] == tok.eos_token_id
    assert len(set(map(len, cut))) == 2  # the second still needs padding
    ref = tok.pad({"input_ids": [c[1:] for c in cut]})
    assert model.encoder_inputs == [(ref["input_ids"], ref["attention_mask"])]


# --------------------------------------------------------------------------------------------------------------
# transformers' rules with two beams (tokens: 0 never useful, EOS, "b" = 2, "c" = 3)


def stop_table(step, src=None):
    # EOS .6 then .55 then .99: as in test_beam_rules.bs_table, with a fourth token
    if step == 0:
        return logs({0: 1e-6, EOS: .6, B_: .4 - 2e-6, C_: 1e-6}, 4)
    if step == 1:
        return logs({0: 1e-6, EOS: .55, B_: .45 - 2e-6, C_: 1e-6}, 4)
    return logs({0: 1e-6, EOS: .99, B_: .01 - 2e-6, C_: 1e-6}, 4)


def go_on_table(step, src=None):
    # as stop_table, but "b" is likelier at step 1 (.7)
    if step == 1:
        return logs({0: 1e-6, EOS: .3, B_: .7 - 2e-6, C_: 1e-6}, 4)
    return stop_table(step)


def long_table(step, src=None):
    # never EOS: an input following it runs to max_new_tokens
    return logs({0: 1e-6, EOS: 1e-6, B_: .7, C_: .3 - 2e-6}, 4)


def tie_table(step, src=None):
    # at step 1, EOS and "b" have the same probability
    if step == 0:
        return logs({0: 1e-6, EOS: .5, B_: .3, C_: .2 - 1e-6}, 4)
    if step == 1:
        return logs({0: 1e-6, EOS: .45, B_: .45, C_: .1 - 1e-6}, 4)
    return logs({0: 1e-6, EOS: .99, B_: .01 - 2e-6, C_: 1e-6}, 4)


def by_source(**tables):
    return lambda step, src: tables[f"s{src}"](step)


def run2(table, src=([5],), **kw):
    model = SourceScripted(table, 4)
    out = beam_search(model, IdTokenizer(), list(src), num_beams=2, num_return=2, **kw)
    return model, out


def test_early_stopping_defaults_to_true():
    """go_on_table. Step 0: "EOS" finishes (ln .6 = -0.5108), "b" runs (ln .4 = -0.9163). Step 1: "b EOS" finishes
    (ln .4 + ln .3 = -2.1203, norm -1.0601): two finished, so with the default ``early_stopping=True`` the search
    stops. (With False it would go on, "b b" = -1.2730 / 2 = -0.6365 > -1.0601, and return "b b EOS" first.)"""
    model, (hyps,) = run2(go_on_table, max_new_tokens=6)
    assert [h.tokens for h in hyps] == [[EOS], [B_, EOS]]
    assert [h.norm_score for h in hyps] == pytest.approx([-0.5108256, -1.0601318], abs=1e-4)
    assert len(model.rows) == 2


def test_heuristic_normalises_the_running_score_by_the_current_length():
    """stop_table, ``early_stopping=False``. After step 1 the finished list is full: "EOS" (-0.5108) and "b EOS"
    (ln .4 + ln .55 = -1.5141, norm -0.7571). Best running "b b" = ln .4 + ln .45 = -1.7148; transformers divides
    it by the current length ``cur_len - decoder_prompt_len`` = 2: -0.8574, not > -0.7571: stop after two decoder
    passes. (At length 3 it would be -0.5716 and the search would go on to "b b EOS", norm -0.5749.)"""
    model, (hyps,) = run2(stop_table, max_new_tokens=6, early_stopping=False)
    assert [h.tokens for h in hyps] == [[EOS], [B_, EOS]]
    assert [h.score for h in hyps] == pytest.approx([-0.5108256, -1.5141277], abs=1e-4)
    assert len(model.rows) == 2


def test_heuristic_needs_a_strictly_better_running_beam():
    """tie_table, ``early_stopping=False``. Step 0: "EOS" finishes (ln .5 = -0.6931); "b" (ln .3) and "c" (ln .2)
    run. Step 1: "b EOS" and "b b" both score ln .3 + ln .45 = -2.0025 (the two best candidates, so "b EOS" is
    among the top two and finishes, norm -1.0012); "b b" is the best running beam, -2.0025 / 2 = -1.0012: equal
    to the worst finished score, and transformers requires ``best_possible > worst``: stop. (With >= the search
    would go on and return "b b EOS", (-2.0025 + ln .99) / 3 = -0.6708, first.)"""
    model, (hyps,) = run2(tie_table, max_new_tokens=6, early_stopping=False)
    assert [h.tokens for h in hyps] == [[EOS], [B_, EOS]]
    assert [h.norm_score for h in hyps] == pytest.approx([-0.6931472, -1.0012403], abs=1e-4)
    assert len(model.rows) == 2


def test_length_penalty_two_in_finished_scores_and_in_the_heuristic():
    """stop_table, ``length_penalty=2``, ``early_stopping=False``: scores are ``sum log p / len ** 2``.
    Step 0: "EOS" -0.5108 / 1 = -0.5108. Step 1: "b EOS" -1.5141 / 4 = -0.3785; list full, worst -0.5108; best
    running "b b" -1.7148 / 2 ** 2 = -0.4287 > -0.5108: go on. Step 2: "b b EOS" = -1.7148 + ln .99 = -1.7249,
    / 9 = -0.1916, replaces "EOS"; best running "b b b" = -1.7148 + ln .01 = -6.3200, / 9 = -0.7022, not >
    worst -0.3785: stop after three passes."""
    model, (hyps,) = run2(stop_table, max_new_tokens=6, early_stopping=False, length_penalty=2.0)
    assert [h.tokens for h in hyps] == [[B_, B_, EOS], [B_, EOS]]
    assert [h.score for h in hyps] == pytest.approx([-1.7248488, -1.5141277], abs=1e-4)
    assert [h.norm_score for h in hyps] == pytest.approx([-1.7248488 / 9, -1.5141277 / 4], abs=1e-5)
    assert hyps[0].token_logprobs == pytest.approx([L(.4), L(.45), L(.99)], abs=1e-5)
    assert len(model.rows) == 3


def test_an_input_the_heuristic_closed_takes_no_more_hypotheses_while_the_batch_goes_on():
    """Two inputs, ``early_stopping=False``, 5 new tokens: input 5 follows stop_table, input 8 long_table (no
    EOS, so it runs all 5 steps). transformers decides per input (``is_early_stop_heuristic_unsatisfied`` has one
    row per input, and a closed row adds -1e9 to its new candidates): input 5 is closed after step 1 as when
    alone (test above), so at step 2 its "b b EOS" (norm -0.5749, better than -0.7571) must not enter.
    Input 8: "b" (p .7) is every step's best token: "b b b b b" first."""
    model, (a, b) = run2(by_source(s5=stop_table, s8=long_table), src=[[5], [8, 9]], max_new_tokens=5,
                         early_stopping=False)
    assert [h.tokens for h in a] == [[EOS], [B_, EOS]]
    assert [h.norm_score for h in a] == pytest.approx([-0.5108256, -1.5141277 / 2], abs=1e-4)
    assert b[0].tokens == [B_] * 5 and b[0].score == pytest.approx(5 * L(.7), abs=1e-4)
    assert len(model.rows) == 5


def test_an_input_with_k_finished_takes_no_more_hypotheses_while_the_batch_goes_on():
    """Two inputs, ``early_stopping=True``: input 6 follows go_on_table, input 8 long_table. Input 6 has two
    finished hypotheses after step 1 ("EOS" -0.5108, "b EOS" -1.0601), as when alone; transformers then adds -1e9
    to its candidates (``beams_in_batch_are_full``), so at step 2 its "b b EOS" (-1.2831 / 3 = -0.4277, which
    would enter) is not taken while input 8 goes on to 5 tokens."""
    model, (a, b) = run2(by_source(s6=go_on_table, s8=long_table), src=[[6], [8]], max_new_tokens=5,
                         early_stopping=True)
    assert [h.tokens for h in a] == [[EOS], [B_, EOS]]
    assert [h.norm_score for h in a] == pytest.approx([-0.5108256, -1.0601318], abs=1e-4)
    assert b[0].tokens == [B_] * 5
    assert len(model.rows) == 5


def test_two_token_vocabulary():
    """The smallest vocabulary (EOS and "b"): the 2K = 4 candidates of two beams are all K x V = 4 there are,
    beam 1's dead ones (score -1e9) included. Step 0: "EOS" finishes (ln .6); "b" runs (ln .4), with a dead
    beam. Step 1: "b EOS" (ln .4 + ln .55 = -1.5141, norm -0.7571) is among the top two and finishes: two
    finished, done (``early_stopping=True``). transformers keeps the same 2K candidates (``beams_to_keep``)."""
    table = lambda step, src: [L(.6), L(.4)] if step == 0 else [L(.55), L(.45)]  # noqa: E731
    model = SourceScripted(table, 2, eos=0, start=0)
    (hyps,) = beam_search(model, IdTokenizer(), [[5]], num_beams=2, num_return=2, max_new_tokens=6)
    assert [h.tokens for h in hyps] == [[0], [1, 0]]
    assert [h.norm_score for h in hyps] == pytest.approx([L(.6), (L(.4) + L(.55)) / 2], abs=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_search_state_lives_on_the_model_device():
    """The same searches with the model on CUDA: every tensor of the search must be on the model's device (a CPU
    tensor mixed into the step's arithmetic raises). Expected: the hand-derived outputs of the tests above."""
    for table, src, kw, expected in [
        (stop_table, [[5]], dict(early_stopping=False, length_penalty=2.0), [[B_, B_, EOS], [B_, EOS]]),
        (by_source(s6=go_on_table, s8=long_table), [[6], [8]], dict(early_stopping=True), [[EOS], [B_, EOS]]),
    ]:
        model = SourceScripted(table, 4).to("cuda")
        out = beam_search(model, IdTokenizer(), src, num_beams=2, num_return=2, max_new_tokens=5, **kw)
        assert [h.tokens for h in out[0]] == expected


class OnDefaultDevice(torch.Tensor):
    """A tensor made on torch's default device (the probe below keeps its data on the CPU)."""

    __torch_function__ = torch._C._disabled_torch_function_impl


DEFAULT_DEVICE = torch.device("cpu", 0)  # what ``.device`` says of an OnDefaultDevice tensor


class DefaultDeviceIsNotTheModels(TorchFunctionMode):
    """Makes torch's default device a device other than the model's (CPU), as on a GPU machine, where the model
    is on CUDA and the default device is the CPU, and refuses what CUDA refuses there: a call that mixes tensors of
    the two devices (a 0-dim tensor on the default device, which CUDA takes as a scalar, and index tensors on the
    default device into a tensor on the model's, which CUDA accepts, excepted).

    A tensor made without a device (or with ``device=None``) is marked as being on the default device
    (OnDefaultDevice); ``.to(device)`` with the model's device unmarks it, ``.to(None)`` does not; any other call
    puts its result where its tensor arguments are; ``x.device`` of a marked tensor is ``cpu:0``, and a tensor made
    with that device is marked too. The data stay on the CPU, so the search runs to its end (torch's ``meta``
    device, which the diverse-beam probe in test_mutation_kills_diverse_beam.py uses, has no data:
    ``beam_search`` makes ``top_mask`` on the default device and then moves it with ``.to(dev)``, which a GPU
    run does and which cannot copy out of ``meta``)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func == torch.Tensor.device.__get__:
            return DEFAULT_DEVICE if isinstance(args[0], OnDefaultDevice) else func(*args)
        tensors = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        checked = tensors
        if func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__) and not isinstance(args[0], OnDefaultDevice):
            # CUDA indexes a CUDA tensor with CPU index tensors (not a CPU tensor with CUDA ones)
            checked = [args[0], *[t for t in tree_leaves(args[2:]) if isinstance(t, torch.Tensor)]]
        marked = {isinstance(t, OnDefaultDevice) for t in checked
                  if not (t.dim() == 0 and isinstance(t, OnDefaultDevice))}
        if len(marked) > 1:
            raise RuntimeError(f"{getattr(func, '__name__', func)} mixes tensors of the model's and the default "
                               "device")
        device = kwargs.get("device")
        if func in (torch.Tensor.to, torch.Tensor.to.__get__) or getattr(func, "__name__", "") == "to":
            device = next((a for a in args[1:] if isinstance(a, (str, torch.device, torch.Tensor))), device)
            if isinstance(device, torch.Tensor):
                device = DEFAULT_DEVICE if isinstance(device, OnDefaultDevice) else device.device
        if device is not None:
            on_default = torch.device(device) == DEFAULT_DEVICE
        elif tensors:
            on_default = marked == {True} or (not marked and any(isinstance(t, OnDefaultDevice) for t in tensors))
        else:
            on_default = True  # a tensor made without a device: on the default device
        plain = lambda x: x.as_subclass(torch.Tensor) if isinstance(x, OnDefaultDevice) else x  # noqa: E731
        on_cpu = lambda x: torch.device("cpu") if x == DEFAULT_DEVICE else x  # noqa: E731
        args, kwargs = tree_map(lambda x: on_cpu(plain(x)) if isinstance(x, (torch.Tensor, torch.device)) else x,
                                (args, kwargs))
        out = func(*args, **kwargs)
        if on_default:
            out = tree_map(lambda x: x.as_subclass(OnDefaultDevice) if type(x) is torch.Tensor else x, out)
        return out


def test_search_state_is_made_on_the_model_device_not_the_default_one():
    """The searches of the CUDA test above on a CPU machine, with the probe making torch's default device one
    other than the model's and refusing any call that mixes the two (as CUDA does): every tensor the search makes
    must be on the model's device (``device=runner.device``), or the step's arithmetic raises. Expected: the
    hand-derived outputs of test_length_penalty_two_in_finished_scores_and_in_the_heuristic and
    test_an_input_with_k_finished_takes_no_more_hypotheses_while_the_batch_goes_on."""
    for table, src, kw, expected in [
        (stop_table, [[5]], dict(early_stopping=False, length_penalty=2.0), [[B_, B_, EOS], [B_, EOS]]),
        (by_source(s6=go_on_table, s8=long_table), [[6], [8]], dict(early_stopping=True), [[EOS], [B_, EOS]]),
    ]:
        for plain in (False, True):
            model = SourceScripted(table, 4)
            with DefaultDeviceIsNotTheModels():
                out = beam_search(model, IdTokenizer(), src, num_beams=2, num_return=2, max_new_tokens=5,
                                  plain=plain, **kw)
            assert [h.tokens for h in out[0]] == expected
            assert len(out) == len(src) and out[-1][0].tokens == ([B_] * 5 if len(src) == 2 else expected[0])
    # the probe itself: it refuses what CUDA refuses, and accepts what CUDA accepts
    with DefaultDeviceIsNotTheModels():
        on_model = torch.zeros(3, device=torch.device("cpu"))
        with pytest.raises(RuntimeError, match="mixes tensors"):
            on_model + torch.zeros(3)
        with pytest.raises(RuntimeError, match="mixes tensors"):
            on_model + torch.zeros(3, device=None)
        with pytest.raises(RuntimeError, match="mixes tensors"):
            on_model + torch.zeros(3).to(None)
        assert (on_model + torch.ones(3).to(on_model.device)).tolist() == [1, 1, 1]
        assert (on_model + torch.tensor(2.0)).tolist() == [2, 2, 2]
        assert on_model[torch.tensor([0, 2])].tolist() == [0, 0]
        with pytest.raises(RuntimeError, match="mixes tensors"):
            torch.zeros(3)[torch.arange(2, device=torch.device("cpu"))]
        with pytest.raises(RuntimeError, match="mixes tensors"):  # the result stays on the model's device
            on_model[torch.tensor([0, 2])] + torch.zeros(2)
