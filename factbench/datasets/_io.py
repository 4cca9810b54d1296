"""Small readers shared by the loaders: every failure becomes a DataError naming the file and line."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import DataError

# Benchmark CSV cells hold whole articles; the csv module's default limit (128 KiB) is too small for some.
csv.field_size_limit(2**31 - 1)


def read_text(path: Path) -> str:
    """The file as text; a byte-order mark is dropped (spreadsheet exports start with one)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", path=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from None


def read_json(path: Path):
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=path) from None


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line (1-based line numbers)."""
    return _parse_jsonl(read_text(path).splitlines(), path)


def stream_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Like :func:`read_jsonl`, but reading the file line by line instead of whole."""
    return _parse_jsonl(_decoded_lines(path), path)


def read_csv(path: Path, delimiter: str = ",") -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, row)`` with every cell a string; ``line_number`` is where the row starts.

    Cells are kept as strings: no "NA"/"NULL" guessing (XSumFaith's "NULL" is a real label value).
    """
    return _parse_csv(read_text(path).splitlines(keepends=True), path, delimiter)


def stream_csv(path: Path, delimiter: str = ",") -> Iterator[tuple[int, dict]]:
    """Like :func:`read_csv`, but reading the file line by line instead of whole."""
    return _parse_csv(_decoded_lines(path), path, delimiter)


def _parse_jsonl(lines: Iterable[str], path: Path) -> Iterator[tuple[int, dict]]:
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {lineno}: not valid JSON: {exc.msg} (column {exc.colno})", path=path) from None
        if not isinstance(obj, dict):
            raise DataError(f"line {lineno}: expected a JSON object, got {type(obj).__name__}", path=path)
        yield lineno, obj


def _parse_csv(lines: Iterable[str], path: Path, delimiter: str) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(lines, delimiter=delimiter)
    try:
        if reader.fieldnames is None:  # reads the header first, so that line_num counts from it
            return
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            if None in row:  # more cells than header fields
                raise DataError(f"line {start}: {len(row[None])} cell(s) more than the header has", path=path)
            yield start, row
    except csv.Error as exc:
        raise DataError(f"line {reader.line_num}: unreadable CSV: {exc}", path=path) from None


def _decoded_lines(path: Path) -> Iterator[str]:
    """The file's lines as text, read one at a time (a byte-order mark on the first is dropped); an undecodable
    line is a DataError naming it. Memory stays that of one line, whatever the file's size."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", path=path) from None
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                yield raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"line {lineno}: not UTF-8 text ({exc.reason} at byte {exc.start} of the line)",
                                path=path) from None


def require(obj: dict, key: str, path: Path, where) -> object:
    """``obj[key]``, or a DataError naming the missing field and the record/line."""
    if key not in obj:
        raise DataError(f"{where}: missing field {key!r}", path=path)
    return obj[key]


def short_hash(text: str) -> str:
    """A stable document id for benchmarks that ship none (QAGS, Polytope): 12 hex digits of sha1."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def package_data(name: str) -> Path:
    """A file or folder of the repository's ``data/`` directory.

    Installed, it is package data (the wheel maps ``data/`` to ``factbench._data``); in a source checkout
    without that mapping it is ``<repo>/data``.
    """
    import importlib.resources

    try:
        candidate = Path(str(importlib.resources.files("factbench._data").joinpath(name)))
        if candidate.exists():
            return candidate
    except (ModuleNotFoundError, TypeError, ValueError):  # not installed as a package: use the checkout
        pass
    return Path(__file__).resolve().parents[2] / "data" / name
