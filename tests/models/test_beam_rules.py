"""Beam-search edge paths with expected outputs derived by hand from the rules, on a scripted "model" whose
log-probabilities are a table of the step, so that every score below is a sum of known logarithms:

- fairseq's ignored slots in the diverse beam search (``cands_to_ignore`` in ``sequence_generator.py``): when
  fewer than ``num_groups`` candidates are not EOS, blocked (EOS) candidates fill the remaining slots and are
  marked ignored; an ignored slot never finalises a hypothesis and never continues as a live one;
- transformers' early-stop rule in the plain beam search (``early_stopping=False``): once K hypotheses are
  finished, the search stops as soon as the best running score divided by the current length ** length_penalty
  cannot beat the worst finished one, even if a longer hypothesis would have scored better;

and the comparison with transformers' own group beam search (4.x) on a non-degenerate setting. Correctness tests
(the expected outputs do not come from factbench)."""

import math
from types import SimpleNamespace

import pytest
import torch

from factbench.models.generation import beam_search, diverse_beam_search

EOS = 1


class ScriptedSeq2Seq(torch.nn.Module):
    """Stands in for a seq2seq model: the log-probs of the next token are ``table(step)`` (the same for every
    source and prefix), given as logits (log-softmax of normalised log-probs is the identity). Implements what
    factbench's Seq2SeqRunner calls: ``get_encoder()``, ``forward(...)`` with a legacy tuple cache (the prefix
    itself), ``get_decoder()`` and ``get_output_embeddings()`` (nothing to patch)."""

    def __init__(self, table, vocab):
        super().__init__()
        self.table, self.vocab = table, vocab
        self.weight = torch.nn.Parameter(torch.zeros(1))  # the runner reads the device and counts parameters
        self.config = SimpleNamespace(pad_token_id=None, eos_token_id=EOS, decoder_start_token_id=0,
                                      model_type="scripted", is_encoder_decoder=True)
        self.calls = 0

    def get_encoder(self):
        return lambda input_ids, attention_mask, **kwargs: SimpleNamespace(
            last_hidden_state=input_ids[..., None].float())

    def get_decoder(self):
        return torch.nn.Module()

    def get_output_embeddings(self):
        return None

    def forward(self, encoder_outputs=None, attention_mask=None, decoder_input_ids=None, use_cache=True,
                return_dict=True, past_key_values=None):
        self.calls += 1
        hist = decoder_input_ids if past_key_values is None else torch.cat([past_key_values[0][0],
                                                                            decoder_input_ids], 1)
        step = hist.shape[1] - 1
        row = torch.tensor(self.table(step), dtype=torch.float32)
        logits = row.expand(hist.shape[0], 1, self.vocab).clone()
        return SimpleNamespace(logits=logits, past_key_values=((hist, hist),))


class Tokenizer:
    pad_token_id = None
    eos_token_id = EOS

    def decode(self, ids, skip_special_tokens=False):
        return " ".join(map(str, ids))


def logs(*probs):
    return [math.log(p) for p in probs]


# --------------------------------------------------------------------------------------------------------------
# Diverse beam search, fairseq's ignored slots


def dbs_table(step):
    # two tokens: 0 ("a") and EOS; p(EOS) = 0.6 at step 0, 0.9 from step 1 on
    return logs(0.4, 0.6) if step == 0 else logs(0.1, 0.9)


@pytest.mark.parametrize("plain", [False, True])
def test_diverse_beam_search_ignored_slots_follow_fairseq(plain):
    """Three groups of one beam, diversity strength 0.5 (fairseq's candidate counting), a vocabulary of two
    tokens, so each group proposes one candidate (fairseq: ``k = min(2 * beam, vocab - 1) = 1``).

    Step 0 (``a`` = ln 0.4 = -0.9163, EOS = ln 0.6 = -0.5108):
      group 0: EOS -0.5108 (EOS counted once); group 1: EOS -0.5108 - 0.5 = -1.0108 < a -0.9163 -> a (a counted);
      group 2: EOS -1.0108 > a -1.4163 -> EOS. Candidates [EOS, a, EOS]: slots 0 and 2 finalise "EOS" with
      scores -0.5108 and -1.0108. Only one candidate is not EOS, so the slots are [a, EOS (ignored), EOS
      (ignored)].
    Step 1 (``a`` = ln 0.1 = -2.3026, EOS = ln 0.9 = -0.1054), running scores -0.9163, -0.5108, -1.0108:
      group 0: EOS -1.0217 (counted); group 1 (ignored): EOS -0.5108 - 0.1054 - 0.5 = -1.1162 > a -2.8134 -> EOS;
      group 2 (ignored): EOS -1.0108 - 0.1054 - 1.0 = -2.1162 > a -3.3134 -> EOS. Only slot 0 finalises:
      "a EOS" with -1.0217 (norm -0.5108); three are final: done. (Slot 0 comes first in fairseq's order and
      fills the list, so here the ignored slots' EOS could not have been finalised anyway; the next test is the
      case where it would be.)
    """
    model = ScriptedSeq2Seq(dbs_table, vocab=2)
    (hyps,) = diverse_beam_search(model, Tokenizer(), [[5, 6, 7]], num_groups=3, diversity_strength=0.5,
                                  min_len=0, max_len=4, plain=plain)
    la0, le0, la1, le1 = math.log(0.4), math.log(0.6), math.log(0.1), math.log(0.9)
    got = [(h.tokens, h.score, h.norm_score, h.group) for h in hyps]
    expected = [([EOS], le0, le0, 0), ([0, EOS], la0 + le1, (la0 + le1) / 2, 0), ([EOS], le0 - 0.5, le0 - 0.5, 2)]
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert [g[3] for g in got] == [e[3] for e in expected]
    for g, e in zip(got, expected):
        assert g[1:3] == pytest.approx(e[1:3], abs=1e-5)
    assert hyps[1].model_logprobs == pytest.approx([la0, le1], abs=1e-5)


def dbs_table_long(step):
    # EOS rarely on top: a slot continued from an ignored EOS keeps proposing "a" until its EOS wins
    return logs(0.4, 0.6) if step == 0 else logs(0.7, 0.3) if step < 3 else logs(0.2, 0.8)


def test_diverse_beam_search_ignored_slot_stays_ignored_while_it_continues():
    """Step 0 as above: slots [a, EOS (ignored), EOS (ignored)], two "EOS" hypotheses. At steps 1 and 2
    (a = ln 0.7, EOS = ln 0.3) every group proposes ``a``; the ignored slots are blocked, so only slot 0's
    candidate is free and the ignored slots stay ignored (the same EOS-prefixed rows continue). Step 3 (a = ln
    0.2, EOS = ln 0.8): slot 0 ("a a a") has EOS on top and finalises "a a a EOS" = ln 0.4 + 2 ln 0.7 + ln 0.8.
    Without the rule an ignored slot would have finalised a hypothesis that starts with EOS."""
    model = ScriptedSeq2Seq(dbs_table_long, vocab=2)
    (hyps,) = diverse_beam_search(model, Tokenizer(), [[5, 6]], num_groups=3, diversity_strength=0.5, min_len=0,
                                  max_len=6)
    assert sorted(h.tokens for h in hyps) == sorted([[EOS], [EOS], [0, 0, 0, EOS]])
    assert all(EOS not in h.tokens[:-1] for h in hyps)
    long = next(h for h in hyps if len(h.tokens) == 4)
    assert long.score == pytest.approx(math.log(0.4) + 2 * math.log(0.7) + math.log(0.8), abs=1e-5)


# --------------------------------------------------------------------------------------------------------------
# Plain beam search, transformers' early-stop rule


def bs_table(step):
    # tokens 0 (never useful), EOS, 2 ("b"); the model grows confident in EOS after two tokens
    if step == 0:
        return logs(1e-6, 0.6, 0.4 - 1e-6)
    if step == 1:
        return logs(1e-6, 0.55, 0.45 - 1e-6)
    return logs(1e-6, 0.99, 0.01 - 1e-6)


def test_beam_search_stops_by_transformers_early_stop_rule():
    """Two beams, two returned, length penalty 1.

    Step 0: "EOS" finishes with ln 0.6 = -0.5108 (norm -0.5108); "b" runs with -0.9163.
    Step 1: "b EOS" finishes with -0.9163 + ln 0.55 = -1.5141 (norm -0.7570); the finished list holds two.
      Best running: "b b" = -0.9163 + ln(0.45) = -1.7148; at the current length 2: -0.8574 <= worst finished
      -0.7570, so transformers' heuristic (early_stopping=False) stops here.
    Without the rule the search would go on and finish "b b EOS" = -1.7148 + ln 0.99 = -1.7249, norm -0.5750,
    better than "b EOS": the rule changes the output, and transformers returns ["EOS", "b EOS"]."""
    model = ScriptedSeq2Seq(bs_table, vocab=3)
    (hyps,) = beam_search(model, Tokenizer(), [[5, 6, 7]], num_beams=2, num_return=2, max_new_tokens=6,
                          early_stopping=False)
    assert [h.tokens for h in hyps] == [[EOS], [2, EOS]]
    assert [h.norm_score for h in hyps] == pytest.approx([math.log(0.6), (math.log(0.4) + math.log(0.55)) / 2],
                                                         abs=1e-5)
    assert model.calls == 2  # stopped after the second step, not at max_new_tokens


def test_beam_search_goes_on_while_a_running_beam_can_still_win():
    """transformers' heuristic rule (``early_stopping=False``). Same model, but at step 1 "b" is likelier
    (p = 0.7): "b b" = ln 0.4 + ln 0.7 = -1.2730, -0.6365 at length 2,
    better than the worst finished ("b EOS" = ln 0.4 + ln 0.3 = -2.1203, norm -1.0601): the search goes on and
    step 2 finishes "b b EOS" (-1.2831, norm -0.4277), which replaces "b EOS"; then the best running "b b b"
    (-5.8782 / 3 = -1.9594) cannot beat -0.5108: stop after three steps."""
    table = lambda step: bs_table(step) if step != 1 else logs(1e-6, 0.3, 0.7 - 1e-6)  # noqa: E731
    model = ScriptedSeq2Seq(table, vocab=3)
    (hyps,) = beam_search(model, Tokenizer(), [[5]], num_beams=2, num_return=2, max_new_tokens=6,
                          early_stopping=False)
    assert [h.tokens for h in hyps] == [[2, 2, EOS], [EOS]]
    assert hyps[0].norm_score == pytest.approx((math.log(0.4) + math.log(0.7) + math.log(0.99)) / 3, abs=1e-5)
    assert model.calls == 3
    # early_stopping=True (QAGS's setting, fairseq's rule) stops once num_beams hypotheses are finished: after
    # step 1 both "EOS" and "b EOS" are, so "b b EOS" is never reached.
    model = ScriptedSeq2Seq(table, vocab=3)
    (hyps,) = beam_search(model, Tokenizer(), [[5]], num_beams=2, num_return=2, max_new_tokens=6, early_stopping=True)
    assert [h.tokens for h in hyps] == [[EOS], [2, EOS]] and model.calls == 2


# --------------------------------------------------------------------------------------------------------------
# transformers' own group beam search, non-degenerate setting


def test_diverse_beam_search_matches_transformers_group_beam_search_on_a_batch(tiny_models):
    """Three inputs of different lengths in one batch (padding and a shrinking batch on factbench's side), eight
    groups, ten generated tokens: transformers 4.x ``generate(num_beam_groups=8, diversity_penalty=0.7)`` with
    the 'chosen' Hamming count must return the same sequences and scores. The output length stays fixed (EOS
    banned for 10 tokens, then forced): with EOS inside the search, fairseq refills a finished group's slot
    from the pool of all groups' candidates while transformers keeps it in its group, so the two searches
    differ by design (the fairseq rule is tested above and against a plain fairseq loop in test_generation)."""
    import transformers

    from factbench.models.loading import load_model
    from factbench.models.scoring import encode_source, special_ids

    if int(transformers.__version__.split(".")[0]) >= 5:
        pytest.skip("generate(num_beam_groups=...) was removed in transformers 5")
    bart = load_model(str(tiny_models["bart"]), "seq2seq", device="cpu")
    texts = ["Police arrested a man in London on Friday.",
             "The airline cancelled hundreds of flights because of a strike by pilots and cabin crew.",
             "The mayor said the plan would raise taxes."]
    srcs = [encode_source(bart.tokenizer, t, no_bos=True).ids for t in texts]
    assert len({len(s) for s in srcs}) == 3
    pad, eos, _ = special_ids(bart.model, bart.tokenizer)
    G, L = 8, 10
    ours = diverse_beam_search(bart.model, bart.tokenizer, srcs, num_groups=G, diversity_strength=0.7, min_len=L,
                               max_len=L, diversity_counts="chosen", ban_pad=False)
    width = max(map(len, srcs))
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in srcs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in srcs])
    with torch.no_grad():
        hf = bart.model.generate(
            ids, attention_mask=mask, num_beams=G, num_beam_groups=G, diversity_penalty=0.7, num_return_sequences=G,
            min_new_tokens=L, max_new_tokens=L + 1, forced_eos_token_id=eos, length_penalty=1.0,
            early_stopping=False, do_sample=False, output_scores=True, return_dict_in_generate=True,
        )
    n_distinct = 0
    for i, hyps in enumerate(ours):
        seqs, scores = hf.sequences[i * G:(i + 1) * G], hf.sequences_scores[i * G:(i + 1) * G].tolist()
        # as multisets: groups may end on the same sequence (diversity is a penalty, not a ban)
        theirs = sorted((tuple(s[1:].tolist()), sc) for s, sc in zip(seqs, scores))
        # transformers: the forced EOS scores 0 and counts in the length (L + 1)
        mine = sorted((tuple(h.tokens), sum(h.token_logprobs[:-1]) / (L + 1)) for h in hyps)
        assert [m[0] for m in mine] == [t[0] for t in theirs]
        assert [m[1] for m in mine] == pytest.approx([t[1] for t in theirs], abs=1e-4)
        n_distinct += len(set(m[0] for m in mine))
    assert n_distinct >= 12  # not a degenerate case where every group returns the same sequence
