"""Tests written for mutants of ``diverse_beam_search`` (factbench/models/generation.py) that survived the mutation
run (docs/mutation.md).

They pin down, on a scripted "model" whose next-token probabilities are a table of (source, generated prefix),
so that every score below is a sum of known logarithms:

- a whole output worked out by hand from fairseq's ``DiverseBeamSearch`` (groups of beam size 1) and
  ``SequenceGenerator`` rules (ALGORITHMS.md §2.2; the rules are spelled out in tests/models/test_beam_rules.py):
  the Hamming penalty, the finalisation of a slot whose top candidate is EOS, fairseq's ignored slots (a blocked
  candidate that fills a slot, here the one at candidate position 0), an input that leaves the batch, the length
  penalty, the decoded text (special tokens kept) and the cost counters (scoring.py's module doc);
- the defaults of the QUALS command (``--min_len 8 --max_len 60``, fairseq bans the pad token) and the bound of
  ``max_len + 1`` decoding steps;
- the source encoding (``max_source_tokens`` truncation, pad-id padding of a batch of sources);
- that the search keeps every tensor on the model's device and in float32 whatever torch's default device and
  dtype are (probed by setting the default device to ``meta`` and the default dtype to float64: what a GPU run,
  where the default device is the CPU, or a float64 session would meet), and that ``plain=True`` runs the stock
  forward (none of the runner's patches entered).

Expected values are worked out by hand (the arithmetic is in the docstrings and comments) or read from the
documented rules; none comes from running factbench.
"""

import math
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

import factbench.models.generation as generation
import factbench.models.scoring as scoring
from factbench.models.generation import diverse_beam_search
from factbench.timing import StageTimer

A, EOS, PAD = 0, 1, 2  # token ids: "a", "</s>", "<pad>"
START = 0  # decoder start token (stripped from the prefix the table sees)
NAMES = {A: "a", EOS: "</s>", PAD: "<pad>"}
ln = math.log


class PrefixScripted(torch.nn.Module):
    """Stands in for a seq2seq model: the next-token probabilities of a decoder row are ``table(source, prefix)``
    (``source``: the row's source ids without padding; ``prefix``: the tokens generated so far), returned as
    logits ``log p`` (log-softmax of normalised log-probabilities is the identity; p = 0 gives -inf). Implements
    what factbench's Seq2SeqRunner calls (``get_encoder()``, ``forward`` with a legacy tuple cache holding the
    prefix, ``get_decoder()``, ``get_output_embeddings()``); records the encoder inputs and counts the decoder
    passes."""

    def __init__(self, table, vocab, pad=None):
        super().__init__()
        self.table, self.vocab = table, vocab
        self.weight = torch.nn.Parameter(torch.zeros(1))  # the runner reads the device and counts parameters
        self.config = SimpleNamespace(pad_token_id=pad, eos_token_id=EOS, decoder_start_token_id=START,
                                      model_type="scripted", is_encoder_decoder=True)
        self.calls = 0
        self.encoded = []

    def get_encoder(self):
        def encode(input_ids, attention_mask, **kwargs):
            self.encoded.append((input_ids.tolist(), attention_mask.tolist()))
            return SimpleNamespace(last_hidden_state=input_ids[..., None].to(torch.float32))

        return encode

    def get_decoder(self):
        return torch.nn.Module()

    def get_output_embeddings(self):
        return None

    def forward(self, encoder_outputs=None, attention_mask=None, decoder_input_ids=None, use_cache=True,
                return_dict=True, past_key_values=None):
        self.calls += 1
        hist = decoder_input_ids if past_key_values is None else torch.cat([past_key_values[0][0],
                                                                            decoder_input_ids], 1)
        src = encoder_outputs.last_hidden_state[:, :, 0].long().tolist()
        mask = attention_mask.tolist()
        rows = []
        for s, m, h in zip(src, mask, hist.tolist()):
            probs = self.table(tuple(t for t, k in zip(s, m) if k), tuple(h[1:]))
            rows.append([math.log(p) if p > 0 else -math.inf for p in probs])
        logits = torch.tensor(rows, dtype=torch.float32, device=hist.device)[:, None, :]
        return SimpleNamespace(logits=logits, past_key_values=((hist, hist),))


class Tokenizer:
    """Words are ids by a fixed vocabulary, then EOS (no BOS); ``decode`` spells ids by NAMES and drops the special
    tokens only when asked, as transformers' tokenizers do. ``pad``: its pad id (None for a vocabulary without)."""

    eos_token_id = EOS
    bos_token_id = None
    words = {"the": 3, "cat": 4, "sat": 5, "on": 6, "mat": 7}

    def __init__(self, pad=None):
        self.pad_token_id = pad

    def __call__(self, text, add_special_tokens=True, verbose=True):
        return {"input_ids": [self.words[w] for w in text.split()] + ([EOS] if add_special_tokens else [])}

    def decode(self, ids, skip_special_tokens=False):
        return " ".join(NAMES[i] for i in ids if not (skip_special_tokens and i in (EOS, PAD)))


def hyp_view(h):
    return (h.tokens, h.group, h.text)


# --------------------------------------------------------------------------------------------------------------
# One whole output, by hand


def table_batch(src, prefix):
    """Vocabulary {a, EOS}: fairseq's k = min(2 * beam, V - 1) = 1 candidate per group."""
    if src == (7,):  # input X: EOS likely at once
        return [0.1, 0.9]
    # input Y
    return {(): [0.4, 0.6], (A,): [0.9, 0.1], (EOS,): [0.1, 0.9], (A, A): [0.2, 0.8]}.get(prefix, [0.5, 0.5])


# Worked out by hand (two groups, strength 0.5, min_len 0, length penalty 2):
# Input X, step 0 (a = ln 0.1 = -2.3026, EOS = ln 0.9 = -0.1054):
#   group 0: EOS -0.1054 (EOS counted once); group 1: EOS -0.1054 - 0.5 = -0.6054 > a -2.3026 -> EOS.
#   Both slots' top candidates are EOS: "EOS" (group 0, -0.1054) and "EOS" (group 1, -0.6054) are final,
#   X has its two hypotheses and leaves the batch after step 0.
# Input Y, step 0 (a = ln 0.4 = -0.9163, EOS = ln 0.6 = -0.5108):
#   group 0: EOS -0.5108 (counted); group 1: EOS -1.0108 < a -0.9163 -> a. Slot 0 finalises "EOS" (-0.5108).
#   Candidates in fairseq's order [EOS (position 0, blocked), a (position 1, free)]: the slots continue as
#   [a (from group 1, -0.9163), EOS (position 0: blocked, so the slot is ignored)].
# Input Y, step 1: slot 0 "a" (a = ln 0.9, EOS = ln 0.1): a -0.9163 - 0.1054 = -1.0217 > EOS -3.2189 -> a
#   (counted); slot 1 "EOS" (ignored; a = ln 0.1, EOS = ln 0.9): EOS -0.5108 - 0.1054 = -0.6162 > a
#   -0.5108 - 2.3026 - 0.5 = -3.3134 -> EOS, but an ignored slot never finalises (fairseq's cands_to_ignore).
#   Slots: [a a (-1.0217), EOS (position 1: blocked, ignored again)].
# Input Y, step 2: slot 0 "a a" (a = ln 0.2, EOS = ln 0.8): EOS -1.0217 - 0.2231 = -1.2448 > a -2.6311 ->
#   "a a EOS" is final (group 0); Y has two: done.
# norm_score = score / len ** 2: "a a EOS" -1.2448 / 9 = -0.1383; the one-token ones / 1.
# Decoder passes: step 0 once per input (2 rows: the groups share it), then Y's 2 rows at steps 1 and 2.
L9, L1 = ln(0.9), ln(0.1)
EXPECTED_BATCH = [
    # (tokens, group, text, token_logprobs, model_logprobs)
    [([EOS], 0, "</s>", [L9], [L9]), ([EOS], 1, "</s>", [L9 - 0.5], [L9])],
    [([A, A, EOS], 0, "a a </s>", [ln(0.4), L9, ln(0.8)], [ln(0.4), L9, ln(0.8)]),
     ([EOS], 0, "</s>", [ln(0.6)], [ln(0.6)])],
]


def check_batch(out, length_penalty=2.0):
    assert [[hyp_view(h) for h in hs] for hs in out] == [[e[:3] for e in es] for es in EXPECTED_BATCH]
    for hs, es in zip(out, EXPECTED_BATCH):
        for h, (toks, _, _, pos, model) in zip(hs, es):
            assert h.token_logprobs == pytest.approx(pos, abs=1e-5)
            assert h.model_logprobs == pytest.approx(model, abs=1e-5)
            assert h.score == pytest.approx(sum(pos), abs=1e-5)
            assert h.norm_score == pytest.approx(sum(pos) / len(toks) ** length_penalty, abs=1e-5)


@contextmanager
def recording_cross_kv(monkeypatch):
    """Counts how often the runner enters its shared cross-attention patch (outside ``plain`` only)."""
    entered = []
    orig = scoring.shared_cross_kv

    @contextmanager
    def spy(*args, **kwargs):
        entered.append(1)
        with orig(*args, **kwargs) as n:
            yield n

    monkeypatch.setattr(scoring, "shared_cross_kv", spy)
    yield entered


@pytest.mark.parametrize("plain", [False, True])
def test_whole_output_with_ignored_slot_at_position_0_and_early_leaver(plain, monkeypatch):
    """The hand-worked output above, for factbench's execution and the stock one (``plain``). Also: the cost
    counters (encoder 1 call over 1 + 1 source tokens; decoder: 3 steps; rows 2 + 2 + 2, with the shared first
    step; ``plain`` runs the first step for every group: 4 + 2 + 2), and that ``plain`` enters none of the
    runner's patches while factbench's execution does."""
    model = PrefixScripted(table_batch, vocab=2)
    timer = StageTimer()
    with recording_cross_kv(monkeypatch) as entered:
        out = diverse_beam_search(model, Tokenizer(), [[7], [8]], num_groups=2, diversity_strength=0.5, min_len=0,
                                  max_len=10, length_penalty=2.0, timer=timer, plain=plain)
    check_batch(out)
    # "a a EOS": -1.2448 / 3 ** 2 = -0.1383 (length penalty 2), not -1.2448 / 3 * 2
    assert out[1][0].norm_score == pytest.approx((ln(0.4) + L9 + ln(0.8)) / 9, abs=1e-6)
    c = timer.as_dict()["generation"]
    assert (c["model_calls"], c["tokens_in"], c["tokens_out"]) == (1 + 3, 2, (8 if plain else 6))
    assert model.calls == 3
    assert (len(entered) > 0) == (not plain)


# --------------------------------------------------------------------------------------------------------------
# Defaults and the step bound


def table_defaults(src, prefix):
    if src == (5,):
        return [0.2, 0.3, 0.5]  # pad likeliest, then EOS
    if src == (6,):
        return [0.9, 0.05, 0.05]  # EOS never on top
    return [1.0, 0.0, 0.0]  # src (9,): EOS impossible, the search can never end it


def test_quals_defaults_and_at_most_max_len_plus_one_steps():
    """One group, every other setting at its default: QUALS's ``--min_len 8 --max_len 60`` and fairseq's pad ban
    (ALGORITHMS.md §2.2; fairseq sets ``lprobs[:, pad] = -inf`` at every step).

    Source 5 (a 0.2, EOS 0.3, pad 0.5): pad banned, EOS banned at steps 0-7 -> "a" x 8; at step 8 EOS
      (ln 0.3) beats a (ln 0.2): "a"x8 EOS, score 8 ln 0.2 + ln 0.3, norm score / 9.
    Source 6 (a 0.9): "a" wins every step up to max_len; step 60 forces EOS with its own log-prob (fairseq keeps
      it): "a"x60 EOS, score 60 ln 0.9 + ln 0.05, 61 tokens.
    Source 9 (p(EOS) = 0): never final; the search still stops after steps 0..60 (fairseq's loop runs
      ``max_len + 1`` steps), so the decoder runs 61 times and the source gets no hypothesis.
    """
    model = PrefixScripted(table_defaults, vocab=3, pad=PAD)
    out = diverse_beam_search(model, Tokenizer(PAD), [[5], [6], [9]], num_groups=1)
    assert [[h.tokens for h in hs] for hs in out] == [[[A] * 8 + [EOS]], [[A] * 60 + [EOS]], []]
    h5, h6 = out[0][0], out[1][0]
    assert h5.token_logprobs == pytest.approx([ln(0.2)] * 8 + [ln(0.3)], abs=1e-4)
    assert h5.norm_score == pytest.approx((8 * ln(0.2) + ln(0.3)) / 9, abs=1e-5)
    assert h6.score == pytest.approx(60 * ln(0.9) + ln(0.05), abs=1e-4)
    assert h6.norm_score == pytest.approx((60 * ln(0.9) + ln(0.05)) / 61, abs=1e-5)
    assert model.calls == 61


# --------------------------------------------------------------------------------------------------------------
# Source encoding


def table_short(src, prefix):
    # a short source (3 tokens or fewer) makes the model stop at once
    return [0.05, 0.9, 0.05] if len(src) <= 3 else [0.9, 0.05, 0.05]


def test_sources_are_truncated_and_padded_with_the_pad_id():
    """``max_source_tokens=3``: "the cat sat on" = [3, 4, 5, 6, EOS] keeps its first 2 tokens and ends with EOS
    (encode_source's rule, the tokenizer's own truncation); "mat" = [7, EOS]. The batch goes to the encoder padded
    with the pad id (2), mask 0 there. Both sources are short, so both give "EOS" (ln 0.9)."""
    model = PrefixScripted(table_short, vocab=3, pad=PAD)
    out = diverse_beam_search(model, Tokenizer(PAD), ["the cat sat on", "mat"], num_groups=1, min_len=0, max_len=3,
                              max_source_tokens=3)
    assert model.encoded == [([[3, 4, EOS], [7, EOS, PAD]], [[1, 1, 1], [1, 1, 0]])]
    assert [[h.tokens for h in hs] for hs in out] == [[[EOS]], [[EOS]]]
    assert [hs[0].score for hs in out] == pytest.approx([L9, L9], abs=1e-5)


def test_unknown_diversity_count_is_refused():
    with pytest.raises(ValueError, match="diversity_counts must be 'candidates' or 'chosen', not 'both'"):
        diverse_beam_search(PrefixScripted(table_batch, 2), Tokenizer(), [[7]], num_groups=2, diversity_counts="both")


# --------------------------------------------------------------------------------------------------------------
# Device and dtype


class RunnerBuiltOnModelDevice(scoring.Seq2SeqRunner):
    """The runner (tested in test_seq2seq_runner.py) pads the sources on torch's default device before moving them
    to the model's; it is built with the default device set to the model's, so that only the search's own tensors
    meet the probe."""

    def __init__(self, model, *args, **kwargs):
        with torch.device(next(model.parameters()).device):
            super().__init__(model, *args, **kwargs)


class DevicesMustMatch(TorchFunctionMode):
    """Refuses any torch call whose tensor arguments live on different devices, as CUDA kernels do (a 0-dim CPU
    tensor, which CUDA accepts as a scalar, excepted). On a CPU-only machine ``meta`` tensors are otherwise
    accepted next to CPU ones by some operations (indexing, ``index_select``, ``cat``)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        devices = {t.device for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)
                   and not (t.dim() == 0 and t.device.type == "cpu")}
        if len(devices) > 1:
            raise RuntimeError(f"{getattr(func, '__name__', func)} mixes tensors on {sorted(map(str, devices))}")
        return func(*args, **kwargs)


@pytest.mark.parametrize("plain", [False, True])
def test_search_tensors_live_on_the_model_device(plain, monkeypatch):
    """With torch's default device set to ``meta`` (a tensor made there has no data), and any call that mixes
    devices refused (as on a GPU), the search must make every tensor on the model's device (CPU), as it must on a
    GPU machine, where the default device is the CPU: the same hand-worked output as above."""
    monkeypatch.setattr(generation, "Seq2SeqRunner", RunnerBuiltOnModelDevice)
    model = PrefixScripted(table_batch, vocab=2)
    with torch.device("meta"), DevicesMustMatch():
        out = diverse_beam_search(model, Tokenizer(), [[7], [8]], num_groups=2, diversity_strength=0.5, min_len=0,
                                  max_len=10, length_penalty=2.0, plain=plain)
    check_batch(out)
    # the probe itself: it refuses what a GPU refuses
    with torch.device("meta"), DevicesMustMatch(), pytest.raises(RuntimeError, match="mixes tensors"):
        torch.zeros(3, device="cpu")[torch.arange(2)]


@pytest.mark.parametrize("plain", [False, True])
def test_search_works_in_float32_under_a_float64_default_dtype(plain):
    """The runner's log-probs are float32 whatever torch's default dtype; the search's penalty counts and score
    buffers must follow them (``scatter_`` refuses mixed dtypes): the same hand-worked output as above with
    ``torch.set_default_dtype(torch.float64)``."""
    model = PrefixScripted(table_batch, vocab=2)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        out = diverse_beam_search(model, Tokenizer(), [[7], [8]], num_groups=2, diversity_strength=0.5, min_len=0,
                                  max_len=10, length_penalty=2.0, plain=plain)
    finally:
        torch.set_default_dtype(before)
    check_batch(out)


def test_chosen_counts_with_one_candidate_per_group_count_that_candidate():
    """A two-token vocabulary leaves one candidate per group (k = min(2, V - 1) = 1): "chosen" then counts that
    candidate, which is what "candidates" counts, so the hand-worked output above holds for both (it crashed on
    the missing second candidate before)."""
    model = PrefixScripted(table_batch, vocab=2)
    out = diverse_beam_search(model, Tokenizer(), [[7], [8]], num_groups=2, diversity_strength=0.5, min_len=0,
                              max_len=10, length_penalty=2.0, diversity_counts="chosen")
    check_batch(out)
