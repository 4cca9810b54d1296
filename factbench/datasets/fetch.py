"""The manifest of public benchmarks (``data/manifest.json``) and downloading their verbatim files.

Each verbatim file is fetched from ``https://raw.githubusercontent.com/{repository}/{commit}/{source_path}``,
checked against its sha256 and written atomically (a temporary file in the target folder, renamed only once
its checksum is right). A base URL (``--base-url`` or ``FACTBENCH_FETCH_BASE_URL``) replaces the whole URL
with ``{base}/{folder}/{path}``, so a mirror laid out like the data directory (or a local ``http.server`` of
it) can serve every file. Derived files cannot be downloaded; their recipe is reported instead.

A download reads at most the manifest's byte count (a larger body is an error, not a full disk), stops at a
total deadline (a server that trickles bytes cannot hold it forever), and leaves no ``.part`` file behind, also
when the process is terminated (SIGTERM) mid-download.
"""

from __future__ import annotations

import hashlib
import os
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import ConfigError, DataError
from ._io import package_data, read_json

RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{source_path}"
BASE_URL_ENV = "FACTBENCH_FETCH_BASE_URL"
_CHUNK = 1 << 16
DEFAULT_DEADLINE = 600.0  # seconds for one file, all reads together


def load_manifest(path: Path | None = None) -> dict:
    """The manifest: ``{"format", "about", "datasets": [{folder, loaders, title, license, citation, files}]}``."""
    path = Path(path) if path is not None else package_data("manifest.json")
    manifest = read_json(path)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("datasets"), list):
        raise DataError("not a factbench manifest (no 'datasets' list)", path=path)
    return manifest


def find_entry(name: str, manifest: dict | None = None) -> dict:
    """The manifest entry for a dataset folder (``qags``) or a loader name (``qags-cnndm``)."""
    manifest = manifest or load_manifest()
    for entry in manifest["datasets"]:
        if name == entry["folder"] or name in entry.get("loaders", ()):
            return entry
    known = sorted(
        {e["folder"] for e in manifest["datasets"]}
        | {n for e in manifest["datasets"] for n in e["loaders"]}
    )
    raise ConfigError(f"no public benchmark named {name!r} in the manifest; known: {', '.join(known)}")


def file_url(entry: dict, item: dict, base_url: str | None = None) -> str:
    """Where a verbatim file is downloaded from (see the module docstring)."""
    if base_url:
        return f"{base_url.rstrip('/')}/{entry['folder']}/{item['path']}"
    return RAW_URL.format(**item)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class FileOutcome:
    """What fetch did with one file: ``status`` is downloaded, present, derived-present or derived-missing."""

    path: Path
    status: str
    detail: str = ""


@contextmanager
def _sigterm_cleans_up():
    """Within the block, SIGTERM raises SystemExit (exit status 143) instead of ending the process on the spot,
    so that the ``except`` clauses that remove a partial download run. Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _download(
    url: str, target: Path, expected: str, timeout: float, size: int | None = None, deadline: float = DEFAULT_DEADLINE
) -> None:
    """Stream ``url`` into a temporary file beside ``target``; rename it only if the sha256 matches.

    ``size`` (the manifest's byte count) caps what is read; ``deadline`` bounds the whole download in seconds.
    """
    created = []  # folders this call made, removed again on failure so nothing is left behind
    for parent in reversed(target.parents):
        if not parent.exists():
            created.append(parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _sigterm_cleans_up():
        _stream(url, target, expected, timeout, size, deadline, created)


def _stream(url, target, expected, timeout, size, deadline, created) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        until = time.monotonic() + deadline
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=min(timeout, deadline)) as response:
                    got = 0
                    # One byte past the cap is enough to know the body is too large.
                    limit = None if size is None else size + 1
                    while True:
                        # read1: what has arrived, so that a trickling server meets the deadline check
                        chunk = response.read1(_CHUNK if limit is None else max(0, min(_CHUNK, limit - got)))
                        if not chunk:
                            break
                        got += len(chunk)
                        if size is not None and got > size:
                            raise DataError(
                                f"download of {url} is larger than the manifest's {size} bytes; nothing was written",
                                path=target,
                            )
                        if time.monotonic() > until:
                            raise DataError(
                                f"download of {url} did not finish within {deadline:g} s; nothing was written",
                                path=target,
                            )
                        digest.update(chunk)
                        out.write(chunk)
            except urllib.error.HTTPError as exc:
                raise DataError(f"download failed: {url}: HTTP {exc.code} {exc.reason}", path=target) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DataError(f"download failed: {url}: {reason}", path=target) from None
        got = digest.hexdigest()
        if got != expected:
            raise DataError(
                f"checksum mismatch for {url}: expected sha256 {expected}, got {got}; nothing was written",
                path=target,
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        for folder in reversed(created):  # deepest first
            try:
                folder.rmdir()
            except OSError:
                pass
        raise


def fetch(
    name: str,
    data_dir: Path,
    *,
    base_url: str | None = None,
    timeout: float = 60.0,
    deadline: float = DEFAULT_DEADLINE,
    log: Callable[[str], None] = lambda message: None,
    manifest: dict | None = None,
) -> list[FileOutcome]:
    """Download the verbatim files of one benchmark into ``data_dir/<folder>`` and verify every checksum.

    Files already there with the right checksum are kept; a present file with a wrong checksum is replaced.
    Raises DataError (naming the file, the expected and the actual sha256) at the first file that fails, after
    removing its partial download.
    """
    entry = find_entry(name, manifest)
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    folder = Path(data_dir) / entry["folder"]
    outcomes = []
    for item in entry["files"]:
        target = folder / item["path"]
        if item.get("derived"):
            if target.exists():
                got = sha256_file(target)
                ok = got == item["sha256"]
                state = "checksum ok" if ok else f"CHECKSUM MISMATCH (expected {item['sha256']}, got {got})"
                outcomes.append(FileOutcome(target, "derived-present", state))
            else:
                outcomes.append(FileOutcome(target, "derived-missing", item["recipe"]))
            continue
        if target.exists() and sha256_file(target) == item["sha256"]:
            outcomes.append(FileOutcome(target, "present"))
            continue
        url = file_url(entry, item, base_url)
        log(f"downloading {url}")
        _download(url, target, item["sha256"], timeout, item.get("bytes"), deadline)
        outcomes.append(FileOutcome(target, "downloaded", url))
    return outcomes
