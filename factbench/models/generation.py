"""Beam searches owned by factbench, the same on transformers 4.x and 5.x (no ``generate()`` modes).

Two entry points; both take a loaded seq2seq model and its tokenizer, batch over inputs, run the encoder
once per input, compute each input's cross-attention keys/values once for all its beams, and return one
list of :class:`Hyp` per input:

``beam_search(model, tokenizer, inputs, num_beams=10, num_return=10, max_new_tokens=..., min_new_tokens=0,
length_penalty=1.0, early_stopping=True)``
    Plain beam search with the semantics of transformers' ``generate(num_beams=k,
    num_return_sequences=r, early_stopping=...)`` (4.56): 2k candidates per step, a hypothesis is
    finished when it emits EOS among the top k candidates (or reaches ``max_new_tokens``), finished
    hypotheses are kept in a k-best list scored ``sum log p / generated_len ** length_penalty`` (EOS
    counted in the length). With ``early_stopping=True`` an input is done once k hypotheses are
    finished (fairseq's rule: a sentence is finalised when ``beam`` hypotheses are complete); with
    ``False`` the search runs on while transformers' heuristic says a running beam could still enter
    the k-best list. ``Hyp.norm_score`` is transformers' ``sequences_scores``. Used by QAGS for question
    generation (``early_stopping=True``, ALGORITHMS.md §1.9).

``diverse_beam_search(model, tokenizer, inputs, num_groups=60, diversity_strength=0.5, min_len=8,
max_len=60, length_penalty=1.0)``
    fairseq's ``DiverseBeamSearch`` with groups of beam size 1, as QUALS ran it (ALGORITHMS.md §2.2).
    Group g's log-probs are lowered by ``strength x`` (how often earlier groups proposed the token at
    this step); fairseq counts both top-2 candidates of every earlier group (``diversity_counts=
    "candidates"``), while the Vijayakumar et al. / transformers rule counts the token each earlier
    group continues with (``"chosen"``). ``min_len``/``max_len`` count generated tokens before EOS, as
    fairseq's ``min_len``/``max_len_b`` (so up to ``max_len + 1`` tokens with EOS). A slot whose top
    candidate is EOS is finalised; the slots are then refilled with the first non-EOS candidates in
    fairseq's interleaved order, until ``num_groups`` hypotheses are finalised. Scores keep the
    diversity penalty, as fairseq's do: ``token_logprobs``, ``score`` (sum) and ``norm_score``
    (``score / len ** length_penalty``, EOS counted) of groups after the first include it;
    ``model_logprobs`` keeps the model's own log-probs of the same tokens, without it.

Inputs are strings, encoded by :func:`factbench.models.scoring.encode_source` (optional task prefix,
optional removal of BOS as fairseq's ``no_bos``, truncation to the model maximum with EOS kept), or
pre-encoded lists of token ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .scoring import Seq2SeqRunner, encode_source, special_ids

NEG_INF = float("-inf")


@dataclass
class Hyp:
    """One generated sequence.

    ``tokens`` are the generated ids (no decoder start token; ends with EOS unless cut at the maximum
    length); ``token_logprobs`` the score the search gave each of them; ``score`` their sum; ``norm_score``
    the length-normalised score the search ranks by; ``model_logprobs`` (diverse beam search only) the
    model's own ``log p(token | input, earlier tokens)`` without the diversity penalty, i.e. the
    teacher-forced log-likelihood of ``tokens`` given the input, computed by the search's own forward
    passes.
    """

    tokens: list[int]
    token_logprobs: list[float]
    score: float
    norm_score: float
    group: int | None = None
    text: str = field(default="", compare=False)
    model_logprobs: list[float] | None = field(default=None, compare=False)

    def to_json(self) -> dict:
        return {
            "tokens": self.tokens,
            "token_logprobs": self.token_logprobs,
            "score": self.score,
            "norm_score": self.norm_score,
            "group": self.group,
            "text": self.text,
            "model_logprobs": self.model_logprobs,
        }

    @classmethod
    def from_json(cls, d: dict) -> "Hyp":
        return cls(d["tokens"], d["token_logprobs"], d["score"], d["norm_score"], d.get("group"), d.get("text", ""),
                   d.get("model_logprobs"))


def _encode_all(tokenizer, inputs, max_source_tokens, prefix, no_bos):
    out = []
    for x in inputs:
        if isinstance(x, str):
            out.append(encode_source(tokenizer, x, max_tokens=max_source_tokens, prefix=prefix, no_bos=no_bos).ids)
        else:
            out.append(list(x))
    return out


def diverse_beam_search(
    model,
    tokenizer,
    inputs: Sequence[str | Sequence[int]],
    *,
    num_groups: int = 60,
    diversity_strength: float = 0.5,
    min_len: int = 8,
    max_len: int = 60,
    length_penalty: float = 1.0,
    diversity_counts: str = "candidates",
    ban_pad: bool = True,
    max_source_tokens: int | None = None,
    prefix: str = "",
    no_bos: bool = False,
    timer=None,
    stage: str = "generation",
    plain: bool = False,
) -> list[list[Hyp]]:
    """fairseq ``DiverseBeamSearch`` (groups of beam size 1) over a batch of inputs; see the module doc.

    Returns, per input, ``num_groups`` hypotheses sorted by ``norm_score`` (descending), as fairseq does.
    ``plain`` runs the stock model forward (:class:`~factbench.models.scoring.Seq2SeqRunner`).
    """
    import torch

    if diversity_counts not in ("candidates", "chosen"):
        raise ValueError(f"diversity_counts must be 'candidates' or 'chosen', not {diversity_counts!r}")
    ids = _encode_all(tokenizer, inputs, max_source_tokens, prefix, no_bos)
    if not ids:
        return []
    pad, eos, start = special_ids(model, tokenizer)
    B, N = len(ids), int(num_groups)
    # Every group starts from the same decoder state, so factbench runs the first step once per input and
    # then gives its self-attention cache to the N groups (Seq2SeqRunner.select; the cross-attention cache
    # stays one copy per input where the model allows); fairseq (``plain``) runs it for all N beams.
    shared_first = not plain and N > 1
    runner = Seq2SeqRunner(model, ids, pad, repeats=1 if shared_first else N, timer=timer, stage=stage,
                           plain=plain, capacity=max_len + 1)
    strength = -float(diversity_strength)  # fairseq stores the negated strength and adds it
    dev = runner.device
    last = torch.full((B * N,), start, dtype=torch.long, device=dev)
    seqs = torch.zeros((B, N, 0), dtype=torch.long, device=dev)
    hist = torch.zeros((B, N, 0), dtype=torch.float32, device=dev)  # cumulative scores per step
    raw = torch.zeros((B, N, 0), dtype=torch.float32, device=dev)  # model log-probs, no penalty
    cum = torch.zeros((B, N), dtype=torch.float32, device=dev)
    ignored = torch.zeros((B, N), dtype=torch.bool, device=dev)
    final: list[list[Hyp]] = [[] for _ in range(B)]
    alive = list(range(B))  # original index of each input still in the batch
    cand_offsets = torch.arange(2 * N, device=dev)
    arangeB = torch.arange(B, device=dev)
    for step in range(max_len + 1):
        if shared_first and step == 0:
            first = runner.step(last[::N])
            runner.select(torch.arange(B, device=dev).repeat_interleave(N))
            lp = first.repeat_interleave(N, dim=0).view(B, N, -1)
        else:
            lp = runner.step(last).view(B, N, -1)
        V = lp.shape[-1]
        if ban_pad and pad is not None:
            lp[:, :, pad] = NEG_INF
        if step >= max_len:  # force EOS, keeping its log-prob (fairseq)
            eos_lp = lp[:, :, eos].clone()
            lp.fill_(NEG_INF)
            lp[:, :, eos] = eos_lp
        if step < min_len:
            lp[:, :, eos] = NEG_INF
        div = torch.zeros((B, V), dtype=lp.dtype, device=dev)
        cand_s, cand_t = [], []
        k = min(2, V - 1)
        proposed = torch.empty((B, 0), dtype=torch.long, device=dev)  # the tokens counted in div so far
        scratch = torch.empty((B, V), dtype=lp.dtype, device=dev) if not plain else None
        for g in range(N):
            if plain:  # fairseq: the penalty and the running score added to the whole row
                lp_g = lp[:, g, :]
                if g > 0:
                    lp_g = lp_g + strength * div
                if step > 0:
                    lp_g = lp_g + cum[:, g : g + 1]
                s, t = torch.topk(lp_g, k=k, dim=1)
            else:
                # fairseq's sums in fairseq's order (so that near-ties break alike), without two passes
                # over the row per group: the row plus the running score goes into a reused buffer, and the
                # penalty is added only where it is not zero (the tokens proposed so far).
                row = lp[:, g, :]
                scores = torch.add(row, cum[:, g : g + 1], out=scratch) if step > 0 else scratch.copy_(row)
                if proposed.shape[1]:
                    pen = row.gather(1, proposed) + strength * div.gather(1, proposed)
                    scores.scatter_(1, proposed, pen + cum[:, g : g + 1] if step > 0 else pen)
                s, t = torch.topk(scores, k=k, dim=1)
            cand_s.append(s)
            cand_t.append(t)
            if diversity_counts == "candidates":
                counted = t
            else:  # the token this group continues with: its best non-EOS candidate (the only one if k = 1)
                second = t[:, 1] if k > 1 else t[:, 0]
                counted = torch.where(t[:, 0] == eos, second, t[:, 0])[:, None]
            div.scatter_add_(1, counted, torch.ones(counted.shape, dtype=div.dtype, device=dev))
            proposed = torch.cat([proposed, counted], dim=1)
        # interleave as fairseq: position c * N + g holds candidate c of group g
        cand_scores = torch.stack(cand_s, dim=2).reshape(B, -1)
        cand_tokens = torch.stack(cand_t, dim=2).reshape(B, -1)
        cand_beams = torch.arange(N, device=dev).repeat(k)[None, :].expand(B, -1)
        # the chosen tokens' log-probs before the penalty (bans and forced EOS never touch a chosen token)
        cand_raw = lp[arangeB[:, None], cand_beams, cand_tokens]
        eos_mask = (cand_tokens == eos) & (cand_scores != NEG_INF)
        eos_mask[:, :N] &= ~ignored
        # finalise slots whose top candidate is EOS, in fairseq's order
        hits = eos_mask[:, :N].nonzero().tolist()
        if hits:
            seqs_l, hist_l, raw_l = seqs.tolist(), hist.tolist(), raw.tolist()
            scores_l, cand_raw_l = cand_scores[:, :N].tolist(), cand_raw[:, :N].tolist()
            for i, g in hits:
                b = alive[i]
                if len(final[b]) >= N:
                    continue
                total = scores_l[i][g]
                cums = hist_l[i][g] + [total]
                pos = [cums[0]] + [b_ - a_ for a_, b_ in zip(cums, cums[1:])]  # cumulative -> per token
                toks = seqs_l[i][g] + [eos]
                final[b].append(Hyp(toks, pos, total, total / (step + 1) ** length_penalty, group=g,
                                    model_logprobs=raw_l[i][g] + [cand_raw_l[i][g]]))
        done = [len(final[b]) >= N for b in alive]
        if all(done):
            break
        if any(done):  # drop finished inputs from the batch, as fairseq does
            keep = torch.tensor([i for i, d in enumerate(done) if not d], device=dev)
            alive = [alive[i] for i in keep.tolist()]
            rows = (keep[:, None] * N + torch.arange(N, device=dev)[None, :]).reshape(-1)
            runner.select(rows)
            seqs, hist, raw, cum, ignored = seqs[keep], hist[keep], raw[keep], cum[keep], ignored[keep]
            cand_scores, cand_tokens, cand_beams = cand_scores[keep], cand_tokens[keep], cand_beams[keep]
            cand_raw = cand_raw[keep]
            eos_mask = eos_mask[keep]
            B = len(alive)
            arangeB = torch.arange(B, device=dev)
        # the first N candidates that are not EOS (nor ignored) continue, in candidate order
        blocked = eos_mask.clone()
        blocked[:, :N] |= ignored
        active_val = blocked.long() * (2 * N) + cand_offsets[: blocked.shape[1]]
        new_val, active = torch.topk(active_val, k=N, dim=1, largest=False)
        ignored = new_val >= 2 * N
        src = torch.gather(cand_beams, 1, active)
        tok = torch.gather(cand_tokens, 1, active)
        cum = torch.gather(cand_scores, 1, active)
        seqs = torch.cat([seqs[arangeB[:, None], src], tok[:, :, None]], dim=2)
        hist = torch.cat([hist[arangeB[:, None], src], cum[:, :, None]], dim=2)
        raw = torch.cat([raw[arangeB[:, None], src], torch.gather(cand_raw, 1, active)[:, :, None]], dim=2)
        runner.reorder((arangeB[:, None] * N + src).reshape(-1))
        last = tok.reshape(-1)
    out = []
    for b in range(len(final)):
        hyps = sorted(final[b], key=lambda h: -h.norm_score)
        for h in hyps:
            h.text = tokenizer.decode(h.tokens, skip_special_tokens=False)
        out.append(hyps)
    return out


def beam_search(
    model,
    tokenizer,
    inputs: Sequence[str | Sequence[int]],
    num_beams: int = 10,
    num_return: int = 10,
    max_new_tokens: int = 32,
    min_new_tokens: int = 0,
    length_penalty: float = 1.0,
    *,
    early_stopping: bool = True,
    max_source_tokens: int | None = None,
    prefix: str = "",
    no_bos: bool = False,
    timer=None,
    stage: str = "generation",
    plain: bool = False,
) -> list[list[Hyp]]:
    """Plain beam search with transformers 4.56 ``generate(num_beams, num_return_sequences, early_stopping)``
    semantics.

    Parameters
    ----------
    model, tokenizer
        A seq2seq model (``LoadedModel.model``) and its tokenizer.
    inputs
        Source strings (or token-id lists); encoded once each, batched together.
    num_beams, num_return
        Beam width and how many finished hypotheses to return per input (``num_return <= num_beams``).
    max_new_tokens, min_new_tokens
        As in transformers: generated tokens including EOS; EOS is banned before ``min_new_tokens``.
    length_penalty
        Finished scores are ``sum log p / (generated tokens incl. EOS) ** length_penalty``.
    early_stopping
        ``True``: an input is done once ``num_beams`` hypotheses are finished (fairseq; transformers'
        ``early_stopping=True``). ``False``: transformers' default heuristic (continue while the best
        running beam, normalised at the current length, beats the worst finished one).
    plain
        Run the stock model forward (:class:`~factbench.models.scoring.Seq2SeqRunner`), for reference
        executions.

    Returns
    -------
    list of list of Hyp
        Per input, ``num_return`` hypotheses best first; ``norm_score`` equals transformers'
        ``sequences_scores`` and ``token_logprobs`` the log-probs of the chosen tokens.
    """
    import torch

    if num_return > num_beams:
        raise ValueError(f"num_return ({num_return}) must not exceed num_beams ({num_beams})")
    ids = _encode_all(tokenizer, inputs, max_source_tokens, prefix, no_bos)
    if not ids:
        return []
    pad, eos, start = special_ids(model, tokenizer)
    B, K = len(ids), int(num_beams)
    runner = Seq2SeqRunner(model, ids, pad, repeats=K, timer=timer, stage=stage, plain=plain)
    dev = runner.device
    keep = 2 * K
    T = int(max_new_tokens)
    run_seq = torch.full((B, K, T), pad if pad is not None else eos, dtype=torch.long, device=dev)
    run_tok = torch.zeros((B, K, T), dtype=torch.float32, device=dev)
    run_score = torch.zeros((B, K), device=dev)
    run_score[:, 1:] = -1e9  # only the first beam is live at the start
    fin_seq = run_seq.clone()
    fin_tok = run_tok.clone()
    fin_len = torch.zeros((B, K), dtype=torch.long, device=dev)
    fin_score = torch.full((B, K), -1e9, device=dev)
    fin_done = torch.zeros((B, K), dtype=torch.bool, device=dev)
    unsatisfied = torch.ones((B, 1), dtype=torch.bool, device=dev)
    top_mask = torch.cat([torch.ones(K, dtype=torch.bool), torch.zeros(keep - K, dtype=torch.bool)]).to(dev)
    last = torch.full((B * K,), start, dtype=torch.long, device=dev)
    ar = torch.arange(B, device=dev)[:, None]
    for t in range(T):
        lp = runner.step(last)
        V = lp.shape[-1]
        if t < min_new_tokens:
            lp[:, eos] = NEG_INF
        lp = lp.view(B, K, V)
        acc = (lp + run_score[:, :, None]).view(B, K * V)
        top_s, top_i = torch.topk(acc, k=keep, dim=1)
        beam, tok = top_i // V, top_i % V
        cand_seq = run_seq[ar, beam].clone()
        cand_seq[:, :, t] = tok
        cand_tok = run_tok[ar, beam].clone()
        cand_tok[:, :, t] = lp[ar, beam, tok]
        hits = (tok == eos) | (t + 1 >= T)
        # running beams for the next step: the best K candidates that did not stop
        masked = top_s + hits.float() * -1e9
        nxt = torch.topk(masked, k=K, dim=1)[1]
        new_run_seq = cand_seq[ar, nxt]
        new_run_tok = cand_tok[ar, nxt]
        new_run_score = masked[ar, nxt]
        src_beam = beam[ar, nxt]
        # finished list: merge the newly finished top-K candidates, keep the best K
        norm = top_s / float(t + 1) ** length_penalty
        if early_stopping is True:  # an input whose k-best list is full of finished hypotheses takes no more
            norm = norm + fin_done.all(dim=1, keepdim=True).float() * -1e9
        norm = norm + (~unsatisfied).float() * -1e9 + (~(hits & top_mask[None, :])).float() * -1e9
        m_score = torch.cat([fin_score, norm], 1)
        m_seq = torch.cat([fin_seq, cand_seq], 1)
        m_tok = torch.cat([fin_tok, cand_tok], 1)
        m_len = torch.cat([fin_len, torch.full_like(tok, t + 1)], 1)
        m_done = torch.cat([fin_done, hits & top_mask[None, :]], 1)
        sel = torch.topk(m_score, k=K, dim=1)[1]
        fin_score, fin_seq, fin_tok, fin_len, fin_done = (
            m_score[ar, sel],
            m_seq[ar, sel],
            m_tok[ar, sel],
            m_len[ar, sel],
            m_done[ar, sel],
        )
        run_seq, run_tok, run_score = new_run_seq, new_run_tok, new_run_score
        runner.reorder((ar * K + src_beam).reshape(-1))
        last = run_seq[:, :, t].reshape(-1)
        # transformers' early-stop heuristic (both settings): best running score at the current length
        best_possible = run_score[:, :1] / float(t + 1) ** length_penalty
        worst = torch.where(fin_done, fin_score.min(dim=1, keepdim=True)[0], torch.full_like(fin_score, -1e9))
        unsatisfied = unsatisfied & (best_possible > worst).any(dim=1, keepdim=True)
        if not bool(unsatisfied.any()) or bool(hits.all()):
            break
        if early_stopping is True and bool(fin_done.all()):  # every input has num_beams finished hypotheses
            break
    out = []
    for b in range(B):
        hyps = []
        for j in range(num_return):
            n = int(fin_len[b, j])
            toks = fin_seq[b, j, :n].tolist()
            pos = fin_tok[b, j, :n].tolist()
            h = Hyp(toks, pos, float(sum(pos)), float(fin_score[b, j]))
            h.text = tokenizer.decode(toks, skip_special_tokens=True)
            hyps.append(h)
        out.append(hyps)
    return out

