"""XSumFaith (Maynez, Narayan, Bohnet, McDonald, ACL 2020): 500 XSum documents x 4 systems + Gold.

One record per (bbcid, system) group of the hallucination CSV, in file order (2500). The Gold rows are the
XSum reference summaries; they are kept as records of system "Gold" because the SummaC cut alternates over
all 2500 groups (DATASETS.md §2.3, §3.3: test 1250 summaries, 130 positive); ``meta["is_reference"]`` marks
them so reference-based metrics can leave them out.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from ..errors import DataError
from ..records import Dataset, Record, Scale, validate
from . import DatasetSpec, register
from ._io import read_csv, read_jsonl, require

CONSISTENT = Scale(
    0,
    1,
    "binary",
    "SummaC/AggreFact rule: 1 iff the most common hallucination_type among the annotation rows of the "
    "(bbcid, system) group is 'NULL' (no span marked)",
)
FAITHFUL = Scale(
    0.0, 1.0, "continuous",
    "Maynez et al. Faithful (eval_scores CSV): share of summary words outside every hallucinated span, "
    "averaged over the 3 annotators; not given for Gold",
)
FACTUAL = Scale(
    0.0, 1.0, "continuous",
    "Maynez et al. Factual (eval_scores CSV): mean of 3 binary is_factual judgments; not given for Gold",
)
HALLUCINATIONS = "hallucination_annotations_xsum_summaries.csv"
EVAL_SCORES = "eval_scores_xsum_summaries.csv"
DOCUMENTS = "xsum_documents.jsonl"
# system_bbcid prefixes of the eval_scores CSV (mapping checked in xsumfaith/PROVENANCE.md).
_EVAL_SYSTEMS = {"bert_withckpt": "BERTS2S", "bert_nockpt": "TranS2S", "ptgen": "PtGen", "tconvs2s": "TConvS2S"}


def _eval_scores(path: Path) -> dict[tuple[str, str], dict[str, float]]:
    out = {}
    for lineno, row in read_csv(path):
        key = require(row, "system_bbcid", path, f"line {lineno}")
        prefix, _, bbcid = key.rpartition("_")
        if prefix not in _EVAL_SYSTEMS:
            raise DataError(f"line {lineno}: unknown system prefix in {key!r}", path=path)
        values = {}
        for name in ("Faithful", "Factual"):
            try:
                values[name] = float(require(row, name, path, f"line {lineno}"))
            except ValueError:
                raise DataError(f"line {lineno}: {name} {row[name]!r} is not a number", path=path) from None
            if math.isnan(values[name]):
                raise DataError(f"line {lineno}: {name} is NaN", path=path)
        out[(bbcid, _EVAL_SYSTEMS[prefix])] = values
    return out


def load_xsumfaith(folder: Path) -> Dataset:
    folder = Path(folder)
    docs_path, hall_path = folder / DOCUMENTS, folder / HALLUCINATIONS
    documents = {}
    for lineno, row in read_jsonl(docs_path):
        documents[str(require(row, "bbcid", docs_path, f"line {lineno}"))] = require(
            row, "document", docs_path, f"line {lineno}"
        )
    groups: dict[tuple[str, str], list[dict]] = {}  # dicts keep first-seen order = SummaC's group order
    for lineno, row in read_csv(hall_path):
        for field in ("bbcid", "system", "summary", "hallucination_type", "worker_id"):
            require(row, field, hall_path, f"line {lineno}")
        row["_line"] = lineno
        groups.setdefault((row["bbcid"], row["system"]), []).append(row)
    references = {bbcid: rows[0]["summary"] for (bbcid, system), rows in groups.items() if system == "Gold"}
    scores = _eval_scores(folder / EVAL_SCORES)

    records = []
    for index, ((bbcid, system), rows) in enumerate(groups.items()):
        if bbcid not in documents:
            raise DataError(f"line {rows[0]['_line']}: bbcid {bbcid} has no document in {DOCUMENTS}", path=hall_path)
        types = Counter(r["hallucination_type"] for r in rows)
        # most_common breaks ties by first occurrence, as SummaC's loader does.
        labels = {"consistent": int(types.most_common(1)[0][0] == "NULL")}
        labels.update(scores.get((bbcid, system), {}))
        records.append(
            Record(
                dataset="xsumfaith",
                split="val" if index % 2 == 0 else "test",  # SummaC cut: alternate over groups in file order
                example_id=f"{bbcid}:{system}",
                doc_id=bbcid,
                system=system,
                source=documents[bbcid],
                summary=rows[0]["summary"],
                references=(references[bbcid],) if bbcid in references else (),
                labels=labels,
                meta={
                    "is_reference": system == "Gold",
                    "hallucination_types": dict(types),
                    "workers": len({r["worker_id"] for r in rows}),
                },
            )
        )
    scales = {"consistent": CONSISTENT, "Faithful": FAITHFUL, "Factual": FACTUAL}
    return Dataset(
        name="xsumfaith",
        records=validate(records, scales, hall_path),
        label_scales=scales,
        description="XSumFaith (Maynez et al. 2020): BERTS2S, TConvS2S, PtGen, TranS2S and Gold (the reference, "
        "meta is_reference) on 500 XSum documents; SummaC val/test cut",
        path=str(folder),
        group_fields={"system": "BERTS2S, PtGen, TConvS2S, TranS2S or Gold (the reference)",
                      "is_reference": "True for the Gold reference summaries"},
    )


register(
    DatasetSpec(
        name="xsumfaith",
        loader=load_xsumfaith,
        folder="xsumfaith",
        files=(HALLUCINATIONS, EVAL_SCORES, DOCUMENTS),
        description="XSumFaith: hallucination-span annotations of 4 systems + Gold on 500 XSum documents",
        counts="2500 summaries incl. 500 Gold; SummaC test cut 1250, 130 positive",
    )
)
