"""SQuAD answer normalisation and token F1, as the official SQuAD v2.0 evaluation script computes them.

QAGS compares the answer found in the source with the answer found in the summary with this F1
(``qa_utils.py::normalize_answer`` / ``f1_score`` in W4ngatang/qags, identical to the official script).
"""

from __future__ import annotations

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, delete ASCII punctuation, replace the articles a/an/the by a space, collapse whitespace.

    >>> normalize_answer("The  Eiffel-Tower!")
    'eiffeltower'
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    """The tokens F1 counts; an empty answer (no answer) has none."""
    if not text:
        return []
    return normalize_answer(text).split()


def f1_score(gold: str, pred: str) -> float:
    """Bag-of-tokens F1 of two answers; both unanswerable (no tokens) is 1, only one unanswerable is 0.

    >>> f1_score("the cat sat", "a cat")
    0.6666666666666666
    >>> f1_score("", "")
    1.0
    >>> f1_score("", "cat")
    0.0
    """
    gold_toks, pred_toks = answer_tokens(gold), answer_tokens(pred)
    if not gold_toks or not pred_toks:
        return float(gold_toks == pred_toks)
    common = Counter(gold_toks) & Counter(pred_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_toks)
    recall = same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def exact_match(gold: str, pred: str) -> float:
    """1.0 when the normalised answers are equal (the script's ``compute_exact``)."""
    return float(normalize_answer(gold) == normalize_answer(pred))
