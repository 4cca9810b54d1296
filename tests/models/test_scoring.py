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


def test_truncation_keeps_eos_and_no_bos(tiny_models):
    lm = load_model(str(tiny_models["bart"]), "seq2seq", device="cpu")
    tok = lm.tokenizer
    long = " ".join([SOURCE] * 40)
    full = encode_source(tok, long)
    assert full.ids[0] == tok.bos_token_id and not full.truncated
    cut = encode_source(tok, long, max_tokens=64, no_bos=True)
    assert cut.truncated and len(cut.ids) == 64 and cut.ids[-1] == tok.eos_token_id
    assert cut.ids[:63] == full.ids[1:64]  # fairseq: no <s>, cut to the maximum, last token </s>
    assert cut.n_tokens == len(full.ids) - 1
