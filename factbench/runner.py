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
from . import engines, rundir
from .cache import Cache
from .config import cache_dir, using_cache_dir
from .engines import shard
from .engines.stream import Chain, Selection, batched
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
    # Where batches are scored (factbench.engines): "local" or "ray", with the engine's options.
    engine: str = "local"
    engine_options: dict = field(default_factory=dict)
    # (I, N): score only shard I of N (factbench.engines.shard), for `factbench merge` to join.
    shard: tuple[int, int] | None = None


def select(dataset: Dataset, split: str | None, limit: int | None, shard: tuple[int, int] | None = None) -> Selection:
    """The records of ``dataset`` to score, as a lazy, re-iterable :class:`~factbench.engines.stream.Selection`."""
    if split:
        splits = getattr(dataset.records, "splits", None) or dataset.splits()
        if split not in splits:
            raise ConfigError(f"dataset {dataset.name!r} has no split {split!r}; splits: {', '.join(splits)}")
    if limit is not None and limit < 1:
        raise ConfigError("--limit must be at least 1")
    return Selection(dataset.records, split, limit, shard)


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
    selected: list[tuple[Dataset, Selection]] = []
    for name in cfg.datasets:
        dataset = ds.load(name, cfg.data_dir, columns=cfg.columns, stream=True)
        if any(d.name == dataset.name for d, _ in selected):
            raise ConfigError(f"dataset {dataset.name!r} is named twice")
        selected.append((dataset, select(dataset, cfg.split, cfg.limit, cfg.shard)))
    shard_info = shard.shard_info(selected, *cfg.shard) if cfg.shard else None
    # Read lazily: files are read again on each pass, so memory does not grow with the number of records.
    records = Chain([recs for _, recs in selected])
    if not len(records):
        where = f"shard {cfg.shard[0]}/{cfg.shard[1]} of " if cfg.shard else ""
        raise ConfigError(f"nothing to score: {where}the selection is empty")
    _check_group_field(cfg.analysis.get("by"), selected)
    metrics = build_metrics(cfg)
    labels = dict(zip(cfg.metrics, metrics))
    # Everything that can be refused is checked before the run directory exists.
    cache = open_cache(cfg)
    engine = engines.create(cfg.engine, **cfg.engine_options)

    # Models load lazily, inside this block: tiny models are built under --cache-dir too.
    with rundir.open_run(out, labels), using_cache_dir(cfg.cache_dir):
        results: dict[str, dict[str, int]] = {}
        timings: dict[str, dict] = {}
        for metric in metrics:
            metric.cache = cache
            metric.observed_by_runner = True
        try:
            engine.start(cfg, labels)
            for label, metric in labels.items():
                results[label], timings[label] = _score_all(label, metric, records, out, cfg.progress, engine)
            engine_meta = engine.describe()
        finally:
            engine.close()

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
            "engine": engine_meta,
            "shard": {"index": cfg.shard[0], "count": cfg.shard[1]} if cfg.shard else None,
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
        if shard_info:
            shard.write_shard_file(out, shard_info)
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


def _score_all(label: str, metric: Metric, records: Chain, out: Path, progress: bool, engine: engines.Engine):
    """Score on ``engine`` the batches not yet in the partial file, appending each finished batch to it (in the
    order the engine finishes them; the run's files are written in record order at the end).

    Returns the byte offset in the partial file of every finished record's result, by :func:`resume_key`, and
    the timings.
    """
    from tqdm import tqdm

    signature = metric.signature()
    partial = rundir.partial_path(out, label)
    stored, stored_ids = _read_partial(partial, signature)
    done: dict[str, int] = {}
    total = changed = 0
    for r in records:
        key = resume_key(r)
        total += 1
        if key in stored:
            done[key] = stored[key]
        elif (r.dataset, r.example_id) in stored_ids:
            changed += 1
    # Batches are cut from the whole record list, never from what remains to be scored, so that a record is
    # scored in the same company whether the run is fresh or resumed; only batches with work are sent.
    # A batch with any record to score is scored whole (its stored results are replaced).
    n_todo = sum(len(b) for b in batched(records, metric.batch_size) if any(resume_key(r) not in done for r in b))
    todo = (b for b in batched(records, metric.batch_size) if any(resume_key(r) not in done for r in b))
    if stored:
        log.info(
            "%s: reusing %d stored result(s), scoring %d (%d changed since they were stored)",
            label, total - n_todo, n_todo, changed,
        )
    partial.parent.mkdir(parents=True, exist_ok=True)
    _end_cut_line(partial)
    scored = 0
    wall, cpu = time.perf_counter(), time.process_time()
    with partial.open("ab") as fh, tqdm(
        total=total, initial=total - n_todo, desc=label, disable=not progress, unit="summary"
    ) as bar:
        for batch, out_ in engine.score(label, metric, todo):
            if len(out_) != len(batch):
                raise RunError(f"metric {label}: score() returned {len(out_)} results for a batch of {len(batch)}")
            for record, result in zip(batch, out_):
                _check_result(label, metric, record, result)
                key = resume_key(record)
                done[key] = fh.tell()
                row = {"signature": signature, "key": key, **_result_row(record, label, signature, result)}
                fh.write((json.dumps(row) + "\n").encode("utf-8"))
            fh.flush()
            metric.observe(batch, out_)
            scored += len(batch)
            bar.update(len(batch))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    timing = {
        "summaries": scored,
        "resumed": total - scored,
        "changed": changed,
        "wall_s": wall,
        "cpu_s": cpu,
        "summaries_per_s": scored / wall if wall > 0 and scored else None,
        **engine.stats(label, metric),
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


def _read_partial(path: Path, signature: str) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Where in the partial file each result of a previous, interrupted run with the same metric signature
    starts, by :func:`resume_key` (the last one wins; the results stay on disk until the run's files are
    written); and the (dataset, example id) of every such result, to count the records that changed since."""
    done: dict[str, int] = {}
    ids: set[tuple[str, str]] = set()
    if not path.exists():
        return done, ids
    with path.open("rb") as fh:
        at = 0
        for line in fh:
            start, at = at, at + len(line)
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # the line an interruption cut short
                continue
            if row.get("signature") != signature or "key" not in row:  # other settings, or an unkeyed old row
                continue
            done[row["key"]] = start
            ids.add((row["dataset"], row["example_id"]))
    return done, ids


def _stored_result(fh, offset: int) -> Result:
    fh.seek(offset)
    row = json.loads(fh.readline())
    return Result(row["scores"], row["details"], row["missing"])


def _write_results(out: Path, records: Chain, labels: dict[str, Metric], results) -> None:
    """results.jsonl and scores.csv in record order, streaming the records and reading each result back from
    the partial files, so that only the offsets are held in memory."""
    label_names = sorted({name for r in records for name in r.labels})
    score_names = [n for m in labels.values() for n in m.score_names]
    partials = {label: rundir.partial_path(out, label).open("rb") for label in labels}

    def result(label, record):
        return _stored_result(partials[label], results[label][resume_key(record)])

    try:
        with atomic_open(out / "results.jsonl") as fh:
            for label, metric in labels.items():
                signature = metric.signature()
                for r in records:
                    fh.write(json.dumps(_result_row(r, label, signature, result(label, r)), ensure_ascii=False) + "\n")
        with atomic_open(out / "scores.csv", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([*KEY_COLUMNS, *(f"label:{n}" for n in label_names), *score_names])
            for r in records:
                row = [escape_cell(str(v)) for v in (r.dataset, r.split, r.example_id, r.doc_id, r.system)]
                row += [r.labels.get(n, "") for n in label_names]
                for label, metric in labels.items():
                    res = result(label, r)
                    row += ["" if res.scores[n] is None else repr(float(res.scores[n])) for n in metric.score_names]
                writer.writerow(row)
    finally:
        for fh in partials.values():
            fh.close()


def _check_group_field(by: str | None, selected) -> None:
    """Refuse ``--by FIELD`` before scoring when no selected record has FIELD (as a record or meta field)."""
    if not by or by in SCORE_FIELDS:
        return
    if not any(isinstance(r.meta.get(by), (str, int, float, bool)) for _, recs in selected for r in recs):
        named = sorted({f for d, _ in selected for f in d.group_fields} | {"split", "system"})
        raise ConfigError(f"--by {by}: no selected record has this field; fields: {', '.join(named)} "
                          "(or any scalar meta field)")


def write_groups(path: Path, records) -> None:
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
