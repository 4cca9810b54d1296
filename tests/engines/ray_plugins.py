"""Test plug-in metrics that Ray workers must be able to import: written into a folder that goes on the
driver's sys.path and on the workers' PYTHONPATH (with a dist-info declaring the entry points)."""

import sys
from pathlib import Path

SOURCE = r'''
import os, time
from factbench.metrics.base import Metric, Result

CARD = """+++
name = "ledger"
version = "1"
summary = "characters of the summary; logs what it scores, can pause for a kill or fail (a test plug-in)"
[defaults]
batch_size = 2
log = ""
pause_on = ""
fail_on = ""
marker_dir = ""
+++
A test metric.
"""


class Ledger(Metric):
    """Score: the number of characters of the summary. Appends every scored id (with its pid) to ``log``;
    on the batch holding ``pause_on`` it writes its pid to ``marker_dir/pid`` and waits to be killed, the
    first time only; on the batch holding ``fail_on`` it raises ValueError."""

    name = "ledger"
    score_names = ("chars",)
    card_text = CARD

    def score(self, batch):
        s = self.settings
        ids = [r.example_id for r in batch]
        if s["log"]:
            with open(s["log"], "a") as fh:
                fh.write("".join(f"{os.getpid()} {i}\n" for i in ids))
        if s["fail_on"] in ids:
            raise ValueError(f"ledger refuses {s['fail_on']}")
        if s["pause_on"] in ids:
            pid_file = os.path.join(s["marker_dir"], "pid")
            if not os.path.exists(pid_file):
                with open(pid_file + ".tmp", "w") as fh:
                    fh.write(str(os.getpid()))
                os.replace(pid_file + ".tmp", pid_file)
                time.sleep(120)  # the test kills this process here
        return [Result({"chars": float(len(r.summary))}) for r in batch]
'''


def install(folder: Path) -> Path:
    """Write the plug-in module and its entry point under ``folder``; put it on sys.path; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fbtest_ledger.py").write_text(SOURCE)
    dist = folder / "fbtest_ledger-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fbtest-ledger\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[factbench.metrics]\nledger = fbtest_ledger:Ledger\n")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return folder
