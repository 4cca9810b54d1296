"""DialSummEval (Gao & Wan, NAACL 2022): 100 SAMSum dialogues x 14 systems, 3 annotators each.

Labels: mean of the 3 annotators' Likert ratings (1-5) per dimension (DATASETS.md §2.7). Model A is GOLD,
the reference summary: it is kept as a record (``meta["is_reference"]``) and is every record's reference.
``meta["dials_index"]`` is the row of the dialogue in ``models_eval_new/dials.txt``, which joins a record
to the authors' per-summary metrics (``models_eval_new/<model_id>/metrics.csv``; their order differs
from the judgments file).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import DataError
from ..records import Dataset, Record, Scale, validate
from . import DatasetSpec, register
from ._io import read_jsonl, read_text, require

FILE = "human_judgment.jsonl"
DIALS = "models_eval_new/dials.txt"
DIMENSIONS = ("consistency", "coherence", "fluency", "relevance")
SCALES = {
    dim: Scale(1.0, 5.0, "likert", f"DialSummEval {dim}: mean of 3 annotators' ratings on a 1-5 Likert scale")
    for dim in DIMENSIONS
}
# From reproduce/analysis/analysis.py of the DialSummEval repository (dialsummeval/PROVENANCE.md).
SYSTEMS = {
    "A": "GOLD", "B": "LONGEST_3", "C": "LEAD_3", "D": "PGN", "E": "Transformer", "F": "BART", "G": "PEGASUS",
    "H": "UniLM", "I": "CODS", "J": "ConvoSumm", "K": "MV_BART", "L": "PLM", "M": "PNEP", "N": "S_BART",
}


def _normalize(text: str) -> str:
    return " ".join(text.split())


def load_dialsummeval(folder: Path) -> Dataset:
    folder = Path(folder)
    path = folder / FILE
    dials_path = folder / DIALS
    dial_index = {}
    if dials_path.exists():  # optional: only needed to join the authors' metric outputs
        dial_index = {_normalize(line): i for i, line in enumerate(read_text(dials_path).splitlines())}
    rows = []
    for lineno, row in read_jsonl(path):
        where = f"line {lineno}"
        for field in ("id", "dialogue", "summary", "model_id", "annotations"):
            require(row, field, path, where)
        if row["model_id"] not in SYSTEMS:
            raise DataError(f"{where}: unknown model_id {row['model_id']!r}", path=path)
        if not row["annotations"]:
            raise DataError(f"{where}: no annotations", path=path)
        rows.append((lineno, row))
    gold = {str(row["id"]): row["summary"] for _, row in rows if row["model_id"] == "A"}

    records = []
    for lineno, row in rows:
        where = f"line {lineno}"
        labels = {}
        for dim in DIMENSIONS:
            values = [require(a, dim, path, where) for a in row["annotations"]]
            if not all(isinstance(v, (int, float)) and not math.isnan(v) for v in values):
                raise DataError(f"{where}: {dim} ratings {values!r} are not all numbers", path=path)
            labels[dim] = sum(values) / len(values)
        doc_id = str(row["id"])
        records.append(
            Record(
                dataset="dialsummeval",
                split="all",
                example_id=f"{doc_id}:{row['model_id']}",
                doc_id=doc_id,
                system=SYSTEMS[row["model_id"]],
                source=row["dialogue"],
                summary=row["summary"],
                references=(gold[doc_id],) if doc_id in gold else (),
                labels=labels,
                meta={
                    "model_id": row["model_id"],
                    "is_reference": row["model_id"] == "A",
                    "dials_index": dial_index.get(_normalize(row["dialogue"])),
                    "annotators": len(row["annotations"]),
                },
            )
        )
    return Dataset(
        name="dialsummeval",
        records=validate(records, SCALES, path),
        label_scales=dict(SCALES),
        description="DialSummEval (Gao & Wan 2022): 14 systems incl. GOLD (the reference, meta is_reference) on "
        "100 SAMSum dialogues; no val/test cut",
        path=str(path),
        group_fields={"system": "one of the 14 systems (GOLD is the reference)",
                      "is_reference": "True for the GOLD reference summaries"},
    )


register(
    DatasetSpec(
        name="dialsummeval",
        loader=load_dialsummeval,
        folder="dialsummeval",
        files=(FILE,),
        description="DialSummEval: SAMSum dialogue summaries with Likert ratings by 3 annotators (Gao & Wan 2022)",
        counts="1400 summaries (100 dialogues x 14 systems incl. GOLD)",
    )
)
