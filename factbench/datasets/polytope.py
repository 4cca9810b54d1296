"""Polytope (Huang et al., EMNLP 2020): 1268 CNN/DM summaries of 9 systems with an error log.

The segments CSV and the error-log CSV are cell values of the original macro workbooks (polytope/PROVENANCE.md),
joined on (model_file, ID). Two labels (DATASETS.md §2.6):

- ``consistent``: SummaC's rule, 1 iff the summary has no error row with a subtype (Omission included);
- ``consistent_strict``: 1 iff no Addition, Inaccuracy_internal or Inaccuracy_external error.

Split: SummaC's cut, ``val`` if ``sheet_row_index`` is even else ``test``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ..errors import DataError
from ..records import Dataset, Record, Scale, validate
from . import DatasetSpec, register
from ._io import read_csv, require, short_hash

SEGMENTS = "Human_Annotation_Summarization_ALL__Scores_per_segment.csv"
ERRORS = "Human_Annotation_Summarization_ALL__Error_Log.csv"
FACTUAL_ERRORS = ("Addition", "Inaccuracy_internal", "Inaccuracy_external")
CONSISTENT = Scale(
    0, 1, "binary",
    "SummaC rule: 1 iff the summary has no error-log row with a non-empty subtype (any error, including "
    "Omission and Duplication)",
)
CONSISTENT_STRICT = Scale(
    0, 1, "binary", "1 iff the summary has no Addition, Inaccuracy_internal or Inaccuracy_external error",
)


def load_polytope(folder: Path) -> Dataset:
    folder = Path(folder)
    seg_path, err_path = folder / SEGMENTS, folder / ERRORS
    errors: dict[tuple[str, str], list[str]] = defaultdict(list)
    for lineno, row in read_csv(err_path):
        key = (require(row, "model_file", err_path, f"line {lineno}"), require(row, "ID", err_path, f"line {lineno}"))
        subtype = require(row, "Subtypes", err_path, f"line {lineno}").strip()
        if subtype:  # rows with an empty subtype are "No errors" markers
            errors[key].append(subtype)
    records = []
    for lineno, row in read_csv(seg_path):
        where = f"line {lineno}"
        model, sid = require(row, "model_file", seg_path, where), require(row, "ID", seg_path, where)
        try:
            sheet_row = int(require(row, "sheet_row_index", seg_path, where))
        except ValueError:
            raise DataError(f"{where}: sheet_row_index {row['sheet_row_index']!r} is not an integer", path=seg_path)
        found = errors.get((model, sid), [])
        source = require(row, "Source", seg_path, where)
        records.append(
            Record(
                dataset="polytope",
                split="val" if sheet_row % 2 == 0 else "test",
                example_id=f"{model}:{sid}",
                doc_id=short_hash(source),  # IDs are per summary; the same article has different IDs per system
                system=model,
                source=source,
                summary=require(row, "Target", seg_path, where),
                references=(),
                labels={
                    "consistent": int(not found),
                    "consistent_strict": int(not any(e in FACTUAL_ERRORS for e in found)),
                },
                meta={"id": sid, "sheet_row_index": sheet_row, "errors": found, "score": row.get("Score", "")},
            )
        )
    unmatched = set(errors) - {(r.system, r.meta["id"]) for r in records}
    if unmatched:
        raise DataError(f"{len(unmatched)} error-log keys match no segment, e.g. {sorted(unmatched)[0]}", path=err_path)
    scales = {"consistent": CONSISTENT, "consistent_strict": CONSISTENT_STRICT}
    return Dataset(
        name="polytope",
        records=validate(records, scales, seg_path),
        label_scales=scales,
        description="Polytope (Huang et al. 2020): 9 CNN/DM systems, lowercased tokenized text; SummaC val/test cut; "
        "no references",
        path=str(folder),
        group_fields={"system": "one of the 9 CNN/DM summarizers (model_file)"},
    )


register(
    DatasetSpec(
        name="polytope",
        loader=load_polytope,
        folder="polytope",
        files=(SEGMENTS, ERRORS),
        description="Polytope: 1268 summaries of 9 CNN/DM systems with an error log (Huang et al. 2020)",
        counts="1268 summaries; SummaC test cut 634, 41 positive; consistent_strict 321/1268 positive",
    )
)
