"""QUALS: parsing, the filter/selection of ALGORITHMS.md §2.3, the score formula by hand, cache, determinism."""

import pytest
import torch

from factbench.cache import Cache
from factbench.metrics import create
from factbench.metrics.quals import SENTINEL, filter_and_select, parse_lmqg, parse_original, quals_formula
from factbench.records import Record



SOURCE = ("The city council approved a new budget on Monday after a long debate about schools and roads. "
          "The mayor said the plan would raise taxes by two percent and hire forty new teachers.")
SUMMARY = "The council approved the budget on Monday."


def rec(i, summary=SUMMARY, source=SOURCE):
    return Record("t", "test", f"e{i}", "d", "sys", source, summary)


# ------------------------------------------------------------------------------------------ pure parts


def test_parse_original_needs_exactly_one_separator_and_strips_nothing():
    """``filter_qas_dataset_lm_score``: ``q_a_split = qa.split(' strutConnector')``, kept iff 2 parts, the parts used
    as they are (no strip)."""
    sep = " strutConnector"
    assert parse_original("Who won? strutConnectorJohn Smith", sep) == ("Who won?", "John Smith")
    assert parse_original("Who won? strutConnector John Smith ", sep) == ("Who won?", " John Smith ")
    assert parse_original("Who won? John Smith", sep) is None
    assert parse_original("a strutConnector b strutConnector c", sep) is None
    assert parse_original("Who? strutConnector", sep) == ("Who?", "")  # empty answer: kept, as the original
    # the unstripped answer meets the raw substring test as the original's does: " john smith" is not in a
    # summary that starts with "John Smith"
    qa = dict(zip(("question", "answer"), parse_original("Who won? strutConnector John Smith", sep)), score=-1)
    assert filter_and_select([qa], "John Smith won the race.") == []
    assert filter_and_select([qa], "The winner was John Smith.") == [qa]


def test_parse_lmqg_as_lmqg_format_qa():
    """Expected values from the rules of ``lmqg/language_model.py::generate_qa_end2end`` (``format_qa``): split on
    ``'|'``; a chunk is valid iff ``len(chunk.split(', answer: ')) == 2`` and ``'question: ' in chunk``; then
    ``q.replace('question: ', '')`` and both parts stripped of surrounding whitespace."""
    text = "question: Who won?, answer: the party | question: When?, answer: Sunday | junk"
    assert parse_lmqg(text) == [("Who won?", "the party"), ("When?", "Sunday")]
    assert parse_lmqg("question: a?, answer: b|question: c?, answer:  d  ") == [("a?", "b"), ("c?", "d")]
    assert parse_lmqg("Who?, answer: x | question: Why?") == []  # no "question: "; no ", answer: "
    assert parse_lmqg("question: Who?, answer: x, answer: y") == []  # two ", answer: ": three parts
    # "question: " need not open the chunk (lmqg tests ``in``), and every occurrence is removed
    assert parse_lmqg("so question: Who?, answer: x") == [("so Who?", "x")]
    assert parse_lmqg("question: question: Who?, answer: x") == [("Who?", "x")]


def test_doctests():
    """The docstring examples of factbench.metrics.quals (selection rounds, lmqg chunk parsing) are hand-derived."""
    import doctest

    from factbench.metrics import quals

    result = doctest.testmod(quals)
    assert result.attempted >= 4 and result.failed == 0


def P(q, a, s):
    return {"question": q, "answer": a, "score": s}


def test_filter_is_a_raw_lowercase_substring_test():
    pairs = [P("q1", "HE", -1), P("q2", "Monday.", -2), P("q3", "mon day", -3), P("q4", "", -4)]
    # "he" is inside "the"; "Monday." matches with its full stop; an empty answer matches anything
    got = filter_and_select(pairs, SUMMARY, max_qas=10)
    assert [p["question"] for p in got] == ["q1", "q2", "q4"]


def test_selection_is_the_worked_example_of_the_original():
    """ALGORITHMS.md §2.3 worked example, derived by hand from the rules of the original
    ``preprocess/evaluate_hypo.py::filter_qas_dataset_lm_score`` (amazon-science/fact-check-summarization):
    sort by ``unnorm_scores`` descending, group by ``answer.lower()`` in order of first appearance, each
    round ``value.pop(0)`` once per non-empty group, a question already in ``ans_question_set_dict`` for
    that answer is dropped (not replaced), ``while keep_adding and len(qas) < max_qas``."""
    pairs = [P("A1", "council", -5), P("B1", "budget", -1), P("A2", "council", -2), P("A3", "Council", -3),
             P("B2", "budget", -4), P("a2", "COUNCIL", -2.5)]
    # sorted: B1(-1) A2(-2) a2(-2.5) A3(-3) B2(-4) A1(-5); groups: budget [B1, B2], council [A2, a2, A3, A1]
    # round 1: B1, A2; round 2: B2, council pops a2 (= A2 lower-cased: discarded); round 3: A3; round 4: A1
    got = filter_and_select(pairs, SUMMARY, max_qas=10)
    assert [(p["question"], p["score"]) for p in got] == [("B1", -1), ("A2", -2), ("B2", -4), ("A3", -3),
                                                          ("A1", -5)]
    assert [p["question"] for p in filter_and_select(pairs, SUMMARY, max_qas=2)] == ["B1", "A2"]
    # 3 pairs after round 2 (the discarded repeat is not replaced by A3 within the round)
    assert [p["question"] for p in filter_and_select(pairs, SUMMARY, max_qas=3)] == ["B1", "A2", "B2"]


def test_a_round_that_adds_nothing_ends_the_selection_though_pairs_remain():
    """Hand-derived from ``filter_qas_dataset_lm_score``: ``keep_adding`` stays False after a round whose every
    pop was a repeated question, so the loop ends with unused pairs still queued."""
    pairs = [P("Who?", "the council", -1), P("who?", "The Council", -2), P("WHO?", "the council", -3),
             P("What?", "the council", -4), P("When?", "Monday", -1.5), P("when?", "monday", -2.5),
             P("On which day?", "monday", -5)]
    # council [Who?, who?, WHO?, What?], monday [When?, when?, On which day?]
    # round 1: Who?, When?; round 2: who? and when? are repeats: nothing added -> stop
    got = filter_and_select(pairs, SUMMARY, max_qas=10)
    assert [p["question"] for p in got] == ["Who?", "When?"]
    # with one group holding a new question in round 2, round 3 still runs: council pops WHO? (repeat),
    # monday pops On which day?
    pairs[1] = P("Which body?", "The Council", -2)
    got = filter_and_select(pairs, SUMMARY, max_qas=10)
    assert [p["question"] for p in got] == ["Who?", "When?", "Which body?", "On which day?", "What?"]


def test_one_round_can_overshoot_max_qas():
    words = "the council approved budget on monday".split()
    pairs = [P(f"q{i}", w, -i) for i, w in enumerate(words * 3)]
    assert len(filter_and_select(pairs, SUMMARY, max_qas=4)) == 6  # 6 distinct answers in round 1


def test_formula_by_hand():
    # pair 1: mean(-1,-2,-3) - mean(-1,-1,-1) = -1; pair 2: mean(-2,-2) - mean(-4,-2) = +1 -> QUALS 0
    assert quals_formula([[-1, -2, -3], [-2, -2]], [[-1, -1, -1], [-4, -2]]) == pytest.approx(0.0)
    assert quals_formula([[-3.0]], [[-1.0]]) == pytest.approx(-2.0)


# ------------------------------------------------------------------------------------- the metric


def metric(tiny_models, **settings):
    base = {"model": str(tiny_models["bart"]), "device": "cpu", "num_pairs": 12, "max_tokens": 20}
    base.update(settings)
    return create("quals", base, profile="tiny")


def handmade(m, texts_scores):
    """Generation output as the search would return it, for hand-built cases."""
    tok = m.loaded.tokenizer
    out = []
    for text, score, pos in texts_scores:
        ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        lps = pos if pos is not None else [score / len(ids)] * len(ids)
        out.append({"tokens": ids, "token_logprobs": lps, "score": score, "norm_score": score / len(ids),
                    "group": len(out), "text": text})
    return out


def model_mean_loglik(m, src_text, target):
    tok = m.loaded.tokenizer
    src = tok(src_text)["input_ids"][1:]  # the original format encodes without <s>
    with torch.no_grad():
        return -m.loaded.model(input_ids=torch.tensor([src]), labels=torch.tensor([target])).loss.item()


@pytest.mark.parametrize("side", ["teacher-forced", "paper"])
def test_quals_of_a_hand_built_case(tiny_models, monkeypatch, side):
    m = metric(tiny_models, summary_side=side, max_qas=2)
    hyps = handmade(m, [
        ("Who approved the budget?<sep>the council", -6.0, None),
        ("When was it approved?<sep>Monday", -4.0, None),
        ("What was raised?<sep>taxes", -1.0, None),        # answer not in the summary: filtered out
        ("No separator here", -0.5, None),                  # unparsable
        ("Who approved it?<sep>The Council", -3.0, None),   # same answer as pair 1 (case-insensitive)
    ])
    monkeypatch.setattr(type(m), "_generate", lambda self, summaries: [hyps for _ in summaries])
    res = m.score([rec(0)])[0]
    # selection: sorted -3 (council), -4 (monday), -6 (council); round 1 takes "Who approved it?" and "When..."
    sel = [hyps[4], hyps[1]]
    assert [p["question"] for p in res.details["qa_pairs"]] == ["Who approved it?", "When was it approved?"]
    terms = []
    for h in sel:
        src_mean = model_mean_loglik(m, SOURCE, h["tokens"])
        summ_mean = model_mean_loglik(m, SUMMARY, h["tokens"]) if side == "teacher-forced" else h["norm_score"]
        terms.append(src_mean - summ_mean)
    assert res.scores["quals"] == pytest.approx(sum(terms) / 2, abs=1e-5)
    d = res.details
    assert (d["n_pairs"], d["n_kept"], d["n_selected"], d["n_unparsable"]) == (4, 3, 2, 1)
    qa = d["qa_pairs"][0]
    assert qa["diff_per_token"] == pytest.approx([a - b for a, b in zip(qa["logprobs_source"], qa["logprobs_summary"])])
    assert d["tiny_model"] is True and "meaningless" in d["warning"]


def test_no_pair_is_missing_or_sentinel_in_strict_mode(tiny_models, monkeypatch):
    for strict in (False, True):
        m = metric(tiny_models, strict=strict)
        monkeypatch.setattr(type(m), "_generate", lambda self, s: [handmade(self, [("Who?<sep>Paris", -1.0, None)])])
        res = m.score([rec(0)])[0]
        if strict:
            assert res.scores["quals"] == SENTINEL and res.missing is None
        else:
            assert res.scores["quals"] is None and "filter" in res.missing and "filter" in res.details["reason"]


@pytest.mark.parametrize("kind", ["bart", "t5"])
@pytest.mark.parametrize("side", ["teacher-forced", "paper"])
def test_lmqg_target_is_lmqgs_training_labels(tiny_models, monkeypatch, kind, side):
    """lmqg trained on ``labels = tokenizer.encode(output)`` (``lmqg/language_model.py``, ALGORITHMS.md §2.6):
    with the BART-like tiny tokenizer (``<s>``=0, ``</s>``=2, decoder start ``</s>``) that is ``<s> question: …
    </s>``, with the T5-like one ``question: … </s>``. A generated sequence holding one pair (BART: starting
    with ``<s>``) is recognised as that target, so ``paper`` reuses its generation scores and makes no
    summary-side model call. Expected values: transformers' own forward with ``labels=`` those ids (the
    model shifts them right behind its decoder start token, as in lmqg's training loss)."""
    prefix = "generate question and answer: " if kind == "t5" else ""
    m = metric(tiny_models, format="lmqg", prefix=prefix, model=str(tiny_models[kind]), summary_side=side)
    tok = m.loaded.tokenizer
    output = "question: Who approved the budget?, answer: the council"
    labels = tok.encode(output)
    assert (labels[0] == tok.bos_token_id) == (kind == "bart") and labels[-1] == tok.eos_token_id
    gen_lps = [-0.25 * (i + 1) for i in range(len(labels))]  # the search's (penalised) scores, made up
    hyp = {"tokens": list(labels), "token_logprobs": gen_lps, "score": sum(gen_lps),
           "norm_score": sum(gen_lps) / len(labels), "group": 3, "model_logprobs": None}
    monkeypatch.setattr(type(m), "_generate", lambda self, s: [[hyp]])

    def mean(text):
        src = tok(prefix + text)["input_ids"]
        with torch.no_grad():
            return -m.loaded.model(input_ids=torch.tensor([src]), labels=torch.tensor([labels])).loss.item()

    res = m.score([rec(0)])[0]
    (qa,) = res.details["qa_pairs"]
    assert qa["tokens"] == tok.convert_ids_to_tokens(labels)
    assert qa["mean_source"] == pytest.approx(mean(SOURCE), abs=1e-5)
    calls = m.timer.as_dict().get("summary_scoring", {}).get("model_calls", 0)
    if side == "paper":  # the generation's scores of exactly these tokens, no model call
        assert qa["summary_side"] == "generation" and qa["logprobs_summary"] == gen_lps and calls == 0
        assert res.scores["quals"] == pytest.approx(mean(SOURCE) - sum(gen_lps) / len(labels), abs=1e-5)
    else:  # model_logprobs absent in this hand-built hypothesis: a teacher-forced pass of its own
        assert qa["summary_side"] == "teacher-forced" and calls > 0
        assert res.scores["quals"] == pytest.approx(mean(SOURCE) - mean(SUMMARY), abs=1e-5)


@pytest.mark.parametrize("kind", ["bart", "t5"])
def test_a_pairs_sort_score_is_its_own_tokens_total(tiny_models, kind):
    """ALGORITHMS.md §2.6 (first-pair mode; the original sorts by the pair's own ``unnorm_scores``): the sort
    score of a pair is the sum of the search's log-probs over its own tokens, from its first token to the
    ``" |"`` that closes it (or EOS), hand-computed from per-token log-probs chosen by part. The first
    chunk is not a valid pair (lmqg's ``format_qa``), so "first" takes the second."""
    m = metric(tiny_models, format="lmqg", model=str(tiny_models[kind]))
    tok = m.loaded.tokenizer

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    bos = [tok.bos_token_id] if kind == "bart" else []  # BART sequences start with <s>, as lmqg's labels
    one, sep = ids("junk"), ids(" |")
    two, three = ids(" question: Who approved it?, answer: the council"), ids(" question: When?, answer: Monday")
    tokens = bos + one + sep + two + sep + three + [tok.eos_token_id]
    lps = ([-0.5] * len(bos) + [-1.0] * len(one) + [-10.0] + [-100.0] * len(two) + [-1000.0]
           + [-1e4] * len(three) + [-1e5])
    hyp = {"tokens": tokens, "token_logprobs": lps, "score": sum(lps), "norm_score": sum(lps) / len(lps),
           "group": 0}
    pairs, bad = m._pairs([hyp])
    assert bad == 0 and [(p["question"], p["answer"]) for p in pairs] == [("Who approved it?", "the council")]
    assert pairs[0]["score"] == pytest.approx(-100.0 * len(two) - 1000.0)
    m_all = metric(tiny_models, format="lmqg", model=str(tiny_models[kind]), lmqg_pairs="all")
    pairs, _ = m_all._pairs([hyp])
    assert [p["score"] for p in pairs] == pytest.approx([-100.0 * len(two) - 1000.0, -1e4 * len(three) - 1e5])


def test_truncation_is_recorded(tiny_models, monkeypatch):
    m = metric(tiny_models, max_source_tokens=16)
    monkeypatch.setattr(type(m), "_generate", lambda self, s: [handmade(self, [("Who?<sep>Monday", -1.0, None)])])
    d = m.score([rec(0)])[0].details
    assert d["source_truncated"] is True and d["source_tokens"] > 16 and d["max_source_tokens"] == 16


# ------------------------------------------------------------------- end to end on the tiny model

# With 60 groups and up to 20 tokens the tiny model yields 0, 2 and 3 pairs for these (a missing case included).
SUMMARIES = ["The council approved the budget on Monday.", "The mayor said taxes would fall by ten percent.",
             "Forty new teachers will be hired, the mayor said."]


def test_end_to_end_batched_equals_one_at_a_time_and_is_deterministic(tiny_models):
    recs = [rec(i, s) for i, s in enumerate(SUMMARIES)]
    batched = metric(tiny_models, batch_size=3, num_pairs=60).score(recs)
    single = [metric(tiny_models, batch_size=1, num_pairs=60).score([r])[0] for r in recs]
    again = metric(tiny_models, batch_size=3, num_pairs=60).score(recs)
    assert [r.details["n_selected"] for r in batched] == [0, 2, 3]
    for a, b, c in zip(batched, single, again):
        assert (a.scores["quals"] is None) == (b.scores["quals"] is None)
        if a.scores["quals"] is not None:
            assert a.scores["quals"] == pytest.approx(b.scores["quals"], abs=1e-5)
        assert a.scores == c.scores and a.details == c.details  # same seed, same scores


def test_cache_hit_is_identical_and_makes_no_model_call(tiny_models, tmp_path):
    recs = [rec(i, s) for i, s in enumerate(SUMMARIES)]
    first = metric(tiny_models)
    first.cache = Cache(tmp_path / "cache.sqlite")
    r1 = first.score(recs)
    assert first.timer.as_dict()["generation"]["model_calls"] > 0
    second = metric(tiny_models)
    second.cache = Cache(tmp_path / "cache.sqlite")
    r2 = second.score(recs)
    assert [(r.scores, r.details, r.missing) for r in r1] == [(r.scores, r.details, r.missing) for r in r2]
    calls = sum(v.get("model_calls", 0) for v in second.timer.as_dict().values())
    assert calls == 0
    assert second.cache.stats()["misses"] == {"quals.generate": 0, "quals.score_source": 0, "quals.score_summary": 0}


@pytest.mark.parametrize("side", ["teacher-forced", "paper"])
def test_reference_execution_equals_factbench_and_makes_more_model_calls(tiny_models, side):
    """Same algorithm, one summary and one QA pair at a time: same scores and details (1e-5); every selected
    pair re-encodes the source (2 model calls: encoder + decoder) instead of one encoder pass per batch."""
    recs = [rec(i, s) for i, s in enumerate(SUMMARIES)]
    fast = metric(tiny_models, batch_size=3, num_pairs=60, summary_side=side)
    ref = metric(tiny_models, batch_size=3, num_pairs=60, summary_side=side, execution="reference")
    ref.cache = Cache(None)
    a, b = fast.score(recs), ref.score(recs)
    assert [r.details["n_selected"] for r in b] == [0, 2, 3]
    for x, y in zip(a, b):
        assert x.missing == y.missing and (x.scores["quals"] is None) == (y.scores["quals"] is None)
        if x.scores["quals"] is not None:
            assert y.scores["quals"] == pytest.approx(x.scores["quals"], abs=1e-5)
            for p, q in zip(x.details["qa_pairs"], y.details["qa_pairs"]):
                assert (p["question"], p["answer"], p["tokens"]) == (q["question"], q["answer"], q["tokens"])
                assert q["logprobs_source"] == pytest.approx(p["logprobs_source"], abs=1e-5)
                # teacher-forced side: factbench takes the search's own log-probs, the reference scores anew
                assert q["logprobs_summary"] == pytest.approx(p["logprobs_summary"], abs=1e-5)
                if side == "teacher-forced":
                    assert (p["summary_side"], q["summary_side"]) == ("teacher-forced (from generation)",
                                                                      "teacher-forced")
        assert {k: v for k, v in x.details.items() if k != "qa_pairs"} == \
            {k: v for k, v in y.details.items() if k != "qa_pairs"}
    n_sel = sum(r.details["n_selected"] for r in b)  # 5
    src_len = len(ref._encode(SOURCE).ids)
    ft, rt = fast.timer.as_dict(), ref.timer.as_dict()
    # factbench: the 2 sources with pairs go in one batch: one encoder + one decoder pass, each source once
    assert ft["source_scoring"]["model_calls"] == 2 and ft["source_scoring"]["tokens_in"] == 2 * src_len
    # reference: one full forward per selected pair, the source encoded each time
    assert rt["source_scoring"]["model_calls"] == 2 * n_sel
    assert rt["source_scoring"]["tokens_in"] == n_sel * src_len
    assert rt["source_scoring"]["tokens_out"] == ft["source_scoring"]["tokens_out"]  # same QA tokens scored
    assert rt["source_scoring"]["items"] == ft["source_scoring"]["items"] == 3
    if side == "teacher-forced":  # factbench: the generated pairs' log-probs come from the search itself
        assert rt["summary_scoring"]["model_calls"] == 2 * n_sel
        assert ft["summary_scoring"].get("model_calls", 0) == 0
    else:  # the tiny model's original format reuses the generation scores: nothing to score
        assert rt["summary_scoring"].get("model_calls", 0) == 0
    # one search per summary instead of one per batch: same decoded rows, more encoder passes and steps
    assert rt["generation"]["items"] == ft["generation"]["items"] == 3
    assert rt["generation"]["model_calls"] > ft["generation"]["model_calls"]


def test_reference_execution_is_not_in_the_signature_and_bypasses_the_cache(tiny_models, tmp_path):
    from factbench.errors import ConfigError

    assert metric(tiny_models).signature() == metric(tiny_models, execution="reference").signature()
    with pytest.raises(ConfigError, match="execution"):
        metric(tiny_models, execution="fast")
    recs = [rec(i, s) for i, s in enumerate(SUMMARIES[1:])]
    for _ in range(2):
        m = metric(tiny_models, execution="reference")
        m.cache = Cache(tmp_path / "cache.sqlite")
        m.score(recs)
        assert m.timer.as_dict()["generation"]["model_calls"] > 0  # the second run computes again
    assert m.cache.stats() == {"hits": {}, "misses": {}, "corrupt": {}}  # never consulted


def test_signature_flags_the_tiny_model_and_pins_settings(tiny_models):
    sig = metric(tiny_models).signature()
    assert "TINY-MODEL-MEANINGLESS" in sig and "num_pairs:12" in sig and "fp:sha256:" in sig
    assert "diversity_strength:0.5" in sig and "summary_side:teacher-forced" in sig


def test_bad_settings_are_config_errors(tiny_models):
    from factbench.errors import ConfigError

    with pytest.raises(ConfigError, match="summary_side"):
        metric(tiny_models, summary_side="both")
    with pytest.raises(ConfigError, match="format"):
        metric(tiny_models, format="qagen")


def test_benchmark_script_runs_and_both_executions_agree(capsys):
    """benchmarks/bench_quals.py on the tiny model: factbench's runtime and the one-pair-at-a-time execution
    compute the same QUALS scores (the base-size figures are in the closing report, not a test)."""
    import importlib.util

    from factbench.metrics import quals as quals_mod

    parser = quals_mod.parse_original
    path = __import__("pathlib").Path(__file__).resolve().parents[2] / "benchmarks" / "bench_quals.py"
    spec = importlib.util.spec_from_file_location("bench_quals", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    (res,) = bench.main(["--sizes", "tiny", "--n", "2"])
    assert quals_mod.parse_original is parser  # the workload patch is undone
    assert res["same_missing"] and res["scored"] == 2 and res["max_abs_score_diff"] < 1e-5
    assert res["selected_pairs_per_summary"] == [10, 10]
    assert "| tiny" in capsys.readouterr().out
