"""QAGS (Wang, Cho, Lewis, ACL 2020): ask questions about the summary, answer them on the summary and on
the source, and average the token F1 of the two answers (ALGORITHMS.md §1).

Stages, each cached on its own (``self.cache.map``) under the fingerprint of the model that computes it,
so a changed QA model re-runs only the QA stages:

1. ``qags.answers``: answer candidates of the summary with spaCy (:mod:`.qags_answers`);
2. ``qags.questions``: 10 questions per (summary, answer) by beam search with the QG model, each with its
   length-normalised log-probability;
3. ``qags.qa_summary``: the QA model answers candidates on the summary, for the filter
   (:mod:`.qags_filter`) and then for the score;
4. ``qags.qa_source``: the QA model answers the kept questions on the source;
5. the score: mean over the kept questions of SQuAD F1(answer on source, answer on summary).

Every stage works on the distinct inputs of the whole batch: all (summary, answer) inputs of a batch
go through beam search together, all (question, context) windows through the QA model together.
``execution = "reference"`` runs the same algorithm the way the original pipeline did, one example,
one generation input and one question at a time, without the cache (:mod:`.qags_reference`).
"""

from __future__ import annotations

from typing import Sequence

from ..errors import ConfigError, DataError
from ..records import Record
from . import qags_answers as qa_ans
from .base import Metric, Result
from .qags_filter import Candidate, QuestionFilter, cut_question
from .squad import f1_score

_POSITIVE_INTS = (
    "n_answers",
    "n_questions",
    "num_beams",
    "num_return_sequences",
    "qg_max_new_tokens",
    "qg_max_input_tokens",
    "qg_batch_size",
    "qa_max_seq_length",
    "qa_doc_stride",
    "qa_max_query_length",
    "qa_n_best",
    "qa_max_answer_length",
    "qa_batch_size",
)
EXECUTIONS = ("factbench", "reference")  # how it runs, not what it computes: not in the signature


class Qags(Metric):
    """QAGS with three models: spaCy answer extraction, answer-aware QG, SQuAD 2.0 extractive QA.

    Score ``qags`` in [0, 1], higher = more consistent. ``details``: the answers, and per kept question
    its text, QG score, conditioning answer, whether it is paper padding, both predicted answers and F1.
    """

    name = "qags"
    score_names = ("qags",)
    signature_keys = (
        "spacy_model",
        "n_answers",
        "answer_selection",
        "qg_model",
        "qg_format",
        "qg_prefix",
        "num_beams",
        "num_return_sequences",
        "length_penalty",
        "qg_max_new_tokens",
        "qg_min_new_tokens",
        "qg_max_input_tokens",
        "n_questions",
        "question_fill",
        "qa_model",
        "qa_max_seq_length",
        "qa_doc_stride",
        "qa_max_query_length",
        "qa_n_best",
        "qa_max_answer_length",
        "qa_null_threshold",
        "max_source_tokens",
        "source_with_reference",
        "seed",
        "dtype",
    )
    libraries = ("torch", "transformers", "tokenizers", "spacy")

    def __init__(self, settings=None, **kw):
        super().__init__(settings, **kw)
        s = self.settings
        for key in _POSITIVE_INTS:
            if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 1:
                raise ConfigError(f"qags.{key} must be a positive integer, not {s[key]!r}")
        if s["answer_selection"] not in qa_ans.ANSWER_MODES:
            raise ConfigError(f"qags.answer_selection must be one of {', '.join(qa_ans.ANSWER_MODES)}")
        if s["question_fill"] not in ("paper", "clean"):
            raise ConfigError("qags.question_fill must be paper or clean")
        if s["qg_format"] not in qa_ans.QG_FORMATS:
            raise ConfigError(f"qags.qg_format must be one of {', '.join(qa_ans.QG_FORMATS)}")
        if not isinstance(s["qg_min_new_tokens"], int) or not 0 <= s["qg_min_new_tokens"] < s["qg_max_new_tokens"]:
            raise ConfigError("qags.qg_min_new_tokens must be an integer in [0, qg_max_new_tokens)")
        if s["execution"] not in EXECUTIONS:
            raise ConfigError(f"qags.execution must be one of {', '.join(EXECUTIONS)}, not {s['execution']!r}")
        if s["num_return_sequences"] > s["num_beams"]:
            raise ConfigError("qags.num_return_sequences cannot exceed qags.num_beams")
        if s["qa_doc_stride"] >= s["qa_max_seq_length"]:
            raise ConfigError("qags.qa_doc_stride must be smaller than qags.qa_max_seq_length")
        for key in ("qg_model", "qa_model", "spacy_model"):
            if not s[key]:
                raise ConfigError(f"qags.{key} is empty")
        self._nlp = None
        self._models: dict[str, object] = {}
        self._fingerprints: dict[str, str] = {}

    # -- models ------------------------------------------------------------------------------------

    def spacy(self):
        if self._nlp is None:
            self._nlp = qa_ans.load_spacy(self.settings["spacy_model"])
        return self._nlp

    def model(self, role: str):
        """The loaded QG (``"qg"``, seq2seq) or QA (``"qa"``) model, loaded once."""
        if role not in self._models:
            from ..models.loading import load_model

            kind = "seq2seq" if role == "qg" else "qa"
            self._models[role] = load_model(
                self.settings[f"{role}_model"], kind, device=self.settings["device"], dtype=self.settings["dtype"]
            )
        return self._models[role]

    def fingerprint(self, role: str) -> str:
        """What identifies the model of a stage (content hash, hub id + commit, spaCy name + version)."""
        if role not in self._fingerprints:
            if role == "spacy":
                self._fingerprints[role] = qa_ans.spacy_fingerprint(self.spacy())
            elif role in self._models:
                self._fingerprints[role] = self._models[role].fingerprint
            else:  # without loading: a content hash for local and tiny models, hub id + commit otherwise
                from ..models.loading import resolve

                self._fingerprints[role] = resolve(self.settings[f"{role}_model"])[1]
        return self._fingerprints[role]

    def signature(self) -> str:
        fps = "|".join(f"{role}:{self.fingerprint(role)}" for role in ("spacy", "qg", "qa"))
        return f"{super().signature()}|{fps}"

    def _qa_config(self):
        from ..models.qa import QAConfig

        s = self.settings
        return QAConfig(
            max_seq_length=s["qa_max_seq_length"],
            doc_stride=s["qa_doc_stride"],
            max_query_length=s["qa_max_query_length"],
            n_best=s["qa_n_best"],
            max_answer_length=s["qa_max_answer_length"],
            null_threshold=float(s["qa_null_threshold"]),
            max_context_tokens=int(s["max_source_tokens"]),
        )

    # -- stages ------------------------------------------------------------------------------------

    def answers(self, summaries: Sequence[str]) -> list[list[str]]:
        """Stage 1: the answers of each summary (``[]`` when spaCy finds none)."""
        s = self.settings
        settings = {"n": s["n_answers"], "mode": s["answer_selection"], "seed": s["seed"]}

        with self.timer.stage("answers"):
            return self.cache.map("qags.answers", self.fingerprint("spacy"), settings, list(summaries), self._extract)

    def _extract(self, texts: list[str]) -> list[list[str]]:
        """Stage 1 without the cache: one spaCy call over ``texts``."""
        s = self.settings
        out = qa_ans.extract_answers(texts, self.spacy(), s["n_answers"], s["answer_selection"], s["seed"])
        self.timer.add("answers", model_calls=1, items=len(texts))
        return out

    def qg_inputs(self, summary: str, answers: Sequence[str]) -> list[str]:
        s = self.settings
        return [qa_ans.qg_input(summary, a, s["qg_format"], s["qg_prefix"]) for a in answers]

    def questions(self, inputs: Sequence[str]) -> list[list[list]]:
        """Stage 2: ``[[question, score], ...]`` (``num_return_sequences`` of them) per QG input line."""
        s = self.settings
        settings = {
            k: s[k]
            for k in (
                "num_beams",
                "num_return_sequences",
                "length_penalty",
                "qg_max_new_tokens",
                "qg_min_new_tokens",
                "qg_max_input_tokens",
                "dtype",
            )
        }
        with self.timer.stage("questions"):
            return self.cache.map("qags.questions", self.fingerprint("qg"), settings, list(inputs), self._generate)

    def _generate(self, inputs: list[str], plain: bool = False) -> list[list[list]]:
        from .qags_qg import generate_questions

        s = self.settings
        loaded = self.model("qg")
        out = generate_questions(
            loaded,
            inputs,
            num_beams=s["num_beams"],
            num_return_sequences=s["num_return_sequences"],
            length_penalty=float(s["length_penalty"]),
            max_new_tokens=s["qg_max_new_tokens"],
            min_new_tokens=s["qg_min_new_tokens"],
            max_input_tokens=s["qg_max_input_tokens"],
            batch_size=s["qg_batch_size"],
            timer=self.timer,
            stage="questions",
            plain=plain,
        )
        self.timer.add("questions", items=len(inputs))
        return out

    def qa(self, where: str, pairs: Sequence[tuple[str, str]]) -> list[dict]:
        """Stages 3-4: ``{"answer", "score_diff", "best"}`` per (question, context); ``where`` is summary|source."""
        stage = f"qa_{where}"
        settings = {**self._qa_config().__dict__, "dtype": self.settings["dtype"]}
        with self.timer.stage(stage):
            return self.cache.map(
                f"qags.{stage}", self.fingerprint("qa"), settings, [list(p) for p in pairs],
                lambda items: self._answer(stage, items),
            )

    def _answer(self, stage: str, pairs: Sequence) -> list[dict]:
        """Stages 3-4 without the cache: all windows of ``pairs`` through the QA model, counted under ``stage``."""
        from ..models import qa as qa_mod  # looked up at call time: tests replace answer_questions

        if not pairs:
            return []
        loaded = self.model("qa")

        def on_batch(n: int, tokens: int, padded: int) -> None:
            self.timer.add(stage, model_calls=1, tokens_in=tokens, flops=2.0 * loaded.n_params * padded)

        out = qa_mod.answer_questions(
            loaded.model, loaded.tokenizer, [tuple(p) for p in pairs], self._qa_config(),
            self.settings["qa_batch_size"], on_batch,
        )
        self.timer.add(stage, items=len(pairs))
        return out

    # -- the contract ------------------------------------------------------------------------------

    @staticmethod
    def format_details(details: dict) -> str:
        """The answers and a table of the kept questions with both answers and their F1 (Markdown)."""
        questions = details.get("questions") or []
        if not questions:
            return ""

        def cell(text, empty: str = "*(no answer)*") -> str:
            text = "" if text is None else str(text)
            return (text.replace("|", "\\|").replace("\n", " ") or empty)[:200]

        lines = [
            "Answers: " + ", ".join(f"`{a}`" for a in details.get("answers", [])),
            "",
            "| # | question | QG score | answer on summary | answer on source | F1 |",
            "|---|---|---|---|---|---|",
        ]
        for i, q in enumerate(questions, 1):
            mark = " (padding)" if q.get("padded") else ""
            lines.append(
                f"| {i} | {cell(q['question'], '*(empty)*')}{mark} | {q['qg_score']:.3f} | {cell(q['answer_summary'])} "
                f"| {cell(q['answer_source'])} | {q['f1']:.2f} |"
            )
        return "\n".join(lines)

    def context(self, record: Record) -> str:
        """The QA context on the source side: the source, or for XSum the reference-prepended source."""
        if not isinstance(record.source, str) or not record.source.strip():
            raise DataError("qags: empty source", record=record.example_id)
        if not self.settings["source_with_reference"]:
            return record.source
        if not record.references or not record.references[0].strip():
            raise DataError(
                "qags.source_with_reference is on but the record has no reference to prepend", record=record.example_id
            )
        ref = record.references[0].strip()
        # QAGS-X articles already start with the reference (ALGORITHMS.md §1.7): do not add it twice.
        if " ".join(record.source.split()).startswith(" ".join(ref.split())):
            return record.source
        return f"{ref} {record.source}"

    def score(self, batch: Sequence[Record]) -> list[Result]:
        s = self.settings
        for r in batch:
            if not isinstance(r.summary, str) or not r.summary.strip():
                raise DataError("qags: empty summary", record=r.example_id)
        if s["execution"] == "reference":
            from .qags_reference import score_reference

            return score_reference(self, batch)
        summaries = [r.summary for r in batch]
        contexts = [self.context(r) for r in batch]
        answers = self.answers(summaries)

        # Stage 2 on every distinct (summary, answer) input of the batch at once.
        inputs = [self.qg_inputs(summ, ans) for summ, ans in zip(summaries, answers)]
        flat = list(dict.fromkeys(x for per in inputs for x in per))
        generated = dict(zip(flat, self.questions(flat))) if flat else {}

        filters: list[QuestionFilter | None] = []
        all_cands: list[list[Candidate]] = []
        for ans, per in zip(answers, inputs):
            cands = self.candidates(ans, [generated[x] for x in per])
            all_cands.append(cands)
            filters.append(QuestionFilter(cands, s["n_questions"], s["question_fill"]) if cands else None)

        # Stage 3: answerability on the summary, asked only for the candidates the filter reaches.
        on_summary: dict[tuple[str, str], dict] = {}
        known: dict[str, dict[str, bool]] = {summ: {} for summ in summaries}
        first = True
        while True:
            todo: list[tuple[str, str]] = []
            for summ, f in zip(summaries, filters):
                if f is None:
                    continue
                need = [c.question for c in f.candidates] if first and s["qa_all_candidates"] else f.pending(known[summ])
                todo += [(q, summ) for q in need if (q, summ) not in on_summary]
            first = False
            todo = list(dict.fromkeys(todo))
            if not todo:  # every filter has what it needs
                break
            for pair, res in zip(todo, self.qa("summary", todo)):
                on_summary[pair] = res
                known[pair[1]][pair[0]] = bool(res["answer"])

        chosen = [
            f.result(qa_ans.seeded_rng(s["seed"], "questions", summ)) if f is not None else []
            for summ, f in zip(summaries, filters)
        ]
        # Stage 3 again for kept questions cut at '?' or padded, then stage 4: all in one call each.
        need_sum = list(dict.fromkeys((q["question"], summ) for summ, qs in zip(summaries, chosen) for q in qs))
        need_sum = [p for p in need_sum if p not in on_summary]
        on_summary.update(zip(need_sum, self.qa("summary", need_sum)))
        need_src = list(dict.fromkeys((q["question"], ctx) for ctx, qs in zip(contexts, chosen) for q in qs))
        on_source = dict(zip(need_src, self.qa("source", need_src)))

        results = [
            self._result(
                ans,
                qs,
                [on_summary[(q["question"], summ)]["answer"] for q in qs],
                [on_source[(q["question"], ctx)]["answer"] for q in qs],
                cands,
            )
            for summ, ctx, ans, qs, cands in zip(summaries, contexts, answers, chosen, all_cands)
        ]
        for result, ctx, qs in zip(results, contexts, chosen):  # said in details and in summary.md
            if any(on_source[(q["question"], ctx)].get("context_truncated") for q in qs):
                result.details["source_truncated"] = True
        return results

    def candidates(self, answers: Sequence[str], generated: Sequence[Sequence]) -> list[Candidate]:
        """The candidate questions of a summary: ``generated[i]`` holds the ``[question, score]`` beams for ``answers[i]``."""
        return [Candidate(q, float(p), a) for a, per in zip(answers, generated) for q, p in per]

    def _result(self, ans: list[str], qs: list[dict], on_summary: list[str], on_source: list[str],
                 cands: Sequence[Candidate] = ()) -> Result:
        """Step 5: the score and details of one summary from its chosen questions and their two answers.

        ``n_generated`` / ``n_unparsable`` count the generated questions and those without a ``?`` (the filter
        cannot use them); ``n_usable`` the questions that passed the filter (0: none did).
        """
        details = {"answers": ans, "questions": [], "n_generated": len(cands),
                   "n_unparsable": sum(cut_question(c.question) is None for c in cands),
                   "n_usable": sum(not q["padded"] for q in qs)}
        if not ans:
            return Result({"qags": None}, details, "spaCy found no entity or noun chunk in the summary")
        if not qs:
            return Result({"qags": None}, details, "no generated question passed the filter")
        f1s = []
        for q, a_sum, a_src in zip(qs, on_summary, on_source):
            f1 = f1_score(a_src, a_sum)
            f1s.append(f1)
            details["questions"].append(
                {
                    "question": q["question"],
                    "qg_score": q["score"],
                    "qg_answer": q["answer"],
                    "padded": q["padded"],
                    "answer_summary": a_sum,
                    "answer_source": a_src,
                    "f1": f1,
                }
            )
        details["n_passed_filter"] = sum(not q["padded"] for q in qs)
        return Result({"qags": sum(f1s) / len(f1s)}, details)
