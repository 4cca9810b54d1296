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
from pathlib import Path

import pandas as pd

from ...io import atomic_open
from ..texts import TEXTS_FILE, read_line, text_offsets

DATA_DIR = "report_data"
ROWS_PER_CHUNK = 50  # a summary view loads one chunk: 50 FRANK summaries are 27 kB, 160 kB with QUALS + QAGS
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


def _codes(values: pd.Series) -> tuple[list[str], list[int]]:
    names = sorted({str(v) for v in values})
    lookup = {n: i for i, n in enumerate(names)}
    return names, [lookup[str(v)] for v in values]


def _js(path: Path, call: str, payload) -> None:
    with atomic_open(path) as fh:
        fh.write(f"{call}(")
        json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))
        fh.write(");\n")


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


def write_data(run_dir: Path, meta: dict, scores: pd.DataFrame) -> dict:
    """Write ``report_data/index.js`` and ``report_data/chunk_NNNNN.js``; return what the page needs to know
    (number of summaries and chunks, score and label names)."""
    out = run_dir / DATA_DIR
    if out.exists():
        shutil.rmtree(out)  # chunks of an earlier, larger report must not linger
    out.mkdir()
    score_names = [n for m in meta["metrics"].values() for n in m.get("score_names", [])]
    score_names = [n for n in score_names if n in scores.columns]
    label_names = [c[len("label:"):] for c in scores.columns if c.startswith("label:")]
    # The texts stay in texts.jsonl and are read line by line where needed (memory does not grow with them).
    source_at, text_at = text_offsets(run_dir)
    keys = list(zip(scores["dataset"].astype(str), scores["example_id"].astype(str)))
    row_of = {k: i for i, k in enumerate(keys)}
    texts_fh = (run_dir / TEXTS_FILE).open("rb") if text_at else open(os.devnull, "rb")

    def text(key) -> dict:
        return read_line(texts_fh, text_at[key]) if key in text_at else {}

    index = {"n": len(scores), "rows_per_chunk": ROWS_PER_CHUNK, "texts": bool(text_at)}
    for col in ("dataset", "split", "system"):
        index[col + "_names"], index[col] = _codes(scores[col].fillna(""))
    index["example_id"] = [k[1] for k in keys]
    index["doc_id"] = [str(v) for v in scores["doc_id"].fillna("")]
    index["labels"] = {n: [_number(v) for v in scores["label:" + n]] for n in label_names}
    index["scores"] = {n: [_number(v) for v in scores[n]] for n in score_names}
    index["summary"] = [text(k).get("summary", "") for k in keys]
    index["metric_of_score"] = {n: label for label, m in meta["metrics"].items() for n in m.get("score_names", [])}

    # results.jsonl is written metric by metric, so a row's details are spread over the file: a first pass
    # notes where each row's lines start, and each chunk then reads only its rows' lines (memory stays
    # small for 100k summaries with QA pairs).
    where: list[list[int]] = [[] for _ in keys]
    results = run_dir / "results.jsonl"
    if results.is_file():
        with results.open("rb") as fh:
            pos = 0
            for line in fh:
                row = json.loads(line) if line.strip() else {}
                i = row_of.get((str(row.get("dataset")), str(row.get("example_id"))))
                if i is not None:
                    where[i].append(pos)
                pos += len(line)
    n_chunks = max(1, math.ceil(len(keys) / ROWS_PER_CHUNK))
    with texts_fh, (results.open("rb") if results.is_file() else open(os.devnull, "rb")) as fh:
        for k in range(n_chunks):
            rows, chunk_sources = {}, {}
            for i in range(k * ROWS_PER_CHUNK, min(len(keys), (k + 1) * ROWS_PER_CHUNK)):
                stored = text(keys[i])
                sid = stored.get("source_id")
                if sid is not None and sid in source_at and sid not in chunk_sources:
                    chunk_sources[sid] = read_line(texts_fh, source_at[sid])["source"]
                metrics = {}
                for pos in where[i]:
                    fh.seek(pos)
                    row = json.loads(fh.readline())
                    metrics[row.get("metric", "?")] = {"missing": row.get("missing"),
                                                       "details": _compact(row.get("details") or {})}
                rows[i] = {"source_id": sid, "references": stored.get("references", []), "metrics": metrics}
            _js_gzip(out / f"chunk_{k:05d}.js", "FB.chunkz", {"chunk": k, "rows": rows, "sources": chunk_sources})
    index["n_chunks"] = n_chunks
    _js(out / "index.js", "FB.index", index)
    return {"n": len(keys), "n_chunks": n_chunks, "scores": score_names, "labels": label_names}
