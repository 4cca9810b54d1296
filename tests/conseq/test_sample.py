"""``conseq sample`` on the tiny BART model: the dataset file's shape (K samples + the reference per document,
readable by factbench's loader), the original's length limits (fairseq min_len/max_len_b, checked on the
generated token ids), reproducibility, and resuming an interrupted run (consistency with an unbroken run)."""

import json

import pytest

from factbench.conseq import sample as sampling
from factbench.conseq.sample import SampleConfig, generation_config, sample
from factbench.datasets.generic import load_file
from factbench.errors import ConfigError, RunError


def cfg(tiny_models, out, **kw):
    base = dict(model=str(tiny_models["bart"]), dataset="sample", out=out, k=3, limit=3, batch_docs=1, device="cpu",
                progress=False)
    base.update(kw)
    return SampleConfig(**base)


def test_dataset_file_has_k_samples_and_the_reference_per_document(tiny_models, tmp_path):
    out = sample(cfg(tiny_models, tmp_path / "s.jsonl"))
    data = load_file(out)
    assert len(data.records) == 3 * (3 + 1)
    by_doc = {}
    for r in data.records:
        by_doc.setdefault(r.doc_id, []).append(r)
    for rows in by_doc.values():
        assert [r.system for r in rows] == ["reference", "sample", "sample", "sample"]
        assert rows[0].summary == rows[0].references[0] and all(r.references == rows[0].references for r in rows)
    meta = json.loads((tmp_path / "s.jsonl.meta.json").read_text())
    assert meta["settings"]["top_k"] == 50 and meta["settings"]["k"] == 3 and meta["n_documents"] == 3
    with pytest.raises(RunError, match="already exists"):
        sample(cfg(tiny_models, tmp_path / "s.jsonl"))


def test_generated_lengths_follow_fairseqs_min_len_and_max_len(tiny_models):
    import torch

    from factbench.models.loading import load_model

    loaded = load_model(str(tiny_models["bart"]), "seq2seq", device="cpu")
    c = SampleConfig(model="m", dataset="d", out="o.jsonl", k=20, min_len=10, max_len=12)
    ids = loaded.tokenizer(["The council met on Monday to discuss the budget."], return_tensors="pt")["input_ids"]
    torch.manual_seed(0)
    out = loaded.model.generate(input_ids=ids, generation_config=generation_config(loaded.model, c))
    eos, pad = loaded.tokenizer.eos_token_id, loaded.tokenizer.pad_token_id
    lengths = []
    for seq in out.tolist():
        body = seq[1:]  # after the decoder start token
        n_eos = body.index(eos) if eos in body else None
        before_eos = n_eos if n_eos is not None else len([t for t in body if t != pad])
        lengths.append(before_eos)
        assert 10 <= before_eos <= 12  # EOS never before 10 tokens; at most 12 tokens, then EOS
    # the tiny model's bias towards EOS makes it stop as early as allowed at least once
    assert min(lengths) == 10


def test_same_seed_same_samples_other_seed_other_samples(tiny_models, tmp_path):
    a = sample(cfg(tiny_models, tmp_path / "a.jsonl")).read_text()
    b = sample(cfg(tiny_models, tmp_path / "b.jsonl")).read_text()
    c = sample(cfg(tiny_models, tmp_path / "c.jsonl", seed=1)).read_text()
    assert a == b and a != c


def test_interrupted_run_resumes_to_the_same_file(tiny_models, tmp_path, monkeypatch):
    unbroken = sample(cfg(tiny_models, tmp_path / "u.jsonl")).read_text()
    real, calls = sampling.sample_batch, []

    def failing(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(sampling, "sample_batch", failing)
    with pytest.raises(KeyboardInterrupt):
        sample(cfg(tiny_models, tmp_path / "r.jsonl"))
    assert not (tmp_path / "r.jsonl").exists() and (tmp_path / "r.jsonl.partial").exists()
    with pytest.raises(RunError, match="other settings"):
        sample(cfg(tiny_models, tmp_path / "r.jsonl", seed=5))
    monkeypatch.setattr(sampling, "sample_batch", real)
    assert sample(cfg(tiny_models, tmp_path / "r.jsonl")).read_text() == unbroken
    assert not (tmp_path / "r.jsonl.partial").exists()


def test_bad_settings_are_config_errors(tiny_models, tmp_path):
    with pytest.raises(ConfigError, match="--system must be a name other than 'reference'"):
        sample(cfg(tiny_models, tmp_path / "x.jsonl", system="reference"))
    with pytest.raises(ConfigError, match="--min-len <= --max-len"):
        sample(cfg(tiny_models, tmp_path / "x.jsonl", min_len=70))
    with pytest.raises(ConfigError, match="must be a .jsonl file"):
        sample(cfg(tiny_models, tmp_path / "x.csv"))
