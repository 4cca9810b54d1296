"""factbench's beam searches against plain reference loops and transformers 4.56's own generate()."""

import math

import pytest
import torch

from factbench.models.generation import beam_search, diverse_beam_search
from factbench.models.loading import load_model
from factbench.models.scoring import encode_source, special_ids



TEXTS = [
    "The mayor said the plan would raise taxes by two percent.",
    "Police arrested a man in London on Friday.",
    "The airline cancelled hundreds of flights because of a strike by pilots and cabin crew.",
]


@pytest.fixture(scope="module")
def bart(tiny_models):
    return load_model(str(tiny_models["bart"]), "seq2seq", device="cpu")


@pytest.fixture(scope="module")
def t5(tiny_models):
    return load_model(str(tiny_models["t5"]), "seq2seq", device="cpu")


def reference_fairseq_dbs(model, tokenizer, src, groups, strength, min_len, max_len, counts="candidates"):
    """fairseq DiverseBeamSearch (groups of beam size 1) + SequenceGenerator, written plainly: no cache,
    the decoder re-run on each slot's full prefix, Python lists (search.py / sequence_generator.py)."""
    pad, eos, start = special_ids(model, tokenizer)
    slots = [([], []) for _ in range(groups)]  # (tokens, cumulative scores) per slot
    ignored = [False] * groups
    final = []
    for step in range(max_len + 1):
        lps = []
        for toks, _ in slots:
            with torch.no_grad():
                out = model(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([[start] + toks]))
            lp = torch.log_softmax(out.logits[0, -1].float(), -1)
            lp[pad] = -math.inf
            if step >= max_len:
                keep = lp[eos].item()
                lp[:] = -math.inf
                lp[eos] = keep
            if step < min_len:
                lp[eos] = -math.inf
            lps.append(lp)
        seen = torch.zeros_like(lps[0])
        cands = []  # per group: [(score, token), (score, token)]
        for g in range(groups):
            adj = lps[g] - strength * seen
            if step > 0:
                adj = adj + slots[g][1][-1]
            s, t = torch.topk(adj, 2)
            cands.append(list(zip(s.tolist(), t.tolist())))
            if counts == "candidates":
                for tok in t.tolist():
                    seen[tok] += 1
            else:
                seen[t[1] if t[0] == eos else t[0]] += 1
        order = [(c, g) for c in range(2) for g in range(groups)]  # fairseq's interleaving
        for g in range(groups):
            score, tok = cands[g][0]
            if tok == eos and score != -math.inf and not ignored[g] and len(final) < groups:
                toks, cum = slots[g]
                cums = cum + [score]
                pos = [cums[0]] + [b - a for a, b in zip(cums, cums[1:])]
                final.append((toks + [eos], pos, score, score / (step + 1)))
        if len(final) >= groups:
            break
        free = [(c, g) for c, g in order if cands[g][c][1] != eos and not (c == 0 and ignored[g])]
        blocked = [(c, g) for c, g in order if (c, g) not in free]
        chosen = (free + blocked)[:groups]
        ignored = [i >= len(free) for i in range(groups)]
        slots = [(slots[g][0] + [cands[g][c][1]], slots[g][1] + [cands[g][c][0]]) for c, g in chosen]
    return sorted(final, key=lambda h: -h[3])


@pytest.mark.parametrize("counts", ["candidates", "chosen"])
def test_diverse_beam_search_equals_plain_fairseq_loop(bart, counts):
    src = encode_source(bart.tokenizer, TEXTS[0], no_bos=True).ids
    ours = diverse_beam_search(bart.model, bart.tokenizer, [src], num_groups=6, diversity_strength=0.5,
                               min_len=3, max_len=12, diversity_counts=counts)[0]
    ref = reference_fairseq_dbs(bart.model, bart.tokenizer, src, 6, 0.5, 3, 12, counts)
    assert [h.tokens for h in ours] == [r[0] for r in ref]
    for h, (_, pos, total, norm) in zip(ours, ref):
        assert h.token_logprobs == pytest.approx(pos, abs=1e-4)
        assert h.score == pytest.approx(total, abs=1e-4)
        assert h.norm_score == pytest.approx(norm, abs=1e-5)
        assert h.score == pytest.approx(sum(h.token_logprobs), abs=1e-4)
    # the tiny model's EOS bias makes some hypotheses stop early, so the refill path was exercised
    assert min(len(h.tokens) for h in ours) < 13


def test_diverse_beam_search_matches_transformers_group_beam_search(bart):
    """transformers' group beam search uses the 'chosen' Hamming count; with the length fixed (EOS banned for
    6 tokens, then forced) the two searches must return the same sequences with the same scores."""
    import transformers

    if int(transformers.__version__.split(".")[0]) >= 5:
        pytest.skip("generate(num_beam_groups=...) was removed in transformers 5")
    src = encode_source(bart.tokenizer, TEXTS[1], no_bos=True).ids
    _, eos, _ = special_ids(bart.model, bart.tokenizer)
    ours = diverse_beam_search(bart.model, bart.tokenizer, [src], num_groups=4, diversity_strength=0.5, min_len=6,
                               max_len=6, diversity_counts="chosen", ban_pad=False)[0]
    with torch.no_grad():
        hf = bart.model.generate(
            torch.tensor([src]), num_beams=4, num_beam_groups=4, diversity_penalty=0.5, num_return_sequences=4,
            min_new_tokens=6, max_new_tokens=7, forced_eos_token_id=eos, length_penalty=1.0, early_stopping=False,
            do_sample=False, output_scores=True, return_dict_in_generate=True,
        )
    theirs = {tuple(s[1:].tolist()): sc for s, sc in zip(hf.sequences, hf.sequences_scores.tolist())}
    # transformers: the forced EOS scores 0, and the length counts it (7)
    mine = {tuple(h.tokens): sum(h.token_logprobs[:-1]) / 7 for h in ours}
    assert set(mine) == set(theirs)
    for k in mine:
        assert mine[k] == pytest.approx(theirs[k], abs=1e-4)


@pytest.mark.parametrize("early_stopping", [True, False])
@pytest.mark.parametrize("which", ["bart", "t5"])
def test_beam_search_equals_transformers_generate(which, early_stopping, bart, t5):
    """Expected: transformers 4.56's own ``generate`` with the same ``early_stopping`` (True: done once num_beams
    hypotheses are finished, fairseq's rule, the one QAGS uses); no n-gram blocking on either side."""
    lm = {"bart": bart, "t5": t5}[which]
    _, eos, _ = special_ids(lm.model, lm.tokenizer)
    ours = beam_search(lm.model, lm.tokenizer, TEXTS, num_beams=4, num_return=3, max_new_tokens=10, min_new_tokens=2,
                       early_stopping=early_stopping)
    for text, hyps in zip(TEXTS, ours):
        ids = torch.tensor([encode_source(lm.tokenizer, text).ids])
        with torch.no_grad():
            hf = lm.model.generate(ids, num_beams=4, num_return_sequences=3, max_new_tokens=10, min_new_tokens=2,
                                   length_penalty=1.0, early_stopping=early_stopping, do_sample=False,
                                   no_repeat_ngram_size=0, output_scores=True, return_dict_in_generate=True)
        for h, seq, score in zip(hyps, hf.sequences, hf.sequences_scores.tolist()):
            toks = seq[1:].tolist()
            if eos in toks:
                toks = toks[: toks.index(eos) + 1]
            assert h.tokens == toks
            assert h.norm_score == pytest.approx(score, abs=1e-4)
            assert h.score / len(h.tokens) == pytest.approx(score, abs=1e-4)  # length penalty 1.0, EOS counted
    if which == "bart" and early_stopping:  # the two stop rules give other hypotheses here: the check can fail
        other = beam_search(lm.model, lm.tokenizer, TEXTS, num_beams=4, num_return=3, max_new_tokens=10,
                            min_new_tokens=2, early_stopping=False)
        assert any(a.tokens != b.tokens for p, q in zip(ours, other) for a, b in zip(p, q))


def test_batched_equals_one_at_a_time(bart):
    kw = dict(num_groups=40, diversity_strength=0.5, min_len=2, max_len=12)
    batched = diverse_beam_search(bart.model, bart.tokenizer, TEXTS, **kw)
    # the inputs finish at different steps, so the batch shrinks on the way
    assert len({max(len(h.tokens) for h in hs) for hs in batched}) > 1
    for text, hyps in zip(TEXTS, batched):
        single = diverse_beam_search(bart.model, bart.tokenizer, [text], **kw)[0]
        assert [h.tokens for h in hyps] == [h.tokens for h in single]
        for a, b in zip(hyps, single):
            assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-5)
    bb = beam_search(bart.model, bart.tokenizer, TEXTS, num_beams=3, num_return=3, max_new_tokens=8)
    for text, hyps in zip(TEXTS, bb):
        single = beam_search(bart.model, bart.tokenizer, [text], num_beams=3, num_return=3, max_new_tokens=8)[0]
        assert [h.tokens for h in hyps] == [h.tokens for h in single]
        assert [h.norm_score for h in hyps] == pytest.approx([h.norm_score for h in single], abs=1e-5)


def test_model_logprobs_are_the_teacher_forced_loglikelihoods_and_plain_gives_the_same_search(bart):
    """``model_logprobs`` (no diversity penalty) equal a separate teacher-forced pass over the same tokens
    (``score_targets``, itself tested against the model's loss), for the first group and the penalised
    ones; the stock forward (``plain``) finds the same hypotheses."""
    from factbench.models.scoring import score_targets

    kw = dict(num_groups=12, diversity_strength=0.5, min_len=2, max_len=12)
    hyps = diverse_beam_search(bart.model, bart.tokenizer, TEXTS, **kw)
    for text, hs in zip(TEXTS, hyps):
        tf = score_targets(bart.model, bart.tokenizer, text, [h.tokens for h in hs])
        assert any(h.group and h.model_logprobs != pytest.approx(h.token_logprobs, abs=1e-3) for h in hs)
        for h, lp in zip(hs, tf):
            assert h.model_logprobs == pytest.approx(lp, abs=1e-5)
    plain = diverse_beam_search(bart.model, bart.tokenizer, TEXTS, plain=True, **kw)
    for hs, ps in zip(hyps, plain):
        assert [h.tokens for h in hs] == [h.tokens for h in ps]
        for a, b in zip(hs, ps):
            assert a.model_logprobs == pytest.approx(b.model_logprobs, abs=1e-5)


def test_quals_setting_returns_60_ranked_hypotheses_with_penalised_scores(bart):
    hyps = diverse_beam_search(bart.model, bart.tokenizer, [TEXTS[2]])[0]  # 60 groups, 0.5, 8..60 tokens
    assert len(hyps) == 60
    assert all(9 <= len(h.tokens) <= 61 and h.tokens[-1] == 2 for h in hyps)
    norms = [h.norm_score for h in hyps]
    assert norms == sorted(norms, reverse=True)
    assert all(h.norm_score == pytest.approx(h.score / len(h.tokens)) for h in hyps)


def test_cost_counters_are_exact(bart):
    """One encoder pass, then one decoder pass per step over the rows (groups) of the inputs not yet finished:
    an input whose 40 hypotheses are final leaves the batch (fairseq does the same). The first step, the
    same for every group, runs once per input; the plain (fairseq) execution runs it for every group."""
    from factbench.timing import StageTimer

    timer = StageTimer()
    src = [encode_source(bart.tokenizer, t).ids for t in TEXTS[:2]]
    hyps = diverse_beam_search(bart.model, bart.tokenizer, src, num_groups=40, min_len=2, max_len=12, timer=timer)
    steps = [max(len(h.tokens) for h in hs) for hs in hyps]  # step that finalised an input's last hypothesis + 1
    assert steps[0] != steps[1]  # so one input left the batch before the other
    c = timer.as_dict()["generation"]
    assert c["model_calls"] == 1 + max(steps)
    assert c["tokens_in"] == sum(len(s) for s in src)
    assert c["tokens_out"] == 40 * sum(steps) - 39 * len(src)
    timer = StageTimer()
    plain = diverse_beam_search(bart.model, bart.tokenizer, src, num_groups=40, min_len=2, max_len=12, timer=timer,
                                plain=True)
    assert [[h.tokens for h in hs] for hs in plain] == [[h.tokens for h in hs] for hs in hyps]
    c = timer.as_dict()["generation"]
    assert c["model_calls"] == 1 + max(steps)
    assert c["tokens_out"] == 40 * sum(steps)
