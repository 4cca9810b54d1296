"""Tiny test models: deterministic, loadable by name, buildable from the command line."""

import pytest
import torch
from click.testing import CliRunner

from factbench.cli import main
from factbench.models.loading import load_model, resolve, weights_hash
from factbench.models.tiny import SEP_TOKEN, build


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_same_build_same_bytes(tiny_models, tmp_path):
    """Tokenizer training breaks ties alphabetically and weights come from a fixed seed: rebuilding gives the
    same content hash (the cache fingerprint), so cached results of tiny runs stay valid."""
    again = build("bart", tmp_path / "bart")
    assert weights_hash(str(again)) == weights_hash(str(tiny_models["bart"]))
    other = build("bart", tmp_path / "bart-seed2", seed=2)
    assert weights_hash(str(other)) != weights_hash(str(again))


@pytest.mark.parametrize(
    "kind,loader", [("bart", "seq2seq"), ("t5", "seq2seq"), ("qa", "qa"), ("classifier", "classifier")]
)
def test_every_kind_loads_and_round_trips_text(tiny_models, kind, loader):
    lm = load_model(str(tiny_models[kind]), loader, device="cpu")
    text = "Who won the election in 2024? The party."
    ids = lm.tokenizer(text)["input_ids"]
    decoded = lm.tokenizer.decode(ids, skip_special_tokens=True)
    assert decoded.replace(" ", "").lower() == text.replace(" ", "").lower()  # no <unk>: every character encodes
    assert lm.model.config.vocab_size >= len(lm.tokenizer)


def test_bart_separator_is_one_token(tiny_models):
    tok = load_model(str(tiny_models["bart"]), "seq2seq").tokenizer
    ids = tok(f"Who won?{SEP_TOKEN}the party", add_special_tokens=False)["input_ids"]
    assert ids.count(tok.convert_tokens_to_ids(SEP_TOKEN)) == 1


def test_tiny_name_resolves_under_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTBENCH_CACHE_DIR", str(tmp_path))
    path, fp = resolve("tiny:t5")
    assert path.is_relative_to(tmp_path) and (path / "config.json").is_file() and fp.startswith("sha256:")
    assert resolve("tiny:t5") == (path, fp)  # built once, then reused


def test_cli_builds_the_models(tmp_path):
    res = CliRunner().invoke(main, ["models", "tiny", str(tmp_path), "--kind", "classifier"])
    assert res.exit_code == 0, res.output
    lm = load_model(str(tmp_path / "classifier"), "classifier")
    assert lm.model.config.id2label == {0: "CORRECT", 1: "INCORRECT"}
