"""``--shard I/N``: a deterministic 1/N of the records, for batch schedulers (Slurm job arrays) without Ray.

A record belongs to shard ``I`` when the first 8 bytes of ``sha256(dataset + "\\0" + example_id)``, read as a
big-endian integer, are ``I`` modulo ``N``: the same on every machine, Python version and run, and independent of
the order of the records, so shards can be scored anywhere and joined with ``factbench merge``. A sharded run
directory holds ``shard.json`` beside ``run.json``: the shard, how many records each dataset had before
sharding, and each kept record's position in its dataset, so that the merge restores the unsharded order.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import ConfigError
from ..io import read_json, write_json

SHARD_FILE = "shard.json"


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)``, with ``0 <= I < N``.

    >>> parse_shard("2/8")
    (2, 8)
    """
    index, sep, count = str(text).partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise ConfigError(f"--shard expects I/N with whole numbers, e.g. 0/4, got {text!r}") from None
    if not sep or n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard I/N needs 0 <= I < N, got {text!r}")
    return i, n


def shard_of(dataset: str, example_id: str, count: int) -> int:
    """The shard, in ``range(count)``, of one record.

    >>> shard_of("sample", "s1-library:faithful", 1)
    0
    """
    digest = hashlib.sha256(f"{dataset}\0{example_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def shard_info(selected: list, index: int, count: int) -> dict:
    """The ``shard.json`` content of shard ``index`` of ``count`` of ``[(dataset, Selection), ...]``."""
    info = {"index": index, "count": count, "selected": {}, "positions": {}}
    for dataset, selection in selected:
        info["selected"][dataset.name], info["positions"][dataset.name] = selection.shard_positions()
    return info


def write_shard_file(run_dir: Path, info: dict) -> None:
    write_json(Path(run_dir) / SHARD_FILE, info)


def read_shard_file(run_dir: Path) -> dict | None:
    path = Path(run_dir) / SHARD_FILE
    return read_json(path) if path.is_file() else None
