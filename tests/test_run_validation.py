"""Issue 15, items 8 and 11: settings refused with one line before any folder is made, a failed run leaves no
empty run directory, a broken model folder is one line, and the smaller promises of a run (tiny models under
--cache-dir, per-metric cache statistics, --columns only for files)."""

import json

import pytest
from click.testing import CliRunner

from factbench.cli import main


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"id": f"e{i}", "source": "The council met on Monday in the town hall.", "summary": "The council met.",
             "system": "s"} for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def invoke(*args):
    return CliRunner().invoke(main, ["run", "--quiet", *args])


def one_line(result, code):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code, (result.output, repr(result.exception))
    assert len(lines) == 1 and lines[0].startswith("factbench: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("args, code, fragment", [
    (["--set", "rouge.batch_size=0"], 2, "rouge.batch_size must be a positive integer, got 0"),
    (["--set", "rouge.batch_size=-2"], 2, "rouge.batch_size must be a positive integer, got -2"),
    (["--columns", '{"source": 1}'], 2, "--columns: 'source' maps to 1"),
    (["--columns", '{"source": ["article", 3]}'], 2, "--columns: 'source' maps to ['article', 3]"),
    (["--columns", '["source"]'], 2, "--columns must be a JSON object"),
    (["--columns", '{"labels": ["x"]}'], 2, "'labels' must map label names"),
])
def test_bad_settings_are_one_line_and_make_no_folder(data, tmp_path, args, code, fragment):
    out = tmp_path / "run"
    line = one_line(invoke("--dataset", str(data), "--metrics", "rouge", "--out", str(out), "--no-cache", *args), code)
    assert fragment in line
    assert not out.exists()


def test_out_or_cache_dir_that_is_a_file(data, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("mine")
    line = one_line(invoke("--dataset", str(data), "--metrics", "rouge", "--out", str(afile), "--no-cache"), 5)
    assert f"--out {afile} is a file" in line
    out = tmp_path / "run"
    line = one_line(invoke("--dataset", str(data), "--metrics", "rouge", "--out", str(out), "--cache-dir", str(afile)), 5)
    assert f"{afile} is a file, not a folder" in line
    assert not out.exists() and afile.read_text() == "mine"


def test_broken_model_config_is_one_line_and_leaves_no_run_directory(data, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "bert", "hidden_size": ')  # cut short
    out = tmp_path / "run"
    line = one_line(invoke("--dataset", str(data), "--metrics", "factcc", "--set", f"factcc.model={model}",
                           "--out", str(out), "--no-cache"), 4)
    assert f"in folder {model}" in line and "config" in line
    assert not out.exists()  # it failed before any record was scored


def test_columns_with_a_named_dataset_is_an_error(tmp_path):
    line = one_line(invoke("--dataset", "frank", "--metrics", "rouge", "--columns", '{"source": "article"}',
                           "--out", str(tmp_path / "run")), 2)
    assert "'frank' is a named dataset" in line


def test_tiny_models_are_built_under_the_cache_dir_of_the_run(data, tmp_path, monkeypatch):
    elsewhere, mine = tmp_path / "env-cache", tmp_path / "my-cache"
    monkeypatch.setenv("FACTBENCH_CACHE_DIR", str(elsewhere))
    result = invoke("--dataset", str(data), "--metrics", "factcc", "--profile", "tiny", "--out",
                    str(tmp_path / "run"), "--cache-dir", str(mine))
    assert result.exit_code == 0, result.output
    assert list((mine / "tiny-models").glob("*/classifier/config.json"))
    assert not elsewhere.exists()


def test_cache_statistics_count_each_metric_only(data, tmp_path):
    """Two metrics with a stage cache each: each metric's row counts its own lookups (the old counters were
    cumulative, so the second metric also showed the first one's)."""
    out = tmp_path / "run"
    result = invoke("--dataset", str(data), "--metrics", "factcc,rouge", "--profile", "tiny", "--out", str(out),
                    "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    timings = json.loads((out / "timings.json").read_text())["metrics"]
    factcc, rouge = timings["factcc"]["cache"], timings["rouge"]["cache"]
    assert sum(factcc["misses"].values()) > 0
    stages = set(factcc["misses"]) | set(factcc["hits"])
    assert not stages & (set(rouge["misses"]) | set(rouge["hits"])), (factcc, rouge)


def test_summary_shows_factcc_truncation(tmp_path):
    path = tmp_path / "long.jsonl"
    source = " ".join(f"The council met on day {i} in the town hall." for i in range(40))
    rows = [{"id": f"e{i}", "source": source, "summary": "The council met.", "system": "s"} for i in range(2)]
    rows.append({"id": "short", "source": "The council met.", "summary": "The council met.", "system": "s"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    result = invoke("--dataset", str(path), "--metrics", "factcc", "--profile", "tiny", "--set", "factcc.max_length=64",
                    "--out", str(out), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    summary = (out / "summary.md").read_text()
    assert "## Inputs cut by factcc: 2 of 3 summaries" in summary  # the two long sources, not the short one
    assert "long/e0, long/e1" in summary


def test_rouge_says_when_a_summary_has_no_scorable_tokens():
    from factbench.metrics.rouge import Rouge
    from factbench.records import Record

    def record(summary, reference):
        return Record("d", "test", "x", "x", "s", "source text", summary, (reference,))

    rouge = Rouge({})
    japanese, latin = rouge.score([record("東京で会議が開かれた。", "東京で会議が開かれた。"),
                                   record("the cat sat", "the cat sat")])
    assert japanese.scores == {"rouge1": None, "rouge2": None, "rougeL": None}
    assert "summary has no scorable tokens" in japanese.missing
    # Identical Latin texts: every ROUGE F-measure is 1 (hand-computed: all n-grams match).
    assert latin.scores == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0} and latin.missing is None
    empty_target = rouge.score([record("the cat sat", "会議")])[0]
    assert empty_target.scores["rouge1"] is None and "reference has no scorable tokens" in empty_target.missing


def test_pipes_in_names_do_not_break_markdown_tables():
    import pandas as pd

    from factbench.report.tables import markdown_table

    md = markdown_table(pd.DataFrame([{"dataset": "a|b", "system": "x\ny", "rouge1": 0.5}]))
    header, rule, row = md.splitlines()
    assert row == "| a\\|b | x y | 0.5000 |"
    # A Markdown reader splits on unescaped pipes only: as many cells as the header has.
    assert len([c for c in row.replace("\\|", "").split("|")]) == len(header.split("|"))


def test_regress_documents_every_exit_code():
    result = CliRunner().invoke(main, ["regress", "--help"])
    text = " ".join(result.output.split())
    for code in ("0: no regression", "1: a regression", "2: not comparable", "3: a file that cannot be read",
                 "5: a run directory"):
        assert code in text, code


def test_random_bytes_cache_gives_one_warning_line_and_the_run_goes_on(data, tmp_path):
    """Issue 15, item 6 through the CLI: a cache file of random bytes (what a disk error or a stray copy leaves)
    is moved aside, the run prints one warning line and finishes with the same scores as a run without cache."""
    import os

    cache = tmp_path / "cache"
    cache.mkdir()
    junk = os.urandom(4096)
    (cache / "cache.sqlite").write_bytes(junk)
    out = tmp_path / "run"
    result = invoke("--dataset", str(data), "--metrics", "factcc", "--profile", "tiny", "--out", str(out),
                    "--cache-dir", str(cache))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "cache.sqlite is damaged" in warnings[0] and "moved it to" in warnings[0]
    assert [p.read_bytes() for p in cache.glob("cache.sqlite.damaged-*")] == [junk]
    plain = invoke("--dataset", str(data), "--metrics", "factcc", "--profile", "tiny", "--out", str(tmp_path / "plain"),
                   "--cache-dir", str(cache), "--no-cache")
    assert plain.exit_code == 0, plain.output
    assert (out / "scores.csv").read_bytes() == (tmp_path / "plain" / "scores.csv").read_bytes()
