"""Tests written for mutants of factbench/metrics/quals.py that survived the mutation run of
2026-12-01 (docs/mutation.md). Expected values are hand-computed from ALGORITHMS.md's formulas or read from the
settings given; where a test compares factbench with itself it says so."""

import pytest

from factbench.metrics.quals import quals_formula


def test_quals_formula_averages_over_pairs_of_different_lengths():
    """§2.5 by hand: pair 1 mean(-1, -3) - mean(-1) = -1; pair 2 mean(-2) - mean(-1, -1) = -1; (1/2)(-2) = -1."""
    assert quals_formula([[-1.0, -3.0], [-2.0]], [[-1.0], [-1.0, -1.0]]) == pytest.approx(-1.0)
    # three pairs: (0.5 + 0 - 2) / 3
    assert quals_formula([[-0.5], [-1.0], [-3.0]], [[-1.0], [-1.0], [-1.0]]) == pytest.approx(-0.5)


# --- quals

import shutil  # noqa: E402

import torch  # noqa: E402

from factbench.cache import Cache  # noqa: E402
from factbench.errors import ConfigError  # noqa: E402
from factbench.metrics import create  # noqa: E402
from factbench.metrics.quals import SENTINEL, Quals, lmqg_chunk_of_tokens  # noqa: E402
from factbench.records import Record  # noqa: E402

Q_SOURCE = ("A city council approved a new budget on Monday after a long debate about schools and roads. "
            "The mayor said the plan would raise taxes by two percent and hire forty new teachers.")
Q_SUMMARY = "The council approved the budget on Monday."
NO_PAIR = "no generated QA pair passed the filter (answer must be a substring of the summary)"


def q_rec(i, summary=Q_SUMMARY, source=Q_SOURCE):
    return Record("t", "test", f"e{i}", "d", "sys", source, summary)


def q_metric(tiny_models, **settings):
    base = {"model": str(tiny_models["bart"]), "device": "cpu", "num_pairs": 12, "max_tokens": 20}
    base.update(settings)
    return create("quals", base, profile="tiny")


def q_hyps(m, texts_scores, model_logprobs=False):
    """Generation output as the search returns it (Hyp.to_json), built by hand: ``text`` + EOS, each token
    given ``score / n`` (``model_logprobs``: the same list as the model's own log-probs)."""
    tok = m.loaded.tokenizer
    out = []
    for text, score in texts_scores:
        ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        lps = [score / len(ids)] * len(ids)
        out.append({"tokens": ids, "token_logprobs": lps, "score": score, "norm_score": score / len(ids),
                    "group": len(out), "text": text, "model_logprobs": list(lps) if model_logprobs else None})
    return out


# __init__: the settings' checks and their messages; the card the caller gives


def test_quals_setting_errors_name_the_allowed_values_exactly(tiny_models):
    """The messages as written in Quals.__init__ (the allowed values joined by ", ")."""
    cases = [
        ({"format": "qagen"}, "quals: format must be one of original, lmqg, not 'qagen'"),
        ({"summary_side": "both"}, "quals: summary_side must be one of paper, teacher-forced, not 'both'"),
        ({"execution": "fast"}, "quals: execution must be one of factbench, reference, not 'fast'"),
        ({"diversity_counts": "all"},
         "quals: diversity_counts must be 'candidates' (fairseq) or 'chosen' (transformers)"),
        ({"lmqg_pairs": "some"}, "quals: lmqg_pairs must be 'first' or 'all'"),
        ({"num_pairs": 0}, "quals: num_pairs must be at least 1, not 0"),
        ({"max_qas": 0}, "quals: max_qas must be at least 1, not 0"),
        ({"max_tokens": -1}, "quals: max_tokens must be at least 1, not -1"),
    ]
    import re

    for bad, message in cases:
        with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
            q_metric(tiny_models, **bad)


def test_quals_accepts_both_documented_diversity_counts(tiny_models):
    """metrics/quals.md: diversity_counts is "candidates" (fairseq) or "chosen" (transformers); both are valid."""
    for value in ("candidates", "chosen"):
        assert q_metric(tiny_models, diversity_counts=value).settings["diversity_counts"] == value


def test_quals_uses_the_card_it_is_given():
    """A caller's card (here the shipped card with max_qas 7 instead of 10) provides the defaults."""
    import dataclasses

    from factbench.cards import load_card

    shipped = load_card("quals")
    card = dataclasses.replace(shipped, defaults={**shipped.defaults, "max_qas": 7})
    m = Quals({"model": "tiny:bart"}, card=card)
    assert m.card is card and m.settings["max_qas"] == 7
    assert Quals({"model": "tiny:bart"}).settings["max_qas"] == 10  # the shipped default, for contrast


# model-level helpers: source length, fingerprint, signature


def test_max_source_tokens_zero_means_the_model_maximum_and_positive_values_are_kept(tiny_models):
    """metrics/quals.md: ``max_source_tokens = 0`` is the model maximum (the tiny BART's config says
    max_position_embeddings = 1024); 1 is a valid explicit limit, kept as given."""
    m = q_metric(tiny_models, max_source_tokens=0)
    assert m.loaded.model.config.max_position_embeddings == 1024
    assert m._max_source() == 1024
    assert q_metric(tiny_models, max_source_tokens=1)._max_source() == 1
    assert q_metric(tiny_models, max_source_tokens=16)._max_source() == 16


def test_max_source_of_a_model_without_position_table_is_the_tokenizers_limit(tiny_models):
    """T5 has no max_position_embeddings: the limit is the tokenizer's model_max_length (set here to 300,
    so that it differs from the 512 fallback of model_max_source)."""
    m = q_metric(tiny_models, model=str(tiny_models["t5"]), format="lmqg")
    assert getattr(m.loaded.model.config, "max_position_embeddings", None) is None
    m.loaded.tokenizer.model_max_length = 300
    assert m._max_source() == 300


def test_fingerprint_resolves_the_model_at_the_configured_revision(tiny_models, monkeypatch):
    """The ``revision`` setting reaches the model resolution (a hub model's fingerprint names its commit);
    an empty revision means none. resolve is replaced by a recorder: no hub access."""
    from factbench.models import loading

    calls = []

    def fake_resolve(name, revision=None):
        calls.append((name, revision))
        return None, f"hub:{name}@{revision}"

    monkeypatch.setattr(loading, "resolve", fake_resolve)
    m = Quals({"model": "org/qag-model", "revision": "abc123"}, profile="tiny")
    assert m.fingerprint() == "hub:org/qag-model@abc123"
    assert Quals({"model": "org/qag-model", "revision": ""}, profile="tiny").fingerprint() == "hub:org/qag-model@None"
    assert calls == [("org/qag-model", "abc123"), ("org/qag-model", None)]


def test_signature_flags_only_tiny_models_at_its_end(tiny_models, monkeypatch):
    """A tiny model's signature ends with the exact flag "|TINY-MODEL-MEANINGLESS"; a hub model's ends with its
    fingerprint and carries no flag (its fingerprint is given by hand, no hub access)."""
    tiny = q_metric(tiny_models)
    fp = tiny.fingerprint()
    assert tiny.signature().endswith(f"|fp:{fp}|TINY-MODEL-MEANINGLESS")
    real = Quals({"model": "org/qag-model"}, profile="tiny")
    assert real.is_tiny is False
    monkeypatch.setattr(real, "fingerprint", lambda: "hub:org/qag-model@c0ffee")
    sig = real.signature()
    assert sig.endswith("|fp:hub:org/qag-model@c0ffee") and "TINY" not in sig


# generation: the settings reach the search; stage names; batching order


def test_generation_follows_the_search_settings(tiny_models):
    """Hand-derived from the search's rules (fairseq DiverseBeamSearch, groups of beam size 1):
    num_pairs 4 -> 4 hypotheses; min_tokens = max_tokens = 2 -> EOS banned at steps 0-1 and forced at step 2,
    so every hypothesis is 2 tokens + EOS; norm_score = score / 3 ** length_penalty (2.0 here); a diversity
    strength of 100 per earlier group's candidate outweighs any log-prob gap of the tiny model, so each group
    starts with a token no earlier group proposed (with the default 0.5 all four follow the same greedy path).
    Cost: the first step runs once for the summary (its rows shared by the groups), then 4 rows for 2 steps:
    tokens_out = 1 + 4 * 2; model calls = 1 encoder pass + 3 steps; all under the stage "generation"."""
    m = q_metric(tiny_models, num_pairs=4, min_tokens=2, max_tokens=2, length_penalty=2.0, diversity_strength=100.0)
    (hyps,) = m._generate([Q_SUMMARY])
    eos = m.loaded.tokenizer.eos_token_id
    assert len(hyps) == 4
    for h in hyps:
        assert len(h["tokens"]) == 3 and h["tokens"][-1] == eos
        assert h["norm_score"] == pytest.approx(h["score"] / 3 ** 2.0, rel=1e-6)
    assert len({h["tokens"][0] for h in hyps}) == 4
    t = m.timer.as_dict()
    assert set(t) == {"generation"}
    assert t["generation"]["entered"] == 1 and t["generation"]["items"] == 1
    assert t["generation"]["tokens_out"] == 1 + 4 * 2 and t["generation"]["model_calls"] == 1 + 3


def test_plain_generation_runs_the_first_step_for_every_group(tiny_models):
    """The reference execution's ``_generate(..., plain=True)`` runs the stock forward for all 4 groups at
    every step, the first included: tokens_out = 4 rows x 3 steps (min = max = 2 tokens, then EOS)."""
    m = q_metric(tiny_models, num_pairs=4, min_tokens=2, max_tokens=2)
    m._generate([Q_SUMMARY], plain=True)
    assert m.timer.as_dict()["generation"]["tokens_out"] == 4 * 3


def test_diversity_counts_chosen_penalises_only_the_chosen_token(tiny_models):
    """transformers-style counting ("chosen"): group 1 is penalised only on the token group 0 continued with,
    so with a strength of 100 it starts with the second-best first token; fairseq's "candidates" count both of
    group 0's top-2 tokens, so it cannot. The best and second-best first tokens come from one plain
    transformers forward (pad and EOS banned at step 0, as the search bans them)."""
    m = q_metric(tiny_models, num_pairs=4, min_tokens=2, max_tokens=6, diversity_strength=100.0,
                 diversity_counts="chosen")
    lm = m.loaded
    src = m._encode(Q_SUMMARY).ids
    cfg = lm.model.config
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([src]),
                          decoder_input_ids=torch.tensor([[cfg.decoder_start_token_id]])).logits[0, -1]
    logits[[cfg.pad_token_id, cfg.eos_token_id]] = -float("inf")
    best, second = torch.topk(logits, 2).indices.tolist()
    (hyps,) = m._generate([Q_SUMMARY])
    first = {h["group"]: h["tokens"][0] for h in hyps}
    assert first[0] == best and first[1] == second


def test_generation_batches_the_longest_summaries_first(tiny_models, monkeypatch):
    """factbench.models.batching: distinct items, longest first (an out-of-memory shows on the first batch).
    With batch_size 1 the search sees the long summary first, though "Zoe won." sorts after it as text."""
    from factbench.models import generation

    real, seen = generation.diverse_beam_search, []

    def recording(model, tokenizer, ids, **kw):
        seen.append([len(i) for i in ids])
        return real(model, tokenizer, ids, **kw)

    monkeypatch.setattr(generation, "diverse_beam_search", recording)
    m = q_metric(tiny_models, num_pairs=2, min_tokens=1, max_tokens=2, batch_size=1)
    long = "A long summary: the council approved the budget on Monday after a debate about roads."
    out = m._generate(["Zoe won.", long])
    assert len(out) == 2
    assert len(seen) == 2 and seen[0][0] > seen[1][0]
    assert seen[0][0] == len(m._encode(long).ids)


# pairs: counting, lmqg ownership of tokens, fallback, targets that are not the generated sequence


def test_unparsable_hypotheses_are_all_counted(tiny_models, monkeypatch):
    """Two hypotheses without the separator: n_unparsable 2 (hand count); one valid pair."""
    m = q_metric(tiny_models)
    hyps = q_hyps(m, [("Who?<sep>the council", -2.0), ("no separator", -1.0), ("none here either", -1.5)])
    pairs, bad = m._pairs(hyps)
    assert bad == 2 and len(pairs) == 1


def test_lmqg_chunk_of_tokens_ignores_separators_inside_special_tokens(tiny_models):
    """A special token holds no text (skip_special_tokens drops it when decoding), even one whose text holds a
    "|" (such as "<|x|>"). Hand-derived: "a" <|x|> " |" " b" </s> -> chunks 0 0 0 1 1 (the " |" closes chunk 0)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_models["bart"]))
    tok.add_special_tokens({"additional_special_tokens": ["<|x|>"]})
    sp = tok.convert_tokens_to_ids("<|x|>")

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    a, sep, b = ids("a"), ids(" |"), ids(" b")
    assert len(a) == len(sep) == len(b) == 1
    assert lmqg_chunk_of_tokens(tok, a + [sp] + sep + b + [tok.eos_token_id]) == [0, 0, 0, 1, 1]


def test_lmqg_sequence_of_eos_alone_is_one_unparsable_hypothesis(tiny_models):
    """A generated sequence of EOS alone decodes to "": no pair, counted once as unparsable."""
    m = q_metric(tiny_models, format="lmqg")
    eos = m.loaded.tokenizer.eos_token_id
    hyp = {"tokens": [eos], "token_logprobs": [-0.5], "score": -0.5, "norm_score": -0.5, "group": 0}
    assert m._pairs([hyp]) == ([], 1)


def test_lmqg_pair_scores_when_the_sequence_ends_with_a_separator(tiny_models):
    """lmqg_pairs "all", tokens: pair-1 " |" pair-2 " |" EOS: the final chunk is empty (no pair); each pair's sort
    score is its own tokens' total, hand-computed from the log-probs chosen by part (§2.6)."""
    m = q_metric(tiny_models, format="lmqg", lmqg_pairs="all")
    tok = m.loaded.tokenizer

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    one, two, sep = ids("question: Who?, answer: the council"), ids(" question: When?, answer: Monday"), ids(" |")
    tokens = one + sep + two + sep + [tok.eos_token_id]
    lps = [-1.0] * len(one) + [-10.0] + [-100.0] * len(two) + [-1000.0] + [-1e4]
    hyp = {"tokens": tokens, "token_logprobs": lps, "score": sum(lps), "norm_score": sum(lps) / len(lps), "group": 0}
    pairs, bad = m._pairs([hyp])
    assert bad == 0
    assert [(p["question"], p["answer"]) for p in pairs] == [("Who?", "the council"), ("When?", "Monday")]
    assert [p["score"] for p in pairs] == pytest.approx([-1.0 * len(one) - 10.0, -100.0 * len(two) - 1000.0])


def test_lmqg_pairs_take_the_sequence_total_when_tokens_and_text_disagree(tiny_models, monkeypatch):
    """The documented fallback of _lmqg_pairs: when the token ownership does not end in the decoded text's last
    chunk (simulated by an ownership that puts every token in chunk 0), each pair's sort score is the
    sequence's total score (here -7.5, given by hand)."""
    from factbench.metrics import quals as quals_mod

    m = q_metric(tiny_models, format="lmqg", lmqg_pairs="all")
    tok = m.loaded.tokenizer
    tokens = tok("question: Who?, answer: the council | question: When?, answer: Monday",
                 add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    hyp = {"tokens": tokens, "token_logprobs": [-0.5] * len(tokens), "score": -7.5, "norm_score": -0.1, "group": 0}
    monkeypatch.setattr(quals_mod, "lmqg_chunk_of_tokens", lambda tok, tokens: [0] * len(tokens))
    pairs, bad = m._pairs([hyp])
    assert bad == 0 and [p["score"] for p in pairs] == [-7.5, -7.5]


@pytest.mark.parametrize("side", ["paper", "teacher-forced"])
def test_a_re_encoded_lmqg_target_is_scored_anew_on_the_summary_side(tiny_models, monkeypatch, side):
    """lmqg first-pair mode on a sequence holding two pairs: the scored target (lmqg's labels of the first pair)
    is not the generated sequence, so neither the search's scores nor its model log-probs belong to it: the
    summary side is a teacher-forced pass over exactly the target's tokens (one log-prob per token)."""
    m = q_metric(tiny_models, format="lmqg", summary_side=side)
    tok = m.loaded.tokenizer
    tokens = tok("question: Who approved it?, answer: the council | question: When?, answer: Monday",
                 add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    lps = [-0.5] * len(tokens)
    hyp = {"tokens": tokens, "token_logprobs": lps, "score": sum(lps), "norm_score": -0.5, "group": 0,
           "model_logprobs": list(lps)}
    monkeypatch.setattr(type(m), "_generate", lambda self, summaries: [[hyp] for _ in summaries])
    (qa,) = m.score([q_rec(0)])[0].details["qa_pairs"]
    assert qa["answer"] == "the council" and qa["summary_side"] == "teacher-forced"
    assert len(qa["logprobs_summary"]) == len(qa["tokens"]) == len(tok("question: Who approved it?, answer: "
                                                                         "the council")["input_ids"])


# result details


def test_result_details_of_a_hand_built_case(tiny_models, monkeypatch):
    """Details by hand: n_generated is the num_pairs setting (7); n_usable = n_selected (2); summary_side as set;
    gen_score is the hypothesis' total (-3, -4, given); mean_summary the mean of the per-token summary
    log-probs; diff = mean_source - mean_summary; QUALS the mean of the diffs (§2.5)."""
    m = q_metric(tiny_models, num_pairs=7, max_qas=2, summary_side="teacher-forced")
    hyps = q_hyps(m, [("Who approved it?<sep>The Council", -3.0), ("When was it approved?<sep>Monday", -4.0),
                      ("no separator", -0.5), ("What was raised?<sep>taxes", -1.0)])
    monkeypatch.setattr(type(m), "_generate", lambda self, summaries: [hyps for _ in summaries])
    res = m.score([q_rec(0)])[0]
    d = res.details
    assert d["n_generated"] == 7 and d["n_selected"] == 2 and d["n_usable"] == 2 and d["n_unparsable"] == 1
    assert d["summary_side"] == "teacher-forced"
    assert [(p["question"], p["gen_score"]) for p in d["qa_pairs"]] == [("Who approved it?", -3.0),
                                                                         ("When was it approved?", -4.0)]
    diffs = []
    for p in d["qa_pairs"]:
        m_src = sum(p["logprobs_source"]) / len(p["logprobs_source"])
        m_sum = sum(p["logprobs_summary"]) / len(p["logprobs_summary"])
        assert p["mean_source"] == pytest.approx(m_src) and p["mean_summary"] == pytest.approx(m_sum)
        assert p["diff"] == pytest.approx(m_src - m_sum)
        assert abs(m_sum) > 1e-3  # so that m_src + m_sum would differ
        diffs.append(m_src - m_sum)
    assert res.scores["quals"] == pytest.approx(sum(diffs) / 2)


def test_no_pair_reason_and_strict_sentinel_details(tiny_models, monkeypatch):
    """No pair passes the filter ("Paris" is not in the summary): the reason as written in Quals._result; in
    strict mode the score is the original's sentinel -1e5, marked ``sentinel: True`` in the details."""
    for strict in (False, True):
        m = q_metric(tiny_models, strict=strict)
        monkeypatch.setattr(type(m), "_generate", lambda self, s: [q_hyps(self, [("Who?<sep>Paris", -1.0)])])
        res = m.score([q_rec(0)])[0]
        assert res.details["reason"] == NO_PAIR and res.details["n_selected"] == 0
        if strict:
            assert res.scores == {"quals": SENTINEL} and res.missing is None and res.details["sentinel"] is True
        else:
            assert res.scores == {"quals": None} and res.missing == NO_PAIR and "sentinel" not in res.details


# scoring: batching, stage names, special ids, cache keys


def test_scoring_batches_sources_longest_first_one_per_batch(tiny_models, monkeypatch):
    """batch_size 1: each source is scored in a batch of its own (2 model calls each: encoder and decoder pass),
    the longest source first, although its text sorts first and its job (fewer targets) is the shorter key.
    Both scoring stages are timed under their names."""
    from factbench.models import scoring

    real, seen = scoring.score_batch, []

    def recording(model, tokenizer, jobs, **kw):
        seen.append([len(src) for src, _ in jobs])
        return real(model, tokenizer, jobs, **kw)

    monkeypatch.setattr(scoring, "score_batch", recording)
    m = q_metric(tiny_models, batch_size=1, max_qas=10)
    short_source = "Zoe said the council approved the long budget on Monday."
    long_q = "Which long and detailed municipal spending plan did the elected council approve"
    many = [(f"{long_q} number {i}?<sep>the budget", -1.0 - i) for i in range(4)]
    by_summary = {"A Monday vote.": [("When?<sep>Monday", -1.0)], Q_SUMMARY: many}
    monkeypatch.setattr(type(m), "_generate",
                        lambda self, summaries: [q_hyps(self, by_summary[s]) for s in summaries])
    recs = [q_rec(0, summary="A Monday vote.", source=Q_SOURCE), q_rec(1, summary=Q_SUMMARY, source=short_source)]
    res = m.score(recs)
    assert [r.details["n_selected"] for r in res] == [1, 4]
    n_long, n_short = len(m._encode(Q_SOURCE).ids), len(m._encode(short_source).ids)
    assert n_long > n_short
    assert seen[:2] == [[n_long], [n_short]]  # source scoring: longest first, one per batch
    t = m.timer.as_dict()
    assert t["source_scoring"]["model_calls"] == 4 and t["source_scoring"]["entered"] == 1
    assert t["summary_scoring"]["entered"] == 1
    assert set(t) == {"source_scoring", "summary_scoring"}


def test_scoring_takes_pad_from_the_tokenizer_when_the_config_has_none(tiny_models, monkeypatch):
    """special_ids: a model config without pad_token_id falls back to the tokenizer's pad id (1 for the tiny
    BART, the same id the config held), so the scores are unchanged (consistency with the same metric before
    the change)."""
    m = q_metric(tiny_models)
    monkeypatch.setattr(type(m), "_generate", lambda self, s: [q_hyps(self, [("Who?<sep>the council", -1.0)])])
    before = m.score([q_rec(0)])[0].scores["quals"]
    assert m.loaded.tokenizer.pad_token_id == m.loaded.model.config.pad_token_id == 1
    m.loaded.model.config.pad_token_id = None
    m.cache = Cache(None)
    after = m.score([q_rec(1)])[0].scores["quals"]
    assert before is not None and after == pytest.approx(before, abs=1e-6)


def test_cache_entries_are_keyed_by_model_fingerprint(tiny_models, tmp_path):
    """A model directory with other content (a copy of the tiny BART whose config.json has one more key, so
    another fingerprint) computes every stage anew: nothing cached under the first model is reused."""
    other = tmp_path / "bart-copy"
    shutil.copytree(tiny_models["bart"], other)
    cfg = other / "config.json"
    cfg.write_text(cfg.read_text().replace("{", '{"factbench_test_note": 1, ', 1))
    recs = [q_rec(0), q_rec(1, summary="The mayor said taxes would rise by two percent.",
                            source="The mayor said the plan would raise taxes by two percent.")]
    first = q_metric(tiny_models, num_pairs=4, max_tokens=8)
    first.cache = Cache(tmp_path / "cache.sqlite")
    first.score(recs)
    second = q_metric(tiny_models, model=str(other), num_pairs=4, max_tokens=8)
    assert second.fingerprint() != first.fingerprint()
    second.cache = Cache(tmp_path / "cache.sqlite")
    second.score(recs)
    assert second.cache.stats()["misses"] == {"quals.generate": 2, "quals.score_source": 2, "quals.score_summary": 2}


def test_cache_entries_are_keyed_by_the_stage_settings(tiny_models, tmp_path):
    """Another num_pairs is another generation; another max_source_tokens another source encoding (16 tokens
    truncate the source): with one cache file the second metric computes every stage anew, and its details
    show its own truncation."""
    recs = [q_rec(0)]
    first = q_metric(tiny_models, num_pairs=4, max_tokens=8)
    first.cache = Cache(tmp_path / "cache.sqlite")
    (a,) = first.score(recs)
    second = q_metric(tiny_models, num_pairs=4, max_tokens=8, max_source_tokens=16)
    second.cache = Cache(tmp_path / "cache.sqlite")
    (b,) = second.score(recs)
    assert a.details["source_truncated"] is False and b.details["source_truncated"] is True
    assert second.cache.stats()["misses"] == {"quals.generate": 1, "quals.score_source": 1, "quals.score_summary": 1}
    third = q_metric(tiny_models, num_pairs=5, max_tokens=8)
    third.cache = Cache(tmp_path / "cache.sqlite")
    third.score(recs)
    assert third.cache.stats()["misses"]["quals.generate"] == 1


# selection (ALGORITHMS.md §2.3)


def test_selection_stops_after_the_round_that_reaches_the_default_ten():
    """max_qas defaults to 10 (filter_qas_dataset_lm_score's max_qas): 5 answers with 3 questions each; rounds of
    5 pairs; after round 2 there are 10, so round 3 does not run (hand count)."""
    from factbench.metrics.quals import filter_and_select

    words = ["council", "budget", "monday", "approved", "the"]
    pairs = [{"question": f"q{j}", "answer": w, "score": -float(i * 3 + j)}
             for i, w in enumerate(words) for j in range(3)]
    got = filter_and_select(pairs, Q_SUMMARY)
    assert len(got) == 10 and {p["question"] for p in got} == {"q0", "q1"}


def test_selection_groups_answers_by_python_lower_case():
    """The original groups by ``answer.lower()``: "Straße" and "Strasse" lower-case differently ("straße",
    "strasse"), so they are two groups and both pairs "Wo?" are taken in round 1 (grouping by upper case would
    merge them as "STRASSE" and discard the second "Wo?" as a repeat)."""
    from factbench.metrics.quals import filter_and_select

    pairs = [{"question": "Wo?", "answer": "Straße", "score": -1.0},
             {"question": "Wo?", "answer": "Strasse", "score": -2.0}]
    got = filter_and_select(pairs, "Die Straße heißt Strasse.")
    assert [p["answer"] for p in got] == ["Straße", "Strasse"]
