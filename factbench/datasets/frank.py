"""FRANK (Pagnoni, Balachandran, Tsvetkov, NAACL 2021): 2246 CNN/DM and XSum summaries, 9 systems.

Texts come from the per-article JSON of the repository's initial commit (frank/PROVENANCE.md checks they
are the annotated ones); labels from ``human_annotations.json`` (DATASETS.md §2.2).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import DataError
from ..records import Dataset, Record, Scale, validate
from . import DatasetSpec, register
from ._io import read_json, require

FACTUALITY = Scale(
    0.0,
    1.0,
    "continuous",
    "FRANK Factuality: fraction of summary sentences judged free of factual error "
    "(3 annotators per sentence, sentence-level majority, averaged over sentences)",
)
CONSISTENT = Scale(
    0,
    1,
    "binary",
    "APPROXIMATE: 1 iff Factuality == 1.0 (567/1575 test positives; SummaC/AggreFact report 529 from the "
    "sentence-level file, which is not available)",
)
ARTICLES = "articles-wmetrics-reference-json"
# FRANK calls its validation cut "valid"; every factbench dataset names its cuts val/test.
_SPLITS = {"test": "test", "valid": "val"}
# FRANK's official ``dataset`` field calls XSum "bbc"; meta["origin"] uses the corpus names CLIFF uses too.
_ORIGINS = {"cnndm": "cnndm", "bbc": "xsum"}
# Error-category columns kept in meta (each the per-summary value of human_annotations.json).
_ERROR_COLUMNS = (
    "RelE", "EntE", "CircE", "OutE", "GramE", "CorefE", "LinkE", "Other",
    "Semantic_Frame_Errors", "Discourse_Errors", "Content_Verifiability_Errors",
)


def _reference(article: dict, model: str, origin: str, path: Path) -> str:
    if origin == "cnndm":
        key = model + "_reference"
        return require(article, key, path, "article JSON")
    # XSum: "Gold"; one file (37278170.json) names it "reference".
    for key in ("Gold", "reference"):
        if key in article:
            return article[key]
    raise DataError("article JSON: missing field 'Gold' (or 'reference')", path=path)


def load_frank(folder: Path) -> Dataset:
    folder = Path(folder)
    ann_path = folder / "human_annotations.json"
    annotations = read_json(ann_path)
    if not isinstance(annotations, list):
        raise DataError("expected a JSON list of annotation records", path=ann_path)
    articles: dict[str, dict] = {}  # 2246 records share 499 article files: read each once
    records = []
    for i, row in enumerate(annotations):
        where = f"record {i}"
        digest = require(row, "hash", ann_path, where)
        model = require(row, "model_name", ann_path, where)
        origin = require(row, "dataset", ann_path, where)
        art_path = folder / ARTICLES / f"{digest}.json"
        if digest not in articles:
            articles[digest] = read_json(art_path)
        article = articles[digest]
        split = _SPLITS.get(require(row, "split", ann_path, where))
        if split is None:
            raise DataError(f"{where}: split {row['split']!r} is neither 'test' nor 'valid'", path=ann_path)
        factuality = require(row, "Factuality", ann_path, where)
        if not isinstance(factuality, (int, float)) or math.isnan(factuality):
            raise DataError(f"{where}: Factuality {factuality!r} is not a number", path=ann_path)
        records.append(
            Record(
                dataset="frank",
                split=split,
                example_id=f"{digest}:{model}",
                doc_id=digest,
                system=model,
                source=require(article, "article", art_path, "article JSON"),
                summary=require(article, model, art_path, "article JSON"),
                references=(_reference(article, model, origin, art_path),),
                labels={"Factuality": float(factuality), "consistent": int(factuality == 1.0)},
                meta={"origin": _ORIGINS.get(origin, origin), "errors": {c: row[c] for c in _ERROR_COLUMNS if c in row}},
            )
        )
    scales = {"Factuality": FACTUALITY, "consistent": CONSISTENT}
    return Dataset(
        name="frank",
        records=validate(records, scales, ann_path),
        label_scales=scales,
        description="FRANK (Pagnoni et al. 2021): CNN/DM (5 systems) and XSum (4 systems); split test/val (FRANK's 'valid'); "
        "CNN/DM summaries are the annotated lowercased, tokenized text",
        path=str(folder),
        group_fields={"origin": "source corpus: cnndm or xsum (the official `dataset` field; its 'bbc' is XSum)",
                      "system": "summarizer (model_name): 5 on CNN/DM, 4 on XSum"},
    )


register(
    DatasetSpec(
        name="frank",
        loader=load_frank,
        folder="frank",
        files=("human_annotations.json", ARTICLES),
        description="FRANK: 2246 summaries with Factuality in [0, 1] and error categories (Pagnoni et al. 2021)",
        counts="2246 summaries (1250 CNN/DM, 996 XSum; 1575 test, 671 val)",
    )
)
