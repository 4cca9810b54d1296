"""Tests written for mutants of factbench/models/scoring.py that survived the mutation run (docs/mutation.md):
the input plumbing of teacher-forced scoring, ``model_max_source``, ``special_ids``, ``encode_source``,
``encode_target``, ``encode_labels``, ``_pad``, ``_rows_per_source``, ``score_batch`` and ``score_targets``.

Where expected values come from:

- ``model_max_source`` and ``special_ids``: their documented rules (config first, then the tokenizer, then the
  fallbacks), applied by hand to small stand-in configs/tokenizers, and the tiny models' configs written in
  factbench/models/tiny.py (BART pad 1 / eos 2 / start 2 / 1024 positions, T5 pad 0 / eos 1 / start 0 and a
  tokenizer ``model_max_length`` of 512);
- token ids: the tokenizer's own encoding (its special-token template; ``truncation=True, max_length=N``, which
  is lmqg's encoding), or, where the tokenizer does not append EOS, the documented rule "first ``N - 1``
  tokens, then EOS";
- scores: transformers' own forward pass with ``labels`` on the tiny models, per-token log-likelihood =
  ``-cross_entropy(logits, labels)`` (the model shifts the labels right behind its decoder start token itself);
- ``_pad``: right padding as ``tokenizer.pad(..., return_tensors="pt")`` does it (int64 ids and mask), written
  out by hand.
"""

from types import SimpleNamespace

import pytest
import torch

from factbench.models.loading import load_model
from factbench.models.scoring import (
    _pad,
    _rows_per_source,
    encode_labels,
    encode_source,
    encode_target,
    model_max_source,
    score_batch,
    score_targets,
    special_ids,
)
from factbench.timing import StageTimer

SOURCE = "The city council approved a new budget on Monday after a long debate about schools and roads."
LONG = " ".join([SOURCE] * 6)
PREFIX = "generate question and answer: "
TEXTS = ["Who approved the budget?", "When was the budget approved? Monday", "What was debated? schools and roads"]


def _model(**config):
    return SimpleNamespace(config=SimpleNamespace(**config))


# --------------------------------------------------------------------------------------------- pure rules


def test_model_max_source_rules():
    """Position table first, else the tokenizer's ``model_max_length`` when below 1,000,000, else 512."""
    tok = SimpleNamespace(model_max_length=100)
    # BART-like: the config's position table wins over the tokenizer
    assert model_max_source(_model(max_position_embeddings=64), tok) == 64
    # T5-like (no position table): the tokenizer's length, whatever it is (not the 512 fallback)
    assert model_max_source(_model(), SimpleNamespace(model_max_length=300)) == 300
    assert model_max_source(_model(max_position_embeddings=None), SimpleNamespace(model_max_length=300)) == 300
    # transformers' "unset" model_max_length is VERY_LARGE_INTEGER = int(1e30): fallback 512
    assert model_max_source(_model(), SimpleNamespace(model_max_length=int(1e30))) == 512
    # the bound is strict: 1,000,000 itself counts as unset
    assert model_max_source(_model(), SimpleNamespace(model_max_length=1_000_000)) == 512
    assert model_max_source(_model(), SimpleNamespace(model_max_length=999_999)) == 999_999
    # no model_max_length at all
    assert model_max_source(_model(), SimpleNamespace()) == 512


def test_special_ids_rules():
    """(pad, eos, start): each from the config when set, else from the tokenizer; a list of EOS ids gives its
    first; no decoder start: pad, else eos."""
    tok = SimpleNamespace(pad_token_id=1, eos_token_id=2)
    assert special_ids(_model(pad_token_id=7, eos_token_id=8, decoder_start_token_id=9), tok) == (7, 8, 9)
    assert special_ids(_model(pad_token_id=None, eos_token_id=None, decoder_start_token_id=None), tok) == (1, 2, 1)
    no_pad = SimpleNamespace(pad_token_id=None, eos_token_id=2)
    assert special_ids(_model(pad_token_id=None, eos_token_id=[5, 6], decoder_start_token_id=None), no_pad) == (
        None, 5, 5)


def test_pad_right_pads_as_the_tokenizer_does():
    """Rows padded on the right with ``pad``, mask 1 on tokens and 0 on padding, both int64 as
    ``tokenizer.pad(..., return_tensors="pt")`` returns them; and on the requested device."""
    ids, mask = _pad([[5, 6, 7], [8], [9, 10]], 1, "cpu")
    assert ids.dtype == torch.long and mask.dtype == torch.long
    assert ids.tolist() == [[5, 6, 7], [8, 1, 1], [9, 10, 1]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    ids, mask = _pad([[5, 6], [8]], 0, "meta")  # the device argument reaches both tensors
    assert ids.device.type == "meta" and mask.device.type == "meta"
    assert ids.shape == mask.shape == (2, 2)


def test_rows_per_source():
    """g for consecutive runs of g rows; 1 for uneven runs and for no rows at all (no groups to share)."""
    assert _rows_per_source(torch.tensor([0, 0, 0, 1, 1, 1])) == 3
    assert _rows_per_source(torch.tensor([0, 0, 1])) == 1
    assert _rows_per_source(torch.tensor([], dtype=torch.long)) == 1


# --------------------------------------------------------------------------------------------- tokenizers


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    from factbench.models.tiny import build

    root = tmp_path_factory.mktemp("scoring_inputs")
    return {kind: build(kind, root / kind) for kind in ("bart", "t5")}


@pytest.fixture(scope="module")
def toks(tiny_dirs):
    from transformers import AutoTokenizer

    return {kind: AutoTokenizer.from_pretrained(d) for kind, d in tiny_dirs.items()}


def test_model_max_source_of_the_tiny_models(tiny_dirs, toks):
    """tiny.py: BART has a 1024-position table; T5 has none and its tokenizer says 512."""
    from transformers import AutoTokenizer

    bart = load_model(str(tiny_dirs["bart"]), "seq2seq", device="cpu")
    t5 = load_model(str(tiny_dirs["t5"]), "seq2seq", device="cpu")
    assert model_max_source(bart.model, bart.tokenizer) == 1024
    assert model_max_source(t5.model, t5.tokenizer) == 512
    short = AutoTokenizer.from_pretrained(tiny_dirs["t5"], model_max_length=300)
    assert model_max_source(t5.model, short) == 300
    assert special_ids(bart.model, bart.tokenizer) == (1, 2, 2)
    assert special_ids(t5.model, t5.tokenizer) == (0, 1, 0)


def test_encode_labels_and_target_use_the_tokenizers_special_tokens(toks):
    """Labels: ``tokenizer.encode(text)`` (lmqg), i.e. BART ``<s>``(0) … ``</s>``(2), T5 … ``</s>``(1) around
    the plain pieces. Targets: the plain pieces + EOS, no BOS."""
    for text in TEXTS:
        bart = toks["bart"](text, add_special_tokens=False)["input_ids"]
        t5 = toks["t5"](text, add_special_tokens=False)["input_ids"]
        assert encode_labels(toks["bart"], text) == [0] + bart + [2] == toks["bart"].encode(text)
        assert encode_labels(toks["t5"], text) == t5 + [1] == toks["t5"].encode(text)
        assert encode_target(toks["bart"], text) == bart + [2] == toks["bart"](text)["input_ids"][1:]
        assert encode_target(toks["t5"], text) == t5 + [1] == toks["t5"](text)["input_ids"]


def test_encode_source_truncation_ends_like_the_tokenizer_without_eos(tmp_path):
    """A tokenizer without EOS (BERT's WordPiece, ``[CLS] … [SEP]``): the cut keeps the last special token, as
    the tokenizer's own ``truncation=True, max_length=N`` does."""
    from transformers import AutoTokenizer

    from factbench.models.tiny import build

    tok = AutoTokenizer.from_pretrained(build("qa", tmp_path / "qa"))
    assert tok.eos_token_id is None
    want = tok(LONG, truncation=True, max_length=16)["input_ids"]
    assert len(want) == 16 and want[-1] == tok.sep_token_id
    got = encode_source(tok, LONG, max_tokens=16)
    assert got.ids == want and got.truncated and got.n_tokens == len(tok(LONG)["input_ids"])


def test_encode_source_truncation_ends_with_eos_when_the_tokenizer_does_not_append_it(tiny_dirs):
    """A tokenizer with an EOS token that its template does not append (GPT-2 style): the documented rule, the
    first ``N - 1`` tokens and then EOS (not the text's last token)."""
    from tokenizers import Tokenizer, processors
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer.from_file(str(tiny_dirs["bart"] / "tokenizer.json"))
    raw.post_processor = processors.TemplateProcessing(single="$A", special_tokens=[])
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    pieces = tok(LONG)["input_ids"]
    assert tok.eos_token_id == 2 and pieces[-1] != 2 and 2 not in pieces
    got = encode_source(tok, LONG, max_tokens=16)
    assert got.ids == pieces[:15] + [2] and got.truncated and got.n_tokens == len(pieces)


def test_encode_source_with_a_tokenizer_lacking_bos_attribute():
    """A bare tokenizer (callable, ``eos_token_id`` only, no ``bos_token_id`` attribute): nothing to drop for
    ``no_bos``; a cut keeps 2 - 1 = 1 token and ends with EOS (ids worked out by hand)."""

    class Bare:
        eos_token_id = 3

        def __call__(self, text, **kwargs):
            return {"input_ids": [7, 8, 9]}

    got = encode_source(Bare(), "x", no_bos=True)
    assert (got.ids, got.n_tokens, got.truncated) == ([7, 8, 9], 3, False)
    got = encode_source(Bare(), "x", max_tokens=2, no_bos=True)
    assert (got.ids, got.n_tokens, got.truncated) == ([7, 3], 3, True)


def test_encode_source_does_not_warn_about_long_texts(tiny_dirs, length_warnings):
    """Encoding a text above ``model_max_length`` (then cut on purpose) logs no transformers length warning;
    the same tokenizer called plainly afterwards does (so the check can see the warning)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dirs["bart"], model_max_length=16)
    got = encode_source(tok, LONG, max_tokens=16)
    assert got.truncated and len(got.ids) == 16
    assert not length_warnings()
    tok(LONG)
    assert length_warnings()


# --------------------------------------------------------------------------------------------- scores


@pytest.fixture(scope="module", params=["bart", "t5"])
def lm(request, tiny_dirs):
    return load_model(str(tiny_dirs[request.param]), "seq2seq", device="cpu")


def _reference(model, source, target):
    """transformers' own forward with labels: per-token log p = -cross_entropy."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([source]), labels=torch.tensor([target])).logits[0]
    return (-torch.nn.functional.cross_entropy(logits.float(), torch.tensor(target), reduction="none")).tolist()


def _close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g == pytest.approx(w, abs=1e-5)


def test_score_batch_matches_the_models_own_loss_per_job(lm):
    """Several sources of different lengths (padding), a job without targets, and different numbers of targets
    per job: each job's scores are its own targets' per-token log-likelihoods, in order. Default timer stage:
    "scoring"."""
    tok = lm.tokenizer
    srcs = [encode_source(tok, s).ids for s in (SOURCE, "Police arrested a man in London.", LONG)]
    tgts = [encode_target(tok, t) for t in TEXTS]
    jobs = [(srcs[0], tgts[:2]), (srcs[1], []), (srcs[2], [tgts[2]]), (srcs[1], [tgts[0], tgts[2], tgts[1]])]
    timer = StageTimer()
    out = score_batch(lm.model, lm.tokenizer, jobs, timer=timer)
    assert len(out) == 4 and out[1] == []
    for (s, ts), lps in zip(jobs, out):
        assert len(lps) == len(ts)
        for t, lp in zip(ts, lps):
            _close(lp, _reference(lm.model, s, t))
    assert set(timer.as_dict()) == {"scoring"}
    timer = StageTimer()
    score_batch(lm.model, lm.tokenizer, jobs[:1], timer=timer, stage="qa_scoring")
    assert set(timer.as_dict()) == {"qa_scoring"}


def test_scoring_takes_pad_from_the_tokenizer_when_the_config_has_none(lm):
    """``special_ids`` falls back to the tokenizer's pad id (BART 1, T5 0); the scores are unchanged."""
    tok = lm.tokenizer
    src = encode_source(tok, SOURCE).ids
    tgts = [encode_target(tok, t) for t in TEXTS]
    want = [_reference(lm.model, src, t) for t in tgts]
    cfg = lm.model.config
    before = cfg.pad_token_id
    cfg.pad_token_id = None
    try:
        via_batch = score_batch(lm.model, tok, [(src, tgts), (encode_source(tok, "Police.").ids, tgts[:1])])[0]
        via_targets = score_targets(lm.model, tok, SOURCE, tgts)
    finally:
        cfg.pad_token_id = before
    for got in (via_batch, via_targets):
        for g, w in zip(got, want):
            _close(g, w)


def test_score_targets_encodes_a_text_source(lm):
    """A text source is encoded with the prefix and cut to ``max_source_tokens`` as the tokenizer's own
    ``truncation=True, max_length=24`` does (lmqg); ``stage`` names the timer stage."""
    tok = lm.tokenizer
    tgts = [encode_target(tok, t) for t in TEXTS]
    src = tok(PREFIX + LONG, truncation=True, max_length=24)["input_ids"]
    assert len(src) == 24 and len(tok(PREFIX + LONG)["input_ids"]) > 24
    timer = StageTimer()
    got = score_targets(lm.model, tok, LONG, tgts, max_source_tokens=24, prefix=PREFIX, timer=timer, stage="qg")
    for t, lp in zip(tgts, got):
        _close(lp, _reference(lm.model, src, t))
    assert set(timer.as_dict()) == {"qg"}


def test_score_targets_no_bos_as_fairseq(tiny_dirs):
    """QAGen's encoding (fairseq ``encode(..., no_bos=True)``, ALGORITHMS.md §2.4): the first N - 2 BPE tokens,
    then ``</s>``, no ``<s>``; the scores are the model's own on those ids."""
    lm = load_model(str(tiny_dirs["bart"]), "seq2seq", device="cpu")
    tok = lm.tokenizer
    bpe = tok(LONG, add_special_tokens=False)["input_ids"]
    src = bpe[:22] + [2]
    tgts = [encode_target(tok, t) for t in TEXTS]
    got = score_targets(lm.model, tok, LONG, tgts, max_source_tokens=24, no_bos=True)
    for t, lp in zip(tgts, got):
        _close(lp, _reference(lm.model, src, t))
