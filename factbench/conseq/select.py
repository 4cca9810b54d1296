"""``factbench conseq select``: positive and negative summaries from a scored run, by the original's rules.

The rules of ``evaluate_hypo.py`` (``select_unlikelihood_hypos_lm_score``, then ``make_unlikelihood_dataset``
with ``--unlike_select_ratio 0.3 --target_select_ratio 0.3``), per document of the run:

1. **Negative**: the document's samples are visited in order, starting from the value ``1e5`` and sample 0; a
   sample replaces the current one only when its score is *strictly* lower, so on a tie the earlier sample
   stays. A sample without a score (QUALS found no QA pair: a missing score, or the ``-1e5`` sentinel of
   QUALS's strict mode) is skipped, as the original skips a hypothesis with no QA pair. A document none of
   whose samples has a score keeps the value ``1e5`` (and sample 0).
2. **Negative rule**: documents sorted by that value, ascending (Python's stable sort: ties in document order);
   the first ``round(unlike_ratio * n)`` are kept (Python's ``round``: halves to even), all of them when the
   ratio is 1. Documents at ``1e5`` sort last.
3. **Positive**: the reference summary, with its own score; a reference without a score gets ``1e5``.
4. **Target rule**: documents sorted by ``-score``, except that a score of exactly ``1e5`` keeps the key
   ``1e5`` (the original's ``key=lambda x: -x if x != 1e5 else x``), so unscored references sort last, tied
   with any reference scored ``-1e5``; the first ``round(target_ratio * n)`` are kept (all when the ratio
   is 1).
5. The pairs are the documents kept by both rules (the original intersects two Python sets and writes them
   in set order; here they are written in document order).

``--by rouge`` is the original's ``score_type rouge``: the same negative rule on a per-sample ROUGE score,
with no target rule. The released code reads that score from an ``untarget_rouge.index`` file that no
released script writes; factbench's score is the mean of the run's ROUGE-1, ROUGE-2 and ROUGE-L F-measures
of the sample against the reference (``factbench run --metrics rouge``), and every reference is the positive
(the original applies a target rule only when given a target index file; the release passes none for
ROUGE, and a reference's ROUGE against itself is 1 anyway).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, DataError, RunError
from ..io import atomic_open, write_json
from .sample import REFERENCE_SYSTEM

NO_SCORE = 1e5  # the original's starting value, kept by a document (or reference) without any scored summary
QUALS_SENTINEL = -1e5  # QUALS's strict-mode score of a summary without a QA pair
ROUGE_COLUMNS = ("rouge1", "rouge2", "rougeL")
BY = ("quals", "rouge")


def _scored(value) -> bool:
    return value is not None and math.isfinite(value) and value != QUALS_SENTINEL


def pick_negative(scores: list[float | None]) -> tuple[int, float]:
    """``(index, value)`` of the lowest-scoring sample by the original's scan (see rule 1).

    Examples
    --------
    >>> pick_negative([-0.5, -0.9, -0.9, None])  # the first of two equal lowest scores
    (1, -0.9)
    >>> pick_negative([None, -1e5])  # nothing scored: the start value and sample 0
    (0, 100000.0)
    """
    index, value = 0, NO_SCORE
    for i, s in enumerate(scores):
        if _scored(s) and s < value:
            index, value = i, float(s)
    return index, value


def keep_count(ratio: float, n: int) -> int:
    """How many documents a rule keeps: all for ratio 1, else ``round(ratio * n)`` (halves to even).

    Examples
    --------
    >>> keep_count(0.3, 5), keep_count(0.3, 10), keep_count(0.5, 5), keep_count(1.0, 7)
    (2, 3, 2, 7)
    """
    return n if ratio == 1.0 else round(ratio * n)


def negative_rule(values: list[float], ratio: float) -> list[int]:
    """Indices of the documents kept by the negative rule (lowest values first, stable)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    return order[: keep_count(ratio, len(values))]


def target_rule(values: list[float], ratio: float) -> list[int]:
    """Indices of the documents kept by the target rule (highest first, ``1e5`` last, stable)."""
    order = sorted(range(len(values)), key=lambda i: -values[i] if values[i] != NO_SCORE else values[i])
    return order[: keep_count(ratio, len(values))]


def check_ratio(value: float, name: str) -> float:
    if not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ConfigError(f"conseq select: {name} must be in (0, 1], got {value!r}")
    return float(value)


@dataclass
class Document:
    doc_id: str
    reference_id: str
    reference_score: float | None
    sample_ids: list[str] = field(default_factory=list)
    sample_scores: list[float | None] = field(default_factory=list)


@dataclass
class Selection:
    """The outcome: one entry per kept document, the thresholds, and the counts of each rule."""

    pairs: list[dict]
    summary: dict
    negative_values: list[float]
    target_values: list[float]


def documents_from_scores(scores, column_of) -> list[Document]:
    """Group a run's ``scores.csv`` rows by (dataset, doc_id): the reference row and the samples in order."""
    docs: dict[tuple, Document] = {}
    for row in scores.itertuples(index=False):
        key = (row.dataset, row.doc_id)
        value = column_of(row)
        doc = docs.setdefault(key, Document(row.doc_id, "", None))
        if row.system == REFERENCE_SYSTEM:
            if doc.reference_id:
                raise DataError(f"document {row.doc_id!r} has two reference rows")
            doc.reference_id, doc.reference_score = row.example_id, value
        else:
            doc.sample_ids.append(row.example_id)
            doc.sample_scores.append(value)
    for doc in docs.values():
        if not doc.reference_id:
            raise DataError(f"document {doc.doc_id!r} has no row with system {REFERENCE_SYSTEM!r} (the positive); "
                            "was the dataset written by `factbench conseq sample`?")
        if not doc.sample_ids:
            raise DataError(f"document {doc.doc_id!r} has no sampled summary")
    return list(docs.values())


def select_documents(docs: list[Document], by: str = "quals", unlike_ratio: float = 0.3,
                     target_ratio: float = 0.3) -> Selection:
    """Apply the original's rules (module docstring) to documents with scored samples and references."""
    unlike_ratio = check_ratio(unlike_ratio, "--unlike-ratio")
    target_ratio = check_ratio(target_ratio, "--target-ratio")
    if by not in BY:
        raise ConfigError(f"conseq select: --by must be one of {', '.join(BY)}, got {by!r}")
    negatives = [pick_negative(d.sample_scores) for d in docs]
    neg_values = [v for _, v in negatives]
    neg_kept = negative_rule(neg_values, unlike_ratio)
    tgt_values = [float(d.reference_score) if _scored(d.reference_score) else NO_SCORE for d in docs]
    tgt_kept = target_rule(tgt_values, target_ratio) if by == "quals" else list(range(len(docs)))
    both = sorted(set(neg_kept) & set(tgt_kept))
    neg_threshold = max((neg_values[i] for i in neg_kept), default=None)
    tgt_threshold = min((tgt_values[i] for i in tgt_kept), default=None) if by == "quals" else None
    pairs = []
    for i in both:
        d, (j, value) = docs[i], negatives[i]
        pairs.append({
            "doc_id": d.doc_id,
            "negative_id": d.sample_ids[j],
            "positive_id": d.reference_id,
            "negative_score": value,
            "positive_score": tgt_values[i],
            "negative_unscored": value == NO_SCORE,
        })
    summary = {
        "by": by,
        "documents": len(docs),
        "unlike_ratio": unlike_ratio,
        "target_ratio": target_ratio if by == "quals" else None,
        "kept_by_negative_rule": len(neg_kept),
        "kept_by_target_rule": len(tgt_kept),
        "kept_by_both": len(both),
        "negative_threshold": neg_threshold,
        "target_threshold": tgt_threshold,
        "documents_without_scored_sample": sum(v == NO_SCORE for v in neg_values),
        "references_without_score": sum(v == NO_SCORE for v in tgt_values),
        "samples_without_score": sum(not _scored(s) for d in docs for s in d.sample_scores),
    }
    return Selection(pairs, summary, neg_values, tgt_values)


def select_run(run_dir, out, by: str = "quals", unlike_ratio: float = 0.3, target_ratio: float = 0.3,
               dataset_files: list[str] | None = None) -> Selection:
    """Select pairs from a run directory; write ``out`` (JSONL), ``<out>.summary.json`` and ``<out>.png``.

    The texts come from the run's dataset file(s) (their paths are in ``run.json``; ``dataset_files`` overrides).
    """
    import pandas as pd

    from ..datasets.generic import load_file
    from ..report import load_run, score_columns
    from .plots import selection_plot

    run_dir, out = Path(run_dir), Path(out)
    meta, scores = load_run(run_dir)
    columns = score_columns(meta)
    if by == "quals":
        if "quals" not in columns:
            raise RunError(f"{run_dir} has no quals scores; run `factbench run --metrics quals` on the samples first")
        score_name = "QUALS"

        def column_of(row):
            v = row.quals
            return None if pd.isna(v) else float(v)
    elif by == "rouge":
        missing = [c for c in ROUGE_COLUMNS if c not in columns]
        if missing:
            raise RunError(f"{run_dir} lacks the ROUGE F-measure column(s) {', '.join(missing)}; "
                           "run `factbench run --metrics rouge` on the samples first")
        score_name = "mean of ROUGE-1/2/L F (sample vs reference)"

        def column_of(row):
            values = [getattr(row, c) for c in ROUGE_COLUMNS]
            return None if any(pd.isna(v) for v in values) else float(sum(values) / len(values))
    else:
        raise ConfigError(f"conseq select: --by must be one of {', '.join(BY)}, got {by!r}")
    if out.suffix.lower() != ".jsonl":
        raise ConfigError(f"conseq select: --out must be a .jsonl file, got {out}")

    texts = {}
    files = dataset_files or [d["path"] for d in meta["datasets"]]
    for path in files:
        if not Path(path).is_file():
            raise DataError(f"the run's dataset file {path} is not there (run.json records it relative to where "
                            "`factbench run` ran); pass the sampled file with --dataset")
        dataset = load_file(path)
        texts.update({(dataset.name, r.example_id): r for r in dataset.records})
    for row in scores.itertuples(index=False):
        if (row.dataset, row.example_id) not in texts:
            raise DataError(f"example {row.example_id!r} of dataset {row.dataset!r} is not in {', '.join(map(str, files))}"
                            " (pass the sampled file with --dataset)")
    docs = documents_from_scores(scores, column_of)
    selection = select_documents(docs, by, unlike_ratio, target_ratio)
    dataset_of = {(r.doc_id, r.example_id): r.dataset for r in scores.itertuples(index=False)}
    rule = {k: selection.summary[k] for k in ("by", "unlike_ratio", "target_ratio", "negative_threshold",
                                              "target_threshold")}
    with atomic_open(out) as fh:
        for p in selection.pairs:
            ds = dataset_of[(p["doc_id"], p["positive_id"])]
            pos, neg = texts[(ds, p["positive_id"])], texts[(ds, p["negative_id"])]
            row = {"doc_id": p["doc_id"], "source": pos.source, "positive": pos.summary, "negative": neg.summary,
                   **p, "score": score_name, "rule": rule, "run": str(run_dir)}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = {**selection.summary, "score": score_name, "run": str(run_dir), "pairs_file": str(out)}
    write_json(out.with_name(out.stem + ".summary.json"), summary)
    n_sent = (selection.summary["documents_without_scored_sample"], selection.summary["references_without_score"])
    selection_plot(
        [v for v in selection.negative_values if v != NO_SCORE],
        [v for v in selection.target_values if v != NO_SCORE] if by == "quals" else [],
        selection.summary["negative_threshold"], selection.summary["target_threshold"], score_name, n_sent,
        out.with_name(out.stem + ".png"),
    )
    return Selection(selection.pairs, summary, selection.negative_values, selection.target_values)
