"""QAGS step 2: answer-aware question generation by beam search (ALGORITHMS.md §1.3).

The paper ran fairseq with ``--beam 10 --nbest 10 --lenpen 1.0`` and kept each hypothesis' length-
normalised log-probability (the ``H-`` score: sum of token log-probs / length). Here: factbench's
:func:`factbench.models.generation.beam_search` with ``num_beams = num_return = 10``,
``length_penalty = 1.0``, whose ``norm_score`` is the same quantity (transformers' ``sequences_scores``),
as ALGORITHMS.md §1.9 prescribes. The search of an input stops once 10 hypotheses are finished
(fairseq's rule; transformers' ``early_stopping=True``). No n-gram blocking (not set in the shipped
``gen_qg.sh``), although lmqg's own generation configs set ``no_repeat_ngram_size=3``.
All input lines of a call are generated together, in length-sorted batches of ``batch_size`` lines.
"""

from __future__ import annotations

from typing import Sequence

from ..models.batching import map_batches


def generate_questions(
    loaded,
    inputs: Sequence[str],
    *,
    num_beams: int = 10,
    num_return_sequences: int = 10,
    length_penalty: float = 1.0,
    max_new_tokens: int = 64,
    min_new_tokens: int = 0,
    max_input_tokens: int = 512,
    batch_size: int = 10,
    timer=None,
    stage: str = "questions",
    plain: bool = False,
) -> list[list[list]]:
    """``[[question, score], ...]`` per input line, best first; model work is counted on ``timer``;
    ``plain`` runs the stock model forward (the reference execution)."""
    from ..models.generation import beam_search

    tok = loaded.tokenizer
    lengths = {x: len(tok(x, truncation=True, max_length=max_input_tokens)["input_ids"]) for x in inputs}

    def run(chunk: list[str]) -> list[list[list]]:
        hyps = beam_search(
            loaded.model,
            tok,
            chunk,
            num_beams=num_beams,
            num_return=num_return_sequences,
            max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens,
            length_penalty=length_penalty,
            early_stopping=True,  # fairseq: done once num_beams hypotheses are finished (§1.9)
            max_source_tokens=max_input_tokens,
            timer=timer,
            stage=stage,
            plain=plain,
        )
        return [[[h.text.strip(), float(h.norm_score)] for h in per] for per in hyps]

    done = map_batches(list(inputs), run, batch_size, length=lengths.__getitem__)
    return [done[x] for x in inputs]
