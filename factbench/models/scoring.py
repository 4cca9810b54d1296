"""Teacher-forced scoring and the encoder/decoder plumbing shared with :mod:`.generation`.

``score_targets(model, tokenizer, source, targets)`` gives the per-token log-likelihoods
``log p(y_t | source, y_<t)`` of many target sequences given one source. The source is encoded once,
and the cross-attention keys and values of the source are computed once for all targets (expanding the
encoder output to N copies would recompute them N times: 2 x 2 x S x d^2 FLOPs per layer per copy, the
dominant cost for a 1024-token source and short QA targets). ``score_batch`` does the same for many
sources at once.

Everything runs through the model's own encoder and decoder forward passes with ``past_key_values``;
nothing depends on ``pipeline()`` or ``generate()``, so it behaves the same on transformers 4.x and 5.x.
Three execution details make those passes cheaper without changing what they compute
(:class:`Seq2SeqRunner`; ``plain=True`` turns them off for the reference executions): cross-attention
keys/values once per source (:func:`shared_cross_kv`), the vocabulary projection in cache-sized slices
(:func:`chunked_head`) and matmul attention for one-token decoding steps (:func:`eager_attention`).

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

    ``no_bos`` drops a leading BOS (fairseq BART's ``encode(..., no_bos=True)``, used by QUALS). A
    sequence longer than ``max_tokens`` is cut to ``max_tokens`` and its last token set to EOS, as in
    QUALS's scoring (ALGORITHMS.md §2.4).
    """
    # verbose=False: the full text may exceed the model maximum; it is cut below, on purpose
    ids = list(tokenizer(prefix + text, add_special_tokens=True, verbose=False)["input_ids"])
    bos = getattr(tokenizer, "bos_token_id", None)
    if no_bos and bos is not None and ids and ids[0] == bos:
        ids = ids[1:]
    n = len(ids)
    truncated = bool(max_tokens) and n > max_tokens
    if truncated:
        eos = tokenizer.eos_token_id
        ids = ids[: max_tokens - 1] + [eos if eos is not None else ids[-1]]
    return Encoded(ids, n, truncated)


def encode_target(tokenizer, text: str) -> list[int]:
    """Target ids of ``text`` + EOS, without BOS (the decoder gets the model's decoder start token)."""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return ids + [tokenizer.eos_token_id]


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


# Output-embedding rows per product: 2048 x 768 fp32 (6 MB) stays in cache while it is used. 0 turns the
# slicing off (the bench's FLOP-counting pass does, so that its nn.Linear patch sees the head's rows).
HEAD_CHUNK = 2048


@contextmanager
def chunked_head(model, rows: int | None = None):
    """While active, the output projection (the vocabulary-sized linear layer) runs as products with
    ``rows`` vocabulary rows at a time, written into one preallocated logits tensor.

    One product with the whole 50k x d weight streams it through the cache once per call and reaches
    about 100 GFLOP/s on this project's CPU; slices that fit in the cache reach 130-150 (measured for 60
    to 300 decoder rows). The values are the same products, only grouped differently.
    """
    import torch

    rows = HEAD_CHUNK if rows is None else rows
    head = model.get_output_embeddings()
    if not rows or not isinstance(head, torch.nn.Linear) or head.weight.shape[0] <= rows:
        yield
        return
    weight, bias = head.weight, head.bias

    def forward(x):
        flat = x.reshape(-1, x.shape[-1])
        out = torch.empty((flat.shape[0], weight.shape[0]), dtype=x.dtype, device=x.device)
        for i in range(0, weight.shape[0], rows):
            torch.mm(flat, weight[i : i + rows].t(), out=out[:, i : i + rows])
        if bias is not None:
            out += bias
        return out.view(*x.shape[:-1], weight.shape[0])

    head.forward = forward
    try:
        yield
    finally:
        del head.forward


@contextmanager
def eager_attention(model):
    """While active, the model's attention runs as plain batched matmuls (``eager``) instead of its
    configured kernel. For one-token decoding steps the CPU ``sdpa`` kernel costs about 3 ms a call in
    per-head overhead for a few MFLOP (measured: 10 % of a 60-group diverse beam search at BART-base),
    while the matmuls cost a fraction of that. transformers reads the setting at every forward pass."""
    cfg = model.config
    before = getattr(cfg, "_attn_implementation", None)
    if before in (None, "eager"):
        yield
        return
    cfg._attn_implementation = "eager"
    try:
        yield
    finally:
        cfg._attn_implementation = before


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
    log-probs; ``reorder(idx)`` reorders the rows' self-attention cache (beam search moves rows only
    within one source, so the cross-attention cache stays valid and is not copied; an identity order
    copies nothing).

    ``plain=True`` runs the stock model forward as the original pipelines did (fairseq, or transformers'
    ``generate``): cross-attention keys/values computed for every row, the output projection as one
    product, and the cache reordered at every step. It exists for the ``reference`` executions; the
    values are the same up to float rounding.
    """

    def __init__(self, model, sources: Sequence[Sequence[int]], pad: int | None, *, repeats=1, index=None,
                 timer=None, stage="scoring", plain: bool = False):
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        self.model, self.timer, self.stage, self.plain = model, timer, stage, plain
        self.device = next(model.parameters()).device
        self.n_params = sum(p.numel() for p in model.parameters())
        pad_id = pad if pad is not None else 0
        src, mask = _pad(sources, pad_id, self.device)
        with torch.inference_mode():
            base = model.get_encoder()(input_ids=src, attention_mask=mask).last_hidden_state
        self._count(tokens_in=int(mask.sum()))
        if index is None:
            index = torch.arange(len(sources), device=self.device).repeat_interleave(int(repeats))
        self.index = torch.as_tensor(index, dtype=torch.long, device=self.device)
        self.base = base
        self.hidden = base.index_select(0, self.index)
        self.mask = mask.index_select(0, self.index)
        self.encoder_outputs = BaseModelOutput(last_hidden_state=self.hidden)
        self.past = None

    def _count(self, tokens_in=0, tokens_out=0):
        if self.timer is not None:
            self.timer.add(
                self.stage, model_calls=1, tokens_in=tokens_in, tokens_out=tokens_out,
                flops=2.0 * self.n_params * (tokens_in + tokens_out),
            )

    def forward(self, decoder_input_ids, use_cache):
        import torch

        with torch.inference_mode(), ExitStack() as stack:
            if not self.plain:
                stack.enter_context(shared_cross_kv(self.model, self.hidden, self.base, self.index))
                stack.enter_context(chunked_head(self.model))
                if decoder_input_ids.shape[1] == 1:
                    stack.enter_context(eager_attention(self.model))
            out = self.model(
                encoder_outputs=self.encoder_outputs,
                attention_mask=self.mask,
                decoder_input_ids=decoder_input_ids,
                use_cache=use_cache,
                return_dict=True,
                **{self._cache_arg: self.past},
            )
        return out

    @property
    def _cache_arg(self) -> str:
        # transformers 5.x renamed ``past_key_values`` to ``cache`` (the old name is deprecated)
        if not hasattr(self, "_cache_name"):
            params = inspect.signature(self.model.forward).parameters
            self._cache_name = "cache" if "cache" in params else "past_key_values"
        return self._cache_name

    def step(self, last_tokens):
        import torch

        out = self.forward(last_tokens[:, None], use_cache=True)
        self.past = out.cache if self._cache_arg == "cache" else out.past_key_values
        self._count(tokens_out=int(last_tokens.shape[0]))
        return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)

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
        """Keep only rows ``idx`` (all caches, masks and encoder states): finished inputs stop costing."""
        past = self.past
        if past is not None:
            if hasattr(past, "reorder_cache"):
                past.reorder_cache(idx)  # EncoderDecoderCache: self- and cross-attention alike
            else:
                self.past = tuple(tuple(t.index_select(0, idx) for t in layer) for layer in past)
        self.index = self.index.index_select(0, idx)
        self.hidden = self.hidden.index_select(0, idx)
        self.mask = self.mask.index_select(0, idx)
        self.encoder_outputs = type(self.encoder_outputs)(last_hidden_state=self.hidden)

    def teacher_forced(self, targets: Sequence[Sequence[int]], start: int) -> list[list[float]]:
        """Per-token log p(target_t | source, target_<t) for one target per row."""
        import torch

        rows = [[start] + list(t[:-1]) for t in targets]
        dec, dmask = _pad(rows, 0, self.device)
        out = self.forward(dec, use_cache=False)
        self._count(tokens_out=int(dmask.sum()))
        lp = torch.log_softmax(out.logits.float(), dim=-1)
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
