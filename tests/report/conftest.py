"""Run directories the report tests read: the sample set scored by every metric on the tiny models (built
once per session, offline; the numbers are meaningless, the details have the real shape)."""

import pytest
from click.testing import CliRunner

ALL_METRICS = "quals,qags,factcc,rouge,entity-overlap"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    from factbench.cli import main

    out = tmp_path_factory.mktemp("report") / "run"
    cache = tmp_path_factory.mktemp("report_cache")
    result = CliRunner().invoke(main, ["run", "--dataset", "sample", "--metrics", ALL_METRICS, "--profile", "tiny",
                                       "--out", str(out), "--cache-dir", str(cache), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def write_results():
    """Rewrite a run's ``results.jsonl`` as if the run had produced these rows: run.json re-records the
    fingerprints (report/analyze refuse files that differ from what the run recorded)."""
    return _write_results


def _write_results(run_dir, rows):
    import json

    from factbench import rundir

    (run_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    meta = json.loads((run_dir / "run.json").read_text())
    meta["files"] = rundir.fingerprints(run_dir)
    (run_dir / "run.json").write_text(json.dumps(meta))
