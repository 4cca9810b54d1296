"""Per-stage wall and CPU time plus cost counters (model calls, tokens in and out, estimated FLOPs).

A metric times its stages with ``with metric.timer.stage("generation"):`` and counts model work with
``metric.timer.add("generation", model_calls=1, tokens_in=..., tokens_out=..., flops=...)``. The runner
stores ``timer.as_dict()`` per metric in the run's ``timings.json``.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import defaultdict
from contextlib import contextmanager

COUNTERS = ("model_calls", "tokens_in", "tokens_out", "flops", "items")


class StageTimer:
    def __init__(self):
        self.stages: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    @contextmanager
    def stage(self, name: str):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            rec = self.stages[name]
            rec["wall_s"] += time.perf_counter() - wall
            rec["cpu_s"] += time.process_time() - cpu
            rec["entered"] += 1

    def add(self, name: str, **counts: float) -> None:
        unknown = set(counts) - set(COUNTERS)
        if unknown:
            raise ValueError(f"unknown counters {sorted(unknown)}; known: {COUNTERS}")
        rec = self.stages[name]
        for key, value in counts.items():
            rec[key] += value

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {name: dict(rec) for name, rec in self.stages.items()}


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
