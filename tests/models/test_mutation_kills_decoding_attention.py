"""Tests written for mutants of factbench/models/scoring.py's fast decoding path that survived the mutation run
(docs/mutation.md): ``write_in_place`` / ``_InPlaceUpdate`` (the preallocated self-attention cache),
``_decoding_attention`` / ``_register_decoding_attention`` (matmul attention, grouped cross-attention),
``_head_split`` and ``sliced_projection`` (the vocabulary projection in slices, BART's final bias inside).

Expected values come from independent code, never from factbench:

- whole decoding runs are compared with transformers' own forward of the same tiny BART (built here from a
  ``BartConfig``: 3 decoder layers, 4 heads of dimension 6, a non-zero ``final_logits_bias``) over the whole
  prefix without any cache, in float32 (sdpa kernel, to 1e-5) and float64 (eager kernel, to 1e-9), with
  1 or 3 rows per source, sources of different lengths (padding), cache growth past its capacity, a reorder,
  and head masks;
- single attention calls are compared with transformers' ``eager_attention_forward`` of BART and torch's
  ``scaled_dot_product_attention``;
- the cache's keys/values with ``torch.cat`` along the sequence axis (the stock ``DynamicLayer.update``);
- projections with ``torch.nn.functional.linear``.

Buffer sizes, buffer reuse and the number of products are the performance contract stated in the docstrings
(capacity, "a full buffer doubles", "written into ... buffer", "rows rows of weight at a time"); the tests
that check them say so.
"""

import sys
import types

import pytest
import torch

from factbench.models import scoring
from factbench.models.scoring import (
    _head_split,
    _InPlaceUpdate,
    decoding_attention,
    sliced_projection,
    write_in_place,
)

VOCAB, D_MODEL, HEADS, LAYERS = 40, 24, 4, 3  # head dim 6 != 4 heads, so a mixed-up axis shows
HEAD_DIM = D_MODEL // HEADS
SOURCES = [[0, 5, 9, 13, 17, 21, 2], [0, 7, 11, 2]]  # different lengths: the second is padded (pad 1)


def _bart(attn: str):
    import transformers as tf

    cfg = tf.BartConfig(
        vocab_size=VOCAB, d_model=D_MODEL, encoder_layers=LAYERS, decoder_layers=LAYERS,  # equal: the cache sizes by it
        encoder_attention_heads=HEADS, decoder_attention_heads=HEADS, encoder_ffn_dim=32, decoder_ffn_dim=32,
        max_position_embeddings=64, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
    )
    torch.manual_seed(0)
    model = tf.BartForConditionalGeneration._from_config(cfg, attn_implementation=attn).eval()
    model.final_logits_bias.normal_(generator=torch.Generator().manual_seed(1))
    return model


@pytest.fixture(scope="module")
def bart_sdpa():
    return _bart("sdpa")


@pytest.fixture(scope="module")
def bart_eager():
    return _bart("eager").double()


def _padded(sources):
    width = max(map(len, sources))
    ids = torch.full((len(sources), width), 1, dtype=torch.long)
    mask = torch.zeros((len(sources), width), dtype=torch.long)
    for i, s in enumerate(sources):
        ids[i, : len(s)], mask[i, : len(s)] = torch.tensor(s), 1
    return ids, mask


@pytest.mark.parametrize("attn, g, head_masks", [("sdpa", 1, False), ("sdpa", 3, False), ("eager", 3, False),
                                                 ("eager", 1, True), ("eager", 3, True)])
def test_cached_decoding_steps_equal_transformers_full_forward(bart_sdpa, bart_eager, attn, g, head_masks):
    """Six one-token steps with factbench's decoding attention (g rows per source) and the self-attention cache
    written in place (capacity 2, so it is re-buffered and doubled; a reorder after step 2) give, at every step,
    the log-probs of transformers' own forward over the whole prefix with no cache (input ids through the
    encoder again, the stock attention kernel)."""
    model = bart_sdpa if attn == "sdpa" else bart_eager
    tol = 1e-5 if attn == "sdpa" else 1e-9
    src, smask = _padded(SOURCES)
    index = torch.arange(len(SOURCES)).repeat_interleave(g)
    rows = len(index)
    masks = {}
    if head_masks:  # zero one head of each kind in some layers, scale others
        gen = torch.Generator().manual_seed(3)
        masks = dict(decoder_head_mask=torch.rand(LAYERS, HEADS, generator=gen, dtype=torch.float64),
                     cross_attn_head_mask=torch.rand(LAYERS, HEADS, generator=gen, dtype=torch.float64))
        masks["decoder_head_mask"][0, 1] = 0.0
        masks["cross_attn_head_mask"][2, 3] = 0.0
        masks = {k: v.to(model.dtype) for k, v in masks.items()}
    with torch.inference_mode():
        hidden = model.get_encoder()(input_ids=src, attention_mask=smask).last_hidden_state.index_select(0, index)
    row_mask = smask.index_select(0, index)
    gen = torch.Generator().manual_seed(0)
    prefix = torch.full((rows, 1), 2, dtype=torch.long)
    cache, patched = None, None
    # a reorder after step 2: within each source for groups (rows keep their source), across sources for g=1
    order = torch.tensor([1, 0]) if g == 1 else torch.tensor([1, 0, 2, 5, 3, 4])
    for step in range(6):
        with torch.inference_mode(), decoding_attention(model, g):
            out = model(encoder_outputs=(hidden,), attention_mask=row_mask, decoder_input_ids=prefix[:, -1:],
                        past_key_values=cache, use_cache=True, **masks)
        cache = out.past_key_values
        if step == 0:
            patched = write_in_place(cache, 2)
        with torch.inference_mode():
            ref = model(input_ids=src.index_select(0, index), attention_mask=row_mask, decoder_input_ids=prefix,
                        use_cache=False, **masks).logits[:, -1]
        got = torch.log_softmax(out.logits[:, -1].double(), -1)
        want = torch.log_softmax(ref.double(), -1)
        assert got.shape == want.shape == (rows, VOCAB)
        assert torch.allclose(got, want, atol=tol, rtol=0), (step, (got - want).abs().max())
        prefix = torch.cat([prefix, torch.randint(3, VOCAB, (rows, 1), generator=gen)], 1)
        if step == 2:
            cache.reorder_cache(order)
            prefix, index = prefix[order], index[order]
            hidden, row_mask = hidden[order], row_mask[order]
    assert patched is True
    layer = cache.self_attention_cache.layers[0]
    assert isinstance(vars(layer)["update"], _InPlaceUpdate)
    assert layer.keys.shape == (rows, HEADS, 6, HEAD_DIM)
    assert layer.keys.data_ptr() == layer.update.keys.data_ptr()  # a view of the preallocated buffer


# ---------------------------------------------------------------------------------------------- _InPlaceUpdate


def _kv(gen, rows, n, dtype=torch.float64, heads=3, dim=5):
    return (torch.randn(rows, heads, n, dim, generator=gen, dtype=dtype),
            torch.randn(rows, heads, n, dim, generator=gen, dtype=dtype))


def test_in_place_cache_equals_concatenation_and_sizes_its_buffer():
    """Keys/values after each update equal ``torch.cat`` of everything written (the stock update), exactly and in
    float64 (no cast through another dtype). Buffer sizes follow the docstrings: a fresh buffer holds
    max(capacity, n + m) positions, a full one doubles to 2 (n + m), and while there is room the same buffer is
    reused (the performance contract; 3 heads of dimension 5, so an axis mix-up changes a shape)."""
    from transformers import DynamicCache

    gen = torch.Generator().manual_seed(0)
    cache = DynamicCache()
    ref = []
    for i in range(2):  # two layers, 2 positions each, through the stock update
        ref.append(list(_kv(gen, 2, 2)))
        cache.update(*ref[i], layer_idx=i)
    assert write_in_place(cache, 4) is True  # a plain DynamicCache (no self_attention_cache) is patched too
    layers = cache.layers
    assert all(isinstance(vars(layer)["update"], _InPlaceUpdate) for layer in layers)

    def update(m, expect_size, same_buffer):
        for i, layer in enumerate(layers):
            before = layer.update.keys
            k, v = _kv(gen, 2, m)
            got_k, got_v = cache.update(k, v, layer_idx=i)
            ref[i] = [torch.cat([ref[i][0], k], -2), torch.cat([ref[i][1], v], -2)]
            assert got_k.dtype == got_v.dtype == torch.float64
            assert torch.equal(got_k, ref[i][0]) and torch.equal(got_v, ref[i][1])
            assert torch.equal(layer.keys, ref[i][0]) and torch.equal(layer.values, ref[i][1])
            assert layer.update.keys.shape == layer.update.values.shape == (2, 3, expect_size, 5)
            assert layer.keys.data_ptr() == layer.update.keys.data_ptr()
            assert layer.values.data_ptr() == layer.update.values.data_ptr()
            if same_buffer:
                assert layer.update.keys is before

    update(1, 4, False)  # first patched update: a fresh buffer of max(capacity 4, 2 + 1) = 4
    update(1, 4, True)  # fills it exactly (4 of 4): no new buffer
    update(1, 10, False)  # full: 2 x (4 + 1) = 10
    update(2, 10, True)  # 7 of 10
    for layer in layers:  # a reorder replaces the tensors: the next update re-buffers them
        idx = torch.tensor([1, 0])
        layer.keys, layer.values = layer.keys.index_select(0, idx), layer.values.index_select(0, idx)
    for r in ref:
        r[0], r[1] = r[0][[1, 0]], r[1][[1, 0]]
    update(3, 10, False)  # replaced: a fresh buffer of max(4, 7 + 3) = 10, not doubled
    update(1, 22, False)  # 10 + 1 > 10: doubles to 2 x 11 = 22
    for layer in layers:
        idx = torch.tensor([0, 1])
        layer.keys, layer.values = layer.keys.index_select(0, idx), layer.values.index_select(0, idx)
    update(2, 13, False)  # replaced: max(4, 11 + 2) = 13


def test_in_place_cache_keeps_the_device_of_the_keys():
    """The buffers live on the keys' device: the meta device stands in for an accelerator on a CPU-only test
    machine (a buffer made on the CPU cannot take meta tensors)."""
    from transformers import DynamicCache

    cache = DynamicCache()
    k = torch.empty(2, 3, 2, 5, device="meta", dtype=torch.float16)
    cache.update(k, k, layer_idx=0)
    assert write_in_place(cache, 4)
    got_k, got_v = cache.update(k[:, :, :1], k[:, :, :1], layer_idx=0)
    assert got_k.device.type == got_v.device.type == "meta"
    assert got_k.dtype == got_v.dtype == torch.float16 and got_k.shape == got_v.shape == (2, 3, 3, 5)


def test_write_in_place_patches_once_and_only_caches_with_4d_layer_tensors():
    """Returns True after patching; a second call keeps the first patch (its buffer and capacity); a cache without
    per-layer 4-D tensors (legacy tuples, layers not holding keys yet, layers without ``keys``) is left alone
    with False."""
    from transformers import DynamicCache

    cache = DynamicCache()
    k = torch.zeros(1, 2, 3, 4)
    cache.update(k, k, layer_idx=0)
    assert write_in_place(cache, 8) is True
    patch = vars(cache.layers[0])["update"]
    assert write_in_place(cache, 2) is True
    assert vars(cache.layers[0])["update"] is patch and patch.capacity == 8

    legacy = ((k, k, k, k),)
    assert write_in_place(legacy, 8) is False
    for layer in (types.SimpleNamespace(keys=None), types.SimpleNamespace(), types.SimpleNamespace(keys=k[0])):
        fake = types.SimpleNamespace(layers=[layer])
        assert write_in_place(fake, 8) is False
        assert "update" not in vars(layer)


# ------------------------------------------------------------------------------------------ _decoding_attention


def _attn_inputs(gen, rows, q_len, kv_rows, s=7, dtype=torch.float64):
    q = torch.randn(rows, HEADS, q_len, HEAD_DIM, generator=gen, dtype=dtype)
    k = torch.randn(kv_rows, HEADS, s, HEAD_DIM, generator=gen, dtype=dtype)
    v = torch.randn(kv_rows, HEADS, s, HEAD_DIM, generator=gen, dtype=dtype)
    return q, k, v


def _row_mask(rows, g, s=7, dtype=torch.float64):
    """Additive padding mask, one row per decoder row; source j (rows j*g ... ) has its last j positions padded."""
    mask = torch.zeros(rows, 1, 1, s, dtype=dtype)
    for r in range(rows):
        pad = r // g
        if pad:
            mask[r, ..., s - pad:] = torch.finfo(dtype).min
    return mask


@pytest.fixture
def cross(bart_eager):
    return bart_eager.model.decoder.layers[0].encoder_attn


def _eager(*args, **kwargs):
    from transformers.models.bart.modeling_bart import eager_attention_forward

    return eager_attention_forward(*args, **kwargs)


@pytest.mark.parametrize("scaling", [None, 0.37])
@pytest.mark.parametrize("per_row", [True, False])
def test_grouped_attention_equals_eager_attention_on_repeated_keys(cross, monkeypatch, scaling, per_row):
    """3 groups of g = 2 rows: the grouped product equals transformers' eager attention (and torch's sdpa) over
    each row's own copy of its source's keys/values, with keys given per row or once per group, the default
    scale dim**-0.5 or a given one; the output has eager's shape (rows, 1, heads, dim)."""
    g, sources = 2, 3
    rows = g * sources
    gen = torch.Generator().manual_seed(1)
    q, k, v = _attn_inputs(gen, rows, 1, sources)
    mask = _row_mask(rows, g)
    k_rows, v_rows = k.repeat_interleave(g, 0), v.repeat_interleave(g, 0)
    monkeypatch.setitem(scoring._GROUPS, id(cross), g)
    out, _ = scoring._decoding_attention(cross, q, k_rows if per_row else k, v_rows if per_row else v, mask,
                                         scaling=scaling, dropout=0.0)
    want, _ = _eager(cross, q, k_rows, v_rows, mask, scaling=scaling, dropout=0.0)
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, k_rows, v_rows, attn_mask=mask, scale=scaling)
    assert out.shape == want.shape == (rows, 1, HEADS, HEAD_DIM)
    assert torch.allclose(out, want, atol=1e-12, rtol=0)
    assert torch.allclose(out, sdpa.transpose(1, 2), atol=1e-12, rtol=0)


def test_ungrouped_attention_is_eager_attention(cross, monkeypatch):
    """Without groups (g = 1), with several query positions, or with a head mask, the call is transformers' eager
    attention itself: same output, same attention weights, the given scale, head mask and dropout applied."""
    gen = torch.Generator().manual_seed(2)
    head_mask = torch.tensor([1.0, 0.0, 0.5, 2.0], dtype=torch.float64)
    # g = 1: one query position, a given scale (not dim**-0.5) and a head mask
    q, k, v = _attn_inputs(gen, 4, 1, 4)
    mask = _row_mask(4, 2)
    for kw in (dict(scaling=0.37), dict(scaling=None), dict(scaling=0.37, head_mask=head_mask)):
        out, w = scoring._decoding_attention(cross, q, k, v, mask, dropout=0.0, **kw)
        want, want_w = _eager(cross, q, k, v, mask, dropout=0.0, **kw)
        assert w is not None and torch.allclose(w, want_w, atol=1e-12, rtol=0)
        assert out.shape == want.shape and torch.allclose(out, want, atol=1e-12, rtol=0)
    monkeypatch.setitem(scoring._GROUPS, id(cross), 2)
    # groups of 2, but 3 query positions (teacher forcing): eager
    q3, _, _ = _attn_inputs(gen, 4, 3, 4)
    out, w = scoring._decoding_attention(cross, q3, k, v, mask, scaling=0.37, dropout=0.0)
    want, want_w = _eager(cross, q3, k, v, mask, scaling=0.37, dropout=0.0)
    assert out.shape == want.shape and torch.allclose(out, want, atol=1e-12, rtol=0)
    assert torch.allclose(w, want_w, atol=1e-12, rtol=0)
    # groups of 2, one position, a head mask: eager, so the mask counts
    out, _ = scoring._decoding_attention(cross, q, k, v, mask, scaling=0.37, dropout=0.0, head_mask=head_mask)
    want, _ = _eager(cross, q, k, v, mask, scaling=0.37, dropout=0.0, head_mask=head_mask)
    assert torch.allclose(out, want, atol=1e-12, rtol=0)
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:  # transformers 5's eager attention has no head mask
        assert torch.equal(out[:, :, 1], torch.zeros_like(out[:, :, 1]))  # head 1 masked out (weights x 0)


def test_ungrouped_attention_applies_dropout_like_eager(cross, monkeypatch):
    """A module in training mode: the default dropout is none (the plain attention); dropout=1.0 drops every
    weight, so the output is all zeros (torch's dropout with p = 1)."""
    gen = torch.Generator().manual_seed(4)
    q, k, v = _attn_inputs(gen, 2, 1, 2)
    monkeypatch.setattr(cross, "training", True)
    out, _ = scoring._decoding_attention(cross, q, k, v, None, scaling=0.37)
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=0.37).transpose(1, 2)
    assert torch.allclose(out, sdpa, atol=1e-12, rtol=0)
    out, _ = scoring._decoding_attention(cross, q, k, v, None, scaling=0.37, dropout=1.0)
    assert torch.equal(out, torch.zeros_like(out))


def test_registration_makes_the_name_resolve(monkeypatch):
    """From a registry without factbench's name: afterwards the name resolves to ``_decoding_attention`` for
    attention and to transformers' eager mask function for masks (models built on transformers' masking_utils
    look it up there); without transformers' attention interface it reports False."""
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    name = scoring.DECODING_ATTENTION
    for interface in (AttentionInterface, AttentionMaskInterface):  # a copy without the name, restored after
        monkeypatch.setattr(interface, "_global_mapping",
                            {k: v for k, v in interface._global_mapping.items() if k != name})
    assert name not in ALL_ATTENTION_FUNCTIONS and name not in ALL_MASK_ATTENTION_FUNCTIONS
    assert scoring._register_decoding_attention() is True
    assert ALL_ATTENTION_FUNCTIONS[name] is scoring._decoding_attention
    assert ALL_MASK_ATTENTION_FUNCTIONS[name] is ALL_MASK_ATTENTION_FUNCTIONS["eager"]

    monkeypatch.setitem(sys.modules, "transformers.masking_utils", None)  # import fails, as on old transformers
    assert scoring._register_decoding_attention() is False


# ----------------------------------------------------------------------------------- _head_split, projections


def test_head_split_logits_equal_the_model_logits_with_a_head_bias(bart_eager, monkeypatch):
    """With a head that has its own bias, the split's base output through ``sliced_projection`` with the split's
    bias gives transformers' logits (``lm_head(x) + final_logits_bias``) to 1e-12 (float64)."""
    gen = torch.Generator().manual_seed(5)
    head = torch.nn.Linear(D_MODEL, VOCAB, bias=True, dtype=torch.float64)
    with torch.no_grad():
        head.weight.copy_(bart_eager.lm_head.weight)
        head.bias.normal_(generator=gen)
    monkeypatch.setattr(bart_eager, "lm_head", head)
    src, smask = _padded(SOURCES)
    dec = torch.tensor([[2, 5, 6], [2, 7, 8]])
    with torch.inference_mode():
        want = bart_eager(input_ids=src, attention_mask=smask, decoder_input_ids=dec).logits
        base, h, bias = _head_split(bart_eager)
        assert base is bart_eager.model and h is head
        got = sliced_projection(base(input_ids=src, attention_mask=smask, decoder_input_ids=dec)[0], h.weight, bias,
                                rows=16)
    assert got.shape == want.shape == (2, 3, VOCAB)
    assert torch.allclose(got, want, atol=1e-12, rtol=0)


def test_head_split_conditions(bart_eager, monkeypatch):
    """None unless: slicing on, a model type with a final bias, a linear head, a base model and a bias tensor;
    the bias is None when it is all zeros (the docstring's rule)."""
    base, head, bias = _head_split(bart_eager)
    assert torch.equal(bias, bart_eager.final_logits_bias.reshape(-1))
    with torch.no_grad():
        saved = bart_eager.final_logits_bias.clone()
        bart_eager.final_logits_bias.zero_()
        try:
            assert _head_split(bart_eager)[2] is None
        finally:
            bart_eager.final_logits_bias.copy_(saved)
    monkeypatch.setattr(scoring, "HEAD_CHUNK", 0)
    assert _head_split(bart_eager) is None
    monkeypatch.undo()

    linear = torch.nn.Linear(4, 6, bias=False)

    def fake(model_type="bart", head=linear, base=object(), bias=torch.ones(1, 6), config=None):
        config = config if config is not None else types.SimpleNamespace(model_type=model_type)
        return types.SimpleNamespace(config=config, get_output_embeddings=lambda: head, model=base,
                                     final_logits_bias=bias)

    assert _head_split(fake())[2].tolist() == [1.0] * 6  # the fake is accepted as such
    assert _head_split(fake(model_type="t5")) is None
    assert _head_split(fake(config=types.SimpleNamespace())) is None  # no model_type at all
    assert _head_split(fake(head=torch.nn.Embedding(6, 4))) is None
    assert _head_split(fake(bias=None)) is None
    assert _head_split(fake(base=None)) is None


@pytest.mark.parametrize("with_bias", [False, True])
def test_sliced_projection_equals_linear(with_bias, monkeypatch):
    """``x @ W.T + b`` (torch's ``linear``) in float64, with slices of 2 rows of a 7-row weight (the last slice
    shorter), into no buffer, an exact-size buffer (used: the output is its front), a too-small or other-dtype
    buffer (not used); the buffers start as NaN so that an unwritten column shows."""
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(2, 3, 5, generator=gen, dtype=torch.float64)
    w = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    b = torch.randn(1, 1, 7, generator=gen, dtype=torch.float64) if with_bias else None
    want = torch.nn.functional.linear(x, w, None if b is None else b.reshape(-1))
    exact = torch.full((42,), float("nan"), dtype=torch.float64)
    for buffer, used in ((None, False), (exact, True), (torch.full((50,), float("nan"), dtype=torch.float64), True),
                         (torch.full((41,), float("nan"), dtype=torch.float64), False),
                         (torch.full((42,), float("nan"), dtype=torch.float32), False)):
        got = sliced_projection(x, w, b, rows=2, buffer=buffer)
        assert got.shape == (2, 3, 7) and got.dtype == torch.float64
        assert torch.allclose(got, want, atol=1e-12, rtol=0)
        if buffer is not None:
            assert (got.data_ptr() == buffer.data_ptr()) == used
    monkeypatch.setattr(scoring, "HEAD_CHUNK", 0)  # slicing off: one product with the whole weight
    assert torch.allclose(sliced_projection(x, w, b), want, atol=1e-12, rtol=0)


def test_sliced_projection_products_and_device(monkeypatch):
    """The docstring's performance contract: ``rows`` rows of the weight per product (7 rows in slices of 2 =
    products of 2, 2, 2, 1 rows; without ``rows``, HEAD_CHUNK rows, or the whole weight when HEAD_CHUNK is 0);
    and the output on the input's device (meta stands in for an accelerator)."""
    widths = []
    mm = torch.mm

    def spy(a, w, *args, **kwargs):
        widths.append(w.shape[1])
        return mm(a, w, *args, **kwargs)

    x, w = torch.randn(3, 5), torch.randn(7, 5)
    monkeypatch.setattr(torch, "mm", spy)
    sliced_projection(x, w, rows=2)
    assert widths == [2, 2, 2, 1]
    widths.clear()
    monkeypatch.setattr(scoring, "HEAD_CHUNK", 3)
    sliced_projection(x, w)
    assert widths == [3, 3, 1]
    widths.clear()
    monkeypatch.setattr(scoring, "HEAD_CHUNK", 0)
    sliced_projection(x, w)
    assert widths == [7]
    monkeypatch.undo()
    out = sliced_projection(torch.empty(3, 5, device="meta"), torch.empty(7, 5, device="meta"), rows=2)
    assert out.device.type == "meta" and out.shape == (3, 7)
