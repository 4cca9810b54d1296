"""The runner: run directory contents, resume after an interruption, report regeneration, plug-ins."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from factbench import metrics as registry
from factbench.cli import main
from factbench.metrics.base import Metric, Result
from factbench.runner import RunConfig, run

CARD = """+++
name = "countwords"
version = "3"
summary = "words in the summary (a test plug-in)"
[defaults]
batch_size = 2
fail_after = -1
seed = 0
+++
A test metric.
"""


class CountWords(Metric):
    """Counts summary words; can fail after N calls, to simulate an interrupted run."""

    name = "countwords"
    score_names = ("words",)
    signature_keys = ("seed",)
    card_text = CARD
    calls: list = []

    def score(self, batch):
        CountWords.calls.append([r.example_id for r in batch])
        if 0 <= self.settings["fail_after"] < len(CountWords.calls):
            raise KeyboardInterrupt("simulated interruption")
        return [Result({"words": float(len(r.summary.split()))}, {"seed": self.settings["seed"]}) for r in batch]


@pytest.fixture
def plugin(install_plugin):
    """CountWords installed as a real entry point of the factbench.metrics group."""
    install_plugin(CountWords)
    CountWords.calls = []
    return CountWords


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [
        {"id": f"e{i}", "source": "Officials said the bridge opens in May.", "summary": " ".join(["word"] * (i + 1)),
         "reference": "The bridge opens in May.", "system": "s" + str(i % 2), "label:consistent": i % 2}
        for i in range(5)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def config(dataset, out, metrics=("rouge", "countwords"), **kw):
    return RunConfig(datasets=[str(dataset)], metrics=list(metrics), out_dir=out, use_cache=False, progress=False, **kw)


def test_plugin_is_listed_and_runs(plugin, dataset, tmp_path):
    assert registry.available()["countwords"] == "tests_plugin_countwords:CountWords"
    listing = CliRunner().invoke(main, ["metrics", "list"])
    assert "countwords" in listing.output and "a test plug-in" in listing.output
    out = run(config(dataset, tmp_path / "run", seed=7))
    scores = pd.read_csv(out / "scores.csv")
    assert scores["words"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    meta = json.loads((out / "run.json").read_text())
    # The run seed reaches every metric that has a seed setting, and its signature.
    assert meta["seed"] == 7
    assert meta["metrics"]["countwords"]["signature"] == "countwords|v:3|seed:7"
    assert meta["metrics"]["rouge"]["signature"].startswith("rouge|v:1|against:auto")
    assert meta["datasets"][0]["n"] == 5
    assert meta["packages"]["rouge-score"] == "0.1.2"
    for name in ("results.jsonl", "table.csv", "table.md", "summary.md", "timings.json"):
        assert (out / name).is_file(), name
    assert not (out / "partial").exists()


def test_interrupted_run_resumes_without_redoing_work(plugin, dataset, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run(config(dataset, out, metrics=("countwords",), settings={"countwords": {"fail_after": 1}}))
    assert not (out / "scores.csv").exists()  # nothing half-written
    assert plugin.calls == [["e0", "e1"], ["e2", "e3"]]  # the second batch failed
    plugin.calls = []
    # The same settings again (fail_after is not in the signature): only the unfinished records are scored.
    run(config(dataset, out, metrics=("countwords",), settings={"countwords": {"fail_after": -1}}))
    assert plugin.calls == [["e2", "e3"], ["e4"]]
    timings = json.loads((out / "timings.json").read_text())["metrics"]["countwords"]
    assert (timings["summaries"], timings["resumed"]) == (3, 2)
    assert pd.read_csv(out / "scores.csv")["words"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_changed_signature_does_not_reuse_partial_results(plugin, dataset, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run(config(dataset, out, metrics=("countwords",), settings={"countwords": {"fail_after": 1}}))
    plugin.calls = []
    run(config(dataset, out, metrics=("countwords",), seed=1))
    assert plugin.calls == [["e0", "e1"], ["e2", "e3"], ["e4"]]


def test_finished_run_directory_is_not_overwritten(plugin, dataset, tmp_path):
    out = run(config(dataset, tmp_path / "run"))
    result = CliRunner().invoke(main, ["run", "--dataset", str(dataset), "--metrics", "rouge", "--out", str(out)])
    assert result.exit_code == 5 and "already holds a finished run" in result.stderr


def test_report_regenerates_from_stored_files(plugin, dataset, tmp_path):
    out = run(config(dataset, tmp_path / "run"))
    before = {n: (out / n).read_text() for n in ("table.csv", "table.md", "summary.md")}
    for n in before:
        (out / n).unlink()
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert {n: (out / n).read_text() for n in before} == before


def test_comparison_table_means_per_system(plugin, dataset, tmp_path):
    out = run(config(dataset, tmp_path / "run"))
    table = pd.read_csv(out / "table.csv")
    words = table[table.score == "words"].set_index("system")
    # s0 = e0, e2, e4 -> 1, 3, 5 words; s1 = e1, e3 -> 2, 4 words (hand-computed from the fixture).
    assert words.loc["s0", "mean"] == 3.0 and words.loc["s0", "count"] == 3
    assert words.loc["s1", "mean"] == 3.0 and words.loc["s1", "count"] == 2
    assert words.loc["(all)", "n"] == 5
