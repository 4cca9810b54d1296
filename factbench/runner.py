"""Load datasets, score them with each metric in batches, and write a run directory.

A run is resumable: each finished batch is appended to ``partial/<metric>.jsonl`` in the run directory
(with the metric's signature and each record's :func:`resume_key`), and a restarted run with the same settings
skips what is there and still matches the records. Model stages are also in the persistent cache, so even a
fresh run directory repeats no model work. The run directory is locked for the whole run (:mod:`.runlock`)
and owned as :mod:`.rundir` says.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import platform
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from . import datasets as ds
from . import metrics as registry
from . import rundir
from .cache import Cache
from .config import cache_dir, using_cache_dir
from .errors import ConfigError, RunError
from .io import atomic_open, write_json
from .metrics.base import Metric, Result, library_version
from .records import Dataset, Record
from .stored import escape_cell
from .report.grouping import GROUPS_FILE, SCORE_FIELDS
from .timing import peak_memory_mb

PACKAGES = ("python", "torch", "transformers", "tokenizers", "spacy", "rouge-score", "numpy", "pandas", "scipy")
KEY_COLUMNS = ("dataset", "split", "example_id", "doc_id", "system")
DEFAULT_SEED = 0
log = logging.getLogger("factbench")


@dataclass
class RunConfig:
    """Everything a run needs; ``settings`` maps a metric name to its setting overrides."""

    datasets: list[str]
    metrics: list[str]
    out_dir: Path
    data_dir: str | None = None
    columns: dict | None = None
    split: str | None = None
    limit: int | None = None
    profile: str | None = None
    settings: dict[str, dict] = field(default_factory=dict)
    seed: int = DEFAULT_SEED
    cache_dir: str | None = None
    use_cache: bool = True
    progress: bool = True
    command: str = ""
    # Analysis options that `factbench report` must reproduce (stored in run.json "analysis").
    analysis: dict = field(default_factory=dict)


def select(dataset: Dataset, split: str | None, limit: int | None) -> list[Record]:
    records = dataset.records
    if split:
        if split not in dataset.splits():
            raise ConfigError(
                f"dataset {dataset.name!r} has no split {split!r}; splits: {', '.join(dataset.splits())}"
            )
        records = [r for r in records if r.split == split]
    if limit is not None:
        if limit < 1:
            raise ConfigError("--limit must be at least 1")
        records = records[:limit]
    return records


def build_metrics(cfg: RunConfig) -> list[Metric]:
    unknown = set(cfg.settings) - {m.split(":", 1)[0] for m in cfg.metrics}
    if unknown:
        raise ConfigError(f"settings given for metrics that are not run: {', '.join(sorted(unknown))}")
    built = []
    if len(set(cfg.metrics)) != len(cfg.metrics):
        raise ConfigError(f"a metric is named twice in {', '.join(cfg.metrics)}")
    for name in cfg.metrics:
        base = name.split(":", 1)[0]
        settings = dict(cfg.settings.get(base, {}))
        built.append(registry.create(name, settings, profile=cfg.profile))
    for m in built:
        # One run seed for every metric that draws random numbers, unless the user set the metric's own;
        # likewise the run's data directory for metrics that read files from it.
        own = cfg.settings.get(m.name, {})
        if "seed" in m.settings and "seed" not in own:
            m.settings["seed"] = cfg.seed
        if "data_dir" in m.settings and "data_dir" not in own and cfg.data_dir:
            m.settings["data_dir"] = cfg.data_dir
    names = [n for m in built for n in m.score_names]
    clash = {n for n in names if names.count(n) > 1}
    if clash:
        raise ConfigError(f"two metrics produce the same score column(s) {sorted(clash)}; run them separately")
    return built


def run(cfg: RunConfig) -> Path:
    """Score every selected record with every metric; write and return the run directory."""
    started = _now()
    out = Path(cfg.out_dir)
    rundir.check_out_dir(out)
    if cfg.columns is not None:
        named = [n for n in cfg.datasets if n in ds.registry()]
        if named:
            raise ConfigError(f"--columns maps the columns of a .jsonl/.csv/.tsv file; {named[0]!r} is a named dataset")
    selected: list[tuple[Dataset, list[Record]]] = []
    for name in cfg.datasets:
        dataset = ds.load(name, cfg.data_dir, columns=cfg.columns)
        if any(d.name == dataset.name for d, _ in selected):
            raise ConfigError(f"dataset {dataset.name!r} is named twice")
        selected.append((dataset, select(dataset, cfg.split, cfg.limit)))
    records = [r for _, recs in selected for r in recs]
    if not records:
        raise ConfigError("nothing to score: the selection is empty")
    _check_group_field(cfg.analysis.get("by"), selected)
    metrics = build_metrics(cfg)
    labels = dict(zip(cfg.metrics, metrics))
    # Everything that can be refused is checked before the run directory exists.
    cache = open_cache(cfg)

    # Models load lazily, inside this block: tiny models are built under --cache-dir too.
    with rundir.open_run(out, labels), using_cache_dir(cfg.cache_dir):
        results: dict[str, dict[str, Result]] = {}
        timings: dict[str, dict] = {}
        for label, metric in labels.items():
            metric.cache = cache
            before = cache.stats()
            results[label], timings[label] = _score_all(label, metric, records, out, cfg.progress)
            timings[label]["cache"] = _stats_since(before, cache.stats())

        ended = _now()
        meta = {
            "factbench_version": __version__,
            "command": cfg.command,
            "started": started,
            "ended": ended,
            "seed": cfg.seed,
            "profile": cfg.profile,
            "split": cfg.split,
            "limit": cfg.limit,
            "git_commit": _git_commit(),
            "machine": _machine(),
            "packages": {p: library_version(p) for p in PACKAGES},
            "cache": str(cache.path) if cache.path else None,
            "datasets": [
                {
                    "name": d.name,
                    "description": d.description,
                    "path": str(d.path),
                    "sha256": _file_sha256(d.path),
                    "split": cfg.split or "all",
                    "n": len(recs),
                    "label_scales": {k: vars(v) for k, v in d.label_scales.items()},
                    "group_fields": dict(d.group_fields),
                }
                for d, recs in selected
            ],
            "metrics": {label: m.describe() for label, m in labels.items()},
        }
        if cfg.analysis:
            meta["analysis"] = dict(cfg.analysis)
        _write_results(out, records, labels, results)
        write_groups(out / GROUPS_FILE, records)
        from .report.texts import write_texts

        write_texts(out, records)  # the HTML explorer shows sources and summaries from the run directory alone
        write_json(out / "timings.json", {"peak_memory_mb": peak_memory_mb(), "metrics": timings})
        # run.json last, with the fingerprints of what the reports read: its presence means "finished".
        meta["files"] = rundir.fingerprints(out)
        write_json(out / "run.json", meta)
        rundir.finish(out)
        rundir.remove_partials(out, labels)
    from .report import write_reports

    write_reports(out)
    return out


def open_cache(cfg: RunConfig) -> Cache:
    """The run's stage cache (a disabled one with ``--no-cache``)."""
    if not cfg.use_cache:
        return Cache(None)
    return Cache(Path(cfg.cache_dir or cache_dir()) / "cache.sqlite")


def _stats_since(before: dict, after: dict) -> dict:
    """Cache counters of one metric: the run's counters after it minus those before it."""
    return {
        kind: {stage: n - before[kind].get(stage, 0) for stage, n in per.items() if n - before[kind].get(stage, 0)}
        for kind, per in after.items()
    }


def _file_sha256(path) -> str | None:
    """The sha256 of a dataset file (``None`` for a benchmark read from a folder of files)."""
    from .datasets.fetch import sha256_file

    return sha256_file(Path(path)) if path and Path(path).is_file() else None


def resume_key(record: Record) -> str:
    """What a stored result is valid for: the record's identity and every field a metric reads.

    An interrupted run resumed after its input changed (same ids, other summaries; or another file of the same
    name) recomputes exactly the records whose key changed.
    """
    fields = [record.dataset, record.split, record.example_id, record.doc_id, record.system, record.source,
              record.summary, list(record.references)]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def fixed_batches(n: int, batch_size: int) -> list[range]:
    """Batches of record positions, fixed by the record list alone (never by what remains to be scored), so
    that a record is scored in the same company whether the run is fresh or resumed."""
    return [range(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def _score_all(label: str, metric: Metric, records: list[Record], out: Path, progress: bool):
    """Score the batches not yet in the partial file, appending each finished batch to it."""
    from tqdm import tqdm

    signature = metric.signature()
    partial = rundir.partial_path(out, label)
    keys = [resume_key(r) for r in records]
    stored, stored_ids = _read_partial(partial, signature)
    done = {k: stored[k] for k in keys if k in stored}
    changed = sum(1 for r, k in zip(records, keys) if k not in stored and (r.dataset, r.example_id) in stored_ids)
    todo = [b for b in fixed_batches(len(records), metric.batch_size) if any(keys[i] not in done for i in b)]
    n_todo = sum(len(b) for b in todo)
    if stored:
        log.info(
            "%s: reusing %d stored result(s), scoring %d (%d changed since they were stored)",
            label, len(records) - n_todo, n_todo, changed,
        )
    partial.parent.mkdir(parents=True, exist_ok=True)
    _end_cut_line(partial)
    wall, cpu = time.perf_counter(), time.process_time()
    with partial.open("a", encoding="utf-8") as fh, tqdm(
        total=len(records), initial=len(records) - n_todo, desc=label, disable=not progress, unit="summary"
    ) as bar:
        for positions in todo:
            batch = [records[i] for i in positions]
            out_ = metric.score(batch)
            if len(out_) != len(batch):
                raise RunError(f"metric {label}: score() returned {len(out_)} results for a batch of {len(batch)}")
            for i, record, result in zip(positions, batch, out_):
                _check_result(label, metric, record, result)
                done[keys[i]] = result
                row = {"signature": signature, "key": keys[i], **_result_row(record, label, signature, result)}
                fh.write(json.dumps(row) + "\n")
            fh.flush()
            bar.update(len(batch))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    timing = {
        "summaries": n_todo,
        "resumed": len(records) - n_todo,
        "changed": changed,
        "wall_s": wall,
        "cpu_s": cpu,
        "summaries_per_s": n_todo / wall if wall > 0 and todo else None,
        "stages": metric.timer.as_dict(),
        "settings": {k: metric.settings[k] for k in ("device", "dtype", "threads", "batch_size") if k in metric.settings},
    }
    return done, timing


def _end_cut_line(path: Path) -> None:
    """A run killed mid-write leaves a last line without its newline; end it, so that the next row appended
    starts a line of its own instead of being glued to (and lost with) the cut one."""
    if path.is_file() and path.stat().st_size:
        with path.open("rb+") as fh:
            fh.seek(-1, 2)
            if fh.read(1) != b"\n":
                fh.write(b"\n")


def _check_result(label: str, metric: Metric, record: Record, result: Result) -> None:
    if not isinstance(result, Result) or set(result.scores) != set(metric.score_names):
        raise RunError(
            f"metric {label}: result for record {record.example_id} must have exactly the scores "
            f"{list(metric.score_names)}, got {getattr(result, 'scores', result)!r}"
        )
    for name, value in result.scores.items():
        if value is not None and not isinstance(value, (int, float)):
            raise RunError(f"metric {label}: score {name} of record {record.example_id} is not a number: {value!r}")


def _result_row(record: Record, label: str, signature: str, result: Result) -> dict:
    return {
        "dataset": record.dataset,
        "example_id": record.example_id,
        "metric": label,
        "signature": signature,
        "scores": result.scores,
        "missing": result.missing,
        "details": result.details,
    }


def _read_partial(path: Path, signature: str) -> tuple[dict[str, Result], set[tuple[str, str]]]:
    """Results a previous, interrupted run finished with the same metric signature, by :func:`resume_key`;
    and the (dataset, example id) of every such result, to count the records that changed since."""
    done: dict[str, Result] = {}
    ids: set[tuple[str, str]] = set()
    if not path.exists():
        return done, ids
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # the line an interruption cut short
                continue
            if row.get("signature") != signature or "key" not in row:  # other settings, or an unkeyed old row
                continue
            done[row["key"]] = Result(row["scores"], row["details"], row["missing"])
            ids.add((row["dataset"], row["example_id"]))
    return done, ids


def _write_results(out: Path, records: list[Record], labels: dict[str, Metric], results) -> None:
    label_names = sorted({name for r in records for name in r.labels})
    score_names = [n for m in labels.values() for n in m.score_names]
    with atomic_open(out / "results.jsonl") as fh:
        for label, metric in labels.items():
            signature = metric.signature()
            for r in records:
                row = _result_row(r, label, signature, results[label][resume_key(r)])
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with atomic_open(out / "scores.csv", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*KEY_COLUMNS, *(f"label:{n}" for n in label_names), *score_names])
        for r in records:
            row = [escape_cell(str(v)) for v in (r.dataset, r.split, r.example_id, r.doc_id, r.system)]
            row += [r.labels.get(n, "") for n in label_names]
            for label, metric in labels.items():
                res = results[label][resume_key(r)]
                row += ["" if res.scores[n] is None else repr(float(res.scores[n])) for n in metric.score_names]
            writer.writerow(row)


def _check_group_field(by: str | None, selected) -> None:
    """Refuse ``--by FIELD`` before scoring when no selected record has FIELD (as a record or meta field)."""
    if not by or by in SCORE_FIELDS:
        return
    if not any(isinstance(r.meta.get(by), (str, int, float, bool)) for _, recs in selected for r in recs):
        named = sorted({f for d, _ in selected for f in d.group_fields} | {"split", "system"})
        raise ConfigError(f"--by {by}: no selected record has this field; fields: {', '.join(named)} "
                          "(or any scalar meta field)")


def write_groups(path: Path, records: list[Record]) -> None:
    """``groups.csv``: dataset, example_id and every scalar ``meta`` field of the records (text; empty where a
    record lacks the field), so that the analysis can group by a meta field without reloading the dataset."""
    fields: dict[str, None] = {}
    for r in records:
        for key, value in r.meta.items():
            if isinstance(value, (str, int, float, bool)) and key not in KEY_COLUMNS:
                fields.setdefault(key, None)
    with atomic_open(path, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["dataset", "example_id", *fields])
        for r in records:
            cells = [r.meta.get(k) for k in fields]
            writer.writerow([r.dataset, r.example_id,
                             *("" if v is None or isinstance(v, (dict, list)) else str(v) for v in cells)])


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    """The commit of the factbench source tree, when it runs from a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _machine() -> dict:
    import os

    info = {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info
