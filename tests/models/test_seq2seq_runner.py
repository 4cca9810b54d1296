"""Seq2SeqRunner's execution details (shared cross-attention K/V, sliced head with the final bias inside,
grouped cross-attention for decoding steps, preallocated self-attention cache) change no value: every step
equals the stock forward (``plain``) to float rounding, through reorders, row selections and cache growth."""

import pytest
import torch

from factbench.models import scoring
from factbench.models.loading import load_model
from factbench.models.scoring import Seq2SeqRunner, encode_source, special_ids

SOURCES = ["The city council approved a new budget on Monday after a long debate.", "Police arrested a man."]


@pytest.fixture(scope="module", params=["bart", "t5"])
def lm(request, tiny_models):
    return load_model(str(tiny_models[request.param]), "seq2seq", device="cpu")


def _decode(lm, plain, capacity, seen=None):
    """Five steps over 2 sources x 3 rows with a row swap after step 2 and the second source dropped after
    step 3; the log-probs of every step."""
    pad, _, start = special_ids(lm.model, lm.tokenizer)
    ids = [encode_source(lm.tokenizer, s).ids for s in SOURCES]
    runner = Seq2SeqRunner(lm.model, ids, pad, repeats=3, plain=plain, capacity=capacity)
    gen = torch.Generator().manual_seed(0)
    vocab = lm.model.get_output_embeddings().weight.shape[0]
    last = torch.full((6,), start, dtype=torch.long)
    out = []
    for step in range(5):
        out.append(runner.step(last).clone())  # the next step reuses the buffer
        if seen is not None:
            seen.append(runner)
        last = torch.randint(4, vocab, (len(last),), generator=gen)
        if step == 1:
            runner.reorder(torch.tensor([1, 0, 2, 5, 3, 4]))
        if step == 2:
            runner.select(torch.tensor([0, 1, 2]))
            last = last[:3]
    return out


@pytest.mark.parametrize("capacity", [None, 2, 8])
def test_fast_steps_equal_the_stock_forward(lm, capacity):
    fast, plain = _decode(lm, False, capacity), _decode(lm, True, None)
    for a, b in zip(fast, plain):
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()


def test_self_attention_cache_is_written_in_place(lm):
    runners = []
    _decode(lm, False, 8, runners)
    layer = runners[0].past.self_attention_cache.layers[0]
    assert "update" in vars(layer)  # patched after the first step
    buffer = layer.update.keys
    assert buffer.shape[-2] == 8 and layer.keys.shape[-2] == 5
    assert layer.keys.data_ptr() == buffer.data_ptr()  # a view of the buffer, not a concatenated copy
    assert layer.keys.shape[0] == 3  # the row selection re-buffered the 3 remaining rows


def test_cross_attention_cache_keeps_one_row_per_group(lm):
    """After selecting rows in groups of one source, a model that takes factbench's decoding attention (BART;
    T5 on transformers 5, not 4) keeps one cross-attention row per group, which that attention reads; any
    other keeps one per row."""
    runners = []
    _decode(lm, False, 8, runners)  # ends with the 3 rows of source 0
    keys = runners[-1].past.cross_attention_cache.layers[0].keys
    import transformers

    grouped = scoring.decoding_attention_works(lm.model)
    t5_on_4x = lm.model.config.model_type == "t5" and int(transformers.__version__.split(".")[0]) < 5
    assert grouped == (not t5_on_4x)  # the docstring's rule, both ways
    assert keys.shape[0] == (1 if grouped else 3) and runners[-1].cross_per_group == grouped


def test_cross_attention_is_grouped_per_source(tiny_models):
    """During decoding steps of 3 rows per source, BART's cross-attention runs factbench's grouped
    attention; during teacher forcing (several positions), the configured kernel."""
    lm = load_model(str(tiny_models["bart"]), "seq2seq", device="cpu")
    cross = lm.model.get_decoder().layers[0].encoder_attn
    seen = []
    hook = cross.register_forward_pre_hook(
        lambda m, args: seen.append((scoring._GROUPS.get(id(m)), lm.model.config._attn_implementation)))
    try:
        _decode(lm, False, 8)
        pad, _, start = special_ids(lm.model, lm.tokenizer)
        runner = Seq2SeqRunner(lm.model, [encode_source(lm.tokenizer, SOURCES[0]).ids], pad, repeats=2)
        runner.teacher_forced([[5, 6, 7], [8, 9]], start)
    finally:
        hook.remove()
    configured = lm.model.config._attn_implementation
    assert seen[:5] == [(3, scoring.DECODING_ATTENTION)] * 5
    assert seen[5] == (None, configured) and configured != scoring.DECODING_ATTENTION
    assert not scoring._GROUPS


def test_final_logits_bias_is_added_inside_the_head(tiny_models):
    lm = load_model(str(tiny_models["bart"]), "seq2seq", device="cpu")
    lm.model.final_logits_bias.normal_(generator=torch.Generator().manual_seed(1))
    assert scoring._head_split(lm.model) is not None
    pad, _, start = special_ids(lm.model, lm.tokenizer)
    ids = encode_source(lm.tokenizer, SOURCES[0]).ids
    fast = Seq2SeqRunner(lm.model, [ids], pad).teacher_forced([[5, 6, 7, 2]], start)
    plain = Seq2SeqRunner(lm.model, [ids], pad, plain=True).teacher_forced([[5, 6, 7, 2]], start)
    assert fast[0] == pytest.approx(plain[0], abs=1e-5)
    lm.model.final_logits_bias.zero_()
    moved = Seq2SeqRunner(lm.model, [ids], pad).teacher_forced([[5, 6, 7, 2]], start)
    assert max(abs(a - b) for a, b in zip(moved[0], fast[0])) > 1e-3  # so the bias did count


@pytest.mark.parametrize("index, g", [([0, 0, 1, 1], 2), ([3, 3, 3], 3), ([0, 0, 1], 1), ([0, 1, 2], 1),
                                      ([0, 0, 1, 1, 0, 0], 2)])
def test_rows_per_source(index, g):
    assert scoring._rows_per_source(torch.tensor(index)) == g
