"""Extractive question answering, SQuAD 2.0 style (the QAGS QA step, ALGORITHMS.md §1.5).

The inference of the BERT SQuAD scripts that QAGS ran (``run_squad`` / ``write_predictions`` with
``version_2_with_negative``), re-done on a fast tokenizer so it runs the same on transformers 4.x and 5.x:

- the context is ``" ".join(text.split())`` (``utils.format_squad``, ``ctx_split=True``);
- the question is cut to ``max_query_length`` = 64 tokens;
- windows over the context: at most ``max_seq_length`` = 384 tokens with the question and special
  tokens; consecutive windows start ``doc_stride`` = 128 tokens apart (the original's meaning of
  doc_stride: a step, not HF's overlap);
- per window the ``n_best`` = 20 best start and end positions; a span counts when both ends lie in the
  context, the start is in its window of maximal context, end >= start and it has at most
  ``max_answer_length`` = 30 tokens; spans are ranked by start + end logit;
- null score = the minimum over windows of start + end logit at [CLS]; the answer is ``""`` when
  null − best span > ``null_threshold`` = 0.0;
- the answer text is cut from the context by the character offsets of the span's tokens.

Every question-window pair of a call is batched (sorted by length, padded per batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import ModelUnavailableError
from .batching import map_batches


@dataclass(frozen=True)
class QAConfig:
    max_seq_length: int = 384
    doc_stride: int = 128
    max_query_length: int = 64
    n_best: int = 20
    max_answer_length: int = 30
    null_threshold: float = 0.0
    # Only the first N tokens of a context are read (0: all). A bound on the whole, so that one huge source
    # cannot take hours; an answer says whether its context was cut (``context_truncated``).
    max_context_tokens: int = 0


@dataclass
class Window:
    """One model input: a question with one window of the context's tokens."""

    pair: int  # which (question, context) pair
    input_ids: list[int]
    token_type_ids: list[int] | None
    doc_offset: int  # input position of the window's first context token
    doc_start: int  # index of that token among the context's tokens
    length: int  # context tokens in the window
    max_context: list[bool]  # per window token: is this its window of maximal context?
    cls_index: int = 0


def format_context(text: str) -> str:
    """Whitespace-normalised context, as QAGS gave it to the QA model."""
    return " ".join(text.split())


def doc_spans(n_tokens: int, max_tokens: int, stride: int) -> list[tuple[int, int]]:
    """(start, length) of each window, as ``run_squad`` built ``doc_spans``.

    >>> doc_spans(10, 4, 3)
    [(0, 4), (3, 4), (6, 4)]
    """
    spans, start = [], 0
    while start < n_tokens:
        length = min(n_tokens - start, max_tokens)
        spans.append((start, length))
        if start + length == n_tokens:
            break
        start += min(length, stride)
    return spans


def max_context_flags(spans: Sequence[tuple[int, int]]) -> list[list[bool]]:
    """:func:`is_max_context` of every token of every window, in one pass over the windows.

    Each window scores only its own tokens, so the work is the total window length (about
    ``n_tokens * max_tokens / stride``), linear in the context; asking :func:`is_max_context` token by token
    looks at every window for every token, quadratic (minutes per question for a 60k-word source). Ties go to
    the earlier window, as the strict ``>`` of the original loop.
    """
    if not spans:
        return []
    n = spans[-1][0] + spans[-1][1]
    best = np.full(n, -1, dtype=np.int64)
    best_score = np.full(n, -np.inf)
    for i, (start, length) in enumerate(spans):
        pos = np.arange(start, start + length)
        score = np.minimum(pos - start, start + length - 1 - pos) + 0.01 * length
        here = best_score[start : start + length]
        better = score > here
        here[better] = score[better]
        best[start : start + length][better] = i
    return [(best[start : start + length] == i).tolist() for i, (start, length) in enumerate(spans)]


def is_max_context(spans: Sequence[tuple[int, int]], current: int, position: int) -> bool:
    """``_check_is_max_context``: the window where ``position`` has the most context on its shorter side."""
    best_score, best = None, None
    for i, (start, length) in enumerate(spans):
        end = start + length - 1
        if position < start or position > end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best = score, i
    return current == best


class _Template:
    """Where a tokenizer puts its special tokens around a (question, context) pair."""

    def __init__(self, tokenizer):
        # Read the layout off a real pair encoding: model-specific helpers such as
        # build_inputs_with_special_tokens are missing on a plain PreTrainedTokenizerFast.
        enc = tokenizer("question", "context", add_special_tokens=True)
        ids, seq = enc["input_ids"], enc.sequence_ids()
        q_pos = [i for i, s in enumerate(seq) if s == 0]
        d_pos = [i for i, s in enumerate(seq) if s == 1]
        a, a_end, b, b_end = q_pos[0], q_pos[-1] + 1, d_pos[0], d_pos[-1] + 1
        self.prefix, self.middle, self.suffix = ids[:a], ids[a_end:b], ids[b_end:]
        self.types = None
        if "token_type_ids" in enc and "token_type_ids" in tokenizer.model_input_names:
            t = enc["token_type_ids"]
            self.types = (t[:a], t[a], t[a_end:b], t[b], t[b_end:])
        cls = tokenizer.cls_token_id
        self.cls_index = self.prefix.index(cls) if cls is not None and cls in self.prefix else 0
        self.n_special = len(self.prefix) + len(self.middle) + len(self.suffix)

    def build(self, q: list[int], d: list[int]) -> tuple[list[int], list[int] | None, int]:
        ids = self.prefix + q + self.middle + d + self.suffix
        types = None
        if self.types:
            p, tq, m, td, s = self.types
            types = p + [tq] * len(q) + m + [td] * len(d) + s
        return ids, types, len(self.prefix) + len(q) + len(self.middle)


def make_windows(pair: int, q_ids: list[int], ctx_ids: list[int], template: _Template, cfg: QAConfig) -> list[Window]:
    q_ids = q_ids[: cfg.max_query_length]
    max_tokens = cfg.max_seq_length - len(q_ids) - template.n_special
    spans = doc_spans(len(ctx_ids), max_tokens, cfg.doc_stride)
    out = []
    for i, ((start, length), flags) in enumerate(zip(spans, max_context_flags(spans))):
        ids, types, offset = template.build(q_ids, ctx_ids[start : start + length])
        out.append(Window(pair, ids, types, offset, start, length, flags, template.cls_index))
    return out


def top_indexes(logits: np.ndarray, n: int) -> list[int]:
    """The ``n`` best positions, ties to the earlier one (``_get_best_indexes`` sorts stably)."""
    return np.argsort(-logits, kind="stable")[:n].tolist()


def decode(
    windows: Sequence[Window],
    logits: Sequence[tuple[np.ndarray, np.ndarray]],
    offsets: Sequence[tuple[int, int]],
    context: str,
    cfg: QAConfig = QAConfig(),
) -> dict:
    """The answer of one question from the start/end logits of its windows.

    Returns ``{"answer": text or "", "score_diff": null − best span or None, "best": best span text}``.
    """
    score_null = None
    best_score, best = None, None
    for w, (start_logits, end_logits) in zip(windows, logits):
        start_logits = np.asarray(start_logits, dtype=np.float64)
        end_logits = np.asarray(end_logits, dtype=np.float64)
        null = start_logits[w.cls_index] + end_logits[w.cls_index]
        if score_null is None or null < score_null:
            score_null = null
        lo, hi = w.doc_offset, w.doc_offset + w.length
        ends = top_indexes(end_logits, cfg.n_best)
        for s in top_indexes(start_logits, cfg.n_best):
            if not lo <= s < hi or not w.max_context[s - lo]:
                continue
            for e in ends:
                if not lo <= e < hi or e < s or e - s + 1 > cfg.max_answer_length:
                    continue
                score = start_logits[s] + end_logits[e]
                # strict '>' keeps the first of equal scores, as the stable sort of the original does
                if best_score is None or score > best_score:
                    best_score = score
                    best = (w.doc_start + s - lo, w.doc_start + e - lo)
    if best is None:
        return {"answer": "", "score_diff": None, "best": ""}
    text = context[offsets[best[0]][0] : offsets[best[1]][1]]
    diff = float(score_null - best_score)
    return {"answer": "" if diff > cfg.null_threshold else text, "score_diff": diff, "best": text}


def answer_questions(
    model,
    tokenizer,
    pairs: Sequence[tuple[str, str]],
    cfg: QAConfig = QAConfig(),
    batch_size: int = 32,
    on_batch: Callable[[int, int, int], None] | None = None,
) -> list[dict]:
    """Answer each (question, context) pair; every window of every pair goes through the model batched.

    ``on_batch(n_windows, real_tokens, padded_tokens)`` is called after each forward pass (for timing).
    """
    import torch

    if not getattr(tokenizer, "is_fast", False):
        raise ModelUnavailableError(
            f"QA model tokenizer {type(tokenizer).__name__} is not a fast tokenizer; span decoding needs "
            "character offsets (save the model with its tokenizer.json)"
        )
    template = _Template(tokenizer)
    contexts: dict[str, tuple[str, list[int], list[tuple[int, int]], bool]] = {}
    windows: list[Window] = []
    per_pair: list[list[int]] = []
    for k, (question, raw_context) in enumerate(pairs):
        if raw_context not in contexts:
            text = format_context(raw_context)
            enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
            ids, offsets = enc["input_ids"], enc["offset_mapping"]
            if cfg.max_context_tokens and len(ids) > cfg.max_context_tokens:
                ids, offsets = ids[: cfg.max_context_tokens], offsets[: cfg.max_context_tokens]
            contexts[raw_context] = (text, ids, offsets, len(enc["input_ids"]) > len(ids))
        ctx_ids = contexts[raw_context][1]
        q_ids = tokenizer(question, add_special_tokens=False, verbose=False)["input_ids"]
        made = make_windows(k, q_ids, ctx_ids, template, cfg)
        per_pair.append(list(range(len(windows), len(windows) + len(made))))
        windows.extend(made)

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def run(batch: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        width = max(len(windows[i].input_ids) for i in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        types = torch.zeros((len(batch), width), dtype=torch.long) if template.types else None
        for row, i in enumerate(batch):
            w = windows[i]
            n = len(w.input_ids)
            ids[row, :n] = torch.tensor(w.input_ids)
            mask[row, :n] = 1
            if types is not None:
                types[row, :n] = torch.tensor(w.token_type_ids)
        inputs = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
        if types is not None:
            inputs["token_type_ids"] = types.to(device)
        with torch.inference_mode():
            out = model(**inputs)
        start = out.start_logits.float().cpu().numpy()
        end = out.end_logits.float().cpu().numpy()
        if on_batch:
            on_batch(len(batch), int(mask.sum()), len(batch) * width)
        # padding positions are dropped: spans are ranked among the window's real tokens only
        return [(start[r, : len(windows[i].input_ids)], end[r, : len(windows[i].input_ids)]) for r, i in enumerate(batch)]

    logits = map_batches(range(len(windows)), run, batch_size, length=lambda i: len(windows[i].input_ids))
    results = []
    for k, (_, raw_context) in enumerate(pairs):
        text, _, offsets, cut = contexts[raw_context]
        idx = per_pair[k]
        results.append(decode([windows[i] for i in idx], [logits[i] for i in idx], offsets, text, cfg))
        if cut:
            results[-1]["context_truncated"] = True
    return results
