"""Estimated FLOPs of a transformer forward pass from its parameter counts and the tokens it processes.

The rule (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", Table 1; the standard "2N"
approximation): a forward pass costs about ``2 N`` FLOPs per token, ``N`` the non-embedding parameters
that act on that token (one multiply and one add per weight). For a seq2seq model the parameters are split
by the tokens they see::

    flops = 2 * P_enc   * tokens_in                # encoder layers, once per source token
          + 2 * P_dec   * tokens_out               # decoder layers (self-attn, cross-attn q/o, FFN)
          + 2 * P_xkv   * cross_kv_tokens          # cross-attention key/value projections of the source
          + 2 * P_head  * tokens_out               # LM head (vocab x d_model): real cost, tied or not
          [+ attention scores, optional]

``P_xkv`` (the decoder's cross-attention key/value projections) acts on encoder states, not on decoder
tokens: once per source token when the keys/values are computed once per source (factbench's scoring),
once per source token per decoder row when every row recomputes them. ``cross_kv_tokens`` says which;
by default ``tokens_in`` (computed once). Embedding lookups (token, position, type tables) cost no
matmul FLOPs and are excluded; the LM head is not a lookup and is included. An encoder-only model (BERT
QA, classifiers) has only the first term, its task head included in ``P_enc``.

Attention scores (``QK^T`` and the weighted sum of ``V``: ``2 * 2 * d_model * context`` FLOPs per token
per layer) are not parameters; Kaplan et al. list them as ``2 n_layer n_ctx d_attn`` per token (they count
one of the two products, or the causal average). They are added when ``source_len`` is given (mean
encoder length; ``target_len`` the mean decoder length), with the full ``4 d context`` count per layer.
They matter for long sources: S / (6 d) of an encoder layer's cost (17 % for S = 1024 on BART-large).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Cross-attention key/value projections (BART, mBART, Pegasus, Marian; T5).
CROSS_KV = ("encoder_attn.k_proj", "encoder_attn.v_proj", "EncDecAttention.k", "EncDecAttention.v")


@dataclass(frozen=True)
class ParamCounts:
    """Parameters of a model split by the tokens they act on (see the module docstring)."""

    encoder: int
    decoder: int
    cross_kv: int
    head: int
    embedding: int
    d_model: int
    encoder_layers: int
    decoder_layers: int
    is_seq2seq: bool

    def as_dict(self) -> dict:
        return asdict(self)


def _module(model):
    """A LoadedModel's torch module, or the module itself."""
    return model if hasattr(model, "named_parameters") else model.model


def param_counts(model) -> ParamCounts:
    """Split the parameters of a transformers model (or a :class:`LoadedModel`) for :func:`estimate`.

    Works on a model built on the ``meta`` device too (only shapes are read). Tied weights are counted
    once (``named_parameters`` removes duplicates); the LM head is counted from the output-embedding
    shape whether or not it is tied to the input embedding.
    """
    import torch

    model = _module(model)
    config = model.config
    embed_ids = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    out_emb = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    head_weight = getattr(out_emb, "weight", None)
    head = 0
    if head_weight is not None:
        head = head_weight.numel() + (out_emb.bias.numel() if getattr(out_emb, "bias", None) is not None else 0)
    seq2seq = bool(getattr(config, "is_encoder_decoder", False))
    enc = dec = xkv = emb = 0
    for name, p in model.named_parameters():
        if id(p) in embed_ids:
            emb += p.numel()
        elif p is head_weight or (out_emb is not None and p is getattr(out_emb, "bias", None)):
            continue  # counted as head, from the output-embedding shape
        elif name.endswith("final_logits_bias"):
            continue  # BART's bias added to the logits: a vector add, not a matmul
        elif seq2seq and "decoder" in name.split("."):
            if any(k in name for k in CROSS_KV):
                xkv += p.numel()
            else:
                dec += p.numel()
        else:
            enc += p.numel()
    if not seq2seq:  # an encoder-only LM head (BERT MLM) acts on every input token: encoder work
        enc, head = enc + head, 0
    d = int(getattr(config, "d_model", None) or getattr(config, "hidden_size", 0))
    n_enc = int(getattr(config, "encoder_layers", None) or getattr(config, "num_layers", None)
                or getattr(config, "num_hidden_layers", 0))
    n_dec = int(getattr(config, "decoder_layers", None) or getattr(config, "num_decoder_layers", None) or 0) if seq2seq else 0
    return ParamCounts(enc, dec, xkv, head, emb, d, n_enc, n_dec, seq2seq)


def estimate(model, tokens_in: float, tokens_out: float = 0.0, *, cross_kv_tokens: float | None = None,
             source_len: float | None = None, target_len: float | None = None) -> float:
    """Estimated forward FLOPs of ``model`` (a :class:`LoadedModel`, a transformers model or :class:`ParamCounts`).

    Parameters
    ----------
    tokens_in
        Encoder tokens processed (rows x positions, padding included if it was computed).
    tokens_out
        Decoder positions processed (each one also goes through the LM head); 0 for encoder-only models.
    cross_kv_tokens
        Encoder states projected to cross-attention keys/values; default ``tokens_in`` (once per source).
    source_len, target_len
        Mean encoder and decoder lengths; when ``source_len`` is given, attention-score FLOPs are added.

    Examples
    --------
    Hand-made counts, 100 source tokens, 10 decoder tokens, no attention term:

    >>> pc = ParamCounts(encoder=10, decoder=20, cross_kv=4, head=30, embedding=99, d_model=2,
    ...                  encoder_layers=1, decoder_layers=1, is_seq2seq=True)
    >>> estimate(pc, 100, 10)  # 2*10*100 + 2*20*10 + 2*4*100 + 2*30*10
    3800.0
    """
    pc = model if isinstance(model, ParamCounts) else param_counts(model)
    if tokens_in < 0 or tokens_out < 0:
        raise ValueError(f"token counts must be >= 0, got tokens_in={tokens_in}, tokens_out={tokens_out}")
    if not pc.is_seq2seq:
        total = 2.0 * pc.encoder * tokens_in
        if source_len:
            total += 4.0 * pc.d_model * pc.encoder_layers * source_len * tokens_in
        return float(total)
    xkv = tokens_in if cross_kv_tokens is None else cross_kv_tokens
    total = 2.0 * (pc.encoder * tokens_in + (pc.decoder + pc.head) * tokens_out + pc.cross_kv * xkv)
    if source_len:
        d = pc.d_model
        total += 4.0 * d * pc.encoder_layers * source_len * tokens_in  # encoder self-attention
        total += 4.0 * d * pc.decoder_layers * source_len * tokens_out  # cross-attention over the source
        # causal self-attention: token t attends to t positions, (T + 1) / 2 on average
        total += 4.0 * d * pc.decoder_layers * ((target_len or 0) + 1) / 2 * tokens_out
    return float(total)
