"""SummEval expert annotations (Fabbri et al., TACL 2021), from BARTScore's repackaging (``data.json``).

100 CNN/DM test documents x 16 systems; each label is the mean of 3 expert Likert ratings (1-5), so a
multiple of 1/3 (DATASETS.md §2.4). Texts are tokenized (spaces around punctuation), as annotated.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import DataError
from ..records import Dataset, Record, Scale, validate
from . import DatasetSpec, register
from ._io import read_json, require

DIMENSIONS = ("consistency", "coherence", "fluency", "relevance")
SCALES = {
    dim: Scale(1.0, 5.0, "likert", f"SummEval {dim}: mean of 3 expert ratings on a 1-5 Likert scale")
    for dim in DIMENSIONS
}


def load_summeval(folder: Path) -> Dataset:
    path = Path(folder) / "data.json"
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError("expected a JSON object keyed by document id", path=path)
    records = []
    for doc_id, doc in data.items():
        refs = tuple(require(doc, "ref_summs", path, f"document {doc_id}"))
        for system, entry in require(doc, "sys_summs", path, f"document {doc_id}").items():
            where = f"document {doc_id} system {system}"
            scores = require(entry, "scores", path, where)
            labels = {}
            for dim in DIMENSIONS:
                value = require(scores, dim, path, where)
                if not isinstance(value, (int, float)) or math.isnan(value):
                    raise DataError(f"{where}: {dim} {value!r} is not a number", path=path)
                labels[dim] = float(value)
            records.append(
                Record(
                    dataset="summeval",
                    split="all",
                    example_id=f"{doc_id}:{system}",
                    doc_id=doc_id,
                    system=system,
                    source=require(doc, "src", path, f"document {doc_id}"),
                    summary=require(entry, "sys_summ", path, where),
                    references=refs,  # 11: [0] is the original CNN/DM highlight, then 10 crowd-written
                    labels=labels,
                )
            )
    return Dataset(
        name="summeval",
        records=validate(records, SCALES, path),
        label_scales=dict(SCALES),
        description="SummEval expert annotations (Fabbri et al. 2021) via BARTScore: 100 CNN/DM documents x 16 "
        "systems, 11 references each; no val/test cut",
        path=str(path),
        group_fields={"system": "one of the 16 summarizers (M0 ... M23)"},
    )


register(
    DatasetSpec(
        name="summeval",
        loader=load_summeval,
        folder="summeval",
        files=("data.json",),
        description="SummEval: expert Likert consistency/coherence/fluency/relevance (Fabbri et al. 2021)",
        counts="1600 summaries (100 documents x 16 systems)",
    )
)
