"""The texts of a run's summaries (source, summary, references), stored in the run directory so that the
HTML explorer can show them without reading the dataset again (reports read run directories only).

``texts.jsonl``: one line per distinct source ``{"source_id": i, "source": text}`` (FRANK has ~8 summaries per
document, so sources are stored once), then one line per summary
``{"dataset", "example_id", "source_id", "summary", "references"}``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..io import atomic_open

TEXTS_FILE = "texts.jsonl"


def write_texts(run_dir: str | Path, records) -> Path:
    """Write ``texts.jsonl`` for ``records`` (an iterable of :class:`factbench.records.Record`)."""
    path = Path(run_dir) / TEXTS_FILE
    source_ids: dict[str, int] = {}
    with atomic_open(path) as fh:
        rows = []
        for r in records:
            if r.source not in source_ids:
                source_ids[r.source] = len(source_ids)
                fh.write(json.dumps({"source_id": source_ids[r.source], "source": r.source}, ensure_ascii=False) + "\n")
            rows.append({"dataset": r.dataset, "example_id": r.example_id, "source_id": source_ids[r.source],
                         "summary": r.summary, "references": list(r.references)})
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_texts(run_dir: str | Path) -> tuple[dict[int, str], dict[tuple[str, str], dict]]:
    """``(sources by id, summary rows by (dataset, example_id))``; both empty when the run stored no texts
    (runs made before ``texts.jsonl`` existed)."""
    path = Path(run_dir) / TEXTS_FILE
    sources: dict[int, str] = {}
    rows: dict[tuple[str, str], dict] = {}
    if not path.is_file():
        return sources, rows
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if "source" in row:
                sources[row["source_id"]] = row["source"]
            else:
                rows[(row["dataset"], row["example_id"])] = row
    return sources, rows
