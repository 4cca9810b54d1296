"""Reference summaries scored against themselves: left out of the correlations (DATASETS.md §2.7).

Where a benchmark holds the reference itself as one of its systems (DialSummEval's model A = GOLD, XSumFaith's
Gold rows), a reference-based metric scores that record against itself (ROUGE = 1). Such a score says nothing
about the metric, so the analysis drops it; source-based metrics keep those records. A reference-based
metric marks the records in its details (``summary_is_reference``, :data:`factbench.metrics.base.SELF_REFERENCE`);
this module reads the marks from ``results.jsonl`` and blanks those scores before any statistic is computed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics.base import SELF_REFERENCE

_MARK = f'"{SELF_REFERENCE}": true'  # json.dumps' spelling: lines without it are not parsed


def self_reference_marks(run_dir) -> dict[str, set[tuple[str, str]]]:
    """``{score column: {(dataset, example_id), ...}}`` of the results marked as scored against themselves."""
    path = Path(run_dir) / "results.jsonl"
    marks: dict[str, set[tuple[str, str]]] = {}
    if not path.is_file():
        return marks
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if _MARK not in line:
                continue
            row = json.loads(line)
            if (row.get("details") or {}).get(SELF_REFERENCE) is True:
                for name in row.get("scores") or {}:
                    marks.setdefault(name, set()).add((row["dataset"], row["example_id"]))
    return marks


def exclude_self_references(scores: pd.DataFrame, run_dir) -> tuple[pd.DataFrame, str]:
    """``scores`` with the marked reference-based scores set to NaN, and the sentence that says so (``""``
    when nothing was excluded), e.g. ``"reference summaries scored against themselves left out of rouge1,
    rouge2, rougeL: dialsummeval 100 (system GOLD)"``."""
    marks = self_reference_marks(run_dir)
    marks = {name: keys for name, keys in marks.items() if name in scores.columns}
    if not marks:
        return scores, ""
    scores = scores.copy()
    keys = list(zip(scores["dataset"], scores["example_id"]))
    hit_rows = np.zeros(len(scores), dtype=bool)
    for name, marked in marks.items():
        hit = np.fromiter((k in marked for k in keys), dtype=bool, count=len(keys))
        scores.loc[hit, name] = np.nan
        hit_rows |= hit
    parts = []
    for dataset, frame in scores[hit_rows].groupby("dataset", sort=True):
        systems = ", ".join(sorted(frame["system"].astype(str).unique()))
        parts.append(f"{dataset} {len(frame)} (system {systems})")
    return scores, (f"reference summaries scored against themselves left out of {', '.join(sorted(marks))}: "
                    + "; ".join(parts))
