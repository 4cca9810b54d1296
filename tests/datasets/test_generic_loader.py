"""factbench.datasets.generic.load_file: defaults, column maps, label scales, and one clear error per bad input."""

import json

import pytest

from factbench.datasets import load
from factbench.datasets.generic import load_file
from factbench.errors import ConfigError, DataError


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"id": "a", "document": "Doc one.", "summary": "Sum one.", "references": ["R1", "R2"], "labels": {"ok": 1}},
    {"id": "b", "document": "Doc two.", "summary": "Sum two.", "reference": "R", "system": "s", "split": "test",
     "labels": {"ok": 0}},
]


def test_jsonl_defaults(tmp_path):
    ds = load_file(write_jsonl(tmp_path / "mine.jsonl", ROWS))
    a, b = ds.records
    assert ds.name == "mine" and a.dataset == "mine"
    assert (a.example_id, a.source, a.summary, a.references) == ("a", "Doc one.", "Sum one.", ("R1", "R2"))
    assert (a.split, a.system) == ("all", "unknown")
    assert b.references == ()  # "references" is the column found first; b has none there
    assert (b.system, b.split) == ("s", "test")
    assert ds.label_scales["ok"].kind == "binary"  # inferred: every value is 0 or 1
    assert a.doc_id != b.doc_id  # no doc_id column: derived from the source text


def test_csv_label_columns_and_inferred_continuous(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("example_id,source,summary,label:human\n1,S a,T a,-3.5\n2,S b,T b,10\n3,S c,T c,\n", encoding="utf-8")
    ds = load_file(path)
    assert [r.labels for r in ds.records] == [{"human": -3.5}, {"human": 10.0}, {}]  # empty cell = no label
    scale = ds.label_scales["human"]
    assert (scale.low, scale.high, scale.kind) == (-3.5, 10.0, "continuous")
    assert "not declared" in scale.description


def test_tsv_column_map_with_declared_scale(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("uid\tart\tout\tref1\tref2\tscore\nu1\tThe art.\tThe out.\tr one\tr two\t4\n", encoding="utf-8")
    ds = load_file(path, columns={
        "example_id": "uid", "source": "art", "summary": "out", "references": ["ref1", "ref2"], "dataset": "d",
        "labels": {"human": {"column": "score", "low": 1, "high": 5, "kind": "likert", "description": "mine"}},
    })
    (r,) = ds.records
    assert (r.dataset, r.example_id, r.references, r.labels) == ("d", "u1", ("r one", "r two"), {"human": 4.0})
    assert ds.label_scales["human"].description == "mine"


def test_registry_load_dispatches_paths(tmp_path):
    path = write_jsonl(tmp_path / "f.jsonl", ROWS)
    assert len(load(str(path)).records) == 2


def error(tmp_path, name, text, columns=None, cls=DataError):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(cls) as info:
        load_file(path, columns=columns)
    return str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_file(tmp_path / "nope.jsonl")


def test_missing_required_field_names_field_and_line(tmp_path):
    msg = error(tmp_path, "m.jsonl", '{"id": "a", "source": "s", "summary": "t"}\n{"id": "b", "source": "s"}\n')
    assert "line 2" in msg and "'summary'" in msg and "m.jsonl" in msg


def test_missing_required_column(tmp_path):
    msg = error(tmp_path, "m.csv", "id,source,output\n1,s,t\n")
    assert "no summary column" in msg


def test_mapped_column_absent(tmp_path):
    msg = error(tmp_path, "m.csv", "id,source,summary\n1,s,t\n", columns={"summary": "out"})
    assert "'out'" in msg and "summary" in msg


def test_undecodable_json_line(tmp_path):
    msg = error(tmp_path, "u.jsonl", '{"source": "s", "summary": "t"}\n\n{"source": "s", "summ\n')
    assert "line 3" in msg and "not valid JSON" in msg


def test_non_utf8_bytes_name_the_line(tmp_path):
    msg = error(tmp_path, "u.csv", b"source,summary\ns,t\ns,\xff\xfe\n")
    assert "line 3" in msg and "UTF-8" in msg


def test_empty_summary(tmp_path):
    msg = error(tmp_path, "e.csv", "id,source,summary\n1,s,t\n2,s,   \n")
    assert "line 3" in msg and "empty summary" in msg


def test_empty_source(tmp_path):
    msg = error(tmp_path, "e.jsonl", '{"source": "", "summary": "t"}\n')
    assert "line 1" in msg and "empty source" in msg


def test_duplicate_ids(tmp_path):
    msg = error(tmp_path, "d.csv", "id,source,summary\na,s,t\nb,s,t\na,s,u\n")
    assert "duplicate example id 'a'" in msg and "line 4" in msg and "first at line 2" in msg


def test_label_outside_declared_scale(tmp_path):
    msg = error(tmp_path, "l.csv", "id,source,summary,score\na,s,t,3\nb,s,t,7\n",
                columns={"labels": {"human": {"column": "score", "low": 1, "high": 5}}})
    assert "line 3" in msg and "'human' = 7" in msg and "[1, 5]" in msg


def test_binary_label_rejects_two(tmp_path):
    msg = error(tmp_path, "l.jsonl", '{"source": "s", "summary": "t", "c": 2}\n',
                columns={"labels": {"consistent": {"column": "c", "kind": "binary"}}})
    assert "'consistent' = 2" in msg and "binary" in msg


def test_label_not_a_number(tmp_path):
    msg = error(tmp_path, "l.csv", "source,summary,label:human\ns,t,high\n")
    assert "line 2" in msg and "'high'" in msg


def test_label_not_finite(tmp_path):
    msg = error(tmp_path, "l.csv", "source,summary,label:human\ns,t,nan\n")
    assert "not a finite number" in msg


def test_unknown_column_map_key(tmp_path):
    error(tmp_path, "k.csv", "source,summary\ns,t\n", columns={"sumary": "x"}, cls=ConfigError)


def test_likert_needs_bounds(tmp_path):
    error(tmp_path, "k.csv", "source,summary,x\ns,t,1\n", columns={"labels": {"h": {"column": "x", "kind": "likert"}}},
          cls=ConfigError)
