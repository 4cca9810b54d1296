"""CLIFF human annotations (Cao & Wang, EMNLP 2021) as repackaged by AggreFact (``CLIFF_error_types.csv``).

150 CNN/DM + 150 XSum documents x BART, Pegasus. Label: ``error_type == "correct"`` (DATASETS.md §2.5);
split: AggreFact's ``cut`` column (val/test).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from ..records import Dataset, Record, Scale, validate
from . import DatasetSpec, register
from ._io import read_csv, require

FILE = "CLIFF_error_types.csv"
CONSISTENT = Scale(0, 1, "binary", "1 iff error_type == 'correct' (no annotated error of any unified type)")


def load_cliff(folder: Path) -> Dataset:
    path = Path(folder) / FILE
    records = []
    for lineno, row in read_csv(path):
        where = f"line {lineno}"
        origin, doc, model, cut = (require(row, k, path, where) for k in ("origin", "id", "model_name", "cut"))
        if cut not in ("val", "test"):
            raise DataError(f"{where}: cut {cut!r} is neither 'val' nor 'test'", path=path)
        error_type = require(row, "error_type", path, where)
        records.append(
            Record(
                dataset="cliff",
                split=cut,
                example_id=f"{origin}:{doc}:{model}",
                doc_id=f"{origin}:{doc}",
                system=model,
                source=require(row, "doc", path, where),
                summary=require(row, "summ", path, where),
                references=(),
                labels={"consistent": int(error_type == "correct")},
                meta={"origin": origin, "error_type": error_type, "annotated_span": row.get("annotated_span", "")},
            )
        )
    scales = {"consistent": CONSISTENT}
    return Dataset(
        name="cliff",
        records=validate(records, scales, path),
        label_scales=scales,
        description="CLIFF (Cao & Wang 2021) via AggreFact: BART and Pegasus on CNN/DM and XSum (meta origin); "
        "AggreFact val/test cut; no references",
        path=str(path),
        group_fields={"origin": "source corpus: cnndm or xsum (AggreFact's origin column)",
                      "system": "summarizer: BART or Pegasus (model_name)",
                      "error_type": "the annotated error type ('correct' for consistent summaries)"},
    )


register(
    DatasetSpec(
        name="cliff",
        loader=load_cliff,
        folder="cliff",
        files=(FILE,),
        description="CLIFF: 600 BART/Pegasus summaries with unified error types (Cao & Wang 2021, AggreFact)",
        counts="600 summaries; CNN/DM 248/300 positive, XSum 126/300 positive",
    )
)
