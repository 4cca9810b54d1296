"""The Ray engine on one local Ray instance (127.0.0.1, 3 CPUs) shared by this module's tests.

What these tests show is consistency, not correctness: the Ray engine against the local engine (factbench
against factbench), byte for byte, and its bookkeeping (no record lost, none twice, none re-sent). The local
engine's numbers are what the metrics' own tests check for correctness.
"""

import ipaddress
import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from factbench.errors import RunError
from factbench.runner import RunConfig, run

from ray_plugins import install

ray = pytest.importorskip("ray") if os.environ.get("CI") != "true" else __import__("ray")

REPO = Path(__file__).resolve().parents[2]
EVERY_METRIC = ("rouge", "quals", "qags", "factcc", "entity-overlap", "precomputed")


@pytest.fixture(scope="module", autouse=True)
def ray_instance(tmp_path_factory):
    """One Ray instance for the module, on the loopback address only; the plug-in importable by its workers."""
    plugins = install(tmp_path_factory.mktemp("plugins"))
    old = os.environ.get("PYTHONPATH")
    # Workers inherit the environment the instance starts with: the plug-in folder and this source tree.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(plugins), str(REPO), old) if p)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()
    if old is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = old


def config(out, datasets=("sample",), metrics=("ledger",), engine="local", workers=None, **kw):
    options = {"workers": workers} if engine == "ray" else {}
    return RunConfig(datasets=list(datasets), metrics=list(metrics), out_dir=out, use_cache=False, progress=False,
                     engine=engine, engine_options=options, **kw)


def precomputed_file(tmp_path):
    """A per-example score file for the precomputed metric: a number derived from each sample id."""
    from factbench.datasets import load

    path = tmp_path / "external.csv"
    rows = [f"{r.example_id},{len(r.example_id) / 7}" for r in load("sample").records]
    path.write_text("example_id,external\n" + "\n".join(rows) + "\n")
    return path


def test_every_metric_same_scores_on_1_2_3_workers(tmp_path):
    """Tiny profile, every built-in metric, the sample set, batches of 4 (so 3 workers all get work):
    scores.csv of the Ray engine equals the local engine's byte for byte (consistency)."""
    settings = {m: {"batch_size": 4} for m in EVERY_METRIC}
    settings["precomputed"] = {"path": str(precomputed_file(tmp_path))}
    local = run(config(tmp_path / "local", metrics=EVERY_METRIC, profile="tiny", settings=settings))
    expected = (local / "scores.csv").read_bytes()
    assert b"qags" in expected.splitlines()[0] and len(expected.splitlines()) == 31
    for workers in (1, 2, 3):
        out = run(config(tmp_path / f"ray{workers}", metrics=EVERY_METRIC, profile="tiny", settings=settings,
                         engine="ray", workers=workers))
        assert (out / "scores.csv").read_bytes() == expected, f"{workers} workers"
        meta = json.loads((out / "run.json").read_text())
        assert meta["engine"]["name"] == "ray" and len(meta["engine"]["worker_nodes"]) == workers
        assert len({w["pid"] for w in meta["engine"]["worker_nodes"]}) == workers
        assert meta["metrics"] == json.loads((local / "run.json").read_text())["metrics"]


def test_rouge_and_entity_overlap_same_scores_on_a_real_benchmark(tmp_path, data_dir):
    """qags-xsum (239 summaries), ROUGE and entity overlap: Ray with 1, 2, 3 workers equals local (consistency)."""
    common = dict(datasets=("qags-xsum",), metrics=("rouge", "entity-overlap"), data_dir=str(data_dir))
    expected = (run(config(tmp_path / "local", **common)) / "scores.csv").read_bytes()
    assert len(expected.splitlines()) == 240
    for workers in (1, 2, 3):
        out = run(config(tmp_path / f"ray{workers}", engine="ray", workers=workers, **common))
        assert (out / "scores.csv").read_bytes() == expected, f"{workers} workers"


def _kill_when_paused(marker_dir: Path, killed: list):
    """Wait for the worker's pid file, then SIGKILL that process (what an OOM killer or a lost node does)."""
    pid_file = marker_dir / "pid"
    deadline = time.monotonic() + 300
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_file.exists():
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)


def test_a_killed_worker_is_restarted_and_its_batch_retried(tmp_path):
    """Two workers; the one scoring the batch with s3-bakery:negation is killed with SIGKILL while it works on it.
    Ray restarts it, the batch is scored again, and the run equals an uninterrupted local run byte for byte:
    no record missing, none twice. The ledger log shows that batch scored twice and every other once."""
    marker, log = tmp_path / "marker", tmp_path / "ledger.log"
    marker.mkdir()
    victim = "s3-bakery:negation"
    local = run(config(tmp_path / "local"))
    killed: list = []
    killer = threading.Thread(target=_kill_when_paused, args=(marker, killed), daemon=True)
    killer.start()
    settings = {"ledger": {"pause_on": victim, "marker_dir": str(marker), "log": str(log)}}
    out = run(config(tmp_path / "ray", engine="ray", workers=2, settings=settings))
    killer.join(timeout=5)
    assert len(killed) == 1
    assert (out / "scores.csv").read_bytes() == (local / "scores.csv").read_bytes()
    nodes = json.loads((out / "run.json").read_text())["engine"]["worker_nodes"]
    assert [w["restarted"] for w in nodes].count(True) == 1
    assert killed[0] not in {w["pid"] for w in nodes}  # the restarted worker is a new process
    lines = [line.split() for line in log.read_text().splitlines()]
    counts = Counter(i for _, i in lines)
    retried = {i for i, n in counts.items() if n == 2}
    assert victim in retried and len(retried) == 2  # the victim's batch of two (batch_size 2)
    assert set(counts.values()) == {1, 2} and len(counts) == 30
    assert {int(p) for p, i in lines if i == victim} >= {killed[0]}


def test_a_failed_run_resumes_without_resending_finished_records(tmp_path):
    """A metric error on a worker stops the run with that error; the batches finished before it are in
    partial/, and the resumed run sends only the other records to the workers (the ledger log says which)."""
    out, log = tmp_path / "run", tmp_path / "ledger.log"
    failing = {"ledger": {"fail_on": "s2-cycling:negation", "log": str(log)}}
    with pytest.raises(RunError, match="ValueError on a Ray worker: ledger refuses s2-cycling:negation"):
        run(config(out, engine="ray", workers=1, settings=failing))
    finished = {json.loads(line)["example_id"] for line in (out / "partial" / "ledger.jsonl").read_text().splitlines()}
    assert finished and "s2-cycling:negation" not in finished
    log.unlink()
    run(config(out, engine="ray", workers=2, settings={"ledger": {"log": str(log)}}))
    sent = [line.split()[1] for line in log.read_text().splitlines()]
    assert len(sent) == len(set(sent)) == 30 - len(finished) and not finished & set(sent)
    expected = run(config(tmp_path / "local"))
    assert (out / "scores.csv").read_bytes() == (expected / "scores.csv").read_bytes()


def test_a_worker_with_other_signatures_is_refused(tmp_path, monkeypatch):
    """A worker that would compute other numbers (here: another seed) stops the run before any scoring."""
    from factbench.engines import ray_actors

    spec = ray_actors._worker_spec
    monkeypatch.setattr(ray_actors, "_worker_spec", lambda cfg: {**spec(cfg), "seed": 99})
    with pytest.raises(RunError, match="computes other numbers than this driver for qags"):
        run(config(tmp_path / "run", metrics=("qags",), profile="tiny", engine="ray", workers=1))
    assert not (tmp_path / "run" / "partial" / "qags.jsonl").exists()


def _listening_addresses(pids: set[int]) -> set[str]:
    """The local addresses of the TCP sockets that ``pids`` listen on, read from /proc (Linux)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:  # a process that ended meanwhile
            continue
    addresses = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                raw = bytes.fromhex(fields[1].split(":")[0])
                # /proc prints each 32-bit word little-endian
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, width // 2, 4))
                address = ipaddress.ip_address(words)
                addresses.add(str(getattr(address, "ipv4_mapped", None) or address))
    return addresses


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from Linux /proc")
def test_the_ray_instance_listens_on_loopback_only():
    """Every socket the instance's processes (GCS, raylet, agents, workers, this driver) listen on is bound to
    127.0.0.1 (or its IPv4-mapped IPv6 form, ::ffff:127.0.0.1), none to 0.0.0.0, :: or the machine's address."""
    session = ray._private.worker._global_node.get_session_dir_path()
    pids = {os.getpid()}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if session.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.add(int(entry))
            except OSError:
                continue
    assert len(pids) >= 3  # the driver, the GCS and the raylet at least
    addresses = _listening_addresses(pids)
    assert addresses == {"127.0.0.1"}
    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}


def test_a_worker_that_cannot_start_is_one_error_naming_why(tmp_path, monkeypatch):
    """A worker whose constructor raises (here: it is told to build a metric that does not exist) stops the run
    with a RunError that carries the worker's own error, not a generic 'actor died'."""
    from factbench.engines import ray_actors

    spec = ray_actors._worker_spec
    monkeypatch.setattr(ray_actors, "_worker_spec", lambda cfg: {**spec(cfg), "metrics": ["nosuchmetric"]})
    with pytest.raises(RunError, match="starting the workers: a Ray worker died.*unknown metric 'nosuchmetric'"):
        run(config(tmp_path / "run", engine="ray", workers=1))


def test_a_killed_driver_resumes_without_resending_finished_records(tmp_path):
    """The driver process (with the Ray instance it started) is SIGKILLed while its worker scores the 8th
    batch; a new run in the same --out reuses the 14 results of partial/, sends only the other 16 records,
    and gives the scores of an uninterrupted local run, byte for byte."""
    import subprocess
    import sys

    out, marker, log = tmp_path / "run", tmp_path / "marker", tmp_path / "ledger.log"
    marker.mkdir()
    victim = "s4-grebes:faithful"  # the 16th sample record: in the 8th batch of 2
    command = [sys.executable, "-c", "from factbench.cli import main; main()", "run", "--dataset", "sample",
               "--metrics", "ledger", "--engine", "ray", "--workers", "1", "--no-cache", "--quiet", "--out", str(out),
               "--set", f"ledger.pause_on={victim}", "--set", f"ledger.marker_dir={marker}"]
    driver = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = out / "partial" / "ledger.jsonl"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (
            (marker / "pid").exists() and partial.exists() and len(partial.read_bytes().splitlines()) >= 14
        ):
            time.sleep(0.1)
        assert (marker / "pid").exists(), "the worker never reached the victim's batch"
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver's own process group: it and the Ray it started
        driver.wait()
    finished = {json.loads(line)["example_id"] for line in partial.read_text().splitlines()}
    assert len(finished) == 14 and victim not in finished and not (out / "run.json").exists()

    resumed = run(config(out, engine="ray", workers=2, settings={"ledger": {"log": str(log)}}))
    sent = [line.split()[1] for line in log.read_text().splitlines()]
    assert len(sent) == len(set(sent)) == 16 and not finished & set(sent)
    timings = json.loads((resumed / "timings.json").read_text())["metrics"]["ledger"]
    assert (timings["resumed"], timings["summaries"]) == (14, 16)
    assert (resumed / "scores.csv").read_bytes() == (run(config(tmp_path / "local")) / "scores.csv").read_bytes()
