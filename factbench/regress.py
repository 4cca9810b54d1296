"""Regression baselines: freeze a run's per-example scores, labels and analysis tables in one JSON file,
and compare a later run with it, naming the changed setting, model or library that likely caused a drift.

A baseline (``reports/baselines/<name>.json``) holds the run's metric signatures and settings, package
versions, datasets (name, split, n), every example's scores and human labels (key: dataset + example id)
and every table under ``RUN_DIR/analysis/*.csv`` (correlations, detection accuracy...), read generically:
the shortest run of its text columns that tells the rows apart identifies a row, every other column is a
value (numbers compared within a tolerance, text exactly).

Outcome of :func:`compare`: ``PASS`` (0), ``REGRESSION`` (1) when a value is beyond its tolerance, a label
changed, or examples/analysis rows are in one side only; ``NOT_COMPARABLE`` (2) when the datasets or splits
differ, no example is shared, or a score column, analysis table or analysis column of the baseline is absent.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from . import rundir
from .errors import ConfigError, DataError, RunError
from .io import atomic_open, read_json
from .stored import TEXT_COLUMNS, unescape_cell

FORMAT = "factbench-baseline/1"
PASS, REGRESSION, NOT_COMPARABLE = 0, 1, 2
VERDICT = {PASS: "PASS", REGRESSION: "REGRESSION", NOT_COMPARABLE: "NOT COMPARABLE"}
ANALYSIS = "analysis"  # tolerance key of every analysis value; "analysis:<table>" for one table
SHOWN = 10  # example ids listed per side in the report
WORST = 5  # largest per-example differences listed per drifted score
HEADLINE_SHOWN = 60  # changed correlations / detection results listed per table in the report
OTHER_SHOWN = 15  # other changed analysis values listed (all of them go to regress_analysis.csv)
# The headline numbers of the tables factbench.report.analysis writes; the other columns (intervals,
# p-values, display columns) and comparison.csv / pairwise.csv are derived from the same scores. A table
# not named here (a future or a plug-in analysis) counts as headline in all its values.
HEADLINE = {"correlations": ("estimate",), "detection": ("test_balanced_accuracy", "test_auc"),
            "comparison": (), "pairwise": ()}


@dataclass(frozen=True)
class Tolerance:
    """A value is within tolerance when ``|current - baseline| <= max(abs, rel * |baseline|)`` (math.isclose)."""

    abs: float
    rel: float

    def allows(self, base, cur) -> bool:
        if isinstance(base, float) and isinstance(cur, float):
            if math.isnan(base) or math.isnan(cur):
                return math.isnan(base) and math.isnan(cur)
            if math.isinf(base) or math.isinf(cur):
                return base == cur
            return abs(cur - base) <= max(self.abs, self.rel * abs(base))
        return base == cur  # missing (None) or text on either side: only an identical value passes

    def __str__(self) -> str:
        return f"{self.abs:g}, {self.rel:g}"

    @classmethod
    def parse(cls, text, what: str) -> "Tolerance":
        """``"1e-4"`` or ``"1e-4,1e-3"`` (ABS[,REL]; REL defaults to 0), or ``{"abs": .., "rel": ..}``."""
        try:
            if isinstance(text, dict):
                unknown = set(text) - {"abs", "rel"}
                if unknown:
                    raise ValueError(f"unknown keys {sorted(unknown)}")
                tol = cls(float(text.get("abs", 0.0)), float(text.get("rel", 0.0)))
            else:
                parts = str(text).split(",")
                if len(parts) > 2:
                    raise ValueError("more than two numbers")
                tol = cls(float(parts[0]), float(parts[1]) if len(parts) == 2 else 0.0)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"tolerance {what}: expected ABS[,REL] (e.g. 1e-4 or 1e-4,1e-3), got {text!r} ({exc})") from None
        if not (tol.abs >= 0 and tol.rel >= 0):
            raise ConfigError(f"tolerance {what}: ABS and REL must be non-negative numbers, got {text!r}")
        return tol


# Deterministic metrics must reproduce to the last bits; metrics that need slack say so in the baseline.
DEFAULT = Tolerance(1e-6, 1e-6)
# Human labels come from the dataset, not a metric: any change means the data or its loader changed.
EXACT = Tolerance(0.0, 0.0)


def parse_tolerances(pairs) -> dict[str, Tolerance]:
    """``("rouge=1e-4", "qags=1e-3,1e-2")`` -> ``{"rouge": Tolerance(1e-4, 0), "qags": Tolerance(1e-3, 1e-2)}``."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--tolerance expects METRIC_OR_SCORE=ABS[,REL], got {pair!r}")
        out[name.strip()] = Tolerance.parse(value, name.strip())
    return out


# ----------------------------------------------------------------------------------------------- reading


def _number(text: str):
    """A scores.csv / analysis cell: '' -> None, a number -> float, anything else stays text."""
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)  # float() round-trips the repr() the runner writes
    except ValueError:
        return text


def _json_number(value):
    """JSON has no NaN/inf: store them as the strings 'nan', 'inf', '-inf'."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _from_json(value):
    if value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def read_analysis(run_dir: Path) -> dict[str, dict]:
    """Every ``analysis/*.csv`` of a run as ``{stem: {"keys": [...], "values": [...], "rows": [[...], ...]}}``.

    Generic, so that any table the analysis writes is checked: ``keys`` is the shortest run of the
    text columns, in file order, that tells the rows apart (e.g. dataset, label, metric, level, method);
    every other column is a value, a number compared within a tolerance or a text compared exactly.
    """
    tables = {}
    folder = Path(run_dir) / "analysis"
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        header, rows = _read_csv(path, allow_empty=True)
        text = [c for i, c in enumerate(header) if any(isinstance(_number(r[i]), str) for r in rows)]
        keys = text
        for n in range(1, len(text) + 1):
            at = [header.index(c) for c in text[:n]]
            if len({tuple(r[i] for i in at) for r in rows}) == len(rows):
                keys = text[:n]
                break
        values = [c for c in header if c not in keys]
        tables[path.stem] = {
            "keys": keys,
            "values": values,
            "rows": [[r[header.index(k)] for k in keys] + [_json_number(_number(r[header.index(v)])) for v in values]
                     for r in rows],
        }
    return tables


def _read_csv(path: Path, allow_empty: bool = False) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read CSV: {exc}", path=path) from None
    if not rows:
        if allow_empty:  # e.g. detection.csv of a run without the val/test cuts it needs
            return [], []
        raise DataError("empty CSV file (no header)", path=path)
    header, body = rows[0], rows[1:]
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{len(row)} cells, the header has {len(header)}", path=path, record=f"line {i}")
    return header, body


def read_run(run_dir) -> dict:
    """A run directory as a baseline dict (without tolerances)."""
    run_dir = Path(run_dir)
    for name in ("run.json", "scores.csv"):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} is not a finished run directory: {name} is missing")
    meta = rundir.verify(run_dir)
    header, rows = _read_csv(run_dir / "scores.csv")
    rows = [[unescape_cell(c) if h in TEXT_COLUMNS else c for h, c in zip(header, row)] for row in rows]
    score_cols = [n for m in meta["metrics"].values() for n in m["score_names"]]
    label_cols = [c for c in header if c.startswith("label:")]
    absent = [c for c in ("dataset", "example_id", *score_cols) if c not in header]
    if absent:
        raise DataError(f"columns {absent} named in run.json are missing", path=run_dir / "scores.csv")
    columns = score_cols + label_cols
    at = {c: header.index(c) for c in ("dataset", "example_id", *columns)}
    examples: dict[str, dict] = {}
    for line, row in enumerate(rows, start=2):
        per = examples.setdefault(row[at["dataset"]], {})
        if row[at["example_id"]] in per:
            raise DataError(f"duplicate example {row[at['example_id']]!r}", path=run_dir / "scores.csv", record=f"line {line}")
        per[row[at["example_id"]]] = [_json_number(_number(row[at[c]])) for c in columns]
    return {
        "format": FORMAT,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "source_run": {k: meta.get(k) for k in ("command", "started", "seed", "profile", "split", "limit")},
        "factbench_version": meta.get("factbench_version"),
        "git_commit": meta.get("git_commit"),
        # The host name says nothing about the numbers and does not belong in a committed file.
        "machine": {k: v for k, v in (meta.get("machine") or {}).items() if k != "host"},
        "packages": meta.get("packages", {}),
        "datasets": [{k: d.get(k) for k in ("name", "split", "n")} for d in meta.get("datasets", [])],
        "metrics": {
            label: {k: m.get(k) for k in ("signature", "settings", "profile", "score_names")}
            for label, m in meta["metrics"].items()
        },
        "columns": columns,
        "examples": examples,
        "analysis": read_analysis(run_dir),
    }


def load_baseline(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"baseline {path} does not exist; create it with: factbench regress RUN_DIR --baseline {path} --update")
    try:
        base = read_json(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON: {exc}", path=path) from None
    if not isinstance(base, dict) or base.get("format") != FORMAT:
        raise DataError(f"not a factbench baseline (expected \"format\": \"{FORMAT}\")", path=path)
    for key in ("metrics", "columns", "examples", "datasets"):
        if key not in base:
            raise DataError(f"baseline has no {key!r}", path=path)
    width = len(base["columns"])
    for dataset, per in base["examples"].items():
        for example, values in per.items():
            if not isinstance(values, list) or len(values) != width:
                raise DataError(f"example {dataset}/{example}: {values!r} is not one value per column "
                                f"({width} columns)", path=path)
    for name, tol in (base.get("tolerances") or {}).items():
        Tolerance.parse(tol, f"{name!r} in {path}")
    return base


def write_baseline(path, run: dict, tolerances: dict) -> None:
    """Write atomically, one example per line, so that a git diff of a re-baselined file shows what moved."""
    doc = dict(run, tolerances=tolerances)
    examples, analysis = doc.pop("examples"), doc.pop("analysis")
    head = json.dumps(doc, indent=2, ensure_ascii=False)[:-2]  # drop the closing "\n}"
    with atomic_open(path) as fh:
        fh.write(head + ',\n  "examples": {')
        for i, (dataset, per) in enumerate(sorted(examples.items())):
            fh.write(("," if i else "") + f"\n    {json.dumps(dataset)}: {{")
            fh.write(",".join(f"\n      {json.dumps(k)}: {json.dumps(v)}" for k, v in per.items()))
            fh.write("\n    }")
        fh.write('\n  },\n  "analysis": {')
        for i, (name, table) in enumerate(sorted(analysis.items())):
            fh.write(("," if i else "") + f"\n    {json.dumps(name)}: {{\"keys\": {json.dumps(table['keys'])}, "
                     f"\"values\": {json.dumps(table['values'])}, \"rows\": [")
            fh.write(",".join(f"\n      {json.dumps(r)}" for r in table["rows"]))
            fh.write("\n    ]}")
        fh.write("\n  }\n}\n")


# ----------------------------------------------------------------------------------------------- comparing


@dataclass
class ScoreDrift:
    """How one score (or label) column moved over the shared examples."""

    metric: str
    score: str
    compared: int
    max_abs: float | None
    mean_abs: float | None
    beyond: int
    tolerance: Tolerance
    worst: list = field(default_factory=list)  # (dataset, example_id, baseline, current), largest first
    analysis_change: float | None = None
    cause: str = ""


@dataclass
class AnalysisChange:
    table: str
    row: str
    keys: tuple
    column: str
    baseline: object
    current: object
    beyond: bool

    @property
    def headline(self) -> bool:
        return self.column in HEADLINE.get(self.table, (self.column,))

    @property
    def change(self) -> float | None:
        return self.current - self.baseline if _numeric(self.baseline, self.current) else None


@dataclass
class Comparison:
    status: int = PASS
    problems: list = field(default_factory=list)  # why the two are not comparable
    causes: list = field(default_factory=list)  # signature / setting / package / machine changes
    drifts: list = field(default_factory=list)
    new_scores: list = field(default_factory=list)
    only_baseline: list = field(default_factory=list)
    only_run: list = field(default_factory=list)
    analysis_rows: list = field(default_factory=list)  # AnalysisChange of every value that moved at all
    analysis_compared: int = 0
    analysis_columns: dict = field(default_factory=dict)  # (table, column) -> [compared, changed, beyond, max abs]
    analysis_missing: list = field(default_factory=list)  # rows in one side only: (table, row, side)

    def fail(self, status: int) -> None:
        self.status = max(self.status, status)


def split_signature(signature: str) -> tuple[str, dict]:
    """``"rouge|v:1|stemmer:yes"`` -> ``("rouge", {"v": "1", "stemmer": "yes"})``."""
    name, *parts = (signature or "").split("|")
    fields = {}
    for part in parts:
        key, _, value = part.partition(":")
        fields[key] = value
    return name, fields


def diff_fields(old: dict, new: dict) -> list[str]:
    """``["stemmer yes -> no", "model a -> b (added)"...]``: every key whose value differs, in a stable order."""
    out = []
    for key in list(old) + [k for k in new if k not in old]:
        if key not in new:
            out.append(f"{key} {_show(old[key])} -> (absent)")
        elif key not in old:
            out.append(f"{key} (absent) -> {_show(new[key])}")
        elif old[key] != new[key]:
            out.append(f"{key} {_show(old[key])} -> {_show(new[key])}")
    return out


def _show(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _metric_causes(label: str, old: dict, new: dict) -> list[str]:
    name, fields_old = split_signature(old.get("signature", ""))
    name_new, fields_new = split_signature(new.get("signature", ""))
    changes = diff_fields(fields_old, fields_new)
    if name != name_new:
        changes.insert(0, f"adapter {name} -> {name_new}")
    if old.get("profile") != new.get("profile"):
        changes.append(f"profile {old.get('profile')} -> {new.get('profile')}")
    # Settings outside the signature (device, batch size) should not change numbers, but they are the
    # next suspects when the signature is identical and the numbers are not.
    in_sig = set(fields_old) | set(fields_new)
    others = diff_fields(
        {k: v for k, v in (old.get("settings") or {}).items() if k not in in_sig},
        {k: v for k, v in (new.get("settings") or {}).items() if k not in in_sig},
    )
    changes += [f"{c} (setting outside the signature)" for c in others]
    return changes


def resolve(tolerances: list[dict], metric: str, score: str) -> Tolerance:
    """The most specific tolerance: the score's, then its metric's, then ``default``; at each level the
    command line (first dict) wins over the baseline file."""
    for key in (score, metric, "default"):
        for source in tolerances:
            if key in source:
                return source[key]
    return DEFAULT


def compare(base: dict, run: dict, cli_tolerances: dict | None = None) -> Comparison:
    """Compare a run (as :func:`read_run` gives it) with a baseline; see the module docstring."""
    out = Comparison()
    file_tol = {k: Tolerance.parse(v, k) for k, v in (base.get("tolerances") or {}).items()}
    tolerances = [cli_tolerances or {}, file_tol]

    _compare_setup(base, run, out)
    metric_of = {s: label for label, m in base["metrics"].items() for s in m["score_names"]}
    metric_of.update({s: label for label, m in run["metrics"].items() for s in m["score_names"] if s not in metric_of})
    missing = [c for c in base["columns"] if c not in run["columns"]]
    if missing:
        out.problems.append(f"score or label column(s) {', '.join(missing)} of the baseline are not in the run")
    out.new_scores = [c for c in run["columns"] if c not in base["columns"]]

    base_keys = {(d, e) for d, per in base["examples"].items() for e in per}
    run_keys = {(d, e) for d, per in run["examples"].items() for e in per}
    shared = sorted(base_keys & run_keys)
    out.only_baseline, out.only_run = sorted(base_keys - run_keys), sorted(run_keys - base_keys)
    if not shared:
        out.problems.append("no example of the baseline is in the run")
    elif out.only_baseline or out.only_run:
        out.fail(REGRESSION)

    metric_causes = {label: _metric_causes(label, m, run["metrics"][label])
                     for label, m in base["metrics"].items() if label in run["metrics"]}
    # What every metric shares: packages, machine, run seed, factbench's own code.
    shared_causes = [f"packages: {c}" for c in diff_fields(base.get("packages") or {}, run.get("packages") or {})]
    shared_causes += [f"machine: {c}" for c in diff_fields(base.get("machine") or {}, run.get("machine") or {})]
    old_seed, new_seed = (base.get("source_run") or {}).get("seed"), (run.get("source_run") or {}).get("seed")
    if old_seed != new_seed:
        shared_causes.append(f"run seed {old_seed} -> {new_seed}")
    if base.get("git_commit") != run.get("git_commit") or base.get("factbench_version") != run.get("factbench_version"):
        shared_causes.append(
            f"factbench {base.get('factbench_version')} ({base.get('git_commit')}) -> "
            f"{run.get('factbench_version')} ({run.get('git_commit')})"
        )

    base_at = {c: i for i, c in enumerate(base["columns"])}
    run_at = {c: i for i, c in enumerate(run["columns"])}
    for col in base["columns"]:
        if col not in run_at:
            continue
        is_label = col.startswith("label:")
        metric = "(dataset)" if is_label else metric_of.get(col, "?")
        explicit = col in tolerances[0] or col in file_tol
        tol = EXACT if is_label and not explicit else resolve(tolerances, metric, col)
        drift = _drift(metric, col, tol, shared, base["examples"], run["examples"], base_at[col], run_at[col])
        if drift.beyond:
            out.fail(REGRESSION)
            if is_label:
                drift.cause = "the dataset or its loader changed"
            else:
                drift.cause = "; ".join(metric_causes.get(metric) or shared_causes) or "no recorded change"
        out.drifts.append(drift)

    _compare_analysis(base.get("analysis") or {}, run.get("analysis") or {}, tolerances, out)
    for drift in out.drifts:
        # An analysis row belongs to a score when one of its key cells is the score's name.
        changes = [abs(a.change) for a in out.analysis_rows
                   if a.headline and drift.score in a.keys and a.change is not None]
        drift.analysis_change = max(changes) if changes else None

    for label, changes in metric_causes.items():
        out.causes += [f"{label}: {c}" for c in changes]
    out.causes += [f"metric {label}: not in the run" for label in base["metrics"] if label not in run["metrics"]]
    out.causes += [f"metric {label}: new, not in the baseline" for label in run["metrics"] if label not in base["metrics"]]
    out.causes += shared_causes
    if out.problems:
        out.fail(NOT_COMPARABLE)
    return out


def _compare_setup(base: dict, run: dict, out: Comparison) -> None:
    old = {d["name"]: d for d in base["datasets"]}
    new = {d["name"]: d for d in run["datasets"]}
    if set(old) != set(new):
        out.problems.append(f"datasets differ: baseline {sorted(old)}, run {sorted(new)}")
    for name in sorted(set(old) & set(new)):
        if old[name].get("split") != new[name].get("split"):
            out.problems.append(f"dataset {name}: split {old[name].get('split')} in the baseline, {new[name].get('split')} in the run")


def _drift(metric, col, tol, shared, base_ex, run_ex, bi, ri) -> ScoreDrift:
    diffs, beyond = [], []
    for dataset, example in shared:
        b, c = _from_json(base_ex[dataset][example][bi]), _from_json(run_ex[dataset][example][ri])
        numeric = isinstance(b, float) and isinstance(c, float) and math.isfinite(b) and math.isfinite(c)
        if numeric:
            diffs.append(abs(c - b))
        if not tol.allows(b, c):
            beyond.append((abs(c - b) if numeric else math.inf, dataset, example, b, c))
    beyond.sort(key=lambda t: (-t[0], t[1], t[2]))
    return ScoreDrift(
        metric=metric,
        score=col,
        compared=len(shared),
        max_abs=max(diffs) if diffs else None,
        mean_abs=sum(diffs) / len(diffs) if diffs else None,
        beyond=len(beyond),
        tolerance=tol,
        worst=[t[1:] for t in beyond[:WORST]],
    )


def _row_name(keys: list[str], row: list) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(keys, row)) if keys else "(row)"


def _index(table: dict, keys: list[str], values: list[str]) -> dict:
    """Rows by their key cells; repeated keys get ``#2``, ``#3`` so that no row is lost."""
    at = {c: i for i, c in enumerate(table["keys"] + table["values"])}
    out: dict[str, dict] = {}
    for row in table["rows"]:
        name = _row_name(keys, [row[at[k]] for k in keys])
        n, unique = 1, name
        while unique in out:
            n += 1
            unique = f"{name} #{n}"
        out[unique] = (tuple(str(row[at[k]]) for k in keys), {v: _from_json(row[at[v]]) for v in values})
    return out


def _compare_analysis(base: dict, run: dict, tolerances: list[dict], out: Comparison) -> None:
    for name, table in sorted(base.items()):
        if name not in run:
            out.problems.append(f"analysis table {name}.csv of the baseline is not in the run")
            continue
        current = run[name]
        # The baseline's schema decides: a value column that became empty or text in the run is still compared.
        cols = set(current["keys"]) | set(current["values"])
        absent = [c for c in table["keys"] + table["values"] if c not in cols]
        if absent:
            out.problems.append(f"analysis table {name}.csv: column(s) {', '.join(absent)} of the baseline are missing")
            continue
        old = _index(table, table["keys"], table["values"])
        new = _index(_as_schema(current, table), table["keys"], table["values"])
        tol = resolve(tolerances, ANALYSIS, f"{ANALYSIS}:{name}")
        for row in sorted(set(old) - set(new)):
            out.analysis_missing.append((name, row, "baseline only"))
        for row in sorted(set(new) - set(old)):
            out.analysis_missing.append((name, row, "run only"))
        if any(r[0] == name and r[2] == "baseline only" for r in out.analysis_missing):
            out.fail(REGRESSION)
        for row in sorted(set(old) & set(new)):
            keys, before = old[row]
            after = new[row][1]
            for col in table["values"]:
                b, c = before[col], after[col]
                stats = out.analysis_columns.setdefault((name, col), [0, 0, 0, None])
                stats[0] += 1
                out.analysis_compared += 1
                same = tol.allows(b, c)
                if not same:
                    out.fail(REGRESSION)
                    stats[2] += 1
                if b != c and not (isinstance(b, float) and isinstance(c, float) and math.isnan(b) and math.isnan(c)):
                    stats[1] += 1
                    if _numeric(b, c):
                        stats[3] = max(stats[3] or 0.0, abs(c - b))
                    out.analysis_rows.append(AnalysisChange(name, row, keys, col, b, c, not same))


def _as_schema(current: dict, schema: dict) -> dict:
    """The run's table re-cut into the baseline's key and value columns."""
    at = {c: i for i, c in enumerate(current["keys"] + current["values"])}
    rows = []
    for row in current["rows"]:
        cells = []
        for c in schema["keys"]:
            cell = row[at[c]]
            cells.append(_show_key(cell))
        for c in schema["values"]:
            cell = row[at[c]]
            cells.append(_number(cell) if isinstance(cell, str) else cell)
        rows.append(cells)
    return {"keys": schema["keys"], "values": schema["values"], "rows": rows}


def _show_key(cell) -> str:
    """A key cell that the run read as a number (e.g. a column that is now all numeric) back as text."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None else str(cell)


# ----------------------------------------------------------------------------------------------- report


def _fmt(value, digits: int = 6) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else repr(value)
    return str(value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _numeric(*values) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in values)


def _change_size(a: AnalysisChange) -> float:
    return abs(a.current - a.baseline) if _numeric(a.baseline, a.current) else math.inf


def write_analysis_changes(cmp: Comparison, path) -> None:
    """Every analysis value that moved (the report lists the first few)."""
    with atomic_open(path, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["table", "row", "value", "baseline", "run", "change", "beyond_tolerance"])
        for a in cmp.analysis_rows:
            change = "" if a.change is None else repr(a.change)
            writer.writerow([a.table, a.row, a.column, "" if a.baseline is None else a.baseline,
                             "" if a.current is None else a.current, change, a.beyond])


def _analysis_list(changes: list[AnalysisChange]) -> list[str]:
    lines = ["| table | row | value | baseline | run | change | beyond tolerance |", "|---|---|---|---:|---:|---:|---|"]
    for a in changes:
        change = f"{a.change:+.6g}" if a.change is not None else "-"
        lines.append(f"| {_cell(a.table)} | {_cell(a.row)} | {_cell(a.column)} | {_fmt(a.baseline, 10)} "
                     f"| {_fmt(a.current, 10)} | {change} | {'yes' if a.beyond else 'no'} |")
    return lines


def render(cmp: Comparison, run_dir, baseline_path) -> str:
    """The drift report in Markdown (written to stdout and RUN_DIR/regress.md)."""
    lines = [f"# factbench regress: {VERDICT[cmp.status]} (exit {cmp.status})", "",
             f"Run `{run_dir}` against baseline `{baseline_path}`.", ""]
    if cmp.problems:
        lines += ["## Not comparable", ""] + [f"- {p}" for p in cmp.problems] + [""]
    lines += ["## Drift", ""]
    lines += ["| metric | score | examples compared | max abs diff | mean abs diff | beyond tolerance "
              "| tolerance (abs, rel) | max change in correlation / detection | likely cause |",
              "|---|---|---:|---:|---:|---:|---|---:|---|"]
    for d in cmp.drifts:
        lines.append(
            f"| {_cell(d.metric)} | {_cell(d.score)} | {d.compared} | {_fmt(d.max_abs)} | {_fmt(d.mean_abs)} "
            f"| {d.beyond} | {d.tolerance} | {_fmt(d.analysis_change) if d.analysis_change is not None else '-'} "
            f"| {_cell(d.cause) or '-'} |"
        )
    if cmp.new_scores:
        lines += ["", f"Not in the baseline (not checked): {', '.join(cmp.new_scores)}."]
    lines.append("")

    lines += ["## Changes since the baseline", ""]
    lines += [f"- {c}" for c in cmp.causes] if cmp.causes else ["- none: same signatures, settings, packages and machine"]
    lines.append("")

    worst = [d for d in cmp.drifts if d.worst]
    if worst:
        lines += ["## Largest differences", "", "| score | dataset | example | baseline | run |", "|---|---|---|---:|---:|"]
        for d in worst:
            lines += [f"| {_cell(d.score)} | {_cell(ds)} | {_cell(ex)} | {_fmt(b, 10)} | {_fmt(c, 10)} |"
                      for ds, ex, b, c in d.worst]
        lines.append("")

    if cmp.only_baseline or cmp.only_run:
        lines += ["## Examples in one and not the other", ""]
        for side, keys in (("baseline only", cmp.only_baseline), ("run only", cmp.only_run)):
            if keys:
                shown = ", ".join(f"{d}/{e}" for d, e in keys[:SHOWN])
                more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
                lines.append(f"- {side} ({len(keys)}): {shown}{more}")
        lines.append("")

    if cmp.analysis_compared or cmp.analysis_missing:
        lines += ["## Analysis (correlations, detection)", ""]
        moved = {k: v for k, v in cmp.analysis_columns.items() if v[1]}
        if not moved:
            lines.append(f"All {cmp.analysis_compared} analysis values are identical to the baseline.")
        else:
            headline: dict[str, list] = {}
            for a in cmp.analysis_rows:
                if a.headline:
                    headline.setdefault(a.table, []).append(a)
            others = sorted((a for a in cmp.analysis_rows if not a.headline and a.beyond), key=lambda a: -_change_size(a))
            if headline:
                lines += ["### Change in each correlation and detection result", ""]
                shown = [a for rows in headline.values()
                         for a in sorted(rows, key=lambda a: (not a.beyond, -_change_size(a)))[:HEADLINE_SHOWN]]
                lines += _analysis_list(shown)
                cut = {t: len(rows) - HEADLINE_SHOWN for t, rows in headline.items() if len(rows) > HEADLINE_SHOWN}
                if cut:
                    lines.append("\nNot shown (smaller changes; all in regress_analysis.csv): "
                                 + ", ".join(f"{n} of {t}" for t, n in cut.items()) + ".")
                lines.append("")
            lines += ["### Every analysis value", "",
                      "| table | value | rows compared | changed | beyond tolerance | max abs change |",
                      "|---|---|---:|---:|---:|---:|"]
            lines += [f"| {_cell(t)} | {_cell(c)} | {n} | {changed} | {beyond} | {_fmt(top) if top is not None else '-'} |"
                      for (t, c), (n, changed, beyond, top) in moved.items()]
            if others:
                lines += ["", "Largest other changes beyond tolerance (intervals, p-values, derived tables):", ""]
                lines += _analysis_list(others[:OTHER_SHOWN])
            lines.append(f"\nEvery changed analysis value ({len(cmp.analysis_rows)}) is in regress_analysis.csv.")
        for table, row, side in cmp.analysis_missing:
            lines.append(f"- {table}: row {row}: {side}")
        lines.append("")
    return "\n".join(lines)


def build_baseline(run_dir, path, cli_tolerances: dict | None = None) -> None:
    """``--update``: write the baseline of a run, keeping the tolerances of the file it replaces."""
    previous = {}
    if Path(path).is_file():
        try:
            previous = read_json(path).get("tolerances") or {}
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            previous = {}
    tolerances = {"default": {"abs": DEFAULT.abs, "rel": DEFAULT.rel}, **previous}
    tolerances.update({k: {"abs": t.abs, "rel": t.rel} for k, t in (cli_tolerances or {}).items()})
    write_baseline(path, read_run(run_dir), tolerances)
