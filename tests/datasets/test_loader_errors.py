"""Benchmark loaders on broken copies of their files: a DataError naming the file and the line or record."""

import json

import pytest

from factbench.datasets import load
from factbench.errors import DataError

QAGS_ROW = {"article": "A b c.", "summary_sentences": [{"sentence": "A b.", "responses": [
    {"worker_id": 1, "response": "yes"}, {"worker_id": 2, "response": "no"}, {"worker_id": 3, "response": "yes"}]}]}


def qags_dir(tmp_path, lines):
    (tmp_path / "qags").mkdir()
    (tmp_path / "qags" / "mturk_xsum.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_qags_on_a_tiny_file(tmp_path):
    ds = load("qags-xsum", qags_dir(tmp_path, [json.dumps(QAGS_ROW)]))
    (r,) = ds.records
    assert r.labels == {"human": 1.0, "consistent": 1}  # 2 of 3 yes: majority supported (hand-computed)


def test_qags_missing_folder_file(tmp_path):
    with pytest.raises(DataError, match="missing file for dataset 'qags-cnndm'"):
        load("qags-cnndm", qags_dir(tmp_path, [json.dumps(QAGS_ROW)]))


def test_qags_bad_line(tmp_path):
    with pytest.raises(DataError, match=r"mturk_xsum.jsonl: line 2: not valid JSON"):
        load("qags-xsum", qags_dir(tmp_path, [json.dumps(QAGS_ROW), '{"article": ']))


def test_qags_bad_vote(tmp_path):
    row = json.loads(json.dumps(QAGS_ROW))
    row["summary_sentences"][0]["responses"][0]["response"] = "maybe"
    with pytest.raises(DataError, match=r"line 1: vote 'maybe'"):
        load("qags-xsum", qags_dir(tmp_path, [json.dumps(row)]))


def test_qags_empty_summary_is_rejected(tmp_path):
    row = json.loads(json.dumps(QAGS_ROW))
    row["summary_sentences"][0]["sentence"] = " "
    with pytest.raises(DataError, match="empty summary"):
        load("qags-xsum", qags_dir(tmp_path, [json.dumps(row)]))


def test_frank_missing_article_json(tmp_path):
    folder = tmp_path / "frank"
    (folder / "articles-wmetrics-reference-json").mkdir(parents=True)
    (folder / "human_annotations.json").write_text(json.dumps(
        [{"hash": "abc", "model_name": "bart", "dataset": "cnndm", "split": "test", "Factuality": 1.0}]))
    with pytest.raises(DataError, match=r"abc.json: no such file"):
        load("frank", tmp_path)


def test_cliff_missing_column(tmp_path):
    (tmp_path / "cliff").mkdir()
    (tmp_path / "cliff" / "CLIFF_error_types.csv").write_text("origin,id,doc,summ,model_name,cut\nxsum,1,d,s,BART,val\n")
    with pytest.raises(DataError, match=r"line 2: missing field 'error_type'"):
        load("cliff", tmp_path)
