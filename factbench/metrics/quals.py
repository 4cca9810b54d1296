"""QUALS (Nan et al., ACL-IJCNLP 2021): QA pairs generated from the summary, scored given the source.

Implements ../shared/reference/ALGORITHMS.md §2 (the card metrics/quals.md lists every setting, its
source and the deviations). Per summary:

1. generate ``num_pairs`` (60) sequences from the summary with fairseq-style diverse beam search
   (groups of beam size 1, Hamming strength 0.5, 8..60 tokens, length penalty 1.0);
2. parse each into (question, answer): QAGen's ``question <sep> answer`` or lmqg's
   ``question: q, answer: a | ...``;
3. keep a pair if ``answer.lower()`` is a substring of ``summary.lower()``; sort by total log-prob;
   select in rounds that pop one pair per answer group (a repeated question is discarded), until a
   round adds nothing or, checked between rounds, at least ``max_qas`` (10) are taken;
4. QUALS = mean over selected pairs of (mean per-token log-lik of the QA sequence given the source -
   the same given the summary), the QA sequence being question + separator + answer + EOS.

Stages go through ``self.cache`` (generation keyed by summary; scoring keyed by (input text, targets)),
so a second run of the same records makes no model call. ``execution = "reference"`` runs the same
algorithm one summary and one QA pair at a time without the cache (:mod:`.quals_reference`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..errors import ConfigError
from ..records import Record
from .base import Metric, Result

SENTINEL = -1e5  # compute_hypos_lm_score's score for a summary without any QA pair (paper-strict mode)
FORMATS = ("original", "lmqg")
SUMMARY_SIDES = ("paper", "teacher-forced")
EXECUTIONS = ("factbench", "reference")  # how it runs, not what it computes: not in the signature
TINY_WARNING = "tiny random-weight model: mechanics only, the numbers are meaningless"


# --------------------------------------------------------------------------------------------- parsing


def parse_original(text: str, sep: str) -> tuple[str, str] | None:
    """QAGen output ``question<sep>answer``: exactly two parts, else ``None``.

    As ``evaluate_hypo.py::filter_qas_dataset_lm_score`` does with ``qa.split(' strutConnector')``: the parts
    are taken as they are, not stripped (the answer's case-insensitive substring test sees its spaces).
    """
    parts = text.split(sep)
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


LMQG_SPLIT, LMQG_QUESTION, LMQG_ANSWER = "|", "question: ", ", answer: "


def parse_lmqg_chunk(chunk: str) -> tuple[str, str] | None:
    """One ``"|"``-separated chunk of lmqg end-to-end QAG output -> (question, answer), or ``None``.

    As ``lmqg/language_model.py::generate_qa_end2end`` (``format_qa``): the chunk is valid only if it holds
    ``"question: "`` and splits on ``", answer: "`` into exactly two parts; ``"question: "`` is then removed
    from the question (every occurrence, as ``str.replace``) and both parts are stripped of surrounding
    whitespace.

    >>> parse_lmqg_chunk(" question: Who won?, answer: the party ")
    ('Who won?', 'the party')
    >>> parse_lmqg_chunk("question: Who?, answer: A, answer: B") is None
    True
    """
    parts = chunk.split(LMQG_ANSWER)
    if len(parts) != 2 or LMQG_QUESTION not in chunk:
        return None
    q, a = parts
    return q.replace(LMQG_QUESTION, "").strip(), a.strip()


def parse_lmqg(text: str) -> list[tuple[str, str]]:
    """lmqg end-to-end QAG output ``question: q, answer: a | question: ...`` -> [(q, a), ...]: split on
    ``"|"``, each chunk parsed by :func:`parse_lmqg_chunk`, invalid chunks dropped (``generate_qa_end2end``)."""
    return [qa for qa in map(parse_lmqg_chunk, text.split(LMQG_SPLIT)) if qa is not None]


def lmqg_chunk_of_tokens(tokenizer, tokens: Sequence[int]) -> list[int]:
    """For each generated token, the index of the ``"|"``-separated chunk of the decoded text it belongs to.

    A token holding the separator ends its chunk (it belongs to the pair it closes, as EOS does for the last
    pair); special tokens hold no text. Used to sum a pair's own token log-probs (ALGORITHMS.md §2.6: the
    original sorts by the pair's own total, ``unnorm_scores``).
    """
    special = set(tokenizer.all_special_ids)
    chunk, out = 0, []
    for t, piece in zip(tokens, tokenizer.convert_ids_to_tokens(list(tokens))):
        out.append(chunk)
        if t not in special and piece:
            chunk += piece.count(LMQG_SPLIT)
    return out


# ------------------------------------------------------------------------------------ filter, selection


def filter_and_select(pairs: Sequence[dict], summary: str, max_qas: int = 10) -> list[dict]:
    """ALGORITHMS.md §2.3 (``evaluate_hypo.py::filter_qas_dataset_lm_score``): the pairs QUALS averages over.

    ``pairs`` are dicts with ``question``, ``answer`` and ``score`` (total log-prob). Keep the pairs whose
    lower-cased answer is a plain substring of the lower-cased summary; sort by ``score`` descending;
    group by lower-cased answer in order of first appearance. Then rounds: each round pops exactly one
    pair from every non-empty group; a popped pair whose lower-cased question was already taken for the
    same answer is discarded, not replaced (the group adds nothing this round). Rounds stop when a round
    added nothing, even if groups still hold pairs, or, checked between rounds only, once at least
    ``max_qas`` pairs are taken, so a round may overshoot.

    >>> P = lambda q, a, s: {"question": q, "answer": a, "score": s}
    >>> ps = [P("Who?", "Ann", -1.0), P("Who?", "Ann", -2.0), P("Who?", "Bob", -3.0), P("When?", "Ann", -4.0)]
    >>> [p["question"] + p["answer"] for p in filter_and_select(ps, "Ann met Bob.", max_qas=2)]
    ['Who?Ann', 'Who?Bob']
    >>> # round 2 pops the repeated "Who?" for Ann and adds nothing: "When?" is never reached
    >>> [p["question"] + p["answer"] for p in filter_and_select(ps, "Ann met Bob.", max_qas=10)]
    ['Who?Ann', 'Who?Bob']
    """
    low = summary.lower()
    kept = [p for p in pairs if p["answer"].lower() in low]
    kept = sorted(kept, key=lambda p: -p["score"])  # stable (as Python's sorted in the original)
    groups: dict[str, list[dict]] = {}
    for p in kept:
        groups.setdefault(p["answer"].lower(), []).append(p)
    queues = {a: iter(members) for a, members in groups.items()}
    taken_q: dict[str, set] = {a: set() for a in groups}
    selected: list[dict] = []
    added = True
    while added and len(selected) < max_qas:
        added = False
        for a, queue in queues.items():
            p = next(queue, None)  # pop one pair, whatever happens to it
            if p is None or p["question"].lower() in taken_q[a]:
                continue  # an empty group, or a repeated question: discarded, not replaced
            taken_q[a].add(p["question"].lower())
            selected.append(p)
            added = True
    return selected


def quals_formula(source_lps: Sequence[Sequence[float]], summary_lps: Sequence[Sequence[float]]) -> float:
    """(1/N) Σ_i [ mean_t log p(y_it | source) - mean_t log p(y_it | summary) ] (§2.5)."""
    terms = [sum(s) / len(s) - sum(m) / len(m) for s, m in zip(source_lps, summary_lps)]
    return sum(terms) / len(terms)


# ---------------------------------------------------------------------------------------------- metric


class Quals(Metric):
    name = "quals"
    score_names = ("quals",)
    signature_keys = (
        "model", "revision", "dtype", "format", "sep_token", "prefix", "num_pairs", "diversity_strength",
        "diversity_counts", "min_tokens", "max_tokens", "length_penalty", "max_qas", "summary_side",
        "strict", "max_source_tokens", "lmqg_pairs", "seed",
    )
    libraries = ("torch", "transformers")

    def __init__(self, settings=None, *, card=None, profile=None):
        super().__init__(settings, card=card, profile=profile)
        s = self.settings
        if s["format"] not in FORMATS:
            raise ConfigError(f"quals: format must be one of {', '.join(FORMATS)}, not {s['format']!r}")
        if s["summary_side"] not in SUMMARY_SIDES:
            raise ConfigError(
                f"quals: summary_side must be one of {', '.join(SUMMARY_SIDES)}, not {s['summary_side']!r}"
            )
        if s["execution"] not in EXECUTIONS:
            raise ConfigError(f"quals: execution must be one of {', '.join(EXECUTIONS)}, not {s['execution']!r}")
        if s["diversity_counts"] not in ("candidates", "chosen"):
            raise ConfigError("quals: diversity_counts must be 'candidates' (fairseq) or 'chosen' (transformers)")
        if s["lmqg_pairs"] not in ("first", "all"):
            raise ConfigError("quals: lmqg_pairs must be 'first' or 'all'")
        for key in ("num_pairs", "max_qas", "max_tokens", "batch_size"):
            if int(s[key]) < 1:
                raise ConfigError(f"quals: {key} must be at least 1, not {s[key]!r}")
        self._loaded = None

    # -- model ---------------------------------------------------------------------------------------

    @property
    def loaded(self):
        if self._loaded is None:
            from ..models.loading import load_model

            s = self.settings
            self._loaded = load_model(
                s["model"], "seq2seq", revision=s["revision"] or None, device=s["device"], dtype=s["dtype"],
                threads=int(s["threads"]) or None,
            )
        return self._loaded

    @property
    def is_tiny(self) -> bool:
        model = str(self.settings["model"])
        return model.startswith("tiny:") or (Path(model) / "TINY_MODEL.txt").is_file()

    def fingerprint(self) -> str:
        from ..models.loading import resolve

        if self._loaded is not None:
            return self._loaded.fingerprint
        return resolve(self.settings["model"], self.settings["revision"] or None)[1]

    def signature(self) -> str:
        sig = super().signature() + f"|fp:{self.fingerprint()}"
        return sig + ("|TINY-MODEL-MEANINGLESS" if self.is_tiny else "")

    def _max_source(self) -> int:
        from ..models.scoring import model_max_source

        n = int(self.settings["max_source_tokens"])
        return n if n > 0 else model_max_source(self.loaded.model, self.loaded.tokenizer)

    def _encode(self, text: str):
        from ..models.scoring import encode_source

        s = self.settings
        return encode_source(
            self.loaded.tokenizer, text, max_tokens=self._max_source(), prefix=s["prefix"],
            no_bos=s["format"] == "original",
        )

    # -- stages --------------------------------------------------------------------------------------

    def _gen_settings(self) -> dict:
        s = self.settings
        keys = ("num_pairs", "diversity_strength", "diversity_counts", "min_tokens", "max_tokens", "length_penalty",
                "format", "prefix", "max_source_tokens", "dtype")
        return {k: s[k] for k in keys}

    def _generate(self, summaries: list[str], plain: bool = False) -> list[list[dict]]:
        from ..models.batching import map_batches
        from ..models.generation import diverse_beam_search

        s, lm = self.settings, self.loaded

        def run(batch: list[str]) -> list[list[dict]]:
            ids = [self._encode(t).ids for t in batch]
            hyps = diverse_beam_search(
                lm.model, lm.tokenizer, ids, num_groups=int(s["num_pairs"]),
                diversity_strength=float(s["diversity_strength"]), min_len=int(s["min_tokens"]),
                max_len=int(s["max_tokens"]), length_penalty=float(s["length_penalty"]),
                diversity_counts=s["diversity_counts"], timer=self.timer, stage="generation", plain=plain,
            )
            return [[h.to_json() for h in hs] for hs in hyps]

        with self.timer.stage("generation"):
            self._seed()
            done = map_batches(summaries, run, int(s["batch_size"]), length=len)
        self.timer.add("generation", items=len(summaries))
        return [done[t] for t in summaries]

    def _score(self, stage: str, jobs: list[dict]) -> list[dict]:
        """jobs: {"text", "targets"} -> {"logprobs", "n_tokens", "truncated"}; each text encoded once."""
        from ..models.batching import map_batches
        from ..models.scoring import score_batch

        lm = self.loaded
        keyed = {_job_key(j): j for j in jobs}

        def run(keys: list[str]) -> list[dict]:
            enc = [self._encode(keyed[k]["text"]) for k in keys]
            lps = score_batch(lm.model, lm.tokenizer, [(e.ids, keyed[k]["targets"]) for e, k in zip(enc, keys)],
                              timer=self.timer, stage=stage)
            return [{"logprobs": lp, "n_tokens": e.n_tokens, "truncated": e.truncated} for lp, e in zip(lps, enc)]

        with self.timer.stage(stage):
            done = map_batches(list(keyed), run, max(1, int(self.settings["batch_size"])),
                               length=lambda k: len(keyed[k]["text"]))
        self.timer.add(stage, items=len(jobs))
        return [done[_job_key(j)] for j in jobs]

    def _needs_scoring(self, pair: dict) -> bool:
        """Whether the summary side of ``pair`` needs a teacher-forced pass of its own.

        The paper side takes the generation's (penalised) scores. The teacher-forced side is the model's
        log p(token | summary, earlier tokens), which the diverse beam search computed for exactly these
        tokens (``model_logprobs``, equal to a separate teacher-forced pass up to float rounding, tested);
        only a target that is not the generated sequence (lmqg's re-encoded first pair) is scored anew. The
        reference execution always scores anew, as a separate pass is the plain way to compute it.
        """
        if self.settings["summary_side"] == "paper":
            return pair["gen_logprobs"] is None
        return self.settings["execution"] == "reference" or pair.get("model_logprobs") is None

    def _seed(self) -> None:
        import torch

        torch.manual_seed(int(self.settings["seed"]))

    # -- pairs -----------------------------------------------------------------------------------------

    def _pairs(self, hyps: list[dict]) -> tuple[list[dict], int]:
        """Candidate pairs from the generated hypotheses; returns (pairs, number of unparsable hypotheses)."""
        s, tok = self.settings, self.loaded.tokenizer
        drop = {i for i in (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id) if i is not None}
        pairs, bad = [], 0
        for h in hyps:
            tokens = list(h["tokens"])
            if s["format"] == "original":
                text = tok.decode([t for t in tokens if t not in drop], skip_special_tokens=False)
                qa = parse_original(text, s["sep_token"])
                # the scored target is exactly the generated tokens (§2.4); the sort key its total
                found = [(qa[0], qa[1], tokens, h["score"])] if qa else []
            else:
                found = self._lmqg_pairs(h)
                if s["lmqg_pairs"] == "first":
                    found = found[:1]
            if not found:
                bad += 1
            for q, a, target, score in found:
                same = target == tokens
                pairs.append({
                    "question": q, "answer": a, "score": score, "norm_score": h["norm_score"],
                    "group": h.get("group"), "target": target,
                    "gen_logprobs": h["token_logprobs"] if same else None,
                    # the search's own log p(token | summary, earlier tokens): the teacher-forced summary side
                    "model_logprobs": h.get("model_logprobs") if same else None,
                })
        return pairs, bad

    def _lmqg_pairs(self, h: dict) -> list[tuple[str, str, list[int], float]]:
        """(question, answer, scored target, sort score) of each valid pair of an lmqg sequence, in order.

        Decoded as lmqg decodes (``batch_decode(..., skip_special_tokens=True)``) and parsed as lmqg parses
        (:func:`parse_lmqg_chunk`). The sort score is the sum of the search's log-probs over the pair's own
        tokens: from the chunk's first token to the token that ends it (the ``" |"`` separator, or EOS for
        the last pair).
        """
        from ..models.scoring import encode_labels

        tok = self.loaded.tokenizer
        tokens, lps = list(h["tokens"]), h["token_logprobs"]
        chunks = tok.decode(tokens, skip_special_tokens=True).split(LMQG_SPLIT)
        owner = lmqg_chunk_of_tokens(tok, tokens)
        if owner and owner[-1] != len(chunks) - 1:  # never seen: the decoded text has other separators than
            owner = None                               # the tokens; then each pair takes the sequence total
        out = []
        for i, chunk in enumerate(chunks):
            qa = parse_lmqg_chunk(chunk)
            if qa is None:
                continue
            score = h["score"] if owner is None else sum(lp for lp, k in zip(lps, owner) if k == i)
            # the target as lmqg's training labels: a generated sequence holding one pair is the same ids
            out.append((qa[0], qa[1], encode_labels(tok, f"question: {qa[0]}, answer: {qa[1]}"), score))
        return out

    # -- contract --------------------------------------------------------------------------------------

    @staticmethod
    def format_details(details: dict) -> str:
        """A table of the selected QA pairs, worst first, with the tokens the source supports least (Markdown)."""
        pairs = details.get("qa_pairs") or []
        if not pairs and not details.get("reason"):
            return ""

        def cell(text) -> str:
            return (str(text).replace("|", "\\|").replace("\n", " ") or "*(empty)*")[:160]

        lines = []
        if details.get("warning"):
            lines += [f"**Warning: {details['warning']}.**", ""]
        if not pairs:
            return "\n".join(lines + [f"No QA pair: {details['reason']}."])
        lines += [
            f"{details.get('n_selected', len(pairs))} pairs selected of {details.get('n_kept', '?')} kept "
            f"(source {details.get('source_tokens', '?')} tokens"
            f"{', truncated' if details.get('source_truncated') else ''}; summary side: "
            f"{details.get('summary_side', '?')}).",
            "",
            "| question | answer | mean log p given source | given summary | difference | least supported tokens |",
            "|---|---|---|---|---|---|",
        ]
        for p in sorted(pairs, key=lambda p: p["diff"]):
            worst = sorted(zip(p.get("diff_per_token", []), p.get("tokens", [])))[:3]
            toks = ", ".join(f"`{t}` ({d:+.2f})" for d, t in worst)
            lines.append(f"| {cell(p['question'])} | {cell(p['answer'])} | {p['mean_source']:.3f} "
                         f"| {p['mean_summary']:.3f} | {p['diff']:+.3f} | {cell(toks)} |")
        return "\n".join(lines)

    def score(self, batch: Sequence[Record]) -> list[Result]:
        if not batch:
            return []
        s = self.settings
        if s["execution"] == "reference":
            from .quals_reference import score_reference

            return score_reference(self, batch)
        fp = self.fingerprint()
        summaries = [r.summary for r in batch]
        gen = self.cache.map("quals.generate", fp, self._gen_settings(), summaries, self._generate)
        picked = []
        for r, hyps in zip(batch, gen):
            pairs, bad = self._pairs(hyps)
            picked.append((pairs, bad, filter_and_select(pairs, r.summary, int(s["max_qas"]))))
        score_settings = {k: s[k] for k in ("format", "prefix", "max_source_tokens", "dtype")}
        src_jobs = [{"text": r.source, "targets": [p["target"] for p in sel]} for r, (_, _, sel) in zip(batch, picked)]
        src = self.cache.map("quals.score_source", fp, score_settings, src_jobs,
                             lambda jobs: self._score("source_scoring", jobs))
        sum_jobs = [{"text": r.summary, "targets": [p["target"] for p in sel if self._needs_scoring(p)]}
                    for r, (_, _, sel) in zip(batch, picked)]
        summ = self.cache.map("quals.score_summary", fp, score_settings, sum_jobs,
                              lambda jobs: self._score("summary_scoring", jobs))
        return [self._result(r, *pk, so, su) for r, pk, so, su in zip(batch, picked, src, summ)]

    def _result(self, record, pairs, bad, selected, src, summ) -> Result:
        s = self.settings
        details = {
            "n_generated": int(s["num_pairs"]),
            "n_unparsable": bad,
            "n_pairs": len(pairs),
            "n_kept": sum(p["answer"].lower() in record.summary.lower() for p in pairs),
            "n_selected": len(selected),
            "n_usable": len(selected),  # the report's "no usable pair" share counts the zeros
            "summary_side": s["summary_side"],
            "source_tokens": src["n_tokens"],
            "source_truncated": src["truncated"],
            "max_source_tokens": self._max_source(),
        }
        if self.is_tiny:
            details["tiny_model"] = True
            details["warning"] = TINY_WARNING
        if not selected:
            reason = "no generated QA pair passed the filter (answer must be a substring of the summary)"
            details["reason"] = reason
            if s["strict"]:
                details["sentinel"] = True
                return Result({"quals": SENTINEL}, details)
            return Result({"quals": None}, details, missing=reason)
        tf_iter = iter(summ["logprobs"])
        qa, terms = [], []
        for p, lp_src in zip(selected, src["logprobs"]):
            if not self._needs_scoring(p):
                side = "generation" if s["summary_side"] == "paper" else "teacher-forced (from generation)"
                lp_sum = p["gen_logprobs"] if s["summary_side"] == "paper" else p["model_logprobs"]
            else:
                side, lp_sum = "teacher-forced", next(tf_iter)
            m_src, m_sum = sum(lp_src) / len(lp_src), sum(lp_sum) / len(lp_sum)
            terms.append(m_src - m_sum)
            qa.append({
                "question": p["question"],
                "answer": p["answer"],
                "tokens": self.loaded.tokenizer.convert_ids_to_tokens(p["target"]),
                "gen_score": p["score"],
                "logprobs_source": lp_src,
                "logprobs_summary": lp_sum,
                "summary_side": side,
                "diff_per_token": [a - b for a, b in zip(lp_src, lp_sum)],
                "mean_source": m_src,
                "mean_summary": m_sum,
                "diff": m_src - m_sum,
            })
        details["qa_pairs"] = qa
        return Result({"quals": sum(terms) / len(terms)}, details)


def _job_key(job: dict) -> str:
    import json

    return json.dumps([job["text"], job["targets"]])
