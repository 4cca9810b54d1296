"""The project's own sample set (data/sample): shape, labels, and that each corruption is what it says."""

import re
from collections import Counter

from factbench.datasets import load
from factbench.datasets.sample import ERROR_TYPES, sample_dir

NEGATIONS = {"not", "no", "never"}


def words(text):
    return re.findall(r"[a-z]+|\d[\d,.]*\d|\d", text.lower())


def test_sample_loads_without_a_data_dir(monkeypatch):
    monkeypatch.delenv("FACTBENCH_DATA_DIR", raising=False)
    ds = load("sample")
    assert len(ds.records) == 30
    assert Counter(r.system for r in ds.records) == {
        "faithful": 6, "entity_swap": 6, "number_change": 6, "negation": 6, "unsupported_addition": 6
    }
    assert Counter(r.split for r in ds.records) == {"val": 15, "test": 15}
    assert {r.doc_id for r in ds.records if r.split == "val"}.isdisjoint(r.doc_id for r in ds.records if r.split == "test")
    assert (sample_dir() / "documents.jsonl").is_file()


def test_labels_follow_the_error_type():
    ds = load("sample")
    assert ds.label_scales["consistent"].kind == "binary"
    for r in ds.records:
        assert r.meta["error_type"] in ERROR_TYPES
        assert r.labels["consistent"] == int(r.system == "faithful") == int(r.meta["error_type"] == "none")
        assert len(r.references) == 1 and r.references[0] != r.summary


def test_corruptions_are_what_they_claim():
    recs = load("sample").records
    for r in recs:
        source = set(words(r.source))
        new = set(words(r.summary)) - source
        if r.system == "entity_swap":  # the swapped names all come from the document
            names = {w.lower() for w in re.findall(r"\b[A-Z][a-z]+", r.summary)}
            assert names <= source, (r.example_id, names - source)
        elif r.system in ("number_change", "unsupported_addition"):
            assert new, r.example_id  # something the document does not say
        elif r.system == "negation":
            assert NEGATIONS & set(words(r.summary)), r.example_id
