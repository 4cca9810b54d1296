"""The engine contract, and the local engine: every batch scored in this process, in order."""

from __future__ import annotations

from typing import Iterable, Iterator

from ..cache import stats_since
from ..metrics.base import Metric, Result
from ..records import Record

Scored = tuple[list[Record], list[Result]]


class Engine:
    """Where a run's batches are scored.

    The runner calls :meth:`start` once with the run settings and its built metrics, then :meth:`score` per
    metric, :meth:`stats` per metric after its batches, :meth:`describe` for ``run.json``, and :meth:`close`
    at the end (also on error).
    """

    name = "engine"

    def __init__(self, setup=None):
        self.setup = setup

    def start(self, cfg, metrics: dict[str, Metric]) -> None:
        """Prepare for a run of ``metrics`` (label -> metric as built on the driver)."""
        if self.setup is not None:
            self.setup(metrics)

    def score(self, label: str, metric: Metric, batches: Iterable[list[Record]]) -> Iterator[Scored]:
        """Yield ``(batch, results)`` for every batch, in any order, each batch exactly once."""
        raise NotImplementedError

    def stats(self, label: str, metric: Metric) -> dict:
        """``{"stages": ..., "cache": ...}`` of ``label`` so far: the stage timers and cache counters."""
        raise NotImplementedError

    def describe(self) -> dict:
        """What ``run.json`` records about the engine."""
        return {"name": self.name}

    def close(self) -> None:
        """Release workers; safe to call twice."""


class LocalEngine(Engine):
    """Scores in the calling process; the results are those of ``metric.score`` called batch by batch."""

    name = "local"

    def __init__(self, setup=None):
        super().__init__(setup)
        self._cache_before: dict[str, dict] = {}

    def score(self, label: str, metric: Metric, batches: Iterable[list[Record]]) -> Iterator[Scored]:
        self._cache_before[label] = metric.cache.stats()  # the cache is the run's: count this metric only
        for batch in batches:
            yield batch, metric.score(batch)

    def stats(self, label: str, metric: Metric) -> dict:
        return {"stages": metric.timer.as_dict(),
                "cache": stats_since(self._cache_before.get(label, {}), metric.cache.stats())}


def sum_nested(parts: list[dict]) -> dict:
    """Sum dicts of numbers (or of dicts of numbers) key by key."""
    out: dict = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict):
                out[key] = sum_nested([out.get(key, {}), value])
            else:
                out[key] = out.get(key, 0) + value
    return out
