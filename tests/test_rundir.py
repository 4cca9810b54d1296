"""Run directories under careless and hostile use (issue 15): a foreign ``--out``, two runs at once, a stale
lock, resume after the input changed. The expected values are hand-counted words of the fixture summaries
(the CountWords plug-in of test_runner) or the bytes the user put there."""

import json
import logging
import os
import socket
import subprocess
import sys
import threading

import pandas as pd
import pytest
from click.testing import CliRunner

from factbench.cli import main
from factbench.errors import RunError
from factbench.metrics.base import Metric, Result
from factbench.runner import RunConfig, run
from test_runner import CountWords, config  # the plug-in and config helper shared with test_runner


@pytest.fixture
def plugin(install_plugin):
    install_plugin(CountWords)
    CountWords.calls = []
    return CountWords


def write_dataset(path, summaries):
    rows = [
        {"id": f"e{i}", "source": "Officials said the bridge opens in May.", "summary": s, "system": f"s{i % 2}"}
        for i, s in enumerate(summaries)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


FIVE = ["a", "a b", "a b c", "a b c d", "a b c d e"]


def words(out):
    return pd.read_csv(out / "scores.csv")["words"].tolist()


# -- item 2: --out never destroys what factbench did not write ---------------------------------------------


def test_non_empty_foreign_out_is_refused_and_left_untouched(plugin, tmp_path):
    data = write_dataset(tmp_path / "d.jsonl", FIVE)
    out = tmp_path / "mine"
    (out / "partial").mkdir(parents=True)
    (out / "scores.csv").write_text("my,own\n1,2\n")
    (out / "partial" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["run", "--dataset", str(data), "--metrics", "countwords", "--out", str(out),
                                       "--quiet", "--no-cache"])
    assert result.exit_code == 5, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a factbench run directory" in lines[0], result.stderr
    assert (out / "scores.csv").read_text() == "my,own\n1,2\n"
    assert (out / "partial" / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.rglob("*")) == ["notes.txt", "partial", "scores.csv"]
    assert plugin.calls == []


def test_finished_run_deletes_only_its_own_partial_files(plugin, tmp_path):
    """An interrupted run's folder is resumable; a file the user dropped into partial/ survives the finish."""
    data = write_dataset(tmp_path / "d.jsonl", FIVE)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run(config(data, out, metrics=("countwords",), settings={"countwords": {"fail_after": 1}}))
    (out / "partial" / "notes.txt").write_text("keep me")
    run(config(data, out, metrics=("countwords",)))
    assert words(out) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert (out / "partial" / "notes.txt").read_text() == "keep me"
    assert not (out / "partial" / "countwords.jsonl").exists()


# -- item 3: one run at a time per directory; a dead run's lock is taken over ------------------------------


class Blocking(Metric):
    """Scores like CountWords but waits in its first batch until the test lets it go."""

    name = "blocking"
    score_names = ("blocked_words",)
    card_text = "+++\nname = \"blocking\"\nversion = \"1\"\n[defaults]\nbatch_size = 2\n+++\n"
    started = threading.Event()
    go = threading.Event()

    def score(self, batch):
        Blocking.started.set()
        Blocking.go.wait(30)
        return [Result({"blocked_words": float(len(r.summary.split()))}) for r in batch]


def test_second_run_into_a_locked_directory_fails_at_once_naming_the_holder(install_plugin, tmp_path):
    install_plugin(Blocking)
    Blocking.started.clear()
    Blocking.go.clear()
    data = write_dataset(tmp_path / "d.jsonl", FIVE)
    out = tmp_path / "run"
    first: dict = {}

    def first_run():
        try:
            first["out"] = run(config(data, out, metrics=("blocking",)))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            first["error"] = exc

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert Blocking.started.wait(30)
        result = CliRunner().invoke(main, ["run", "--dataset", str(data), "--metrics", "blocking", "--out", str(out),
                                           "--quiet", "--no-cache"])
    finally:
        Blocking.go.set()
        thread.join(60)
    assert result.exit_code == 5, result.output
    line = result.stderr.strip()
    assert "\n" not in line and "in use by another factbench run" in line
    assert f"pid {os.getpid()}" in line and socket.gethostname() in line and "started 20" in line
    assert "error" not in first, first.get("error")
    assert pd.read_csv(out / "scores.csv")["blocked_words"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert not (out / ".lock").exists()


def test_stale_lock_of_a_killed_process_is_taken_over(plugin, tmp_path, caplog):
    data = write_dataset(tmp_path / "d.jsonl", FIVE)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run(config(data, out, metrics=("countwords",), settings={"countwords": {"fail_after": 1}}))
    # Another process takes the lock and dies without releasing it (SIGKILL: no cleanup of any kind).
    code = (f"import os, signal; from factbench.runlock import RunLock; RunLock({str(out)!r}).acquire(); "
            "print(os.getpid(), flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    dead_pid = proc.stdout.strip()
    assert proc.returncode == -9 and dead_pid, proc.stderr
    assert json.loads((out / ".lock").read_text())["pid"] == int(dead_pid)
    with caplog.at_level(logging.WARNING, logger="factbench"):
        run(config(data, out, metrics=("countwords",)))
    assert f"took over the stale lock of {out}: pid {dead_pid}" in caplog.text
    assert words(out) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert plugin.calls[-2:] == [["e2", "e3"], ["e4"]]  # the interrupted run's first batch was still reused


def test_lock_is_exclusive_within_one_process_too(tmp_path):
    from factbench.runlock import RunLock

    with RunLock(tmp_path):
        with pytest.raises(RunError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path).acquire()
    with RunLock(tmp_path):  # released, so free again
        pass


# -- item 1: resume keyed on the records' content -----------------------------------------------------------


def test_resume_after_the_input_changed_recomputes_what_changed(plugin, tmp_path, caplog):
    data = write_dataset(tmp_path / "d.jsonl", FIVE)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run(config(data, out, metrics=("countwords",), settings={"countwords": {"fail_after": 2}}))
    assert plugin.calls == [["e0", "e1"], ["e2", "e3"], ["e4"]]  # e0..e3 stored, e4 interrupted
    edited = ["a", "x y z w v u", "a b c", "a b c d", "a b c d e"]  # e1 now has 6 words
    write_dataset(data, edited)
    plugin.calls = []
    with caplog.at_level(logging.INFO, logger="factbench"):
        run(config(data, out, metrics=("countwords",)))
    assert words(out) == [1.0, 6.0, 3.0, 4.0, 5.0]
    assert plugin.calls == [["e0", "e1"], ["e4"]]  # e1's batch again, e2/e3 reused
    assert "countwords: reusing 2 stored result(s), scoring 3 (1 changed since they were stored)" in caplog.text
    timing = json.loads((out / "timings.json").read_text())["metrics"]["countwords"]
    assert (timing["summaries"], timing["resumed"], timing["changed"]) == (3, 2, 1)


def test_resume_with_another_file_of_the_same_name_uses_its_records(plugin, tmp_path):
    first = write_dataset(tmp_path / "a" / "d.jsonl", FIVE)
    other = write_dataset(tmp_path / "b" / "d.jsonl", ["z " * 7] * 5)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run(config(first, out, metrics=("countwords",), settings={"countwords": {"fail_after": 2}}))
    run(config(other, out, metrics=("countwords",)))
    assert words(out) == [7.0] * 5
    meta = json.loads((out / "run.json").read_text())
    from factbench.datasets.fetch import sha256_file

    assert meta["datasets"][0]["sha256"] == sha256_file(other)


# -- item 7: damaged run folders fail with one line naming the file ---------------------------------------


@pytest.fixture
def finished(plugin, tmp_path):
    """A finished countwords run over five records, and a baseline of it."""
    data = write_dataset(tmp_path / "d.jsonl", FIVE)
    out = run(config(data, tmp_path / "run", metrics=("countwords",)))
    base = tmp_path / "base.json"
    result = CliRunner().invoke(main, ["regress", str(out), "--baseline", str(base), "--update"])
    assert result.exit_code == 0, result.output
    return out, base


def commands(out, base):
    return {
        "report": ["report", str(out)],
        "analyze": ["analyze", str(out), "--bootstrap", "10", "--permutations", "0", "--no-plots"],
        "regress": ["regress", str(out), "--baseline", str(base)],
    }


def assert_one_line_everywhere(out, base, exit_code, *fragments):
    for name, args in commands(out, base).items():
        result = CliRunner().invoke(main, args)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == exit_code, (name, result.output, repr(result.exception))
        assert len(lines) == 1 and lines[0].startswith("factbench: error: "), (name, result.stderr)
        for fragment in fragments:
            assert fragment in lines[0], (name, lines[0])


def rewrite_lines(path, edit):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(edit(lines)))


def test_truncated_scores_csv_is_detected(finished):
    out, base = finished
    rewrite_lines(out / "scores.csv", lambda lines: lines[:-2])  # what a copy cut short leaves
    assert_one_line_everywhere(out, base, 5, "scores.csv has 3 rows, run.json says 5", "truncated")


def test_duplicated_scores_csv_is_detected(finished):
    out, base = finished
    rewrite_lines(out / "scores.csv", lambda lines: lines + lines[1:])  # rows appended twice
    assert_one_line_everywhere(out, base, 5, "scores.csv has 10 rows, run.json says 5", "extra")


def test_edited_scores_csv_is_detected_by_its_hash(finished):
    out, base = finished
    rewrite_lines(out / "scores.csv", lambda lines: [lines[0], lines[1].replace("1.0", "9.0"), *lines[2:]])
    assert_one_line_everywhere(out, base, 5, "scores.csv is not the file the run wrote")


@pytest.mark.parametrize("damage, fragment", [
    (lambda text: "", "run.json is empty"),
    (lambda text: text[: len(text) // 2], "run.json is truncated or not valid JSON"),
])
def test_empty_or_truncated_run_json_is_one_line(finished, damage, fragment):
    out, base = finished
    (out / "run.json").write_text(damage((out / "run.json").read_text()))
    assert_one_line_everywhere(out, base, 5, fragment)


def test_missing_column_and_empty_file_of_a_run_without_fingerprints(finished):
    """Runs written before run.json recorded fingerprints are still checked: row counts from the datasets'
    n, the columns run.json names, and an empty scores.csv."""
    out, base = finished
    meta = json.loads((out / "run.json").read_text())
    del meta["files"]
    (out / "run.json").write_text(json.dumps(meta))
    frame = pd.read_csv(out / "scores.csv", dtype=str, keep_default_na=False)
    frame.drop(columns=["words"]).to_csv(out / "scores.csv", index=False)
    for args in commands(out, base).values():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 3 and "words" in result.stderr and "missing" in result.stderr, result.output
        assert len(result.stderr.strip().splitlines()) == 1
    (out / "scores.csv").write_text("")
    assert_one_line_everywhere(out, base, 5, "scores.csv is empty")


# -- item 4: names that pandas would read as missing stay names in every report ----------------------------


def test_na_none_null_names_survive_every_report(plugin, tmp_path):
    systems = ["NA", "None", "null", "nan", "=1+1"]
    rows = [
        {"id": f"e{d}{s}", "doc_id": f"d{d}", "source": "Officials said the bridge opens in May.",
         "summary": " ".join(["w"] * (1 + (d * 3 + k) % 7)), "system": s, "label:consistent": (d + k) % 2}
        for d in range(6) for k, s in enumerate(systems)
    ]
    data = tmp_path / "NA.jsonl"  # the dataset is named after the file stem: "NA"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = run(config(data, tmp_path / "run", metrics=("countwords",)))
    # scores.csv: the formula-like name is escaped for spreadsheets, the others written as they are.
    raw = pd.read_csv(out / "scores.csv", dtype=str, keep_default_na=False)
    assert set(raw["system"]) == {"NA", "None", "null", "nan", "'=1+1"} and set(raw["dataset"]) == {"NA"}
    table = pd.read_csv(out / "table.csv", dtype=str, keep_default_na=False)
    assert set(table["dataset"]) == {"NA"}
    assert set(table["system"]) == {"(all)", "NA", "None", "null", "nan", "'=1+1"}
    assert (table["n"] == "6").sum() == 5  # each system's row counts its own 6 summaries
    md = (out / "table.md").read_text()
    for name in systems:
        assert f"| NA | {name} |" in md, name
    summary = (out / "summary.md").read_text()
    assert "| NA | None |" in summary and "**NA**" in summary
    result = CliRunner().invoke(main, ["analyze", str(out), "--bootstrap", "10", "--permutations", "0",
                                       "--no-plots"])
    assert result.exit_code == 0, result.output
    corr = pd.read_csv(out / "analysis" / "correlations.csv", dtype=str, keep_default_na=False)
    assert set(corr["dataset"]) == {"NA"}
    system_level = corr[corr["level"] == "system"]
    assert not system_level.empty and set(system_level["n_units"]) == {"5"}  # all five systems, none dropped
    assert set(corr.loc[corr["level"] == "global", "n"]) == {"30"}
    base = tmp_path / "base.json"
    result = CliRunner().invoke(main, ["regress", str(out), "--baseline", str(base), "--update"])
    assert result.exit_code == 0, result.output
    assert list(json.loads(base.read_text())["examples"]) == ["NA"]
    assert CliRunner().invoke(main, ["regress", str(out), "--baseline", str(base)]).exit_code == 0


# -- item 10: a record's score does not depend on what was left to score ------------------------------------


class Company(Metric):
    """A metric whose numbers depend on the batch a record is scored in, as padded model batches' last digits
    do: words + 1e-3 x (sum of the batch's words). Stands in for QUALS/QAGS/FactCC at the runner level."""

    name = "company"
    score_names = ("company",)
    card_text = "+++\nname = \"company\"\nversion = \"1\"\n[defaults]\nbatch_size = 2\nfail_after = -1\n+++\n"
    calls: list = []

    def score(self, batch):
        Company.calls.append([r.example_id for r in batch])
        if 0 <= self.settings["fail_after"] < len(Company.calls):
            raise KeyboardInterrupt("simulated interruption")
        total = sum(len(r.summary.split()) for r in batch)
        return [Result({"company": len(r.summary.split()) + 1e-3 * total}) for r in batch]


def test_resumed_scores_equal_a_fresh_run_even_when_batches_would_regroup(install_plugin, tmp_path):
    """Consistency (factbench vs factbench): an edit in the first batch used to shift every later record into
    other company after a resume ([e0, e2], [e3, e4] instead of [e0, e1], [e2, e3], [e4])."""
    install_plugin(Company)
    data = write_dataset(tmp_path / "d.jsonl", FIVE)
    Company.calls = []
    with pytest.raises(KeyboardInterrupt):
        run(config(data, tmp_path / "resumed", metrics=("company",), settings={"company": {"fail_after": 1}}))
    write_dataset(data, ["x y z"] + FIVE[1:])  # e0 edited after the interruption
    run(config(data, tmp_path / "resumed", metrics=("company",)))
    fresh = run(config(data, tmp_path / "fresh", metrics=("company",)))
    assert (tmp_path / "resumed" / "scores.csv").read_bytes() == (fresh / "scores.csv").read_bytes()
    # Hand-computed: [e0 (3 words), e1 (2)] -> 3.005, 2.005; [e2, e3] -> 3.007, 4.007; [e4] -> 5.005.
    assert pd.read_csv(fresh / "scores.csv")["company"].tolist() == [3.005, 2.005, 3.007, 4.007, 5.005]


def test_warm_cache_scores_stay_within_the_stated_bound(tiny_models, tmp_path):
    """Consistency (factbench vs factbench), the bound README's Guarantees states: with a warm stage cache a
    model stage computes only the missing items, in other batches than a cold run; QUALS on the tiny model
    then agrees with the cold run within 1e-5 (absolute), the metric's batched-vs-one-at-a-time bound."""
    source = ("The city council approved a new budget on Monday after a long debate about schools and roads. "
              "The mayor said taxes would not rise. Forty new teachers will be hired.")
    summaries = ["The council approved the budget on Monday.", "The mayor said taxes would fall by ten percent.",
                 "Forty new teachers will be hired, the mayor said.", "The council met on Monday."]

    def dataset(path, ids):
        rows = [{"id": f"e{i}", "source": source, "summary": summaries[i], "system": "s"} for i in ids]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    full = dataset(tmp_path / "full.jsonl", range(4))
    settings = {"quals": {"model": str(tiny_models["bart"]), "device": "cpu", "num_pairs": 60, "max_tokens": 20,
                          "batch_size": 4}}
    cold = run(RunConfig(datasets=[str(full)], metrics=["quals"], out_dir=tmp_path / "cold", use_cache=False,
                         progress=False, profile="tiny", settings=settings))
    cache = str(tmp_path / "cache")
    run(RunConfig(datasets=[str(dataset(tmp_path / "part.jsonl", [1, 3]))], metrics=["quals"],
                  out_dir=tmp_path / "warmup", cache_dir=cache, progress=False, profile="tiny", settings=settings))
    warm = run(RunConfig(datasets=[str(full)], metrics=["quals"], out_dir=tmp_path / "warm", cache_dir=cache,
                         progress=False, profile="tiny", settings=settings))
    hits = json.loads((warm / "timings.json").read_text())["metrics"]["quals"]["cache"]["hits"]
    assert sum(hits.values()) > 0  # the warm run did reuse the cached stages
    a, b = pd.read_csv(cold / "scores.csv"), pd.read_csv(warm / "scores.csv")
    assert a["quals"].isna().tolist() == b["quals"].isna().tolist()
    assert a["quals"].notna().sum() >= 2
    assert (a["quals"] - b["quals"]).abs().max() <= 1e-5
