"""Tests written for mutants of factbench/metrics/qags_answers.py that survived the mutation run of 2026-12-01
(docs/mutation.md).

They pin down the seeding of QAGS answer selection (the generator of each summary is
``random.Random(int(sha256(f"{seed}\\x00answers\\x00{text}").hexdigest()[:16], 16))``, so a run's answers are
reproducible from its seed), that ``extract_answers`` hands its ``batch_size`` to the spaCy pipeline, and the
error message of an unknown answer_selection. spaCy is replaced by a scripted pipeline (fixed entities and
noun chunks), so the expected answers are computed here with hashlib and random from the standard library.
"""

import hashlib
import random
import re
from types import SimpleNamespace

import pytest

from factbench.errors import ConfigError
from factbench.metrics.qags_answers import extract_answers, seeded_rng, select_answers


def reference_rng(seed, purpose, text):
    """The documented seeding, built directly with hashlib and random: first 64 bits of the sha256 hex digest."""
    digest = hashlib.sha256(f"{seed}\x00{purpose}\x00{text}".encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16))


class ScriptedNlp:
    """Stands in for a spaCy pipeline: each text maps to fixed entities and noun chunks; records pipe() calls."""

    def __init__(self, script):
        self.script = script
        self.batch_sizes = []

    def pipe(self, texts, batch_size="not given"):
        self.batch_sizes.append(batch_size)
        for text in texts:
            ents, chunks = self.script[text]
            yield SimpleNamespace(
                ents=[SimpleNamespace(text=t) for t in ents], noun_chunks=[SimpleNamespace(text=t) for t in chunks]
            )


def test_seeded_rng_is_sha256_of_seed_purpose_text_first_64_bits():
    for seed, purpose, text in [(0, "answers", "x"), (7, "questions", "Ann met Bob."), (123, "answers", "")]:
        digest = hashlib.sha256(f"{seed}\x00{purpose}\x00{text}".encode("utf-8")).hexdigest()
        # first 16 hex digits = 64 bits, read in base 16
        expected = random.Random(int(digest[:16], 16))
        got = seeded_rng(seed, purpose, text)
        assert [got.random() for _ in range(5)] == [expected.random() for _ in range(5)]


def test_paper_padding_draws_from_the_answers_generator_of_each_summary():
    texts = ["Ann met Bob in Rome.", "Carl saw Dana in Oslo."]
    script = {
        texts[0]: (["Ann", "Bob", "Rome"], ["Ann", "a meeting"]),
        texts[1]: (["Carl", "Dana", "Oslo"], ["a film", "the city"]),
    }
    n, seed = 25, 11
    got = extract_answers(texts, ScriptedNlp(script), n, "paper", seed)
    for text, answers in zip(texts, got):
        ents, chunks = script[text]
        distinct = list(dict.fromkeys(ents + chunks))  # entities then chunks, first occurrence kept
        # paper mode: the distinct candidates, padded with rng.choices (with replacement) to exactly n
        expected = distinct + reference_rng(seed, "answers", text).choices(distinct, k=n - len(distinct))
        assert answers == expected


def test_paper_sampling_draws_from_the_answers_generator_of_each_summary():
    text = "A long summary."
    chunks = [f"chunk {i}" for i in range(30)]
    got = extract_answers([text], ScriptedNlp({text: ([], chunks)}), 10, "paper", 3)
    # more candidates than n: random.sample(candidates, n) with the summary's generator (qg_utils.py, seeded)
    assert got == [reference_rng(3, "answers", text).sample(chunks, 10)]


def test_extract_answers_passes_its_batch_size_to_the_pipeline():
    text = "Ann met Bob."
    nlp = ScriptedNlp({text: (["Ann", "Bob"], [])})
    assert extract_answers([text, text], nlp, 2, "clean", 0, batch_size=3) == [["Ann", "Bob"], ["Ann", "Bob"]]
    assert nlp.batch_sizes == [3]


def test_unknown_answer_selection_message_lists_the_modes():
    with pytest.raises(
        ConfigError, match=re.escape("qags: answer_selection must be one of paper, clean, not 'some'") + "$"
    ):
        select_answers(["a"], 10, "some", random.Random(0))
