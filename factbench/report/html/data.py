"""The explorer's data, built from a run directory: a compact, column-wise index of every summary (ids,
labels, scores, summary text; loaded when the page opens) and the per-summary details in chunk files loaded
on demand.

Both are JavaScript files that call a global function rather than JSON: a page opened from ``file://`` may
not ``fetch()`` a neighbouring file in Chromium, but it may load a ``<script src>``. ``index.js`` calls
``FB.index({...})`` with plain JSON (read at once when the page opens); a chunk calls ``FB.chunkz("...")``
with its JSON gzipped and base64-encoded, which the page inflates with the browser's DecompressionStream:
per-token log-probs and QA texts compress about 3x, which keeps a FRANK-sized report with every metric's
details well under 25 MB (benchmarks/README.md).
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import os
import shutil
from array import array
from pathlib import Path

import numpy as np
import pandas as pd

from ...io import atomic_open
from ..texts import TEXTS_FILE, read_line

DATA_DIR = "report_data"
ROWS_PER_CHUNK = 50  # a summary view loads one chunk: 50 FRANK summaries are 27 kB, 160 kB with QUALS + QAGS
BLOCK = 10_000  # values converted and written at a time (index columns, key lookups)
DIGITS = 4  # significant digits kept in details (log-probs, probabilities): the bars and tables show 3
# Details that the view recomputes from others (diff_per_token = logprobs_source - logprobs_summary).
DERIVED = {"diff_per_token"}


def _compact(value):
    """Round floats and drop derived keys, so that chunk files stay small (a FRANK report under 25 MB)."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else float(f"{value:.{DIGITS}g}")
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if k not in DERIVED}
    if isinstance(value, (list, tuple)):
        return [_compact(v) for v in value]
    return value


def _number(value):
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    # full precision: rounding would make ties of close scores and change the explorer's sort order
    return None if math.isnan(v) or math.isinf(v) else v


def _codes(values: pd.Series) -> tuple[list[str], np.ndarray]:
    names = sorted({str(v) for v in values.unique()})
    return names, pd.Categorical(values.astype(str), categories=names).codes


def _json_array(fh, blocks) -> None:
    """Write a JSON array whose elements come in lists (blocks), so that a column of 200k values is never one
    Python list."""
    fh.write("[")
    first = True
    for block in blocks:
        if len(block):
            text = json.dumps(block, ensure_ascii=False, separators=(",", ":"))[1:-1]
            fh.write(text if first else "," + text)
            first = False
    fh.write("]")


def _blocks(values, convert=lambda v: v):
    """``values`` (a sequence) in lists of BLOCK converted elements."""
    for at in range(0, len(values), BLOCK):
        yield [convert(v) for v in values[at:at + BLOCK]]


def _js_gzip(path: Path, call: str, payload) -> None:
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    packed = base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")  # mtime 0: same bytes
    with atomic_open(path) as fh:
        fh.write(f'{call}("{packed}");\n')


def read_chunk(path: str | Path) -> dict:
    """The payload of a chunk file (what the page inflates)."""
    text = Path(path).read_text(encoding="ascii").strip()
    start, end = text.index('("') + 2, text.rindex('")')
    return json.loads(gzip.decompress(base64.b64decode(text[start:end])).decode("utf-8"))


class _Rows:
    """Row numbers of (dataset, example_id) keys, looked up in batches through a pandas MultiIndex (integer codes
    and one hash table, not a dict of 200k tuples)."""

    def __init__(self, scores: pd.DataFrame):
        self.index = pd.MultiIndex.from_arrays([scores["dataset"].astype(str), scores["example_id"].astype(str)])

    def of(self, keys: list[tuple[str, str]]) -> np.ndarray:
        """Row of each key, -1 for a key not in the scores."""
        if not keys:
            return np.empty(0, dtype=np.int64)
        return self.index.get_indexer(pd.MultiIndex.from_tuples(keys))


def _line_starts(path: Path, rows: _Rows, on_other=None) -> tuple[np.ndarray, np.ndarray]:
    """Byte offsets of the lines of a JSON-lines file that name a (dataset, example_id) of ``rows``: ``(row
    numbers, offsets)`` as arrays, one pair per such line, in file order. ``on_other(row, pos)`` sees every
    other line (texts.jsonl's source lines)."""
    found_rows, found_pos = [], []
    keys, starts = [], []

    def flush():
        if keys:
            found_rows.append(rows.of(keys))
            found_pos.append(np.asarray(starts, dtype=np.int64))
            keys.clear(), starts.clear()

    if path.is_file():
        with path.open("rb") as fh:
            pos = 0
            for line in fh:
                row = json.loads(line) if line.strip() else {}
                if "example_id" in row:
                    keys.append((str(row.get("dataset")), str(row["example_id"])))
                    starts.append(pos)
                    if len(keys) >= BLOCK:
                        flush()
                elif on_other is not None:
                    on_other(row, pos)
                pos += len(line)
    flush()
    if not found_rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    row_numbers, offsets = np.concatenate(found_rows), np.concatenate(found_pos)
    known = row_numbers >= 0
    return row_numbers[known], offsets[known]


def write_data(run_dir: Path, meta: dict, scores: pd.DataFrame) -> dict:
    """Write ``report_data/index.js`` and ``report_data/chunk_NNNNN.js``; return what the page needs to know
    (number of summaries and chunks, score and label names).

    Memory does not grow with the texts or the details: ``texts.jsonl`` and ``results.jsonl`` are read by line
    offsets (kept in numpy arrays), and the index is written column by column in blocks.
    """
    out = run_dir / DATA_DIR
    if out.exists():
        shutil.rmtree(out)  # chunks of an earlier, larger report must not linger
    out.mkdir()
    n = len(scores)
    score_names = [n for m in meta["metrics"].values() for n in m.get("score_names", [])]
    score_names = [n for n in score_names if n in scores.columns]
    label_names = [c[len("label:"):] for c in scores.columns if c.startswith("label:")]
    rows = _Rows(scores)

    source_at = array("q")  # texts.jsonl: source id -> offset of its line (ids are 0, 1, ... in order)

    def note_source(row, pos):
        if "source" in row:
            sid = int(row["source_id"])
            source_at.extend([-1] * (sid + 1 - len(source_at)))
            source_at[sid] = pos

    texts = run_dir / TEXTS_FILE
    text_rows, text_pos = _line_starts(texts, rows, note_source)
    text_at = np.full(n, -1, dtype=np.int64)
    text_at[text_rows] = text_pos
    has_texts = bool(len(text_rows))
    texts_fh = texts.open("rb") if has_texts else open(os.devnull, "rb")

    def text(i: int) -> dict:
        return read_line(texts_fh, int(text_at[i])) if text_at[i] >= 0 else {}

    # results.jsonl is written metric by metric, so a row's details are spread over the file: the offsets of
    # its lines, sorted by row (stable: metric order kept), let each chunk read only its rows' lines.
    result_rows, result_pos = _line_starts(run_dir / "results.jsonl", rows)
    by_row = np.argsort(result_rows, kind="stable")
    result_rows, result_pos = result_rows[by_row], result_pos[by_row]

    n_chunks = max(1, math.ceil(n / ROWS_PER_CHUNK))
    results = run_dir / "results.jsonl"
    with texts_fh, (results.open("rb") if results.is_file() else open(os.devnull, "rb")) as fh:
        for k in range(n_chunks):
            chunk_rows, chunk_sources = {}, {}
            for i in range(k * ROWS_PER_CHUNK, min(n, (k + 1) * ROWS_PER_CHUNK)):
                stored = text(i)
                sid = stored.get("source_id")
                if sid is not None and sid < len(source_at) and source_at[sid] >= 0 and sid not in chunk_sources:
                    chunk_sources[sid] = read_line(texts_fh, source_at[sid])["source"]
                metrics = {}
                lo, hi = np.searchsorted(result_rows, [i, i + 1])
                for pos in result_pos[lo:hi]:
                    fh.seek(int(pos))
                    row = json.loads(fh.readline())
                    metrics[row.get("metric", "?")] = {"missing": row.get("missing"),
                                                       "details": _compact(row.get("details") or {})}
                chunk_rows[i] = {"source_id": sid, "references": stored.get("references", []), "metrics": metrics}
            _js_gzip(out / f"chunk_{k:05d}.js", "FB.chunkz",
                     {"chunk": k, "rows": chunk_rows, "sources": chunk_sources})
        _write_index(out / "index.js", meta, scores, score_names, label_names, n_chunks, has_texts,
                     lambda: _blocks(range(n), lambda i: text(i).get("summary", "")))
    return {"n": n, "n_chunks": n_chunks, "scores": score_names, "labels": label_names}


def _write_index(path: Path, meta: dict, scores: pd.DataFrame, score_names: list[str], label_names: list[str],
                 n_chunks: int, has_texts: bool, summaries) -> None:
    """``index.js``: ``FB.index({...})``, the columns the page loads at once (codes for the repeated names)."""
    with atomic_open(path) as fh:
        fh.write("FB.index(")
        fh.write(json.dumps({"n": len(scores), "rows_per_chunk": ROWS_PER_CHUNK, "texts": has_texts},
                            separators=(",", ":"))[:-1])
        for col in ("dataset", "split", "system"):
            names, codes = _codes(scores[col].fillna(""))
            fh.write(f',"{col}_names":' + json.dumps(names, ensure_ascii=False, separators=(",", ":")))
            fh.write(f',"{col}":')
            _json_array(fh, _blocks(codes, int))
        for col in ("example_id", "doc_id"):
            fh.write(f',"{col}":')
            _json_array(fh, _blocks(scores[col].fillna("").to_numpy(), str))
        for key, columns in (("labels", {n: "label:" + n for n in label_names}), ("scores", {n: n for n in score_names})):
            fh.write(f',"{key}":{{')
            for j, (name, col) in enumerate(columns.items()):
                fh.write(("," if j else "") + json.dumps(name, ensure_ascii=False) + ":")
                _json_array(fh, _blocks(scores[col].to_numpy(), _number))
            fh.write("}")
        fh.write(',"summary":')
        _json_array(fh, summaries())
        metric_of_score = {n: label for label, m in meta["metrics"].items() for n in m.get("score_names", [])}
        fh.write(',"metric_of_score":' + json.dumps(metric_of_score, ensure_ascii=False, separators=(",", ":")))
        fh.write(f',"n_chunks":{n_chunks}}});\n')
