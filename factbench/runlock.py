"""An exclusive lock on a run directory, held for the whole run.

The lock is ``RUN_DIR/.lock``: an ``flock`` on it excludes a second run, and the file holds who took it (pid,
host, start time) so that the second run can say whom it waits for. The kernel drops an ``flock`` when its
process dies, however it dies, so a lock left by a killed run is stale by construction: the next run gets the
``flock`` at once, finds the dead holder's note in the file and takes the lock over (saying so).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import socket
from pathlib import Path

from .errors import RunError

LOCK_NAME = ".lock"
log = logging.getLogger("factbench")


def _describe(holder: dict) -> str:
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started {holder.get('started', '?')}"


def _read_holder(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        holder = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return holder if isinstance(holder, dict) else {}


class RunLock:
    """``with RunLock(run_dir):`` holds the run directory's lock; raises RunError if another run holds it.

    ``stale`` is the note of a dead holder that was taken over (empty when the lock was free).
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK_NAME
        self.fd: int | None = None
        self.stale: dict = {}

    def acquire(self) -> RunLock:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise RunError(
                    f"{self.path.parent} is in use by another factbench run ({_describe(holder)}); "
                    "wait for it to finish or choose another --out"
                ) from None
            # The holder we waited on may have released (unlinked) the file between our open and our flock:
            # then we hold a lock on a file nobody else sees, and must lock the path's current file instead.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.fd = fd
        self.stale = _read_holder(fd)
        if self.stale:
            log.warning("took over the stale lock of %s: %s (that run is gone)", self.path.parent, _describe(self.stale))
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(note).encode("utf-8"))
        os.fsync(fd)
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        # Unlink while still holding the flock, so that no one can take a lock on a file about to vanish.
        self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
