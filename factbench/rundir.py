"""The run directory as a thing factbench owns: which folders it may write into, what it may delete, and
whether the files of a finished run are still the ones the run wrote.

- A run writes only into a new or empty folder, or into a folder that an interrupted factbench run left
  (it holds the marker ``.factbench-run``); any other non-empty folder is refused, so that ``--out`` pointed
  at the wrong place never overwrites a user's files.
- It deletes only files it wrote itself (its ``partial/<metric>.jsonl`` files, its marker), never a folder
  with anything else in it.
- ``run.json`` records the row count and sha256 of ``scores.csv`` and ``results.jsonl``; :func:`verify`
  checks them before any report reads the files, so a truncated or duplicated table fails with one line
  instead of silently giving other numbers.
"""

from __future__ import annotations

import csv
import json
from contextlib import contextmanager
from pathlib import Path

from .datasets.fetch import sha256_file
from .errors import RunError
from .runlock import RunLock

MARKER = ".factbench-run"
PARTIAL = "partial"
# The files whose integrity run.json records, and how to count their rows (header line excluded).
CHECKED = {"scores.csv": 1, "results.jsonl": 0}


def is_run_dir(folder: Path) -> bool:
    """Whether ``folder`` was made by a factbench run (finished or interrupted)."""
    if (folder / MARKER).is_file() or (folder / "run.json").is_file():
        return True
    # A run interrupted before run directories were marked left only partial/*.jsonl.
    entries = list(folder.iterdir())
    partial = folder / PARTIAL
    return bool(entries) and entries == [partial] and partial.is_dir() and all(
        p.suffix == ".jsonl" for p in partial.iterdir()
    )


def check_out_dir(folder: Path) -> None:
    """Refuse an ``--out`` that is a file, a finished run, or a non-empty folder factbench did not make."""
    if folder.exists() and not folder.is_dir():
        raise RunError(f"--out {folder} is a file, not a folder")
    if not folder.is_dir():
        return
    if (folder / "run.json").exists():
        raise RunError(f"{folder} already holds a finished run; choose another --out (or delete it to re-run)")
    if any(folder.iterdir()) and not is_run_dir(folder):
        raise RunError(
            f"--out {folder} is a non-empty folder that is not a factbench run directory; "
            "choose a new or empty folder (nothing was written)"
        )


def create(folder: Path) -> bool:
    """Make the run directory (or reuse an interrupted run's) and mark it as factbench's; return whether the
    folder is new, so that :func:`discard` knows it may remove it again."""
    new = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.exists():
        marker.write_text("a factbench run directory (this file lets a later run resume here)\n", encoding="utf-8")
    return new


@contextmanager
def open_run(folder: Path, labels):
    """Create (or reuse) and lock the run directory for the body; if the body fails before any result is
    stored, leave the folder as it was (a new folder is removed again)."""
    new = create(folder)
    lock = RunLock(folder)
    try:
        lock.acquire()
    except BaseException:
        if new:
            discard(folder, new, ())
        raise
    try:
        if (folder / "run.json").exists():  # another run finished here while we waited for the lock
            raise RunError(f"{folder} already holds a finished run; choose another --out (or delete it to re-run)")
        yield lock
    except BaseException:
        lock.release()
        discard(folder, new, labels)
        raise
    finally:
        lock.release()


def partial_path(folder: Path, label: str) -> Path:
    return folder / PARTIAL / f"{label.replace(':', '_')}.jsonl"


def discard(folder: Path, new: bool, labels) -> None:
    """Undo :func:`create` after a run failed before it finished any work: remove what it wrote, only if
    nothing else is there (a partial file with results is kept, it is what a resume needs)."""
    for label in labels:
        path = partial_path(folder, label)
        if path.is_file() and path.stat().st_size == 0:
            path.unlink()
    _rmdir(folder / PARTIAL)
    # Only once our lock is gone: a lock file here is another run's, and its folder is not ours to remove.
    if new and folder.is_dir() and {p.name for p in folder.iterdir()} <= {MARKER}:
        (folder / MARKER).unlink(missing_ok=True)
        _rmdir(folder)


def remove_partials(folder: Path, labels) -> None:
    """Delete the partial files of a finished run, and ``partial/`` if nothing else is in it."""
    for label in labels:
        partial_path(folder, label).unlink(missing_ok=True)
    _rmdir(folder / PARTIAL)


def finish(folder: Path) -> None:
    """The run is complete; run.json now says so, the marker is no longer needed."""
    (folder / MARKER).unlink(missing_ok=True)


def _rmdir(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty (someone else's files), or absent
        pass


def _count_rows(path: Path) -> int:
    """Records of a CSV file (a quoted cell may hold a newline) or lines of a JSONL file."""
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        if path.suffix == ".csv":
            try:
                return sum(1 for row in csv.reader(fh) if row)
            except csv.Error as exc:
                raise RunError(f"{path} is not a readable CSV file ({exc})") from None
        return sum(1 for line in fh if line.strip())


def fingerprints(folder: Path) -> dict:
    """``{file: {"rows": n, "sha256": ...}}`` of the files a report reads, for run.json."""
    return {
        name: {"rows": _count_rows(folder / name) - header, "sha256": sha256_file(folder / name)}
        for name, header in CHECKED.items()
        if (folder / name).is_file()
    }


def load_meta(folder: Path) -> dict:
    """``run.json`` of a finished run, or RunError naming what is wrong with it."""
    folder = Path(folder)
    path = folder / "run.json"
    if not folder.is_dir():
        raise RunError(f"{folder} is not a finished run directory: there is no such folder")
    if not path.is_file():
        raise RunError(f"{folder} is not a finished run directory: run.json is missing")
    try:
        text = path.read_text(encoding="utf-8")
        meta = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        what = "empty" if not text.strip() else f"truncated or not valid JSON ({exc})"
        raise RunError(f"{path} is {what}; re-run or restore it") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("metrics"), dict) or not isinstance(
        meta.get("datasets"), list
    ):
        raise RunError(f"{path} is not a factbench run.json (no 'metrics' object and 'datasets' list)")
    return meta


def verify(folder: Path, meta: dict | None = None) -> dict:
    """Check a finished run's files against what run.json recorded; return run.json.

    Raises RunError naming the file and what is wrong: missing, another row count than recorded (a truncated or
    duplicated table), or other bytes than recorded. Runs written before fingerprints were recorded are
    checked against the datasets' record counts only.
    """
    folder = Path(folder)
    meta = meta if meta is not None else load_meta(folder)
    scores = folder / "scores.csv"
    if not scores.is_file():
        raise RunError(f"{folder} is not a finished run directory: scores.csv is missing")
    recorded = meta.get("files") or {}
    counts = [d["n"] for d in meta.get("datasets", []) if "n" in d]
    # Without fingerprints (runs made before them) the datasets' record counts are what run.json vouches for;
    # a run.json that records neither (one written by hand) vouches for nothing to check against.
    expected_rows = sum(int(n) for n in counts) if counts else None
    for name, header in CHECKED.items():
        path = folder / name
        want = recorded.get(name)
        if want is None and (name != "scores.csv" or expected_rows is None):
            continue
        if not path.is_file():
            raise RunError(f"{path} is missing; run.json records it")
        rows = _count_rows(path) - header
        if rows < 0:
            raise RunError(f"{path} is empty (no header line)")
        want_rows = want["rows"] if want else expected_rows
        if rows != want_rows:
            kind = "is truncated" if rows < want_rows else "has extra (duplicated?) rows"
            raise RunError(f"{path} has {rows} rows, run.json says {want_rows}: the file {kind}")
        if want and sha256_file(path) != want["sha256"]:
            raise RunError(f"{path} is not the file the run wrote (sha256 differs from run.json's); re-run or restore it")
    return meta
