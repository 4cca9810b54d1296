"""The texts of a run's summaries (source, summary, references), stored in the run directory so that the
HTML explorer can show them without reading the dataset again (reports read run directories only).

``texts.jsonl``: one line per distinct source ``{"source_id": i, "source": text}`` (FRANK has ~8 summaries per
document, so sources are stored once), then one line per summary
``{"dataset", "example_id", "source_id", "summary", "references"}``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..io import atomic_open

TEXTS_FILE = "texts.jsonl"


class SourceIds:
    """Numbers distinct source texts 0, 1, ... in the order first met, holding a digest per source, not its text
    (``texts.jsonl``'s ``source_id``; also used by ``factbench merge`` to renumber the shards' sources)."""

    def __init__(self):
        self._ids: dict[bytes, int] = {}

    def __call__(self, text: str) -> tuple[int, bool]:
        """``(id of text, whether it is met for the first time)``."""
        key = hashlib.sha1(text.encode("utf-8")).digest()
        new = key not in self._ids
        if new:
            self._ids[key] = len(self._ids)
        return self._ids[key], new


def write_texts(run_dir: str | Path, records) -> Path:
    """Write ``texts.jsonl`` for ``records`` (a re-iterable of :class:`factbench.records.Record`).

    Two passes, sources then summaries, holding only a digest per distinct source: memory does not grow with
    the texts (the runner streams its records).
    """
    path = Path(run_dir) / TEXTS_FILE
    source_id = SourceIds()
    with atomic_open(path) as fh:
        for r in records:
            sid, new = source_id(r.source)
            if new:
                fh.write(json.dumps({"source_id": sid, "source": r.source}, ensure_ascii=False) + "\n")
        for r in records:
            fh.write(json.dumps({"dataset": r.dataset, "example_id": r.example_id, "source_id": source_id(r.source)[0],
                                 "summary": r.summary, "references": list(r.references)}, ensure_ascii=False) + "\n")
    return path


def text_offsets(run_dir: str | Path) -> tuple[dict[int, int], dict[tuple[str, str], int]]:
    """Where each line of ``texts.jsonl`` starts: ``(source lines by source id, summary lines by (dataset,
    example_id))``; both empty when the run stored no texts (runs made before ``texts.jsonl`` existed). The
    texts stay on disk: read one with :func:`read_line`, so that memory does not grow with them."""
    path = Path(run_dir) / TEXTS_FILE
    sources: dict[int, int] = {}
    rows: dict[tuple[str, str], int] = {}
    if not path.is_file():
        return sources, rows
    with path.open("rb") as fh:
        pos = 0
        for line in fh:
            row = json.loads(line)
            if "source" in row:
                sources[row["source_id"]] = pos
            else:
                rows[(row["dataset"], row["example_id"])] = pos
            pos += len(line)
    return sources, rows


def read_line(fh, pos: int) -> dict:
    """The JSON line of the open binary file ``fh`` that starts at byte ``pos``."""
    fh.seek(pos)
    return json.loads(fh.readline())
