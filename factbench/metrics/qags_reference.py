"""QAGS's ``reference`` execution: the same algorithm, run the way the original pipeline ran it.

``Qags.score`` with ``execution = "reference"`` comes here. The algorithm is unchanged (answer
extraction, QG input lines, generation, the filter, QA decoding (:mod:`factbench.models.qa`), F1 and the
details are the adapter's own code, ALGORITHMS.md §1); only the execution differs, to measure what
factbench's execution gains (``factbench bench --mode factbench,reference``):

- one example at a time: spaCy on one summary per call;
- one (summary, answer) line per beam-search call (no batching of lines, no deduplication), with the
  stock model forward (``plain``: cross-attention keys/values for each of the 10 beams, as fairseq's
  expanded encoder output gives, and the vocabulary projection as one product);
- one question per QA call (the windows of that question, and only those, in one forward pass when
  they fit ``qa_batch_size``), the context re-tokenised for each;
- answerability on the summary for *every* candidate question before filtering, as the original did
  with ``--use_all_qsts`` (factbench asks lazily and stops once ``n_questions`` are kept: same result);
  then each kept question (cut at ``?``, or a padding candidate) on the summary again and on the source,
  as the original's final QA runs over the filtered SQuAD files;
- no stage cache (``metric.cache`` is neither read nor written): every call does all the model work.

Stage names and counters are the adapter's (``answers``, ``questions``, ``qa_summary``, ``qa_source``;
``model_calls``, ``tokens_in``, ``tokens_out``, ``flops``, ``items``), counted by the same code.
"""

from __future__ import annotations

from typing import Sequence

from ..records import Record
from .base import Result
from .qags_answers import seeded_rng
from .qags_filter import filter_questions


def score_reference(metric, batch: Sequence[Record]) -> list[Result]:
    """Score ``batch`` one record, one generation line and one question at a time (see the module doc)."""
    s = metric.settings
    timer = metric.timer
    contexts = [metric.context(r) for r in batch]  # bad records fail before any model work, as in factbench

    def ask(where: str, question: str, context: str) -> str:
        stage = f"qa_{where}"
        with timer.stage(stage):
            (res,) = metric._answer(stage, [(question, context)])
        return res["answer"]

    results = []
    for r, ctx in zip(batch, contexts):
        summ = r.summary
        with timer.stage("answers"):
            (ans,) = metric._extract([summ])
        generated = []
        for line in metric.qg_inputs(summ, ans):
            with timer.stage("questions"):
                generated += metric._generate([line], plain=True)
        cands = metric.candidates(ans, generated)
        chosen = []
        if cands:
            answerable = {c.question: bool(ask("summary", c.question, summ)) for c in cands}
            chosen = filter_questions(
                cands, answerable, s["n_questions"], s["question_fill"], seeded_rng(s["seed"], "questions", summ)
            )
        on_summary = [ask("summary", q["question"], summ) for q in chosen]
        on_source = [ask("source", q["question"], ctx) for q in chosen]
        results.append(metric._result(ans, chosen, on_summary, on_source, cands))
    return results
