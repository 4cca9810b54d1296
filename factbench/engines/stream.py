"""The records a run scores, as re-iterable streams: split, limit and shard applied lazily.

A streamed dataset (:class:`factbench.datasets.generic.RecordStream`) reads its file again on each pass; a
benchmark loader's list is iterated in place. Either way the runner never holds more than a few batches of
records: it iterates a :class:`Selection` once per metric (cutting the same batches as a list would) and once
to write the results.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterable, Iterator

from ..records import Record
from .shard import shard_of


class Selection:
    """``records`` restricted to ``split`` (if given), the first ``limit`` of those, then shard ``shard[0]`` of
    ``shard[1]`` (if given). Re-iterable; ``len()`` counts once and remembers."""

    def __init__(self, records: Iterable[Record], split: str | None = None, limit: int | None = None,
                 shard: tuple[int, int] | None = None):
        self.records, self.split, self.limit, self.shard = records, split, limit, shard
        self._len: int | None = None

    def _selected(self) -> Iterator[Record]:
        """The records before sharding: split, then limit."""
        records = iter(self.records)
        if self.split:
            records = (r for r in records if r.split == self.split)
        return islice(records, self.limit) if self.limit is not None else records

    def __iter__(self) -> Iterator[Record]:
        if self.shard is None:
            return self._selected()
        index, count = self.shard
        return (r for r in self._selected() if shard_of(r.dataset, r.example_id, count) == index)

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self)
        return self._len

    def shard_positions(self) -> tuple[int, list[int]]:
        """(records before sharding, the position among them of each record of this shard)."""
        index, count = self.shard
        positions, total = [], 0
        for total, r in enumerate(self._selected(), start=1):
            if shard_of(r.dataset, r.example_id, count) == index:
                positions.append(total - 1)
        return total, positions


class Chain:
    """Several re-iterables one after the other, itself re-iterable."""

    def __init__(self, parts: list[Iterable[Record]]):
        self.parts = parts

    def __iter__(self) -> Iterator[Record]:
        for part in self.parts:
            yield from part

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)


def batched(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Consecutive lists of ``size`` records (the last may be shorter): the batches a list slicing would cut."""
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch
