"""Load datasets, score them with each metric in batches, and write a run directory.

A run is resumable: each finished batch is appended to ``partial/<metric>.jsonl`` in the run directory
(with the metric's signature), and a restarted run with the same settings skips what is there. Model
stages are also in the persistent cache, so even a fresh run directory repeats no model work.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import platform
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from . import datasets as ds
from . import engines
from .engines import shard
from .engines.stream import Chain, Selection, batched
from . import metrics as registry
from .cache import Cache
from .config import cache_dir
from .errors import ConfigError, RunError
from .io import atomic_open, write_json
from .metrics.base import Metric, Result, library_version
from .records import Dataset, Record
from .timing import peak_memory_mb

PACKAGES = ("python", "torch", "transformers", "tokenizers", "spacy", "rouge-score", "numpy", "pandas", "scipy")
KEY_COLUMNS = ("dataset", "split", "example_id", "doc_id", "system")
DEFAULT_SEED = 0


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
    metrics = build_metrics(cfg)
    labels = dict(zip(cfg.metrics, metrics))
    engine = engines.create(cfg.engine, **cfg.engine_options)

    out = Path(cfg.out_dir)
    if (out / "run.json").exists():
        raise RunError(f"{out} already holds a finished run; choose another --out (or delete it to re-run)")
    out.mkdir(parents=True, exist_ok=True)
    cache = Cache(Path(cfg.cache_dir or cache_dir()) / "cache.sqlite" if cfg.use_cache else None)

    results: dict[str, dict[tuple[str, str], int]] = {}
    timings: dict[str, dict] = {}
    for metric in metrics:
        metric.cache = cache
        metric.observed_by_runner = True
    try:
        engine.start(cfg, labels)
        for label, metric in labels.items():
            results[label], timings[label] = _score_all(label, metric, records, out / "partial", cfg.progress, engine)
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
                "split": cfg.split or "all",
                "n": len(recs),
                "label_scales": {k: vars(v) for k, v in d.label_scales.items()},
            }
            for d, recs in selected
        ],
        "metrics": {label: m.describe() for label, m in labels.items()},
    }
    _write_results(out, records, labels, results, out / "partial")
    write_json(out / "timings.json", {"peak_memory_mb": peak_memory_mb(), "metrics": timings})
    if shard_info:
        shard.write_shard_file(out, shard_info)
    write_json(out / "run.json", meta)
    from .report import write_reports

    write_reports(out)
    shutil.rmtree(out / "partial", ignore_errors=True)
    return out


def _score_all(label: str, metric: Metric, records: Chain, partial_dir: Path, progress: bool, engine=None):
    """Score the records not yet in the partial file on ``engine``, appending each finished batch to it
    (in the order the engine finishes them; the run's files are written in record order at the end).

    Returns the byte offset in the partial file of every finished record's result, and the timings.
    """
    from tqdm import tqdm

    engine = engine or engines.LocalEngine()
    signature = metric.signature()
    partial = _partial_path(partial_dir, label)
    done = _read_partial(partial, signature)
    total = len(records)
    resumed = sum(1 for r in records if (r.dataset, r.example_id) in done)
    todo = (r for r in records if (r.dataset, r.example_id) not in done)
    partial_dir.mkdir(parents=True, exist_ok=True)
    scored = 0
    wall, cpu = time.perf_counter(), time.process_time()
    with partial.open("ab") as fh, tqdm(
        total=total, initial=resumed, desc=label, disable=not progress, unit="summary"
    ) as bar:
        if fh.tell() and not _ends_with_newline(partial):  # an interruption cut the last line short
            fh.write(b"\n")
        for batch, out in engine.score(label, metric, batched(todo, metric.batch_size)):
            if len(out) != len(batch):
                raise RunError(f"metric {label}: score() returned {len(out)} results for a batch of {len(batch)}")
            for record, result in zip(batch, out):
                _check_result(label, metric, record, result)
                done[(record.dataset, record.example_id)] = fh.tell()
                row = {"signature": signature, **_result_row(record, label, signature, result)}
                fh.write((json.dumps(row) + "\n").encode("utf-8"))
            fh.flush()
            metric.observe(batch, out)
            scored += len(batch)
            bar.update(len(batch))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    timing = {
        "summaries": scored,
        "resumed": resumed,
        "wall_s": wall,
        "cpu_s": cpu,
        "summaries_per_s": scored / wall if wall > 0 and scored else None,
        **engine.stats(label, metric),
        "settings": {k: metric.settings[k] for k in ("device", "dtype", "threads", "batch_size") if k in metric.settings},
    }
    return done, timing


def _partial_path(partial_dir: Path, label: str) -> Path:
    return partial_dir / f"{label.replace(':', '_')}.jsonl"


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


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


def _read_partial(path: Path, signature: str) -> dict[tuple[str, str], int]:
    """Where in the partial file each result of a previous, interrupted run with the same metric signature
    starts (the last one wins); the results themselves stay on disk until the run's files are written."""
    done: dict[tuple[str, str], int] = {}
    if not path.exists():
        return done
    with path.open("rb") as fh:
        at = 0
        for line in fh:
            start, at = at, at + len(line)
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # the line an interruption cut short
                continue
            if row.get("signature") != signature:
                continue
            done[(row["dataset"], row["example_id"])] = start
    return done


def _stored_result(fh, offset: int) -> Result:
    fh.seek(offset)
    row = json.loads(fh.readline())
    return Result(row["scores"], row["details"], row["missing"])


def _write_results(out: Path, records: Chain, labels: dict[str, Metric], results, partial_dir: Path) -> None:
    """results.jsonl and scores.csv in record order, streaming the records and reading each result back
    from the partial files, so that only the offsets are held in memory."""
    label_names = sorted({name for r in records for name in r.labels})
    score_names = [n for m in labels.values() for n in m.score_names]
    partials = {label: _partial_path(partial_dir, label).open("rb") for label in labels}
    try:
        with atomic_open(out / "results.jsonl") as fh:
            for label, metric in labels.items():
                signature = metric.signature()
                for r in records:
                    result = _stored_result(partials[label], results[label][(r.dataset, r.example_id)])
                    fh.write(json.dumps(_result_row(r, label, signature, result), ensure_ascii=False) + "\n")
        with atomic_open(out / "scores.csv", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([*KEY_COLUMNS, *(f"label:{n}" for n in label_names), *score_names])
            for r in records:
                row = [r.dataset, r.split, r.example_id, r.doc_id, r.system]
                row += [r.labels.get(n, "") for n in label_names]
                for label, metric in labels.items():
                    res = _stored_result(partials[label], results[label][(r.dataset, r.example_id)])
                    row += ["" if res.scores[n] is None else repr(float(res.scores[n])) for n in metric.score_names]
                writer.writerow(row)
    finally:
        for fh in partials.values():
            fh.close()


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
