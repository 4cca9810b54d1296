"""Teacher-forced scoring: equals the model's own loss; the source is encoded once; truncation."""

import pytest
import torch

from factbench.models.loading import load_model
from factbench.models.scoring import encode_source, encode_target, score_batch, score_targets, shared_cross_kv
from factbench.timing import StageTimer



SOURCE = "The city council approved a new budget on Monday after a long debate about schools and roads."
TARGETS = ["Who approved the budget?", "When was the budget approved? Monday", "What was debated? schools and roads"]


@pytest.fixture(scope="module", params=["bart", "t5"])
def lm(request, tiny_models):
    return load_model(str(tiny_models[request.param]), "seq2seq", device="cpu")


def test_teacher_forced_loglik_equals_model_loss(lm):
    src = encode_source(lm.tokenizer, SOURCE).ids
    targets = [encode_target(lm.tokenizer, t) for t in TARGETS]
    timer = StageTimer()
    lps = score_targets(lm.model, lm.tokenizer, src, targets, timer=timer)
    for t, lp in zip(targets, lps):
        assert len(lp) == len(t)
        with torch.no_grad():  # transformers' loss: mean token NLL with labels shifted right inside the model
            loss = lm.model(input_ids=torch.tensor([src]), labels=torch.tensor([t])).loss.item()
        assert -sum(lp) / len(lp) == pytest.approx(loss, abs=1e-5)
    # one encoder pass over the source, one decoder pass over all targets
    counts = timer.as_dict()["scoring"]
    assert counts["model_calls"] == 2
    assert counts["tokens_in"] == len(src)
    assert counts["tokens_out"] == sum(len(t) for t in targets)


def test_cross_attention_kv_projected_once_per_source(lm):
    """The K/V projections of the cross-attention see one row per source, not one per target."""
    src = [encode_source(lm.tokenizer, SOURCE).ids, encode_source(lm.tokenizer, "Police arrested a man.").ids]
    targets = [encode_target(lm.tokenizer, t) for t in TARGETS]
    names = ("encoder_attn.k_proj", "EncDecAttention.k")
    mods = [m for n, m in lm.model.get_decoder().named_modules() if n.endswith(names)]
    rows = []
    plain = torch.nn.Linear.forward

    def recording(self, x):  # what the projection actually computes on
        if any(self is m for m in mods):
            rows.append(x.shape[0])
        return plain(self, x)

    torch.nn.Linear.forward = recording
    try:
        out = score_batch(lm.model, lm.tokenizer, [(src[0], targets), (src[1], targets[:2])])
    finally:
        torch.nn.Linear.forward = plain
    assert mods and rows == [2] * len(mods)  # 2 sources, 5 targets
    # and the shared projections change nothing: each target scored alone gives the same numbers
    for s, lps in zip(src, out):
        for t, lp in zip(targets, lps):
            assert lp == pytest.approx(score_targets(lm.model, lm.tokenizer, s, [t])[0], abs=1e-5)


def test_shared_cross_kv_restores_the_modules(lm):
    before = {n: m.forward for n, m in lm.model.named_modules()}
    h = torch.zeros(1, 3, lm.model.config.d_model)
    with shared_cross_kv(lm.model, h.expand(2, 3, -1), h, torch.tensor([0, 0])) as n:
        assert n == 2 * lm.model.config.num_decoder_layers if hasattr(lm.model.config, "num_decoder_layers") else n > 0
    assert all("forward" not in vars(m) for m in lm.model.modules())
    assert set(before) == {n for n, _ in lm.model.named_modules()}


def test_truncation_as_fairseq_for_qagen_and_as_the_tokenizer_for_lmqg(tiny_models):
    """Expected ids from the originals' rules, computed independently of ``encode_source``:

    - QAGen (fairseq ``BARTHubInterface.encode`` with ``no_bos=True``, ALGORITHMS.md §2.4): the first
      ``max_positions - 2`` BPE tokens, then ``</s>`` (1022 + ``</s>`` at 1024; 62 + ``</s>`` at 64);
    - lmqg (``language_model.py``: ``tokenizer(..., truncation=True, max_length=N)``): the tokenizer's own
      truncation, BART ``<s>`` + N-2 + ``</s>``, T5 N-1 + ``</s>``.
    """
    from transformers import AutoTokenizer

    long = " ".join([SOURCE] * 40)
    bart = AutoTokenizer.from_pretrained(tiny_models["bart"])
    bpe = bart(long, add_special_tokens=False)["input_ids"]
    cut = encode_source(bart, long, max_tokens=64, no_bos=True)
    assert cut.ids == bpe[:62] + [bart.eos_token_id] and cut.truncated and cut.n_tokens == len(bpe) + 1
    full = encode_source(bart, long)
    assert full.ids == bart(long)["input_ids"] and not full.truncated and full.ids[0] == bart.bos_token_id
    for kind, n in (("bart", 64), ("t5", 48)):
        tok = AutoTokenizer.from_pretrained(tiny_models[kind])
        text = "generate question and answer: " + long
        want = tok(text, truncation=True, max_length=n)["input_ids"]
        assert len(want) == n
        assert encode_source(tok, long, max_tokens=n, prefix="generate question and answer: ").ids == want
    # exactly max_positions - 2 BPE tokens fit untruncated
    short = bart.decode(bpe[:62])
    assert bart(short, add_special_tokens=False)["input_ids"] == bpe[:62]
    fits = encode_source(bart, short, max_tokens=64, no_bos=True)
    assert not fits.truncated and fits.ids == bpe[:62] + [bart.eos_token_id]
