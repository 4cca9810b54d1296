"""A persistent content-addressed store of stage outputs (SQLite).

Each entry is keyed by the stage name, the fingerprint of the model that produced it, the settings that
change it, and the input; so a second run of the same command does no model work, an interrupted run
resumes with what was finished, and a changed model invalidates only the stages that use it. Values are
JSON with a sha256 beside them: an entry whose bytes do not match is treated as missing and recomputed.
SQLite in WAL mode with a busy timeout lets concurrent runs share one cache file. A damaged cache file (found
at open or mid-run) is moved aside with one warning and replaced by a fresh one: a cache only saves work, so
losing it must never stop a run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import RunError

log = logging.getLogger("factbench")
# SQLite's result codes for a file that is not a database or whose pages are damaged; other errors (a locked
# database, a full disk) are not the file's fault and are raised as they are.
_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, stage TEXT, value TEXT, digest TEXT)"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_key(stage: str, fingerprint: str, settings: dict, item: Any) -> str:
    return _digest(_canonical([stage, fingerprint, settings, item]))


class Cache:
    """Stage-output cache; ``Cache(None)`` is a disabled cache that always computes.

    Counters ``hits``, ``misses`` and ``corrupt`` (per stage) feed the run's timing report.
    """

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.hits: dict[str, int] = {}
        self.misses: dict[str, int] = {}
        self.corrupt: dict[str, int] = {}
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self.moved_aside: Path | None = None
        if self.path:
            _check_location(self.path)
            self._guard(self._open)

    def _open(self) -> None:
        with self._conn() as conn:
            conn.execute(SCHEMA)
            # Reading a row makes SQLite look at the pages, so a damaged file is found here and not mid-run.
            conn.execute("SELECT key, stage, value, digest FROM entries LIMIT 1").fetchall()

    def _guard(self, action: Callable[[], Any], fallback: Any = None) -> Any:
        """Run ``action``; if the cache file turns out damaged, move it aside (once), start a fresh one and run
        ``action`` again on it; if even that fails, go on without a cache and return ``fallback``."""
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc) or self.path is None:
                raise
            self._move_aside(exc)
        try:
            self._open()
            return action()
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            log.warning("cache %s is still unusable (%s); continuing without a cache", self.path, exc)
            self.path = None
            return fallback

    def _move_aside(self, exc: Exception) -> None:
        for conn in self._conns:
            try:
                conn.close()
            except sqlite3.ProgrammingError:  # another thread's connection; it is dropped with the file
                pass
        self._conns.clear()
        self._local = threading.local()
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):  # SQLite's side files belong to the damaged file
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.replace(aside.with_name(aside.name + suffix))
        self.moved_aside = aside
        log.warning("cache %s is damaged (%s); moved it to %s and continuing with a fresh cache", self.path, exc, aside)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60)
            self._conns.append(conn)
            self._local.conn = conn
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def map(
        self,
        stage: str,
        fingerprint: str,
        settings: dict,
        items: Sequence[Any],
        compute: Callable[[list], list],
    ) -> list:
        """Results for ``items`` in order: cached ones read back, the rest computed in one ``compute`` call.

        ``items`` and results must be JSON-serialisable; duplicates are computed once.
        """
        keys = [entry_key(stage, fingerprint, settings, it) for it in items]
        found = self._guard(lambda: self._get(stage, set(keys)), {}) if self.path else {}
        todo: dict[str, Any] = {}
        for k, it in zip(keys, items):
            if k not in found:
                todo.setdefault(k, it)
        self.hits[stage] = self.hits.get(stage, 0) + len(items) - sum(k in todo for k in keys)
        self.misses[stage] = self.misses.get(stage, 0) + len(todo)
        if todo:
            values = compute(list(todo.values()))
            if len(values) != len(todo):
                raise RuntimeError(f"stage {stage}: compute returned {len(values)} results for {len(todo)} inputs")
            # Round-trip through JSON so that a fresh result and a cached one are the same object shape.
            fresh = {k: json.loads(_canonical(v)) for k, v in zip(todo, values)}
            if self.path:
                self._guard(lambda: self._put(stage, fresh))
            found.update(fresh)
        return [found[k] for k in keys]

    def _get(self, stage: str, keys: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        conn = self._conn()
        key_list = list(keys)
        for i in range(0, len(key_list), 500):
            chunk = key_list[i : i + 500]
            rows = conn.execute(
                f"SELECT key, value, digest FROM entries WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            for key, value, digest in rows:
                if _digest(value) != digest:
                    self.corrupt[stage] = self.corrupt.get(stage, 0) + 1
                    continue
                try:
                    out[key] = json.loads(value)
                except json.JSONDecodeError:
                    self.corrupt[stage] = self.corrupt.get(stage, 0) + 1
        return out

    def _put(self, stage: str, values: dict[str, Any]) -> None:
        rows = []
        for key, v in values.items():
            text = _canonical(v)
            rows.append((key, stage, text, _digest(text)))
        conn = self._conn()
        with conn:
            conn.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", rows)

    def stats(self) -> dict:
        return {"hits": dict(self.hits), "misses": dict(self.misses), "corrupt": dict(self.corrupt)}


def stats_since(before: dict, after: dict) -> dict:
    """Counters of one metric: a cache's :meth:`Cache.stats` after it minus those before it."""
    return {
        kind: {stage: n - before.get(kind, {}).get(stage, 0) for stage, n in per.items()
               if n - before.get(kind, {}).get(stage, 0)}
        for kind, per in after.items()
    }


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGED
    return not isinstance(exc, sqlite3.OperationalError)


def _check_location(path: Path) -> None:
    """One line for a cache location that cannot work: a folder that is a file, a file that is a folder."""
    for parent in (path.parent, *path.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise RunError(f"cache folder {path.parent}: {parent} is a file, not a folder (see --cache-dir)")
            break
    if path.is_dir():
        raise RunError(f"cache file {path} is a folder; move it away or give another --cache-dir")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cache folder {path.parent} cannot be created: {exc.strerror}") from None
