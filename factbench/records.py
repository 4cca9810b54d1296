"""The one record schema every loader produces and every metric consumes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from .errors import DataError


@dataclass(frozen=True)
class Scale:
    """The range of a human label.

    Parameters
    ----------
    low, high : float
        Inclusive bounds.
    kind : str
        ``"binary"`` (0/1), ``"continuous"`` or ``"likert"``; says how to read the label.
    description : str
        How the label was derived from the raw annotations (the label rule).
    """

    low: float
    high: float
    kind: str = "continuous"
    description: str = ""

    def check(self, value: float) -> bool:
        if value is None or not isinstance(value, (int, float)) or math.isnan(value):
            return False
        if self.kind == "binary":
            return value in (0, 1)
        return self.low <= value <= self.high


@dataclass
class Record:
    """One summary to score, with its source, references and human labels."""

    dataset: str
    split: str
    example_id: str
    doc_id: str
    system: str
    source: str
    summary: str
    references: tuple[str, ...] = ()
    labels: dict[str, float] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


@dataclass
class Dataset:
    """A loaded dataset: its records, the scale of each label, and where it came from."""

    name: str
    records: list[Record]
    label_scales: dict[str, Scale] = field(default_factory=dict)
    description: str = ""
    path: str = ""
    # Fields worth grouping the analysis by (``factbench analyze --by FIELD``): a record field (``system``,
    # ``split``) or a ``meta`` key, mapped to what it holds. Any scalar meta key can be used; these are named.
    group_fields: dict[str, str] = field(default_factory=dict)

    def splits(self) -> list[str]:
        return sorted({r.split for r in self.records})


def validate(records: Iterable[Record], label_scales: dict[str, Scale], path) -> list[Record]:
    """Check the contract every loader promises; raise a DataError naming the first bad record.

    Checks: non-empty source and summary, unique example ids, every label known and inside its scale.
    """
    seen: set[str] = set()
    out = []
    for r in records:
        rid = r.example_id
        if not rid:
            raise DataError("missing example id", path=path, record=len(out) + 1)
        if rid in seen:
            raise DataError(f"duplicate example id {rid!r}", path=path, record=rid)
        seen.add(rid)
        if not isinstance(r.source, str) or not r.source.strip():
            raise DataError("empty source", path=path, record=rid)
        if not isinstance(r.summary, str) or not r.summary.strip():
            raise DataError("empty summary", path=path, record=rid)
        for name, value in r.labels.items():
            scale = label_scales.get(name)
            if scale is None:
                raise DataError(f"label {name!r} has no declared scale", path=path, record=rid)
            if not scale.check(value):
                raise DataError(
                    f"label {name!r} = {value!r} is outside its scale [{scale.low}, {scale.high}] ({scale.kind})",
                    path=path,
                    record=rid,
                )
        out.append(r)
    return out
