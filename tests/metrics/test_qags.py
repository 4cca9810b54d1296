"""QAGS end to end: a hand-built case (real spaCy, scripted QG and QA outputs, expected score worked out by
hand), then the tiny random models for determinism, batching and per-stage cache reuse."""

import re

import pytest

from factbench.cache import Cache
from factbench.errors import ConfigError, DataError
from factbench.metrics.qags import Qags
from factbench.records import Record

SUMMARY = "Barack Obama visited Paris on Monday with his wife Michelle."
SOURCE = "Barack Obama visited Paris on Tuesday, accompanied by his wife Michelle Obama."

# Scripted QG: the highlighted answer -> its (question, score) beams.
QG = {
    "Barack Obama": [("Who visited Paris?", -0.1), ("Who visited Paris", -0.05)],  # 2nd: no '?'
    "Paris": [("Where did Obama go?", -0.2), ("Where did he go?", -0.9)],
    "Monday": [("When did Obama visit Paris?", -0.3), ("When?", -0.01)],  # 2nd: under 3 tokens
    "Michelle": [("Who is his wife?", -0.4), ("Who came along?", -0.6)],
    "his wife": [("Who came with Obama?", -0.5), ("Who visited Paris?", -0.15)],  # 2nd: duplicate
}
# Scripted QA: (question, context) -> answer; anything else is unanswerable ("").
QA = {
    ("Who visited Paris?", SUMMARY): "Barack Obama",
    ("Where did Obama go?", SUMMARY): "",  # unanswerable on the summary: filtered out
    ("When did Obama visit Paris?", SUMMARY): "Monday",
    ("Who is his wife?", SUMMARY): "Michelle",
    ("Who came with Obama?", SUMMARY): "his wife Michelle",
    ("Who visited Paris?", SOURCE): "Barack Obama",
    ("When did Obama visit Paris?", SOURCE): "on Tuesday",
    ("Who is his wife?", SOURCE): "his wife Michelle Obama",
}



def record(summary=SUMMARY, source=SOURCE, rid="r1", refs=()):
    return Record("test", "test", rid, "d1", "sys", source, summary, tuple(refs))


@pytest.fixture
def scripted(monkeypatch):
    """Replace the QG and QA model calls by the scripts above; count what the QA model is asked."""
    import factbench.metrics.qags_qg as qg_mod
    import factbench.models.qa as qa_mod

    asked = []

    def fake_generate(loaded, inputs, **kw):
        return [[list(q) for q in QG[re.search("<hl> (.*?) <hl>", x).group(1)]] for x in inputs]

    def fake_answer(model, tokenizer, pairs, cfg, batch_size, on_batch=None):
        asked.extend(pairs)
        return [{"answer": QA.get(tuple(p), ""), "score_diff": None, "best": ""} for p in pairs]

    monkeypatch.setattr(qg_mod, "generate_questions", fake_generate)
    monkeypatch.setattr(qa_mod, "answer_questions", fake_answer)
    return asked


def tiny_settings(tiny_models, **kw):
    return {"qg_model": str(tiny_models["bart"]), "qa_model": str(tiny_models["qa"]), **kw}


def test_hand_built_case(scripted, tiny_models):
    m = Qags(tiny_settings(tiny_models, answer_selection="clean", n_questions=3, num_return_sequences=2), profile="tiny")
    (res,) = m.score([record()])
    # spaCy answers (entities, then noun chunks): Barack Obama, Paris, Monday, Michelle, his wife.
    assert res.details["answers"] == ["Barack Obama", "Paris", "Monday", "Michelle", "his wife"]
    # By score: "When?" (short), "Who visited Paris" (no '?'), "Who visited Paris?" kept, its duplicate,
    # "Where did Obama go?" (unanswerable), "When did Obama visit Paris?" kept, "Who is his wife?" kept.
    qs = res.details["questions"]
    assert [q["question"] for q in qs] == ["Who visited Paris?", "When did Obama visit Paris?", "Who is his wife?"]
    assert [q["qg_answer"] for q in qs] == ["Barack Obama", "Monday", "Michelle"]
    assert [q["answer_source"] for q in qs] == ["Barack Obama", "on Tuesday", "his wife Michelle Obama"]
    # F1: 1; {on, tuesday} vs {monday}: 0; {his, wife, michelle, obama} vs {michelle}: 2 * 1 * 0.25 / 1.25 = 0.4
    assert [q["f1"] for q in qs] == pytest.approx([1.0, 0.0, 0.4])
    assert res.scores["qags"] == pytest.approx(1.4 / 3)
    assert res.details["n_passed_filter"] == 3
    # The lazy filter never asked about the candidates after the third kept one.
    on_summary = {q for q, c in scripted if c == SUMMARY}
    assert "Who came with Obama?" not in on_summary and "Who came along?" not in on_summary


def test_lazy_filter_equals_answering_every_candidate(scripted, tiny_models):
    kw = dict(answer_selection="clean", n_questions=3, num_return_sequences=2)
    lazy = Qags(tiny_settings(tiny_models, **kw), profile="tiny").score([record()])[0]
    n_lazy = len(scripted)
    full = Qags(tiny_settings(tiny_models, qa_all_candidates=True, **kw), profile="tiny").score([record()])[0]
    assert full.scores == lazy.scores and full.details == lazy.details
    assert n_lazy < len(scripted) - n_lazy  # the exhaustive run asked the QA model more


def test_paper_padding_fills_k(scripted, tiny_models):
    m = Qags(tiny_settings(tiny_models, num_return_sequences=2), profile="tiny")
    (res,) = m.score([record()])
    qs = res.details["questions"]
    assert len(qs) == 20 and res.details["n_passed_filter"] == 4  # 4 distinct questions survive
    assert [q["padded"] for q in qs] == [False] * 4 + [True] * 16
    assert len(res.details["answers"]) == 10


def test_missing_score_when_spacy_finds_nothing(tiny_models):
    m = Qags(tiny_settings(tiny_models), profile="tiny")
    (res,) = m.score([record(summary="Very good!")])
    assert res.scores == {"qags": None} and "no entity or noun chunk" in res.missing


def test_bad_input_and_settings(tiny_models):
    m = Qags(tiny_settings(tiny_models, source_with_reference=True), profile="tiny")
    with pytest.raises(DataError, match="r9"):
        m.score([record(summary="   ", rid="r9")])
    with pytest.raises(DataError, match="no reference"):
        m.score([record()])
    assert m.context(record(refs=["Ref sentence."])) == f"Ref sentence. {SOURCE}"
    assert m.context(record(source="Ref  sentence. Then the article.", refs=["Ref sentence."])) == (
        "Ref  sentence. Then the article."  # already prepended (QAGS-X): not added twice
    )
    for bad in ({"n_questions": 0}, {"question_fill": "pad"}, {"qg_format": "xml"}, {"num_return_sequences": 11}):
        with pytest.raises(ConfigError):
            Qags(tiny_settings(tiny_models, **bad), profile="tiny")


RECORDS = [
    record(rid="a"),
    record(summary="Police arrested two men in Paris on Friday.", source="Police arrested a man in London.", rid="b"),
    record(summary="The council approved the budget.", source="The city council approved a new budget.", rid="c"),
]


@pytest.fixture(scope="module")
def tiny_run(tiny_models):
    m = Qags(tiny_settings(tiny_models), profile="tiny")
    return m, m.score(RECORDS)


def test_tiny_models_end_to_end(tiny_run):
    m, results = tiny_run
    assert len(results) == 3
    for res in results:
        assert 0.0 <= res.scores["qags"] <= 1.0
        assert len(res.details["questions"]) == 20
        for q in res.details["questions"]:
            assert set(q) == {"question", "qg_score", "qg_answer", "padded", "answer_summary", "answer_source", "f1"}
    t = m.timer.as_dict()
    assert t["questions"]["model_calls"] >= 1 and t["qa_source"]["model_calls"] >= 1
    assert "|qg:sha256:" in m.signature() and "|qa:sha256:" in m.signature()


def test_same_seed_same_scores(tiny_models, tiny_run):
    _, first = tiny_run
    again = Qags(tiny_settings(tiny_models), profile="tiny").score(RECORDS)
    assert [r.scores for r in again] == [r.scores for r in first]
    assert [r.details for r in again] == [r.details for r in first]


def test_batched_equals_unbatched(tiny_models, tiny_run):
    _, batched = tiny_run
    m = Qags(tiny_settings(tiny_models, qg_batch_size=1, qa_batch_size=1), profile="tiny")
    single = [m.score([r])[0] for r in RECORDS]
    for b, s in zip(batched, single):
        assert s.scores["qags"] == pytest.approx(b.scores["qags"], abs=1e-9)
        assert [q["question"] for q in s.details["questions"]] == [q["question"] for q in b.details["questions"]]
        assert [q["answer_source"] for q in s.details["questions"]] == [
            q["answer_source"] for q in b.details["questions"]
        ]


def test_changed_qa_model_reruns_only_qa(tiny_models, tmp_path):
    from factbench.models.tiny import build

    cache = Cache(tmp_path / "cache.sqlite")
    first = Qags(tiny_settings(tiny_models), profile="tiny")
    first.cache = cache
    first.score(RECORDS[:2])

    other_qa = build("qa", tmp_path / "qa99", seed=99)
    second = Qags(tiny_settings(tiny_models, qa_model=str(other_qa)), profile="tiny")
    second.cache = cache
    second.score(RECORDS[:2])
    t = second.timer.as_dict()
    assert t["answers"].get("model_calls", 0) == 0 and t["questions"].get("model_calls", 0) == 0
    assert t["qa_summary"]["model_calls"] >= 1 and t["qa_source"]["model_calls"] >= 1
    assert cache.misses["qags.questions"] == cache.hits["qags.questions"] > 0

    third = Qags(tiny_settings(tiny_models), profile="tiny")  # the first configuration again: all cached
    third.cache = cache
    assert [r.scores for r in third.score(RECORDS[:2])] == [r.scores for r in first.score(RECORDS[:2])]
    assert all(v.get("model_calls", 0) == 0 for v in third.timer.as_dict().values())


def test_card_profiles_and_documented_settings():
    from factbench.cards import load_card

    card = load_card("qags")
    paper = Qags(profile="paper").settings
    assert paper["spacy_model"] == "en_core_web_lg"  # the paper's pipeline (ALGORITHMS.md §1.2)
    assert (paper["n_answers"], paper["num_beams"], paper["num_return_sequences"], paper["n_questions"]) == (
        10,
        10,
        10,
        20,
    )
    assert (paper["qa_max_seq_length"], paper["qa_doc_stride"], paper["qa_max_query_length"]) == (384, 128, 64)
    assert (paper["qa_n_best"], paper["qa_max_answer_length"], paper["qa_null_threshold"]) == (20, 30, 0.0)
    assert Qags(profile="fast").settings["qg_prefix"] == "generate question: "
    assert Qags(profile="tiny").settings["qa_model"] == "tiny:qa"
    # every setting is explained in the card's text
    undocumented = [k for k in card.defaults if f"`{k}`" not in card.text]
    assert undocumented == []


def test_format_details_shows_questions_and_answers():
    details = {
        "answers": ["Paris"],
        "questions": [
            {
                "question": "Where | did he go?",
                "qg_score": -0.25,
                "qg_answer": "Paris",
                "padded": False,
                "answer_summary": "Paris",
                "answer_source": "",
                "f1": 0.0,
            }
        ],
    }
    text = Qags.format_details(details)
    assert "| 1 | Where \\| did he go? | -0.250 | Paris | *(no answer)* | 0.00 |" in text
    assert Qags.format_details({"answers": [], "questions": []}) == ""


def test_generation_call_settings_and_batching(monkeypatch, tiny_models):
    """Beam 10, 10 returned, length penalty 1.0, fairseq's min length 5; all lines of a batch in one call."""
    import factbench.models.generation as gen

    calls = []

    class Hyp:
        def __init__(self, text, score):
            self.text, self.norm_score = text, score

    def fake_beam_search(model, tokenizer, inputs, **kw):
        calls.append((list(inputs), kw))
        return [[Hyp(f"q{j} about {x[:10]}?", -j / 10) for j in range(kw["num_return"])] for x in inputs]

    monkeypatch.setattr(gen, "beam_search", fake_beam_search)
    m = Qags(tiny_settings(tiny_models, qg_batch_size=64), profile="tiny")
    m.score(RECORDS)
    assert len(calls) == 1  # every distinct (summary, answer) line of the 3 summaries together
    lines, kw = calls[0]
    assert len(lines) == len(set(lines)) and "<hl>" in lines[0]
    assert (kw["num_beams"], kw["num_return"], kw["length_penalty"], kw["min_new_tokens"]) == (10, 10, 1.0, 5)
    calls.clear()
    Qags(tiny_settings(tiny_models, qg_batch_size=1), profile="tiny").score(RECORDS[:1])
    assert all(len(lines) == 1 for lines, _ in calls)  # one answer per generation call


def test_reference_execution_equals_factbench_and_makes_more_model_calls(tiny_models, tiny_run):
    """Same algorithm one example, one generation line and one question at a time (all candidates answered on
    the summary, no cache): the same scores (1e-6) and questions as the batched, lazy factbench execution."""
    fast, batched = tiny_run
    ref = Qags(tiny_settings(tiny_models, execution="reference"), profile="tiny")
    ref.cache = Cache(None)
    results = ref.score(RECORDS)
    for b, r in zip(batched, results):
        assert r.missing == b.missing
        assert r.scores["qags"] == pytest.approx(b.scores["qags"], abs=1e-6)
        assert r.details["answers"] == b.details["answers"]
        assert r.details["n_passed_filter"] == b.details["n_passed_filter"]
        for p, q in zip(b.details["questions"], r.details["questions"]):
            assert {k: v for k, v in p.items() if k != "qg_score"} == {k: v for k, v in q.items() if k != "qg_score"}
            assert q["qg_score"] == pytest.approx(p["qg_score"], abs=1e-6)
    ft, rt = fast.timer.as_dict(), ref.timer.as_dict()
    assert set(rt) == set(ft)  # the same stage names
    for key in ("model_calls", "tokens_in", "tokens_out", "flops"):
        assert (key in rt["questions"]) == (key in ft["questions"])
    # spaCy once per summary instead of once per batch
    assert rt["answers"]["model_calls"] == 3 and ft["answers"]["model_calls"] == 1
    # one generation call per (summary, answer) line: 10 answers x 3 summaries, the same lines
    assert rt["questions"]["items"] == 30 and rt["questions"]["model_calls"] > ft["questions"]["model_calls"]
    # QA on the summary: every candidate (100 per summary), then the 20 kept ones again; one call per question
    # (each summary fits one window, so one forward pass per question)
    assert rt["qa_summary"]["items"] == 3 * (100 + 20) == rt["qa_summary"]["model_calls"]
    assert rt["qa_source"]["items"] == 3 * 20 == rt["qa_source"]["model_calls"]
    assert ft["qa_summary"]["model_calls"] < rt["qa_summary"]["model_calls"]
    assert ft["qa_source"]["model_calls"] < rt["qa_source"]["model_calls"]


def test_reference_execution_bypasses_the_cache_and_is_not_in_the_signature(tiny_models, tmp_path):
    fast = Qags(tiny_settings(tiny_models), profile="tiny")
    assert Qags(tiny_settings(tiny_models, execution="reference"), profile="tiny").signature() == fast.signature()
    for _ in range(2):
        m = Qags(tiny_settings(tiny_models, execution="reference"), profile="tiny")
        m.cache = Cache(tmp_path / "cache.sqlite")
        m.score(RECORDS[:1])
        assert m.timer.as_dict()["qa_source"]["model_calls"] > 0  # the second run computes again
    assert m.cache.stats() == {"hits": {}, "misses": {}, "corrupt": {}}  # never consulted
    with pytest.raises(ConfigError, match="execution"):
        Qags(tiny_settings(tiny_models, execution="fast"), profile="tiny")


def test_reference_execution_on_the_hand_built_case(scripted, tiny_models):
    """The scripted case in reference mode: the hand-worked score, every candidate asked on the summary."""
    kw = dict(answer_selection="clean", n_questions=3, num_return_sequences=2)
    lazy = Qags(tiny_settings(tiny_models, **kw), profile="tiny").score([record()])[0]
    scripted.clear()
    ref = Qags(tiny_settings(tiny_models, execution="reference", **kw), profile="tiny").score([record()])[0]
    assert ref.scores == lazy.scores and ref.details == lazy.details
    assert ref.scores["qags"] == pytest.approx(1.4 / 3)
    # 10 candidates (5 answers x 2) + 3 kept on the summary, 3 on the source, one question per QA call
    assert len([p for p in scripted if p[1] == SUMMARY]) == 13 and len([p for p in scripted if p[1] == SOURCE]) == 3


def test_max_source_tokens_cuts_the_source_and_says_so(tiny_models, tiny_run):
    """Issue 15, item 5: a bound below the source's length cuts it and flags the record; the default bound
    (far above these sources) changes nothing: the tiny run's results carry no flag."""
    _, uncut = tiny_run
    assert not any(r.details.get("source_truncated") for r in uncut)
    m = Qags(tiny_settings(tiny_models, max_source_tokens=3), profile="tiny")
    assert "|max_source_tokens:3|" in m.signature()
    cut = m.score(RECORDS[1:2])[0]
    assert cut.details["source_truncated"] is True
    assert any(q["answer_source"] for q in cut.details["questions"])  # it did answer, from the cut source
    # "Police arrested a" is all the QA model read: no answer on the source can reach past it.
    for q in cut.details["questions"]:
        assert q["answer_source"] in "Police arrested a", q["answer_source"]
