"""QUALS's ``reference`` execution: the same algorithm, run the way the original pipeline ran it.

``Quals.score`` with ``execution = "reference"`` comes here. The algorithm is unchanged (generation,
parsing, filter and selection, the formula and the details are the adapter's own code, ALGORITHMS.md
§2); only the execution differs, to measure what factbench's execution gains (``factbench bench --mode
factbench,reference``):

- one summary per diverse beam search call (no batching of summaries), with the stock model forward
  (``plain``: fairseq computes the cross-attention keys/values for each of the 60 beams and the output
  projection as one product);
- one full model forward (encoder + decoder, ``model(input_ids=..., decoder_input_ids=...)``) per
  selected QA pair given the source, so the source is re-encoded for every pair, and likewise given the
  summary (teacher-forced summary side);
- no stage cache (``metric.cache`` is not used): every call does all the model work.

Stage names and counters are the adapter's (``generation``, ``source_scoring``, ``summary_scoring``).
A full forward counts as two model calls, an encoder pass and a decoder pass, as
:mod:`factbench.models.scoring` counts them; ``tokens_in`` are the encoder tokens of that forward,
``tokens_out`` the decoder positions, ``flops`` the same 2 x parameters x tokens estimate.
"""

from __future__ import annotations

from typing import Sequence

from ..records import Record
from .base import Result


def score_reference(metric, batch: Sequence[Record]) -> list[Result]:
    """Score ``batch`` one record, one QA pair and one full forward at a time (see the module doc)."""
    from .quals import filter_and_select

    s = metric.settings
    loglik = _full_forward(metric)
    results = []
    for r in batch:
        (hyps,) = metric._generate([r.summary], plain=True)  # one summary per search, stock forward; no cache
        pairs, bad = metric._pairs(hyps)
        selected = filter_and_select(pairs, r.summary, int(s["max_qas"]))
        source = metric._encode(r.source)  # tokenised once; the model re-encodes it for every pair
        with metric.timer.stage("source_scoring"):
            src_lps = [loglik("source_scoring", source.ids, p["target"]) for p in selected]
        metric.timer.add("source_scoring", items=1)
        summary = metric._encode(r.summary)
        todo = [p for p in selected if metric._needs_scoring(p)]
        with metric.timer.stage("summary_scoring"):
            sum_lps = [loglik("summary_scoring", summary.ids, p["target"]) for p in todo]
        metric.timer.add("summary_scoring", items=1)
        src = {"logprobs": src_lps, "n_tokens": source.n_tokens, "truncated": source.truncated}
        results.append(metric._result(r, pairs, bad, selected, src, {"logprobs": sum_lps}))
    return results


def _full_forward(metric):
    """``loglik(stage, input_ids, target)``: per-token log p(target_t | input, target_<t) from one full forward
    of the model (encoder included), counted on the metric's timer under ``stage``."""
    import torch

    from ..models.scoring import special_ids

    lm = metric.loaded
    model = lm.model
    device = next(model.parameters()).device
    _, _, start = special_ids(model, lm.tokenizer)
    n_params = sum(p.numel() for p in model.parameters())

    def loglik(stage: str, input_ids: list[int], target: list[int]) -> list[float]:
        src = torch.tensor([input_ids], dtype=torch.long, device=device)
        dec = torch.tensor([[start] + list(target[:-1])], dtype=torch.long, device=device)
        with torch.inference_mode():
            logits = model(input_ids=src, decoder_input_ids=dec, use_cache=False, return_dict=True).logits
        lp = torch.log_softmax(logits[0].float(), dim=-1)
        tt = torch.tensor(list(target), dtype=torch.long, device=device)
        n_in, n_out = len(input_ids), len(target)
        metric.timer.add(stage, model_calls=2, tokens_in=n_in, tokens_out=n_out,
                         flops=2.0 * n_params * (n_in + n_out))
        return lp.gather(1, tt[:, None]).squeeze(1).tolist()

    return loglik
