"""The stage cache: hits skip work, keys separate stages/models/settings, corruption is recomputed,
concurrent writers do not corrupt it."""

import sqlite3
from concurrent.futures import ProcessPoolExecutor

from factbench.cache import Cache


def square_calls():
    calls = []

    def compute(items):
        calls.append(list(items))
        return [{"sq": x * x} for x in items]

    return calls, compute


def test_second_map_is_all_hits(tmp_path):
    cache = Cache(tmp_path / "c.sqlite")
    calls, compute = square_calls()
    assert cache.map("sq", "m1", {}, [1, 2, 2, 3], compute) == [{"sq": 1}, {"sq": 4}, {"sq": 4}, {"sq": 9}]
    assert calls == [[1, 2, 3]]  # duplicates computed once
    fresh = Cache(tmp_path / "c.sqlite")  # a new process would see the same
    assert fresh.map("sq", "m1", {}, [3, 1], compute) == [{"sq": 9}, {"sq": 1}]
    assert calls == [[1, 2, 3]]
    assert fresh.stats()["hits"] == {"sq": 2} and fresh.stats()["misses"] == {"sq": 0}


def test_stage_fingerprint_and_settings_are_part_of_the_key(tmp_path):
    cache = Cache(tmp_path / "c.sqlite")
    calls, compute = square_calls()
    cache.map("sq", "m1", {"k": 1}, [2], compute)
    cache.map("sq", "m2", {"k": 1}, [2], compute)
    cache.map("sq", "m1", {"k": 2}, [2], compute)
    cache.map("cube", "m1", {"k": 1}, [2], compute)
    assert calls == [[2], [2], [2], [2]]


def test_corrupted_entry_is_detected_and_recomputed(tmp_path):
    path = tmp_path / "c.sqlite"
    calls, compute = square_calls()
    Cache(path).map("sq", "m", {}, [5], compute)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE entries SET value = '{\"sq\": 24}'")
    cache = Cache(path)
    assert cache.map("sq", "m", {}, [5], compute) == [{"sq": 25}]
    assert calls == [[5], [5]] and cache.stats()["corrupt"] == {"sq": 1}


def test_disabled_cache_always_computes(tmp_path):
    calls, compute = square_calls()
    cache = Cache(None)
    cache.map("sq", "m", {}, [1], compute)
    cache.map("sq", "m", {}, [1], compute)
    assert calls == [[1], [1]]


def _writer(args):
    path, offset = args
    cache = Cache(path)
    for start in range(0, 200, 10):
        cache.map("sq", "m", {}, list(range(offset + start, offset + start + 10)), lambda xs: [x * x for x in xs])
    return True


def test_concurrent_runs_share_a_cache(tmp_path):
    path = tmp_path / "c.sqlite"
    Cache(path)
    with ProcessPoolExecutor(2) as pool:
        assert all(pool.map(_writer, [(path, 0), (path, 100)]))  # overlapping ranges 100..199
    calls = []
    values = Cache(path).map("sq", "m", {}, list(range(300)), lambda xs: calls.append(xs) or [0] * len(xs))
    assert calls == [] and values == [x * x for x in range(300)]


# -- issue 15, item 6: a damaged cache file is moved aside with one warning; the run goes on ----------------


def test_random_bytes_cache_file_is_moved_aside_with_one_warning(tmp_path, caplog):
    import logging
    import os

    path = tmp_path / "c.sqlite"
    junk = os.urandom(8192)
    path.write_bytes(junk)
    calls, compute = square_calls()
    with caplog.at_level(logging.WARNING, logger="factbench"):
        cache = Cache(path)
        assert cache.map("sq", "m1", {}, [2, 3], compute) == [{"sq": 4}, {"sq": 9}]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "is damaged" in warnings[0].getMessage(), caplog.text
    assert cache.moved_aside.read_bytes() == junk  # kept for inspection, not deleted
    assert Cache(path).map("sq", "m1", {}, [3], compute) == [{"sq": 9}] and calls == [[2, 3]]  # a working cache


def test_damage_found_mid_run_is_recovered_once(tmp_path, caplog, monkeypatch):
    """SQLite reports a damaged page (SQLITE_CORRUPT) on a read in the middle of a run: the file is moved
    aside, the read is retried on a fresh cache, the results are computed."""
    import logging

    cache = Cache(tmp_path / "c.sqlite")
    calls, compute = square_calls()
    cache.map("sq", "m1", {}, [1], compute)
    real_get, failures = Cache._get, []

    def damaged_once(self, stage, keys):
        if not failures:
            exc = sqlite3.DatabaseError("database disk image is malformed")
            exc.sqlite_errorcode = 11
            failures.append(exc)
            raise exc
        return real_get(self, stage, keys)

    monkeypatch.setattr(Cache, "_get", damaged_once)
    with caplog.at_level(logging.WARNING, logger="factbench"):
        assert cache.map("sq", "m1", {}, [1, 2], compute) == [{"sq": 1}, {"sq": 4}]
        assert cache.map("sq", "m1", {}, [1, 2], compute) == [{"sq": 1}, {"sq": 4}]
    assert calls == [[1], [1, 2]]  # the fresh cache recomputed 1 once, then served both
    assert caplog.text.count("is damaged") == 1 and cache.moved_aside.is_file()


def test_a_locked_database_is_not_mistaken_for_damage(tmp_path, monkeypatch):
    import pytest

    cache = Cache(tmp_path / "c.sqlite")

    def locked(self, stage, keys):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Cache, "_get", locked)
    with pytest.raises(sqlite3.OperationalError):
        cache.map("sq", "m1", {}, [1], square_calls()[1])
    assert cache.moved_aside is None and (tmp_path / "c.sqlite").is_file()


def test_cache_location_that_cannot_work_is_one_error(tmp_path):
    import pytest

    from factbench.errors import RunError

    (tmp_path / "afile").write_text("x")
    with pytest.raises(RunError, match="is a file, not a folder"):
        Cache(tmp_path / "afile" / "cache.sqlite")
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(RunError, match="is a folder"):
        Cache(tmp_path / "dir.sqlite")
