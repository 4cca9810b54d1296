"""QAGS step 3: choose the K questions of a summary from its candidates (ALGORITHMS.md §1.4).

As ``qa_utils.py::filter_qsts`` of W4ngatang/qags ran it for the paper (``use_act_anss=True``):

1. keep the candidates the QA model answers (non-empty answer) with the summary as context;
2. sort them by QG score, descending (a stable sort: ties keep generation order);
3. cut each after its first ``?`` (no ``?``: dropped); drop it when the cut string is already kept
   or has fewer than 3 whitespace tokens;
4. keep the first K. ``fill="paper"``: when fewer than K survive, add ``random.sample`` of the raw,
   unfiltered candidates (not cut, maybe answered nowhere, maybe repeats of kept ones), as the
   original did; ``fill="clean"``: keep only the survivors.

Answerability is the only step that needs a model, and it is a property of each question alone, so
filtering after the sort gives the same list as filtering before it. :class:`QuestionFilter` walks
the candidates in score order and asks for the answerability of only those it reaches: once K are
kept the rest are never sent to the QA model (DESIGN.md speed tips), with the same result.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..errors import ConfigError

FILL_MODES = ("paper", "clean")
MIN_TOKENS = 3  # `len(clean_toks) < 3` in filter_qsts


def cut_question(question: str) -> str | None:
    """The question up to and including its first ``?``; ``None`` when it has none.

    >>> cut_question("who won? the cup? yes")
    'who won?'
    >>> cut_question("no mark") is None
    True
    """
    i = question.find("?")
    return None if i < 0 else question[: i + 1]


@dataclass
class Candidate:
    """A generated question with its length-normalised log-probability and the answer it was asked for."""

    question: str
    score: float
    answer: str = ""


@dataclass
class QuestionFilter:
    """The filter of one summary, advanced as answerability on the summary becomes known.

    Call :meth:`pending` with what is known (raw question -> answerable); it returns the raw
    questions whose answerability it needs next (empty when done). Then :meth:`result`.
    """

    candidates: Sequence[Candidate]
    n_keep: int = 20
    fill: str = "paper"
    lookahead: int | None = None
    kept: list[tuple[str, int]] = field(default_factory=list)  # (cut question, candidate index)
    _pos: int = 0

    def __post_init__(self):
        if self.fill not in FILL_MODES:
            raise ConfigError(f"qags: question_fill must be one of {', '.join(FILL_MODES)}, not {self.fill!r}")
        # sorted(..., reverse=True) is stable in Python, as in filter_qsts
        self.order = sorted(range(len(self.candidates)), key=lambda i: self.candidates[i].score, reverse=True)
        self._kept_set: set[str] = set()

    def _text_ok(self, index: int) -> str | None:
        cut = cut_question(self.candidates[index].question)
        if cut is None or cut in self._kept_set or len(cut.split()) < MIN_TOKENS:
            return None
        return cut

    def pending(self, answerable: Mapping[str, bool]) -> list[str]:
        """Advance with the known answers; return the raw questions to answer on the summary next."""
        while self._pos < len(self.order) and len(self.kept) < self.n_keep:
            index = self.order[self._pos]
            cut = self._text_ok(index)
            if cut is not None:
                raw = self.candidates[index].question
                if raw not in answerable:
                    return self._lookahead(answerable)
                if answerable[raw]:
                    self.kept.append((cut, index))
                    self._kept_set.add(cut)
            self._pos += 1
        return []

    def _lookahead(self, answerable: Mapping[str, bool]) -> list[str]:
        # Ask for as many questions as could still be kept: each needed one costs a QA round trip.
        want = self.lookahead or (self.n_keep - len(self.kept))
        out: list[str] = []
        for index in self.order[self._pos :]:
            raw = self.candidates[index].question
            if self._text_ok(index) is not None and raw not in answerable and raw not in out:
                out.append(raw)
                if len(out) >= want:
                    break
        return out

    @property
    def done(self) -> bool:
        return len(self.kept) >= self.n_keep or self._pos >= len(self.order)

    def result(self, rng: random.Random) -> list[dict]:
        """The chosen questions: ``question``, ``score``, ``answer`` (the QG conditioning answer) and ``padded``."""
        if not self.done:
            raise RuntimeError("QuestionFilter.result() before every needed answer was known")
        chosen = [
            {"question": cut, "score": self.candidates[i].score, "answer": self.candidates[i].answer, "padded": False}
            for cut, i in self.kept
        ]
        missing = self.n_keep - len(chosen)
        if self.fill == "paper" and missing > 0 and self.candidates:
            # random.sample(qsts, k) draws indices exactly as sampling range(len(qsts)) does
            for i in rng.sample(range(len(self.candidates)), min(missing, len(self.candidates))):
                c = self.candidates[i]
                chosen.append({"question": c.question, "score": c.score, "answer": c.answer, "padded": True})
        return chosen[: self.n_keep]


def filter_questions(
    candidates: Sequence[Candidate],
    answerable: Mapping[str, bool],
    n_keep: int = 20,
    fill: str = "paper",
    rng: random.Random | None = None,
) -> list[dict]:
    """The filter in one call, when the answerability of every candidate is known.

    >>> cands = [Candidate("who is he? x", -1.0), Candidate("who?", -0.5), Candidate("where is it?", -2.0)]
    >>> [q["question"] for q in filter_questions(cands, {c.question: True for c in cands}, 2, "clean")]
    ['who is he?', 'where is it?']
    """
    f = QuestionFilter(candidates, n_keep, fill)
    missing = f.pending(answerable)
    if missing:
        raise KeyError(f"answerability unknown for {missing[0]!r}")
    return f.result(rng or random.Random(0))
