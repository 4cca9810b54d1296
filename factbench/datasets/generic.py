"""Load a user's own JSONL, JSON, CSV or TSV file of summaries into records.

Columns are found by name (the defaults below) or through a column map::

    load_file("mine.csv", columns={
        "example_id": "uid", "source": "article", "summary": "output",
        "references": ["ref1", "ref2"],               # one column or a list of columns
        "labels": {"human": {"column": "score", "low": 1, "high": 5, "kind": "likert"},
                   "consistent": "is_ok"},              # a bare column: scale inferred (see below)
        "dataset": "mine",                              # the dataset name (default: the file stem)
    })

Defaults: ``example_id`` or ``id``; ``source`` or ``document``; ``summary``; ``references`` or ``reference``
(a JSONL value may be a list); ``doc_id``; ``system``; ``split``; labels from every column named
``label:<name>`` and, in JSON(L), from a ``labels`` object. A label whose scale is not declared is read as
binary when every value is 0 or 1, else as continuous between its observed minimum and maximum (so any finite
number is accepted); the label's description says it was inferred. Empty label cells mean "no label".
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import ConfigError, DataError
from ..records import Dataset, Record, Scale, validate
from ._io import read_json, short_hash, stream_csv, stream_jsonl

_ROLES = ("example_id", "source", "summary", "references", "doc_id", "system", "split")
_DEFAULTS = {
    "example_id": ("example_id", "id"),
    "source": ("source", "document"),
    "summary": ("summary",),
    "references": ("references", "reference"),
    "doc_id": ("doc_id",),
    "system": ("system",),
    "split": ("split",),
}
_REQUIRED = ("source", "summary")
_KINDS = ("binary", "continuous", "likert")


def _rows(path: Path):
    """``(where, row)`` pairs, read lazily: where is "line N" (JSONL, CSV, TSV) or "record N" (JSON list)."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return ((f"line {n}", row) for n, row in stream_jsonl(path))
    if suffix in (".csv", ".tsv"):
        return ((f"line {n}", row) for n, row in stream_csv(path, "\t" if suffix == ".tsv" else ","))
    if suffix == ".json":  # one JSON document: read whole
        data = read_json(path)
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise DataError("a .json dataset must be a list of objects (or use .jsonl)", path=path)
        return iter([(f"record {i}", row) for i, row in enumerate(data, start=1)])
    raise DataError(f"unsupported file type {suffix!r} (use .jsonl, .json, .csv or .tsv)", path=path)


class _Observed:
    """The lowest and highest value of a label and whether all were 0 or 1: what an undeclared scale is
    inferred from, in constant memory."""

    def __init__(self):
        self.n, self.low, self.high, self.binary = 0, math.inf, -math.inf, True

    def add(self, value: float) -> None:
        self.n += 1
        self.low, self.high = min(self.low, value), max(self.high, value)
        self.binary = self.binary and value in (0.0, 1.0)


def _label_specs(columns: dict, fields: set[str], path: Path) -> dict[str, dict]:
    """name -> {"column", and optionally "low", "high", "kind", "description"} from the map and the header."""
    specs = {f[len("label:"):]: {"column": f} for f in sorted(fields) if f.startswith("label:")}
    for name, spec in (columns.get("labels") or {}).items():
        spec = {"column": spec} if isinstance(spec, str) else dict(spec)
        unknown = set(spec) - {"column", "low", "high", "kind", "description"}
        if unknown or "column" not in spec:
            raise ConfigError(
                f"label {name!r}: a label mapping needs 'column' and may give low, high, kind, description "
                f"(got {sorted(spec)})"
            )
        if spec.get("kind", "continuous") not in _KINDS:
            raise ConfigError(f"label {name!r}: kind {spec['kind']!r} is not one of {', '.join(_KINDS)}")
        specs.pop(spec["column"][len("label:"):] if spec["column"].startswith("label:") else None, None)
        specs[name] = spec
    return specs


def _number(value, where: str, column: str, path: Path) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: label column {column!r} holds {value!r}, not a number", path=path) from None
    if not math.isfinite(number):
        raise DataError(f"{where}: label column {column!r} holds {value!r}, not a finite number", path=path)
    return number


def _declared(spec: dict) -> bool:
    return spec.get("kind") is not None or "low" in spec or "high" in spec


def _scale(name: str, spec: dict, values: _Observed, path: Path) -> Scale:
    kind = spec.get("kind")
    if not _declared(spec):
        if values.n and values.binary:
            return Scale(0, 1, "binary", spec.get("description") or f"{name}: binary, inferred from {path.name}")
        low, high = (values.low, values.high) if values.n else (0.0, 0.0)
        return Scale(
            low, high, "continuous",
            spec.get("description") or f"{name}: scale not declared; bounds are the observed min and max",
        )
    kind = kind or "continuous"
    if kind == "binary":
        low, high = 0, 1
    elif "low" not in spec or "high" not in spec:
        raise ConfigError(f"label {name!r}: a {kind} label needs both 'low' and 'high'")
    else:
        low, high = float(spec["low"]), float(spec["high"])
        if low > high:
            raise ConfigError(f"label {name!r}: low {low} is above high {high}")
    return Scale(low, high, kind, spec.get("description") or f"{name}: declared {kind} [{low}, {high}]")


def _text(row: dict, column: str | None, where: str, path: Path, *, required: bool) -> str | None:
    if column is None:
        return None
    value = row.get(column)
    if value is None:
        if required:
            raise DataError(f"{where}: missing field {column!r}", path=path)
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise DataError(f"{where}: field {column!r} should be text, got {type(value).__name__}", path=path)
    return str(value)


def load_file(path, columns: dict | None = None, *, stream: bool = False) -> Dataset:
    """Load records from a JSONL, JSON (list of objects), CSV or TSV file.

    Parameters
    ----------
    path : str or Path
        The file.
    columns : dict, optional
        Column map (see the module docstring); keys are roles, values column names.
    stream : bool
        If true, ``Dataset.records`` is a :class:`RecordStream`: the file is checked now, in passes that
        hold one row at a time (plus the set of ids), and each iteration reads it again, one record at a
        time. Else the records are a list, as every benchmark loader returns.

    Raises
    ------
    DataError
        Missing file, undecodable line, missing required field, empty source or summary, duplicate id, a
        non-numeric label or one outside its declared scale; the message names the file and line.
    ConfigError
        An unknown role or a malformed label mapping.
    """
    path = Path(path)
    columns = dict(columns or {})
    unknown = set(columns) - set(_ROLES) - {"labels", "dataset"}
    if unknown:
        raise ConfigError(f"unknown column-map key(s) {sorted(unknown)}; known: {', '.join(_ROLES)}, labels, dataset")
    if not path.exists():
        raise DataError("no such file", path=path)
    fields: set[str] = set()
    for _, row in _rows(path):  # a first pass for the union of the fields (JSONL rows may differ)
        fields.update(row.keys())
    if not fields:
        raise DataError("the file holds no records", path=path)

    role_column: dict[str, object] = {}
    for role in _ROLES:
        if role in columns:
            wanted = columns[role]
            for col in [wanted] if isinstance(wanted, str) else wanted:
                if col not in fields:
                    raise DataError(f"column {col!r} (mapped to {role}) is not in the file", path=path)
            role_column[role] = wanted
        else:
            role_column[role] = next((c for c in _DEFAULTS[role] if c in fields), None)
    for role in _REQUIRED:
        if role_column[role] is None:
            raise DataError(
                f"no {role} column: expected one of {', '.join(_DEFAULTS[role])}, "
                f"or map one with columns={{'{role}': ...}}",
                path=path,
            )
    label_specs = _label_specs(columns, fields, path)
    for name, spec in label_specs.items():
        if spec["column"] not in fields:
            raise DataError(f"column {spec['column']!r} (label {name!r}) is not in the file", path=path)

    name = columns.get("dataset") or path.stem
    read = _Reader(path, name, role_column, label_specs)
    # The checking pass: every row made into a record and dropped, keeping only ids and label extremes.
    seen: dict[str, str] = {}
    observed = {n: _Observed() for n in label_specs}
    splits: set[str] = set()
    for where, row in _rows(path):
        record = read(where, row)
        if record.example_id in seen:
            raise DataError(
                f"{where}: duplicate example id {record.example_id!r} (first at {seen[record.example_id]})", path=path
            )
        seen[record.example_id] = where
        splits.add(record.split)
        for label, value in record.labels.items():
            observed.setdefault(label, _Observed()).add(value)
    count = len(seen)
    del seen
    scales = {label: _scale(label, spec, observed[label], path) for label, spec in label_specs.items()}
    if any(_declared(spec) for spec in label_specs.values()):
        for record in RecordStream(read, count):  # name the line, not only the id, for a value outside its scale
            for label, value in record.labels.items():
                if not scales[label].check(value):
                    s = scales[label]
                    raise DataError(
                        f"{record.meta['where']}: label {label!r} = {value:g} is outside its scale "
                        f"[{s.low:g}, {s.high:g}] ({s.kind})",
                        path=path,
                    )
    records = RecordStream(read, count, sorted(splits))
    return Dataset(
        name=name,
        records=records if stream else validate(records, scales, path),
        label_scales=scales,
        description=f"records read from {path.name}",
        path=str(path),
    )


class _Reader:
    """Makes one record of one row, checking its fields; remembers the labels it meets (JSON ``labels``)."""

    def __init__(self, path: Path, name: str, role_column: dict, label_specs: dict):
        self.path, self.name, self.role_column, self.label_specs = path, name, role_column, label_specs

    def rows(self):
        return _rows(self.path)

    def __call__(self, where: str, row: dict) -> Record:
        path, role_column, label_specs = self.path, self.role_column, self.label_specs
        source = _text(row, role_column["source"], where, path, required=True)
        summary = _text(row, role_column["summary"], where, path, required=True)
        for role, text in (("source", source), ("summary", summary)):
            if not text.strip():
                raise DataError(f"{where}: empty {role} (column {role_column[role]!r})", path=path)
        example_id = _text(row, role_column["example_id"], where, path, required=True) or where.split()[-1]
        labels = {}
        if isinstance(row.get("labels"), dict):  # a JSON(L) "labels" object: undeclared labels
            for label, value in row["labels"].items():
                label_specs.setdefault(label, {"column": f"labels.{label}"})
                labels[label] = value
        for label, spec in label_specs.items():
            if spec["column"] in row:
                labels[label] = row[spec["column"]]
        for label in list(labels):
            number = _number(labels[label], where, label_specs[label]["column"], path)
            if number is None:
                del labels[label]
            else:
                labels[label] = number
        return Record(
            dataset=self.name,
            split=_text(row, role_column["split"], where, path, required=False) or "all",
            example_id=example_id,
            doc_id=_text(row, role_column["doc_id"], where, path, required=False) or short_hash(source),
            system=_text(row, role_column["system"], where, path, required=False) or "unknown",
            source=source,
            summary=summary,
            references=_references(row, role_column["references"], where, path),
            labels=labels,
            meta={"where": where},
        )


class RecordStream:
    """The records of a checked file, read again on each iteration, one at a time.

    ``len()`` is the number of records; ``splits`` their splits. The runner iterates it once per metric
    and once to write the results, so a file of any size is scored in the memory of a few batches.
    """

    def __init__(self, read: _Reader, count: int, splits: list[str] | None = None):
        self._read, self._count, self.splits = read, count, splits

    def __len__(self) -> int:
        return self._count

    def __iter__(self):
        for where, row in self._read.rows():
            yield self._read(where, row)


def _references(row: dict, column, where: str, path: Path) -> tuple[str, ...]:
    if column is None:
        return ()
    out = []
    for col in [column] if isinstance(column, str) else column:
        value = row.get(col)
        if value is None or value == "":
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if not isinstance(v, str):
                raise DataError(f"{where}: reference in {col!r} should be text, got {type(v).__name__}", path=path)
            if v.strip():
                out.append(v)
    return tuple(out)
