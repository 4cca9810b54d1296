"""Batching habits shared by the model stages: deduplicate, sort by length, back off on out-of-memory."""

from __future__ import annotations

from typing import Callable, Hashable, Sequence, TypeVar

T = TypeVar("T", bound=Hashable)
R = TypeVar("R")


def unique_sorted(items: Sequence[T], length: Callable[[T], int]) -> list[T]:
    """Distinct items, longest first: batches then pad little, and an OOM shows up on the first batch."""
    return sorted(dict.fromkeys(items), key=length, reverse=True)


def is_oom(exc: BaseException) -> bool:
    return "out of memory" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError"


def map_batches(
    items: Sequence[T],
    fn: Callable[[list[T]], list[R]],
    batch_size: int,
    length: Callable[[T], int] = len,
) -> dict[T, R]:
    """Apply ``fn`` to distinct ``items`` in length-sorted batches; halve the batch on out-of-memory.

    Returns a mapping from each distinct item to its result, so callers can re-expand duplicates.
    """
    todo = unique_sorted(items, length)
    out: dict[T, R] = {}
    i, size = 0, max(1, int(batch_size))
    while i < len(todo):
        chunk = todo[i : i + size]
        try:
            results = fn(chunk)
        except RuntimeError as exc:
            if not is_oom(exc) or size == 1:
                raise
            size //= 2
            _empty_device_cache()
            continue
        out.update(zip(chunk, results))
        i += len(chunk)
    return out


def _empty_device_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
