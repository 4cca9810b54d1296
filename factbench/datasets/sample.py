"""factbench's own sample set (``data/sample``): 6 invented news documents x 5 summaries, always available.

The files ship inside the package as ``factbench._data/sample`` (the wheel maps the repository's ``data/``
folder there); from a source checkout without that mapping they are read from ``<repo>/data/sample``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from ..records import Dataset, Record, Scale, validate
from . import DatasetSpec, register
from ._io import package_data, read_jsonl, require

ERROR_TYPES = ("none", "entity_swap", "number_change", "negation", "unsupported_addition")
CONSISTENT = Scale(
    0, 1, "binary",
    "1 for the faithful summary (written to be fully supported by the document), 0 for the corrupted ones "
    "(entity swap, number change, negation, unsupported addition); meta error_type names the corruption",
)


def sample_dir() -> Path:
    """Where the sample files are: the package data if installed, else the source checkout."""
    return package_data("sample")


def load_sample(folder: Path | None = None) -> Dataset:
    folder = Path(folder) if folder is not None else sample_dir()
    docs_path, summ_path = folder / "documents.jsonl", folder / "summaries.jsonl"
    documents = {}
    for lineno, row in read_jsonl(docs_path):
        where = f"line {lineno}"
        documents[require(row, "doc_id", docs_path, where)] = {
            k: require(row, k, docs_path, where) for k in ("split", "source", "reference")
        }
    records = []
    for lineno, row in read_jsonl(summ_path):
        where = f"line {lineno}"
        doc_id, system = require(row, "doc_id", summ_path, where), require(row, "system", summ_path, where)
        if doc_id not in documents:
            raise DataError(f"{where}: unknown doc_id {doc_id!r}", path=summ_path)
        error_type = "none" if system == "faithful" else system
        if error_type not in ERROR_TYPES:
            expected = ", ".join(("faithful",) + ERROR_TYPES[1:])
            raise DataError(f"{where}: unknown system {system!r}; expected one of {expected}", path=summ_path)
        doc = documents[doc_id]
        records.append(
            Record(
                dataset="sample",
                split=doc["split"],
                example_id=f"{doc_id}:{system}",
                doc_id=doc_id,
                system=system,
                source=doc["source"],
                summary=require(row, "summary", summ_path, where),
                references=(doc["reference"],),
                labels={"consistent": int(error_type == "none")},
                meta={"error_type": error_type},
            )
        )
    scales = {"consistent": CONSISTENT}
    return Dataset(
        name="sample",
        records=validate(records, scales, summ_path),
        label_scales=scales,
        description="factbench sample set: 6 invented news documents (val s1-s3, test s4-s6), each with a reference, "
        "a faithful summary and 4 corrupted ones",
        path=str(folder),
        group_fields={"system": "faithful, or the corruption applied (entity_swap, number_change, negation, addition)"},
    )


register(
    DatasetSpec(
        name="sample",
        loader=load_sample,
        folder=None,
        files=("documents.jsonl", "summaries.jsonl"),
        description="factbench's own sample set: faithful vs. entity-swap/number/negation/addition summaries",
        counts="30 summaries (6 documents x 5); consistent 6 positive; val 15 / test 15",
    )
)
