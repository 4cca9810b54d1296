"""Each benchmark loader reproduces the counts of DATASETS.md §3.3 and the figures of each PROVENANCE.md.

Expected values: DATASETS.md §2/§3.3 (computed by the data preparers from the official files) unless a
comment names another source.
"""

from collections import Counter
from statistics import mean

import pytest

from factbench.datasets import load, registry

BENCHMARKS = ("qags-cnndm", "qags-xsum", "frank", "xsumfaith", "summeval", "cliff", "polytope", "dialsummeval")


def positives(records, label="consistent", split=None):
    return sum(r.labels[label] for r in records if split is None or r.split == split)


@pytest.fixture(scope="module")
def loaded(data_dir):
    return {name: load(name, data_dir) for name in BENCHMARKS}


def test_registry_names_every_benchmark_and_the_sample():
    assert set(registry()) == set(BENCHMARKS) | {"sample"}


@pytest.mark.parametrize(
    "name, n, pos, human_mean",
    [("qags-cnndm", 235, 113, 0.7436), ("qags-xsum", 239, 116, 0.4854)],
)
def test_qags_counts_and_mean_human(loaded, name, n, pos, human_mean):
    ds = loaded[name]
    assert len(ds.records) == n
    assert positives(ds.records) == pos
    assert round(mean(r.labels["human"] for r in ds.records), 4) == human_mean
    assert {r.split for r in ds.records} == {"all"}
    assert all(r.references == () for r in ds.records)  # QAGS ships no references


def test_qags_label_rule(loaded):
    cnndm, xsum = loaded["qags-cnndm"].records, loaded["qags-xsum"].records
    # PROVENANCE: 226 CNN/DM summaries of 3 sentences, 9 of 4; XSum always 1 sentence, so 0/1 scores.
    assert Counter(len(r.meta["sentence_majorities"]) for r in cnndm) == {3: 226, 4: 9}
    assert {r.labels["human"] for r in xsum} == {0.0, 1.0}
    for r in cnndm:
        assert r.labels["consistent"] == int(all(r.meta["sentence_majorities"]))
    assert loaded["qags-cnndm"].label_scales["consistent"].kind == "binary"


def test_frank_counts(loaded, data_dir):
    recs = loaded["frank"].records
    assert len(recs) == 2246
    # The official `dataset` field says "bbc" for XSum; meta origin uses the corpus names (as CLIFF does).
    assert Counter(r.meta["origin"] for r in recs) == {"cnndm": 1250, "xsum": 996}
    assert loaded["frank"].group_fields.keys() == {"origin", "system"}
    assert Counter(r.split for r in recs) == {"test": 1575, "val": 671}  # FRANK's "valid" is named val
    assert positives(recs, split="test") == 567  # Factuality == 1 (SummaC's sentence-level rule gives 529)
    assert "APPROXIMATE" in loaded["frank"].label_scales["consistent"].description
    # The split of each record agrees with the repository's own split files (article hashes).
    test_hashes = set((data_dir / "frank" / "test_split.txt").read_text().split())
    assert all((r.doc_id in test_hashes) == (r.split == "test") for r in recs)
    assert all(r.references and r.references[0].strip() for r in recs)
    # 37278170.json names its XSum reference "reference" instead of "Gold".
    assert all(r.references[0] for r in recs if r.doc_id == "37278170")
    assert len([r for r in recs if r.doc_id == "37278170"]) == 4


def test_xsumfaith_summac_cut(loaded):
    recs = loaded["xsumfaith"].records
    assert len(recs) == 2500
    test = [r for r in recs if r.split == "test"]
    assert (len(test), positives(test)) == (1250, 130)
    assert positives(recs, split="val") == 127  # PROVENANCE: val has 127 positive
    gold = [r for r in recs if r.system == "Gold"]
    assert len(gold) == 500 and all(r.meta["is_reference"] and r.summary == r.references[0] for r in gold)
    # Faithful/Factual join for the 1992 eval_scores rows (4 systems x 498 documents), never for Gold.
    assert sum("Faithful" in r.labels for r in recs) == 1992
    assert not any("Factual" in r.labels for r in gold)


def test_summeval_counts(loaded):
    recs = loaded["summeval"].records
    assert len(recs) == 1600
    assert len({r.doc_id for r in recs}) == 100 and len({r.system for r in recs}) == 16
    assert all(len(r.references) == 11 for r in recs)
    # PROVENANCE: 1306 summaries at consistency 5.0; all values are means of 3 ratings (k/3).
    assert sum(r.labels["consistency"] == 5.0 for r in recs) == 1306
    assert all(abs(r.labels["consistency"] * 3 - round(r.labels["consistency"] * 3)) < 1e-9 for r in recs)
    assert loaded["summeval"].label_scales["coherence"].kind == "likert"


def test_cliff_counts(loaded):
    recs = loaded["cliff"].records
    by_origin = Counter((r.meta["origin"], r.labels["consistent"]) for r in recs)
    assert by_origin[("cnndm", 1)] == 248 and by_origin[("cnndm", 0)] == 52
    assert by_origin[("xsum", 1)] == 126 and by_origin[("xsum", 0)] == 174
    # PROVENANCE table: origin x model x cut (n, positive); spot-check two cells.
    cell = [r for r in recs if r.meta["origin"] == "cnndm" and r.system == "BART" and r.split == "val"]
    assert (len(cell), positives(cell)) == (75, 56)
    cell = [r for r in recs if r.meta["origin"] == "xsum" and r.system == "Pegasus" and r.split == "test"]
    assert (len(cell), positives(cell)) == (75, 38)


def test_polytope_summac_cut_and_strict_label(loaded):
    recs = loaded["polytope"].records
    assert len(recs) == 1268
    test = [r for r in recs if r.split == "test"]
    assert (len(test), positives(test)) == (634, 41)
    assert positives(recs, split="val") == 42
    assert positives(recs, "consistent_strict") == 321
    # No error at all implies no factual error.
    assert all(r.labels["consistent_strict"] for r in recs if r.labels["consistent"])
    assert Counter(r.system for r in recs)["BART"] == 68


def test_dialsummeval_counts_and_join(loaded, data_dir):
    recs = loaded["dialsummeval"].records
    assert len(recs) == 1400 and len({r.system for r in recs}) == 14
    assert round(mean(r.labels["consistency"] for r in recs), 3) == 3.540  # PROVENANCE: overall mean 3.540
    gold = [r for r in recs if r.meta["is_reference"]]
    assert len(gold) == 100 and {r.system for r in gold} == {"GOLD"}
    # dials_index joins each record to the authors' summs.txt line (PROVENANCE: verified 1400/1400).
    base = data_dir / "dialsummeval" / "models_eval_new"
    lines = {m: (base / m / "summs.txt").read_text(encoding="utf-8").splitlines() for m in "ABCDEFGHIJKLMN"}
    assert all(lines[r.meta["model_id"]][r.meta["dials_index"]] == r.summary for r in recs)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_label_has_a_described_scale(loaded, name):
    ds = loaded[name]
    assert ds.label_scales and all(s.description for s in ds.label_scales.values())
    assert all(set(r.labels) <= set(ds.label_scales) for r in ds.records)
    assert all(r.dataset == name for r in ds.records)
