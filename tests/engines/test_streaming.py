"""Streaming input: a file's records read lazily, again on each pass, and a run that resumes from a partial
file whose last line an interruption cut short.

Both tests show consistency (factbench against factbench): the streamed records against the list the loader
returns, and the resumed run against the same run uninterrupted."""

import json

import pandas as pd
import pytest

from factbench.datasets import load
from factbench.datasets.generic import RecordStream
from factbench.runner import RunConfig, resume_key, run


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "d.csv"
    rows = ["id,source,summary,split,label:human"]
    rows += [f"e{i},Officials said the bridge opens in May.,{' '.join(['word'] * (i + 1))},{'ab'[i % 2]},{i % 3}"
             for i in range(7)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_streamed_records_equal_the_loaded_list_and_are_read_again_each_pass(data):
    listed = load(str(data))
    streamed = load(str(data), stream=True)
    assert isinstance(streamed.records, RecordStream) and isinstance(listed.records, list)
    assert list(streamed.records) == listed.records and len(streamed.records) == 7
    assert streamed.records.splits == ["a", "b"] and streamed.label_scales == listed.label_scales
    # Each pass reads the file: a row changed after loading shows in the next pass (nothing was kept).
    data.write_text(data.read_text().replace("e6,Officials", "e6,Engineers"))
    assert [r.source for r in streamed.records][-1].startswith("Engineers")


def test_resume_after_a_cut_last_line(data, tmp_path):
    """A partial file whose last line was cut mid-write: the two whole lines are reused, the cut record and the
    four others are scored, and scores.csv equals the uninterrupted run's byte for byte."""
    out = tmp_path / "run"
    cfg = dict(datasets=[str(data)], metrics=["rouge"], out_dir=out, use_cache=False, progress=False,
               settings={"rouge": {"batch_size": 2}})
    first = run(RunConfig(**cfg))
    stored = [json.loads(line) for line in (first / "results.jsonl").read_text().splitlines()]
    # Rebuild an interrupted run directory: partial/ with three results, the third cut in the middle.
    (tmp_path / "again" / "partial").mkdir(parents=True)
    keys = [resume_key(r) for r in load(str(data)).records]
    lines = [json.dumps({"signature": r["signature"], "key": k, **r}) for r, k in zip(stored[:3], keys)]
    (tmp_path / "again" / "partial" / "rouge.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    again = run(RunConfig(**{**cfg, "out_dir": tmp_path / "again"}))
    timings = json.loads((again / "timings.json").read_text())["metrics"]["rouge"]
    assert (timings["resumed"], timings["summaries"]) == (2, 5)
    assert (again / "scores.csv").read_bytes() == (first / "scores.csv").read_bytes()
    assert pd.read_csv(again / "scores.csv")["example_id"].tolist() == [f"e{i}" for i in range(7)]
