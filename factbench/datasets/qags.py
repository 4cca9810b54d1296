"""QAGS-C and QAGS-X (Wang, Cho, Lewis, ACL 2020): MTurk yes/no judgments per summary sentence.

Label rule (DATASETS.md §2.1, reproduced for all 474 summaries by BARTScore's ``fact`` and UniEval's
``consistency``): per sentence, the majority of its 3 votes (yes = 1); per summary, the mean over sentences.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from ..records import Dataset, Record, Scale, validate
from . import DatasetSpec, register
from ._io import read_jsonl, require, short_hash

HUMAN = Scale(
    0.0,
    1.0,
    "continuous",
    "mean over summary sentences of the per-sentence majority of 3 MTurk yes/no votes (yes = 1); "
    "QAGS paper / DATASETS.md §2.1",
)
CONSISTENT = Scale(0, 1, "binary", "1 iff every summary sentence is majority-supported (human == 1.0)")

# (dataset name, file, summarizer) -- the summarizers are named in the QAGS paper and PROVENANCE.md.
_SETS = {
    "qags-cnndm": ("mturk_cnndm.jsonl", "bottom-up", "CNN/DM"),
    "qags-xsum": ("mturk_xsum.jsonl", "bart", "XSum"),
}


def _sentence_majority(sentence: dict, path: Path, where: str) -> int:
    responses = require(sentence, "responses", path, where)
    if not responses:
        raise DataError(f"{where}: summary sentence without votes", path=path)
    yes = 0
    for vote in responses:
        value = require(vote, "response", path, where)
        if value not in ("yes", "no"):
            raise DataError(f"{where}: vote {value!r} is neither 'yes' nor 'no'", path=path)
        yes += value == "yes"
    return int(yes * 2 > len(responses))  # 3 votes, so never a tie


def load_qags(name: str, folder: Path) -> Dataset:
    file, system, corpus = _SETS[name]
    path = Path(folder) / file
    records = []
    for lineno, row in read_jsonl(path):
        where = f"line {lineno}"
        sentences = require(row, "summary_sentences", path, where)
        if not sentences:
            raise DataError(f"{where}: no summary sentences", path=path)
        majorities = [_sentence_majority(s, path, where) for s in sentences]
        human = sum(majorities) / len(majorities)
        # QAGS-X articles already start with the XSum reference sentence (ALGORITHMS.md §1.7): kept as is.
        article = require(row, "article", path, where)
        records.append(
            Record(
                dataset=name,
                split="all",
                example_id=f"{name}-{lineno - 1:03d}",
                doc_id=short_hash(article),
                system=system,
                source=article,
                summary=" ".join(require(s, "sentence", path, where) for s in sentences),
                references=(),
                labels={"human": human, "consistent": int(human == 1.0)},
                meta={"line": lineno, "sentence_majorities": majorities},
            )
        )
    scales = {"human": HUMAN, "consistent": CONSISTENT}
    return Dataset(
        name=name,
        records=validate(records, scales, path),
        label_scales=scales,
        description=f"QAGS {corpus} human judgments (Wang et al. 2020), summarizer {system}; no references",
        path=str(path),
    )


register(
    DatasetSpec(
        name="qags-cnndm",
        loader=lambda folder: load_qags("qags-cnndm", folder),
        folder="qags",
        files=("mturk_cnndm.jsonl",),
        description="QAGS-C: 235 Bottom-Up CNN/DM summaries, sentence-level MTurk votes (Wang et al. 2020)",
        counts="235 summaries; consistent 113 positive; mean human 0.7436",
    )
)
register(
    DatasetSpec(
        name="qags-xsum",
        loader=lambda folder: load_qags("qags-xsum", folder),
        folder="qags",
        files=("mturk_xsum.jsonl",),
        description="QAGS-X: 239 BART XSum summaries, sentence-level MTurk votes (Wang et al. 2020)",
        counts="239 summaries; consistent 116 positive; mean human 0.4854",
    )
)
