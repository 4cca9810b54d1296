"""Fault injection (issue 15): `factbench run` killed with SIGKILL at random moments (several seeds), then run
again with the same command until it finishes; the final scores.csv and results.jsonl equal an uninterrupted
run's byte for byte. Consistency (factbench vs factbench): what it shows is that no interruption point loses,
duplicates or changes a result.

The metrics are ROUGE and a plug-in whose numbers depend on the batch a record is scored in (as padded model
batches' last digits do) and that takes a moment per batch, so that kills land mid-scoring too."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import factbench

REPO = Path(factbench.__file__).resolve().parents[1]
N_RECORDS, BATCH = 18, 3

PLUGIN = '''
import time
from factbench.metrics.base import Metric, Result

class SlowCompany(Metric):
    name = "slowcompany"
    score_names = ("slowcompany",)
    card_text = '+++\\nname = "slowcompany"\\nversion = "1"\\n[defaults]\\nbatch_size = %d\\n+++\\n'

    def score(self, batch):
        time.sleep(0.25)
        total = sum(len(r.summary.split()) for r in batch)
        return [Result({"slowcompany": len(r.summary.split()) / 7 + total / 1000}, {"batch": [x.example_id for x in batch]})
                for r in batch]
''' % BATCH


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("fault")
    site = root / "site"
    dist = site / "slowcompany_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: slowcompany-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[factbench.metrics]\nslowcompany = fi_slowcompany:SlowCompany\n")
    (site / "fi_slowcompany.py").write_text(PLUGIN)
    data = root / "d.jsonl"
    rows = [{"id": f"e{i:02d}", "source": "Officials said the new bridge over the river opens in May.",
             "summary": " ".join(["the", "bridge", "opens", "in", "May"][: 1 + i % 5] + ["soon"] * (i % 3)),
             "reference": "The bridge opens in May.", "system": f"s{i % 3}", "label:consistent": i % 2}
            for i in range(N_RECORDS)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "FACTBENCH_CACHE_DIR": str(root / "cache")}
    return root, data, env


def command(data, out):
    return [sys.executable, "-c", "from factbench.cli import main; main()", "run", "--dataset", str(data),
            "--metrics", "rouge,slowcompany", "--out", str(out), "--quiet", "--no-cache"]


def test_killed_and_resumed_runs_equal_an_uninterrupted_run(setup):
    root, data, env = setup
    began = time.monotonic()
    ref = subprocess.run(command(data, root / "reference"), env=env, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - began
    assert ref.returncode == 0, ref.stderr
    expected = {n: (root / "reference" / n).read_bytes() for n in ("scores.csv", "results.jsonl")}
    mid_run_kills = 0
    for seed in (1, 2, 3):
        rng = random.Random(seed)
        out = root / f"run-{seed}"
        for _ in range(2):
            proc = subprocess.Popen(command(data, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0, took))
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
            partial = out / "partial" / "slowcompany.jsonl"
            if proc.returncode == -signal.SIGKILL and partial.is_file() and partial.stat().st_size:
                mid_run_kills += 1
        if not (out / "run.json").exists():  # the last kill may have come after the run finished
            final = subprocess.run(command(data, out), env=env, capture_output=True, text=True, timeout=300)
            assert final.returncode == 0, (seed, final.stderr)
        for name, content in expected.items():
            assert (out / name).read_bytes() == content, (seed, name)
        assert not (out / "partial").exists() and not (out / ".lock").exists()
    assert mid_run_kills >= 1  # at least one kill landed after some batches were stored
