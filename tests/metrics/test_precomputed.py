"""Precomputed scores: CSV/TSV/JSONL/JSON files, both joins, column selection, join misses reported, the file's
sha256 in the signature, and FRANK's official outputs as the named source frank-official."""

import hashlib
import json

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from factbench.datasets import load
from factbench.errors import ConfigError, DataError
from factbench.metrics import create
from factbench.metrics.precomputed import SOURCES, clean_name
from factbench.records import Record


def rec(example_id, doc_id="d1", system="sysA"):
    return Record("t", "all", example_id, doc_id, system, "source text", "summary text")


RECORDS = [rec("e1", "d1", "sysA"), rec("e2", "d1", "sysB"), rec("e3", "d2", "sysA")]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_join_on_example_id_with_all_numeric_columns(tmp_path):
    path = write(tmp_path / "s.csv", "example_id,BARTScore F,note,QuestEval\ne1,-1.5,ok,0.25\ne2,-2.0,x,\n")
    m = create("precomputed", {"path": str(path)})
    # "note" is text, so it is not a score; names are cleaned column names.
    assert m.score_names == ("bartscore_f", "questeval")
    r1, r2, r3 = m.score(RECORDS)
    assert r1.scores == {"bartscore_f": -1.5, "questeval": 0.25} and r1.missing is None
    assert r2.scores == {"bartscore_f": -2.0, "questeval": None}  # empty cell: missing value, row still joined
    assert r2.details["empty_scores"] == ["questeval"] and r2.missing is None
    assert r3.scores == {"bartscore_f": None, "questeval": None}
    assert r3.missing == "no row in s.csv for example_id 'e3'"
    cov = m.coverage()
    assert cov["examples_scored"] == 2 and cov["examples_missing"] == 1
    assert cov["missing_example_ids"] == ["e3"] and cov["file_rows_unused"] == 0


def test_jsonl_join_on_doc_id_and_system_with_renamed_columns(tmp_path):
    rows = [
        {"doc": "d1", "model": "sysA", "score": 0.9, "other": 1},
        {"doc": "d1", "model": "sysB", "score": 0.1, "other": 2},
        {"doc": "d9", "model": "sysA", "score": 0.5, "other": 3},
    ]
    path = write(tmp_path / "s.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    m = create(
        "precomputed",
        {"path": str(path), "join": "doc_id+system", "doc_id_column": "doc", "system_column": "model",
         "columns": ["score=my_metric"]},
    )
    assert m.score_names == ("my_metric",)
    res = m.score(RECORDS)
    assert [r.scores["my_metric"] for r in res] == [0.9, 0.1, None]
    assert res[2].missing == "no row in s.jsonl for doc_id+system 'd2' + 'sysA'"
    assert m.coverage()["file_rows_unused"] == 1  # d9/sysA matches no record


def test_tsv_and_prefix(tmp_path):
    path = write(tmp_path / "s.tsv", "example_id\tAlign Score\ne1\t0.7\n")
    m = create("precomputed", {"path": str(path), "prefix": "ext_"})
    assert m.score_names == ("ext_align_score",)
    assert m.score(RECORDS[:1])[0].scores == {"ext_align_score": 0.7}


def test_signature_has_the_file_sha256(tmp_path):
    path = write(tmp_path / "s.csv", "example_id,x\ne1,1\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    m = create("precomputed", {"path": str(path)})
    assert m.signature().endswith(f"|file:s.csv|sha256:{digest[:16]}")
    assert m.describe()["sha256"] == digest
    write(path, "example_id,x\ne1,2\n")  # same name, other numbers: other signature
    assert create("precomputed", {"path": str(path)}).signature() != m.signature()


@pytest.mark.parametrize(
    "content, settings, error, match",
    [
        ("example_id,x\ne1,1\ne1,2\n", {}, DataError, r"line 3: duplicate row for \{'example_id': 'e1'\}"),
        ("example_id,x\ne1,abc\n", {"columns": ["x"]}, DataError, r"line 2: column 'x' = 'abc' is not a number"),
        ("example_id,x\n,1\n", {}, DataError, r"line 2: missing join field\(s\) \['example_id'\]"),
        ("example_id,x\ne1,1\n", {"columns": ["y"]}, DataError, r"column 'y' is not in the file"),
        ("example_id,note\ne1,abc\n", {}, DataError, "no numeric score column"),
        ("example_id,A b,a_b\ne1,1,2\n", {}, ConfigError, "not unique"),
        ("example_id,x\ne1,1\n", {"join": "doc"}, ConfigError, "join must be one of"),
    ],
)
def test_bad_files_and_settings(tmp_path, content, settings, error, match):
    path = write(tmp_path / "s.csv", content)
    with pytest.raises(error, match=match):
        create("precomputed", {"path": str(path), **settings})


def test_needs_a_path_or_a_known_source(tmp_path):
    with pytest.raises(ConfigError, match="needs path=FILE"):
        create("precomputed")
    with pytest.raises(ConfigError, match="unknown source 'nope'.*frank-official"):
        create("precomputed:nope")
    with pytest.raises(DataError, match="no such file"):
        create("precomputed", {"path": str(tmp_path / "absent.csv")})
    bad = write(tmp_path / "s.json", '{"a": 1}')
    with pytest.raises(DataError, match="expected a JSON list"):
        create("precomputed", {"path": str(bad)})


def test_clean_name():
    assert clean_name("BertScore P Art") == "bertscore_p_art"
    assert clean_name(" Rouge-L (F) ") == "rouge_l_f"


# -- the named source: FRANK's official outputs ---------------------------------------------------


@pytest.fixture(scope="module")
def frank(data_dir):
    return load("frank", data_dir)


@pytest.fixture(scope="module")
def official(data_dir):
    return create("precomputed:frank-official", {"data_dir": str(data_dir)})


def test_frank_official_names_and_signature(official, data_dir):
    assert official.score_names == tuple(SOURCES["frank-official"].columns.values())
    assert len(official.score_names) == 15
    assert official.score_names[:3] == ("official_rouge1", "official_rouge2", "official_rougeL")
    digest = hashlib.sha256((data_dir / "frank" / "baseline_factuality_metrics_outputs.json").read_bytes()).hexdigest()
    assert official.signature() == (
        "precomputed|v:1|source:frank-official|join:doc_id+system|columns:|prefix:"
        f"|file:baseline_factuality_metrics_outputs.json|sha256:{digest[:16]}"
    )


def test_frank_official_joins_every_summary(official, frank, data_dir):
    results = official.score(frank.records)
    cov = official.coverage()
    assert cov["examples_scored"] == 2246 and cov["examples_missing"] == 0 and cov["file_rows_unused"] == 0
    # Values straight from the file, for the first record of human_annotations.json (hand-read).
    rows = json.loads((data_dir / "frank" / "baseline_factuality_metrics_outputs.json").read_text())
    by_key = {(r["hash"], r["model_name"]): r for r in rows}
    for record, result in zip(frank.records[:50], results[:50]):
        row = by_key[(record.doc_id, record.system)]
        assert result.scores["official_factcc"] == row["FactCC"]
        assert result.scores["official_bertscore_p_art"] == row["BertScore P Art"]
    # FRANK ships NaN for FEQA on 4 summaries and for Dep Entail on 83 (frank/PROVENANCE.md).
    assert sum(r.scores["official_feqa"] is None for r in results) == 4
    assert sum(r.scores["official_dae"] is None for r in results) == 83
    assert all(r.missing is None for r in results)


def test_frank_official_reproduces_published_partial_correlations(official, frank):
    """DATASETS.md §3.1 (from the official files with FRANK's method): partial Pearson / Spearman, all 2246."""
    results = official.score(frank.records)
    expected = {"official_factcc": (0.2039, 0.3041), "official_bertscore_p_art": (0.2711, 0.2432),
                "official_rouge1": (0.1367, 0.1020), "official_dae": (0.1624, 0.1429)}
    for name, (p_exp, s_exp) in expected.items():
        keep = [(r.labels["Factuality"], res.scores[name], r.system) for r, res in zip(frank.records, results)
                if res.scores[name] is not None]
        y, x, systems = (np.array(v) for v in zip(*keep))
        y, x = y.astype(float), x.astype(float)
        for s in set(systems):  # residualise on one-hot(system) = subtract per-system means
            y[systems == s] -= y[systems == s].mean()
            x[systems == s] -= x[systems == s].mean()
        assert pearsonr(x, y)[0] == pytest.approx(p_exp, abs=5e-5), name
        assert spearmanr(x, y)[0] == pytest.approx(s_exp, abs=5e-5), name


def test_frank_official_column_subset_and_missing_join(data_dir):
    m = create("precomputed:frank-official", {"data_dir": str(data_dir), "columns": ["FactCC", "official_qags"]})
    assert m.score_names == ("official_factcc", "official_qags")
    stray = Record("frank", "test", "nope:bart", "nope", "bart", "s", "t")
    [res] = m.score([stray])
    assert res.scores == {"official_factcc": None, "official_qags": None}
    assert res.missing == "no row in baseline_factuality_metrics_outputs.json for doc_id+system 'nope' + 'bart'"
    assert m.coverage()["missing_example_ids"] == ["nope:bart"]


def test_named_source_needs_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("FACTBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("FACTBENCH_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(DataError, match="frank-official reads frank/baseline_factuality_metrics_outputs.json"):
        create("precomputed:frank-official")
    with pytest.raises(ConfigError, match="do not also set path"):
        create("precomputed:frank-official", {"path": "x.csv", "data_dir": str(tmp_path)})
