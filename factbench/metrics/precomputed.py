"""Scores computed elsewhere, read from a CSV/TSV, JSONL or JSON file and joined to the records.

So any external metric joins the comparison: ``precomputed`` with ``path`` (and ``join``, ``columns``), or a
named source, ``precomputed:frank-official`` (FRANK's official per-summary outputs of 15 metrics). A record the
join does not find gets ``None`` scores with the reason; :meth:`Precomputed.coverage` says how many and which.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..datasets._io import read_csv, read_json, read_jsonl
from ..errors import ConfigError, DataError
from ..records import Record
from .base import Metric, Result

JOINS = ("example_id", "doc_id+system")
FORMATS = ("auto", "csv", "tsv", "jsonl", "json")
_MISSING_TEXT = {"", "nan", "none", "null", "na", "n/a"}


@dataclass(frozen=True)
class Source:
    """A named file of precomputed scores: where it is in the data directory and how it joins."""

    path: str
    join: str
    columns: dict[str, str]  # file column -> score name, in output order
    doc_id_column: str = "doc_id"
    system_column: str = "system"
    example_id_column: str = "example_id"
    format: str = "auto"
    description: str = ""
    dataset: str = ""
    notes: dict = field(default_factory=dict)


SOURCES = {
    "frank-official": Source(
        path="frank/baseline_factuality_metrics_outputs.json",
        join="doc_id+system",
        doc_id_column="hash",  # the FRANK loader's doc_id is the article hash ...
        system_column="model_name",  # ... and its system the model_name (factbench/datasets/frank.py)
        columns={
            "Rouge 1": "official_rouge1",
            "Rouge 2": "official_rouge2",
            "Rouge L": "official_rougeL",
            "Bleu": "official_bleu",
            "Meteor": "official_meteor",
            "BertScore P": "official_bertscore_p",
            "BertScore R": "official_bertscore_r",
            "BertScore F1": "official_bertscore_f1",
            "BertScore P Art": "official_bertscore_p_art",
            "BertScore R Art": "official_bertscore_r_art",
            "BertScore F1 Art": "official_bertscore_f1_art",
            "FactCC": "official_factcc",
            "FEQA": "official_feqa",
            "QAGS": "official_qags",
            "Dep Entail": "official_dae",
        },
        description="FRANK official per-summary outputs of 15 metrics (artidoro/frank data/"
        "baseline_factuality_metrics_outputs.json, 2246 summaries)",
        dataset="frank",
    ),
}


def clean_name(column: str) -> str:
    """A score name from a column name: lowercase words joined by ``_`` ("BertScore P Art" -> "bertscore_p_art")."""
    return re.sub(r"[^0-9a-z]+", "_", column.lower()).strip("_")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def to_float(value, *, path: Path, where: str, column: str) -> float | None:
    """A number, or None for an empty cell / null / NaN; anything else is a DataError naming the cell."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise DataError(f"{where}: column {column!r} holds a boolean, not a score", path=path)
        return None
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        if value.strip().lower() in _MISSING_TEXT:
            return None
        try:
            number = float(value)
        except ValueError:
            raise DataError(f"{where}: column {column!r} = {value!r} is not a number", path=path) from None
        return None if math.isnan(number) else number
    raise DataError(f"{where}: column {column!r} holds a {type(value).__name__}, not a number", path=path)


class Precomputed(Metric):
    """Per-example scores from a file, joined on ``example_id`` or on ``doc_id`` + ``system``."""

    name = "precomputed"
    signature_keys = ("source", "join", "columns", "prefix")
    batch_size = 1024

    def __init__(self, settings=None, **kw):
        super().__init__(settings, **kw)
        s = self.settings
        named = s["source"]
        if named:
            if named not in SOURCES:
                raise ConfigError(
                    f"precomputed: unknown source {named!r}; named sources: {', '.join(sorted(SOURCES))} "
                    "(or use precomputed with path=FILE)"
                )
            if s["path"]:
                raise ConfigError(f"precomputed:{named} reads its own file; do not also set path")
            src = SOURCES[named]
            self.source = src
            s["join"], s["format"] = src.join, src.format
            s["doc_id_column"], s["system_column"] = src.doc_id_column, src.system_column
            s["example_id_column"] = src.example_id_column
        else:
            if not s["path"]:
                raise ConfigError(
                    "precomputed needs path=FILE (a .csv, .tsv, .jsonl or .json of per-example scores) or a named "
                    f"source, e.g. precomputed:{next(iter(SOURCES))}"
                )
            self.source = None
        if s["join"] not in JOINS:
            raise ConfigError(f"precomputed.join must be one of {', '.join(JOINS)}, not {s['join']!r}")
        if s["format"] not in FORMATS:
            raise ConfigError(f"precomputed.format must be one of {', '.join(FORMATS)}, not {s['format']!r}")
        self.path = self._resolve_path()
        self._table: dict[tuple, dict[str, float | None]] | None = None
        self._columns: dict[str, str] = {}
        self._sha256: str | None = None
        self._n_rows = 0
        self._used: set[tuple] = set()
        self._missing: dict[str, str] = {}  # example_id -> reason
        self._scored: set[str] = set()
        self._load()
        self.score_names = tuple(self._columns.values())

    # -- the file ----------------------------------------------------------------------------------

    def _resolve_path(self) -> Path:
        if self.source is None:
            return Path(self.settings["path"]).expanduser()
        from ..datasets import default_data_dir

        root = default_data_dir(self.settings["data_dir"] or None)
        if root is None:
            raise DataError(
                f"precomputed:{self.settings['source']} reads {self.source.path} from the data directory: set "
                "FACTBENCH_DATA_DIR, data_dir in the config file, or the setting data_dir"
            )
        return Path(root) / self.source.path

    def _format(self) -> str:
        fmt = self.settings["format"]
        if fmt != "auto":
            return fmt
        suffix = self.path.suffix.lower().lstrip(".")
        if suffix not in ("csv", "tsv", "jsonl", "json"):
            raise ConfigError(f"precomputed: cannot tell the format of {self.path} from its suffix; set format")
        return suffix

    def _rows(self):
        fmt = self._format()
        if fmt in ("csv", "tsv"):
            yield from ((f"line {n}", row) for n, row in read_csv(self.path, "\t" if fmt == "tsv" else ","))
        elif fmt == "jsonl":
            yield from ((f"line {n}", row) for n, row in read_jsonl(self.path))
        else:
            data = read_json(self.path)
            if not isinstance(data, list):
                raise DataError("expected a JSON list of objects (one per example)", path=self.path)
            for i, row in enumerate(data):
                if not isinstance(row, dict):
                    raise DataError(f"record {i}: expected a JSON object, got {type(row).__name__}", path=self.path)
                yield f"record {i}", row

    def _key_columns(self) -> tuple[str, ...]:
        s = self.settings
        return (s["example_id_column"],) if s["join"] == "example_id" else (s["doc_id_column"], s["system_column"])

    def _select_columns(self, rows: list[tuple[str, dict]]) -> dict[str, str]:
        """File column -> score name: the named source's map, the ``columns`` setting, or every numeric column."""
        available = list(dict.fromkeys(k for _, row in rows for k in row))
        wanted = list(self.settings["columns"])
        if self.source is not None:
            mapping = dict(self.source.columns)
            if wanted:
                by_name = {v: k for k, v in mapping.items()}
                unknown = [w for w in wanted if w not in mapping and w not in by_name]
                if unknown:
                    raise ConfigError(
                        f"precomputed:{self.settings['source']}: unknown columns {unknown}; "
                        f"columns: {', '.join(mapping.values())}"
                    )
                keep = {w if w in mapping else by_name[w] for w in wanted}
                mapping = {k: v for k, v in mapping.items() if k in keep}
            missing = [c for c in mapping if c not in available]
            if missing:
                raise DataError(f"columns {missing} are not in the file", path=self.path)
            return mapping
        prefix = self.settings["prefix"]
        if wanted:
            mapping = {}
            for entry in wanted:
                column, _, rename = entry.partition("=")
                if column not in available:
                    raise DataError(f"column {column!r} is not in the file; columns: {', '.join(available)}", path=self.path)
                mapping[column] = rename or prefix + clean_name(column)
        else:
            keys = set(self._key_columns())
            mapping = {}
            for column in available:
                if column in keys:
                    continue
                values = [row.get(column) for _, row in rows]
                if all(_is_number_or_missing(v) for v in values) and any(_is_number(v) for v in values):
                    mapping[column] = prefix + clean_name(column)
            if not mapping:
                raise DataError("no numeric score column found (set columns)", path=self.path)
        names = list(mapping.values())
        duplicates = sorted({n for n in names if names.count(n) > 1 or not n})
        if duplicates:
            raise ConfigError(f"precomputed: score names {duplicates} are empty or not unique; rename with col=name")
        return mapping

    def _load(self) -> None:
        if not self.path.is_file():
            raise DataError("no such file of precomputed scores", path=self.path)
        self._sha256 = sha256_file(self.path)
        rows = list(self._rows())
        self._columns = self._select_columns(rows)
        table: dict[tuple, dict[str, float | None]] = {}
        keys = self._key_columns()
        for where, row in rows:
            missing_keys = [k for k in keys if row.get(k) in (None, "")]
            if missing_keys:
                raise DataError(f"{where}: missing join field(s) {missing_keys}", path=self.path)
            key = tuple(str(row[k]).strip() for k in keys)
            if key in table:
                raise DataError(f"{where}: duplicate row for {dict(zip(keys, key))}", path=self.path)
            table[key] = {
                name: to_float(row.get(col), path=self.path, where=where, column=col) for col, name in self._columns.items()
            }
        self._table, self._n_rows = table, len(rows)

    # -- the contract ------------------------------------------------------------------------------

    def signature(self) -> str:
        return f"{super().signature()}|file:{self.path.name}|sha256:{self._sha256[:16]}"

    def describe(self) -> dict:
        out = super().describe()
        # The runner asks for this after scoring, so run.json carries how the join went.
        out.update({"file": str(self.path), "sha256": self._sha256, "columns": dict(self._columns),
                    "coverage": self.coverage()})
        return out

    def _record_key(self, record: Record) -> tuple:
        if self.settings["join"] == "example_id":
            return (str(record.example_id).strip(),)
        return (str(record.doc_id).strip(), str(record.system).strip())

    def score(self, batch: Sequence[Record]) -> list[Result]:
        results = []
        key_names = "example_id" if self.settings["join"] == "example_id" else "doc_id+system"
        with self.timer.stage("join"):
            for record in batch:
                key = self._record_key(record)
                row = self._table.get(key)
                if row is None:
                    reason = f"no row in {self.path.name} for {key_names} {' + '.join(map(repr, key))}"
                    results.append(Result({n: None for n in self.score_names}, {"joined": False}, reason))
                    continue
                empty = [n for n, v in row.items() if v is None]
                if len(empty) == len(row):
                    reason = f"every selected column is empty in {self.path.name} for {' + '.join(map(repr, key))}"
                    results.append(Result(dict(row), {"joined": True, "empty_scores": empty}, reason))
                    continue
                results.append(Result(dict(row), {"joined": True, "empty_scores": empty}))
            self.timer.add("join", items=len(batch))
        if not self.observed_by_runner:  # used on its own: keep the coverage here
            self.observe(batch, results)
        return results

    def observe(self, batch: Sequence[Record], results: Sequence[Result]) -> None:
        """Count the join coverage from the results (the runner calls this on the driver for every engine)."""
        for record, result in zip(batch, results):
            if result.details.get("joined"):
                self._used.add(self._record_key(record))
            if result.missing:
                self._missing[record.example_id] = result.missing
            else:
                self._scored.add(record.example_id)

    def coverage(self) -> dict:
        """How the join went so far: examples scored, examples left without a row (and which), file rows unused."""
        return {
            "file": str(self.path),
            "file_rows": self._n_rows,
            "examples_scored": len(self._scored),
            "examples_missing": len(self._missing),
            "missing_example_ids": sorted(self._missing),
            "file_rows_unused": self._n_rows - len(self._used),
        }


def _is_number(value) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return not math.isnan(value)
    if isinstance(value, str) and value.strip().lower() not in _MISSING_TEXT:
        try:
            return not math.isnan(float(value))
        except ValueError:
            return False
    return False


def _is_number_or_missing(value) -> bool:
    if value is None or (isinstance(value, str) and value.strip().lower() in _MISSING_TEXT):
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return _is_number(value)
