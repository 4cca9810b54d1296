"""Teacher-forced scoring and the encoder/decoder plumbing shared with :mod:`.generation`.

``score_targets(model, tokenizer, source, targets)`` gives the per-token log-likelihoods
``log p(y_t | source, y_<t)`` of many target sequences given one source. The source is encoded once,
and the cross-attention keys and values of the source are computed once for all targets (expanding the
encoder output to N copies would recompute them N times: 2 x 2 x S x d^2 FLOPs per layer per copy, the
dominant cost for a 1024-token source and short QA targets). ``score_batch`` does the same for many
sources at once.

Everything runs through the model's own encoder and decoder forward passes with ``past_key_values``;
nothing depends on ``pipeline()`` or ``generate()``, so it behaves the same on transformers 4.x and 5.x.
Outside ``plain=True`` (the reference executions), :class:`Seq2SeqRunner` makes those passes cheaper
without changing what they compute (to float rounding; tests/models/test_seq2seq_runner.py):

- cross-attention keys/values projected once per source (:func:`shared_cross_kv`), and kept once per
  group of beams after a row selection (:meth:`Seq2SeqRunner.select`);
- the vocabulary projection in cache-sized slices into a reused buffer, with BART's ``final_logits_bias``
  inside the slices (:func:`sliced_projection`, :func:`chunked_head`), and the log-softmax in place;
- matmul attention for one-token decoding steps, with each source's cross-attention keys/values read once
  for all its beams (:func:`decoding_attention`);
- a preallocated self-attention cache (:func:`write_in_place`).

Cost counters (``timer.add(stage, ...)``, when a timer is given): ``model_calls`` counts forward passes
(one per encoder batch, one per decoder pass or decoding step); ``tokens_in`` the non-padding encoder
tokens; ``tokens_out`` the decoder positions computed (rows x positions, padding excluded);
``flops`` a 2 x parameters x tokens estimate.
"""

from __future__ import annotations

import inspect
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Sequence

# Linear layers that project the encoder output to cross-attention keys/values (BART, mBART, Pegasus,
# Marian: encoder_attn.k_proj/v_proj; T5: EncDecAttention.k/v).
_CROSS_KV = ("encoder_attn.k_proj", "encoder_attn.v_proj", "EncDecAttention.k", "EncDecAttention.v")


@dataclass
class Encoded:
    """A source encoded for the model: ``ids`` as fed to the encoder, the untruncated length, and
    whether it was truncated to the model maximum."""

    ids: list[int]
    n_tokens: int
    truncated: bool


def model_max_source(model, tokenizer) -> int:
    """The longest encoder input: BART's position table, else the tokenizer's model_max_length (T5: 512)."""
    n = getattr(model.config, "max_position_embeddings", None)
    if n:
        return int(n)
    m = getattr(tokenizer, "model_max_length", None)
    return int(m) if m and m < 1_000_000 else 512


def encode_source(tokenizer, text: str, *, max_tokens: int | None = None, prefix: str = "", no_bos: bool = False):
    """Token ids of ``prefix + text`` with the tokenizer's special tokens, cut to ``max_tokens``.

    A sequence longer than ``max_tokens`` keeps its first ``max_tokens - 1`` tokens and ends with EOS, as the
    tokenizer's own ``truncation=True, max_length=max_tokens`` does (lmqg's encoding: BART ``<s>`` + 1022 +
    ``</s>`` at 1024, T5 511 + ``</s>`` at 512). ``no_bos`` then drops a leading BOS (fairseq BART's
    ``encode(..., no_bos=True)``, used by QUALS's QAGen): fairseq keeps ``max_positions - 2`` BPE tokens
    before adding the specials, so QAGen's encoder input is 1022 BPE tokens + ``</s>`` (ALGORITHMS.md §2.4).
    ``n_tokens`` is the length the input would have untruncated (after ``no_bos``).
    """
    # verbose=False: the full text may exceed the model maximum; it is cut below, on purpose
    ids = list(tokenizer(prefix + text, add_special_tokens=True, verbose=False)["input_ids"])
    bos = getattr(tokenizer, "bos_token_id", None)
    drop_bos = no_bos and bos is not None and bool(ids) and ids[0] == bos
    n = len(ids) - drop_bos
    truncated = bool(max_tokens) and len(ids) > max_tokens
    if truncated:
        eos = tokenizer.eos_token_id
        ids = ids[: max_tokens - 1] + [eos if eos is not None else ids[-1]]
    if drop_bos:
        ids = ids[1:]
    return Encoded(ids, n, truncated)


def encode_target(tokenizer, text: str) -> list[int]:
    """Target ids of ``text`` + EOS, without BOS (the decoder gets the model's decoder start token)."""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return ids + [tokenizer.eos_token_id]


def encode_labels(tokenizer, text: str) -> list[int]:
    """``tokenizer.encode(text)``: the target as lmqg trained on it (``labels = tokenizer.encode(output)`` in
    ``lmqg/language_model.py``), the tokenizer's special tokens included: BART ``<s> … </s>``, T5 ``… </s>``.
    The decoder input is these labels shifted right behind the decoder start token, so a BART model
    generates ``<s>`` first and the generated sequence is exactly these ids (ALGORITHMS.md §2.6)."""
    return list(tokenizer(text, add_special_tokens=True)["input_ids"])


def special_ids(model, tokenizer) -> tuple[int | None, int, int]:
    """(pad, eos, decoder start) ids, from the model config first (that is what the model was trained with)."""
    cfg = model.config
    pad = cfg.pad_token_id if cfg.pad_token_id is not None else tokenizer.pad_token_id
    eos = cfg.eos_token_id if cfg.eos_token_id is not None else tokenizer.eos_token_id
    if isinstance(eos, (list, tuple)):
        eos = eos[0]
    start = cfg.decoder_start_token_id
    if start is None:
        start = pad if pad is not None else eos
    return pad, int(eos), int(start)


@contextmanager
def shared_cross_kv(model, expanded, base, index):
    """While active, cross-attention K/V projections of ``expanded`` (= ``base[index]``) are computed on
    ``base`` once and then indexed, instead of once per row of ``expanded``."""
    decoder = model.get_decoder()
    mods = [m for name, m in decoder.named_modules() if name.endswith(_CROSS_KV)]

    def wrap(orig):
        def forward(x, *args, **kwargs):
            if x is expanded or (x.data_ptr() == expanded.data_ptr() and x.shape == expanded.shape):
                return orig(base, *args, **kwargs).index_select(0, index)
            return orig(x, *args, **kwargs)

        return forward

    for m in mods:
        m.forward = wrap(m.forward)
    try:
        yield len(mods)
    finally:
        for m in mods:
            del m.forward  # back to the class's forward


# Output-embedding rows per product: 512 x 768 fp32 (1.5 MB) stays in cache while it is used. 0 turns the
# slicing off (the bench's FLOP-counting pass does, so that its nn.Linear patch sees the head's rows).
HEAD_CHUNK = 512


def sliced_projection(x, weight, bias=None, rows: int | None = None, buffer=None):
    """``x @ weight.T + bias`` as products with ``rows`` rows of ``weight`` at a time, written into one
    output (the front of the flat tensor ``buffer`` when it is given and large enough), each product adding
    its slice of the bias (``addmm``) instead of a separate pass over the output.

    For the vocabulary projection: one product with the whole 50k x d weight streams it through the cache
    once per call and reaches about 105 GFLOP/s on this project's CPU; 512-row slices reach 165-180 for
    180 to 1200 decoder rows (2048-row slices 150-155; measured with 2 threads). The values are the same
    products, only grouped differently.
    """
    import torch

    rows = rows or HEAD_CHUNK or weight.shape[0]
    flat = x.reshape(-1, x.shape[-1])
    size = (flat.shape[0], weight.shape[0])
    if buffer is not None and buffer.numel() >= size[0] * size[1] and buffer.dtype == x.dtype:
        out = buffer[: size[0] * size[1]].view(size)
    else:
        out = torch.empty(size, dtype=x.dtype, device=x.device)
    bias = None if bias is None else bias.reshape(-1)
    for i in range(0, weight.shape[0], rows):
        w = weight[i : i + rows].t()
        if bias is None:
            torch.mm(flat, w, out=out[:, i : i + rows])
        else:
            torch.addmm(bias[i : i + rows], flat, w, out=out[:, i : i + rows])
    return out.view(*x.shape[:-1], weight.shape[0])


@contextmanager
def chunked_head(model, rows: int | None = None):
    """While active, the model's output projection (the vocabulary-sized linear layer) runs as
    :func:`sliced_projection`."""
    import torch

    rows = HEAD_CHUNK if rows is None else rows
    head = model.get_output_embeddings()
    if not rows or not isinstance(head, torch.nn.Linear) or head.weight.shape[0] <= rows:
        yield
        return
    head.forward = lambda x: sliced_projection(x, head.weight, head.bias, rows)
    try:
        yield
    finally:
        del head.forward


# Model types whose logits are ``lm_head(model(...)[0]) + final_logits_bias`` (transformers 4.x and 5.x).
_FINAL_BIAS_MODELS = ("bart", "mbart", "pegasus", "marian", "blenderbot", "blenderbot-small", "plbart")


def _head_split(model):
    """(base model, head, bias) for the models of ``_FINAL_BIAS_MODELS``, whose logits factbench computes
    itself so that ``final_logits_bias`` is added inside the sliced projection instead of in a separate
    pass over the logits (4 % of a 60-group diverse beam search at BART-base); None otherwise, or while
    the slicing is off. The bias is None when it is all zeros."""
    import torch

    head, base = model.get_output_embeddings(), getattr(model, "model", None)
    bias = getattr(model, "final_logits_bias", None)
    if (not HEAD_CHUNK or getattr(model.config, "model_type", None) not in _FINAL_BIAS_MODELS
            or not isinstance(head, torch.nn.Linear) or base is None or not isinstance(bias, torch.Tensor)):
        return None
    bias = bias.reshape(-1) if head.bias is None else head.bias + bias.reshape(-1)
    # BART checkpoints ship an all-zero final_logits_bias; adding it would only cost the pass (addmm first
    # copies the bias into its output)
    return base, head, bias if bool(bias.any()) else None


def write_in_place(cache, capacity: int) -> bool:
    """Make the self-attention layers of ``cache`` write each step's keys/values into a preallocated
    buffer of ``capacity`` positions instead of concatenating (the stock ``DynamicLayer.update`` copies
    the whole cache at every step: 15 % of a 60-group diverse beam search at BART-base).

    Call it once the layers hold keys (after the first step). The layers keep exposing ``keys``/``values``
    (views of the buffer), so the model, the mask code and ``reorder_cache`` work unchanged; when
    something replaces a layer's tensors (a reorder, a row selection), the next update copies them into a
    fresh buffer. Returns False, changing nothing, for caches without per-layer tensors (legacy tuples).
    """
    layers = getattr(getattr(cache, "self_attention_cache", cache), "layers", None)
    if not layers or not all(getattr(getattr(layer, "keys", None), "dim", lambda: 0)() == 4 for layer in layers):
        return False
    for layer in layers:
        if "update" not in vars(layer):  # not patched yet
            layer.update = _InPlaceUpdate(layer, capacity)
    return True


class _InPlaceUpdate:
    """``layer.update`` for :func:`write_in_place`: the layer's keys/values are ``buffer[..., :n, :]``."""

    def __init__(self, layer, capacity: int):
        self.layer, self.capacity = layer, int(capacity)
        self.keys = self.values = None
        self.n = 0

    def __call__(self, key_states, value_states, *args, **kwargs):
        import torch

        layer, m = self.layer, key_states.shape[-2]
        keys, values = layer.keys, layer.values
        ours = self.keys is not None and keys.data_ptr() == self.keys.data_ptr() and keys.shape == (
            *self.keys.shape[:-2], self.n, self.keys.shape[-1])
        if not ours or self.n + m > self.keys.shape[-2]:  # replaced by a reorder or selection, or full
            n = keys.shape[-2]
            needed = n + m if not ours else 2 * (n + m)  # a full buffer doubles
            size = (*keys.shape[:-2], max(self.capacity, needed), keys.shape[-1])
            self.keys = torch.empty(size, dtype=keys.dtype, device=keys.device)
            self.values = torch.empty(size, dtype=values.dtype, device=values.device)
            self.keys[..., :n, :] = keys
            self.values[..., :n, :] = values
            self.n = n
        self.keys[..., self.n : self.n + m, :] = key_states
        self.values[..., self.n : self.n + m, :] = value_states
        self.n += m
        layer.keys, layer.values = self.keys[..., : self.n, :], self.values[..., : self.n, :]
        return layer.keys, layer.values


# Attention implementation name factbench registers with transformers for one-token decoding steps.
DECODING_ATTENTION = "factbench_decoding"
_CROSS_ATTENTION = ("encoder_attn", "EncDecAttention")
_GROUPS: dict[int, int] = {}  # id(cross-attention module) -> rows per source, while decoding_attention is active


def _decoding_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """The model's own eager attention, except cross-attention over groups of rows that share a source:
    there the group's queries attend to the source's keys/values in one product, instead of each row
    reading its own copy. The keys/values are either one row per group (:meth:`Seq2SeqRunner.select`
    keeps them so) or one per decoder row, where every row of a group holds the same ones."""
    import sys

    import torch

    g = _GROUPS.get(id(module), 1)
    if g == 1 or query.shape[2] != 1 or kwargs.get("head_mask") is not None:
        eager = sys.modules[type(module).__module__].eager_attention_forward
        return eager(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
    rows, heads, _, dim = query.shape
    if key.shape[0] == rows:  # one copy per row: read the first row's of each group
        key, value = key[::g], value[::g]
    q = query.view(rows // g, g, heads, dim).transpose(1, 2)  # (sources, heads, g, dim)
    scale = dim**-0.5 if scaling is None else scaling
    weights = torch.matmul(q, key.transpose(2, 3)) * scale
    if attention_mask is not None:
        weights = weights + attention_mask[::g]  # (sources, 1, 1, source length)
    weights = torch.nn.functional.softmax(weights, dim=-1)
    out = torch.matmul(weights, value)  # (sources, heads, g, dim)
    return out.transpose(1, 2).reshape(rows, 1, heads, dim), None


def _register_decoding_attention() -> bool:
    try:
        from transformers import AttentionInterface, AttentionMaskInterface
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS
    except ImportError:
        return False
    AttentionInterface.register(DECODING_ATTENTION, _decoding_attention)
    AttentionMaskInterface.register(DECODING_ATTENTION, ALL_MASK_ATTENTION_FUNCTIONS["eager"])
    return True


@contextmanager
def decoding_attention(model, rows_per_source: int = 1):
    """While active, attention runs as plain matmuls (:func:`_decoding_attention`) instead of the model's
    configured kernel, for one-token decoding steps:

    - the CPU ``sdpa`` kernel costs about 3 ms a call in per-head overhead for a few MFLOP (measured: 10 %
      of a 60-group diverse beam search at BART-base), while the matmuls cost a fraction of that;
    - with ``rows_per_source`` = g > 1 (consecutive runs of g rows decode from one source, as beams do),
      cross-attention reads each source's keys/values once per group instead of once per row: 60 beams
      over a 70-token summary read 0.8 GB of cached keys/values per step at BART-base otherwise, 9 % of
      the search's time.

    transformers reads the setting at every forward pass.
    """
    cfg = model.config
    before = getattr(cfg, "_attn_implementation", None)
    if not decoding_attention_works(model):
        yield
        return
    cross = [m for name, m in model.get_decoder().named_modules() if name.endswith(_CROSS_ATTENTION)]
    if rows_per_source > 1:
        _GROUPS.update((id(m), int(rows_per_source)) for m in cross)
    cfg._attn_implementation = DECODING_ATTENTION
    try:
        yield
    finally:
        cfg._attn_implementation = before
        for m in cross:
            _GROUPS.pop(id(m), None)


def decoding_attention_works(model) -> bool:
    """Whether :func:`decoding_attention` applies to ``model``: its attention goes through transformers'
    attention interface with an eager implementation of its own (BART and its kin; T5 from transformers 5)."""
    import sys

    own_eager = hasattr(sys.modules[type(model).__module__], "eager_attention_forward")
    return getattr(model.config, "_attn_implementation", None) is not None and own_eager and \
        _register_decoding_attention()


def _rows_per_source(index) -> int:
    """g when ``index`` (the source of each decoder row) is consecutive runs of g rows each, else 1."""
    import torch

    runs = torch.unique_consecutive(index, return_counts=True)[1]
    g = int(runs[0]) if len(runs) else 1
    return g if bool((runs == g).all()) else 1


def _pad(rows: Sequence[Sequence[int]], pad: int, device):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids.to(device), mask.to(device)


class Seq2SeqRunner:
    """Encodes sources once; runs decoder rows that each belong to one source (``index``).

    ``step(last_tokens)`` advances every row by one token with the key/value cache and returns float32
    log-probs (outside ``plain`` they live in a buffer that the next step overwrites); ``reorder(idx)``
    reorders the rows' self-attention cache (beam search moves rows only within one source, so the
    cross-attention cache stays valid and is not copied; an identity order copies nothing). ``capacity``
    (the most decoding steps expected) preallocates the self-attention cache (:func:`write_in_place`).

    ``plain=True`` runs the stock model forward as the original pipelines did (fairseq, or transformers'
    ``generate``): cross-attention keys/values computed for every row, the output projection as one
    product, and the cache reordered at every step. It exists for the ``reference`` executions; the
    values are the same up to float rounding.
    """

    def __init__(self, model, sources: Sequence[Sequence[int]], pad: int | None, *, repeats=1, index=None,
                 timer=None, stage="scoring", plain: bool = False, capacity: int | None = None):
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        self.model, self.timer, self.stage, self.plain = model, timer, stage, plain
        self.capacity = None if plain else capacity
        self.device = next(model.parameters()).device
        self.n_params = sum(p.numel() for p in model.parameters())
        pad_id = pad if pad is not None else 0
        src, mask = _pad(sources, pad_id, self.device)
        with torch.inference_mode():
            # return_dict: a checkpoint whose config says return_dict=False would hand back a tuple
            base = model.get_encoder()(input_ids=src, attention_mask=mask, return_dict=True).last_hidden_state
        self._count(tokens_in=int(mask.sum()))
        if index is None:
            index = torch.arange(len(sources), device=self.device).repeat_interleave(int(repeats))
        self.index = torch.as_tensor(index, dtype=torch.long, device=self.device)
        self.rows_per_source = _rows_per_source(self.index)
        self.base = base
        self.hidden = base.index_select(0, self.index)
        self.mask = mask.index_select(0, self.index)
        self.encoder_outputs = BaseModelOutput(last_hidden_state=self.hidden)
        self.past = None
        self._logits = None  # reused output of the vocabulary projection (see _log_softmax)
        self._split = None if plain else _head_split(model)  # once: it checks the whole final bias

    def _count(self, tokens_in=0, tokens_out=0):
        if self.timer is not None:
            self.timer.add(
                self.stage, model_calls=1, tokens_in=tokens_in, tokens_out=tokens_out,
                flops=2.0 * self.n_params * (tokens_in + tokens_out),
            )

    def forward(self, decoder_input_ids, use_cache):
        """One decoder pass over ``decoder_input_ids``: (logits, the model's cache)."""
        import torch

        kwargs = dict(encoder_outputs=self.encoder_outputs, attention_mask=self.mask,
                      decoder_input_ids=decoder_input_ids, use_cache=use_cache, return_dict=True,
                      **{self._cache_arg: self.past})
        split = self._split
        if split is not None:  # allocated outside inference mode: the caller may change it in place
            n = decoder_input_ids.numel() * split[1].weight.shape[0]
            if self._logits is None or self._logits.numel() < n:
                self._logits = torch.empty(n, dtype=split[1].weight.dtype, device=self.device)
        with torch.inference_mode(), ExitStack() as stack:
            if not self.plain:
                stack.enter_context(shared_cross_kv(self.model, self.hidden, self.base, self.index))
                if decoder_input_ids.shape[1] == 1:
                    stack.enter_context(decoding_attention(self.model, self.rows_per_source))
            if split is not None:
                base, head, bias = split
                out = base(**kwargs)
                logits = sliced_projection(out[0], head.weight, bias, buffer=self._logits)
            else:
                if not self.plain:
                    stack.enter_context(chunked_head(self.model))
                out = self.model(**kwargs)
                logits = out.logits
        return logits, getattr(out, "cache", None) if self._cache_arg == "cache" else out.past_key_values

    @property
    def _cache_arg(self) -> str:
        # transformers 5.x renamed ``past_key_values`` to ``cache`` (the old name is deprecated)
        if not hasattr(self, "_cache_name"):
            params = inspect.signature(self.model.forward).parameters
            self._cache_name = "cache" if "cache" in params else "past_key_values"
        return self._cache_name

    def step(self, last_tokens):
        import torch

        logits, self.past = self.forward(last_tokens[:, None], use_cache=True)
        if self.capacity:
            write_in_place(self.past, self.capacity)
            self.capacity = None  # patched for good (or not patchable)
        self._count(tokens_out=int(last_tokens.shape[0]))
        return self._log_softmax(logits[:, -1, :])

    def _log_softmax(self, logits):
        """float32 log-softmax over the last dimension; outside ``plain``, written over ``logits``.

        A fresh 300 x 50k float32 result is 60 MB, above glibc's mmap threshold, so each one is a new
        mapping whose pages fault in on first write: at BART-base that made the log-softmax of a 60-group
        search step take 22 ms instead of 5 (measured).
        """
        import torch

        if self.plain or logits.dtype != torch.float32 or not logits.is_contiguous() or logits.is_inference():
            return torch.log_softmax(logits.float(), dim=-1)
        return torch.log_softmax(logits, dim=-1, out=logits)

    def reorder(self, idx):
        import torch

        past = self.past
        if not self.plain and torch.equal(idx, torch.arange(len(idx), device=idx.device)):
            return  # every row continues itself (diverse beam search with groups of one, mostly)
        self_cache = getattr(past, "self_attention_cache", None)
        if self_cache is not None and hasattr(self_cache, "reorder_cache"):
            self_cache.reorder_cache(idx)
        elif hasattr(past, "reorder_cache"):
            past.reorder_cache(idx)
        else:  # legacy tuple caches: (self k, self v, cross k, cross v) per layer
            self.past = tuple(
                tuple(t.index_select(0, idx) if j < 2 else t for j, t in enumerate(layer)) for layer in past
            )

    def select(self, idx) -> None:
        """Keep rows ``idx`` (all caches, masks and encoder states), in that order: finished inputs stop
        costing, and a row listed g times becomes g rows (a beam search's first step, run once per input).

        Outside ``plain``, when the new rows come in groups that share a source and the model takes
        :func:`decoding_attention`, the cross-attention cache keeps one row per group instead of one per
        row: 60 beams of 5 BART-base summaries would otherwise copy 0.7 GB of keys/values.
        """
        import torch

        past, per_group = self.past, self.cross_per_group
        index = self.index.index_select(0, idx)
        g = _rows_per_source(index)
        layers = getattr(getattr(past, "cross_attention_cache", None), "layers", None)
        compact = (not self.plain and g > 1 and bool(layers) and hasattr(past, "self_attention_cache")
                   and decoding_attention_works(self.model))
        if layers and (compact or per_group):
            # the cross-cache row that each new row (compact: each new group) reads
            old = torch.div(idx, self.rows_per_source, rounding_mode="floor") if per_group else idx
            rows = old[::g] if compact else old
            for layer in layers:
                layer.keys, layer.values = layer.keys.index_select(0, rows), layer.values.index_select(0, rows)
            past.self_attention_cache.reorder_cache(idx)
        elif hasattr(past, "reorder_cache"):
            past.reorder_cache(idx)  # EncoderDecoderCache: self- and cross-attention alike
        elif past is not None:
            self.past = tuple(tuple(t.index_select(0, idx) for t in layer) for layer in past)
        self.index, self.rows_per_source = index, g
        self.hidden = self.hidden.index_select(0, idx)
        self.mask = self.mask.index_select(0, idx)
        self.encoder_outputs = type(self.encoder_outputs)(last_hidden_state=self.hidden)

    @property
    def cross_per_group(self) -> bool:
        """Whether the cross-attention cache holds one row per group of rows (see :meth:`select`) rather than
        one per row."""
        layers = getattr(getattr(self.past, "cross_attention_cache", None), "layers", None)
        keys = getattr(layers[0], "keys", None) if layers else None
        return getattr(keys, "dim", lambda: 0)() == 4 and keys.shape[0] != len(self.index)

    def teacher_forced(self, targets: Sequence[Sequence[int]], start: int) -> list[list[float]]:
        """Per-token log p(target_t | source, target_<t) for one target per row."""
        import torch

        rows = [[start] + list(t[:-1]) for t in targets]
        dec, dmask = _pad(rows, 0, self.device)
        logits, _ = self.forward(dec, use_cache=False)
        self._count(tokens_out=int(dmask.sum()))
        lp = self._log_softmax(logits)
        res = []
        for i, t in enumerate(targets):
            tt = torch.tensor(list(t), dtype=torch.long, device=self.device)
            res.append(lp[i, : len(t)].gather(1, tt[:, None]).squeeze(1).tolist())
        return res


def score_batch(model, tokenizer, jobs: Sequence[tuple[Sequence[int], Sequence[Sequence[int]]]], *, timer=None,
                stage: str = "scoring") -> list[list[list[float]]]:
    """Teacher-forced per-token log-likelihoods for several (source ids, [target ids...]) jobs in one pass.

    Each source is encoded once; its cross-attention K/V are computed once for all its targets.
    """
    pad, _, start = special_ids(model, tokenizer)
    jobs = [(list(s), [list(t) for t in ts]) for s, ts in jobs]
    live = [j for j, (_, ts) in enumerate(jobs) if ts]
    out: list[list[list[float]]] = [[] for _ in jobs]
    if not live:
        return out
    index, flat = [], []
    for k, j in enumerate(live):
        for t in jobs[j][1]:
            index.append(k)
            flat.append(t)
    runner = Seq2SeqRunner(model, [jobs[j][0] for j in live], pad, index=index, timer=timer, stage=stage)
    scores = runner.teacher_forced(flat, start)
    pos = 0
    for j in live:
        n = len(jobs[j][1])
        out[j] = scores[pos : pos + n]
        pos += n
    return out


def score_targets(model, tokenizer, source: str | Sequence[int], targets: Sequence[Sequence[int]], *,
                  max_source_tokens: int | None = None, prefix: str = "", no_bos: bool = False, timer=None,
                  stage: str = "scoring") -> list[list[float]]:
    """Per-token log-likelihoods of each target (token ids, ending with EOS) given one source."""
    if isinstance(source, str):
        source = encode_source(tokenizer, source, max_tokens=max_source_tokens, prefix=prefix, no_bos=no_bos).ids
    return score_batch(model, tokenizer, [(source, targets)], timer=timer, stage=stage)[0]
