"""``factbench run`` and ``factbench report``."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
from pathlib import Path

import click

from ..errors import ConfigError
from . import main
from .analyze import BY_OPTION, THRESHOLDS_OPTION


def parse_settings(pairs: tuple[str, ...]) -> dict[str, dict]:
    """``("rouge.against=source", ...)`` -> ``{"rouge": {"against": "source"}}``."""
    out: dict[str, dict] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        metric, dot, name = key.partition(".")
        if not sep or not dot or not metric or not name:
            raise ConfigError(f"--set expects METRIC.KEY=VALUE, got {pair!r}")
        out.setdefault(metric, {})[name] = value
    return out


def parse_columns(value: str | None) -> dict | None:
    """The ``--columns`` map: inline JSON, or the path of a JSON file."""
    if value is None:
        return None
    text = value
    if not value.lstrip().startswith(("{", "[")):
        path = Path(value)
        if not path.is_file():
            raise ConfigError(f"--columns: {value!r} is neither JSON text nor an existing .json file")
        text = path.read_text(encoding="utf-8")
    try:
        columns = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--columns: not valid JSON: {exc}") from exc
    if not isinstance(columns, dict):
        raise ConfigError("--columns must be a JSON object mapping roles to column names")
    for role, column in columns.items():
        if role == "labels":
            ok = isinstance(column, dict) and all(isinstance(v, (str, dict)) for v in column.values())
            if not ok:
                raise ConfigError(f"--columns: 'labels' must map label names to a column name or an object, got {column!r}")
            continue
        names = [column] if role == "dataset" or not isinstance(column, list) else column
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(
                f"--columns: {role!r} maps to {column!r}; give a column name"
                + ("" if role == "dataset" else " (or a list of names)")
            )
    return columns


@main.command()
@click.option("--dataset", "datasets", multiple=True, required=True, help="Dataset name or .jsonl/.csv/.tsv path (repeatable).")
@click.option("--metrics", required=True, help="Comma-separated metric names, e.g. rouge,quals,precomputed:frank-official.")
@click.option("--columns", default=None, metavar="JSON|FILE", help="Column map of a .jsonl/.csv/.tsv dataset: JSON text or a .json file.")
@click.option("--split", default=None, help="Only this split (e.g. test, valid).")
@click.option("--limit", type=int, default=None, help="Only the first N records of each dataset.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Run directory (default reports/<time>-<dataset>).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Benchmark data directory (else FACTBENCH_DATA_DIR or the config file).")
@click.option("--profile", default=None, help="Model profile of every metric: paper, fast or tiny.")
@click.option("--set", "set_", multiple=True, metavar="METRIC.KEY=VALUE", help="Override a metric setting (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random choice.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Stage cache folder (default ~/.cache/factbench).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the stage cache.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@BY_OPTION
@THRESHOLDS_OPTION
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where batches are scored: this process, or Ray actors.")
@click.option("--ray-address", default=None, help="Ray cluster to join ('auto', host:port, ray://...); default: start a local Ray instance.")
@click.option("--workers", type=int, default=None, help="Ray actors, each with its own copy of the models (default 1).")
@click.option("--cpus-per-worker", type=float, default=None, help="CPUs each Ray actor reserves; its torch threads (default 1).")
@click.option("--gpus-per-worker", type=float, default=None, help="GPUs each Ray actor reserves (default 0; 1 = one worker per GPU).")
@click.option("--shard", "shard_", default=None, metavar="I/N", help="Only shard I of N (0-based, by a hash of dataset and example id); join shards with `factbench merge`.")
def run(datasets, metrics, columns, split, limit, out_dir, data_dir, profile, set_, seed, cache_dir, no_cache, quiet,
        by, thresholds, engine, ray_address, workers, cpus_per_worker, gpus_per_worker, shard_):
    """Score DATASET(s) with METRICS and write a run directory with scores, tables and a summary."""
    from ..engines.shard import parse_shard
    from ..runner import RunConfig, run as run_

    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if not names:
        raise ConfigError("--metrics is empty")
    if out_dir is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = Path("reports") / f"{stamp}-{'+'.join(Path(d).stem for d in datasets)}"
    cfg = RunConfig(
        datasets=list(datasets),
        metrics=names,
        out_dir=out_dir,
        data_dir=str(data_dir) if data_dir else None,
        columns=parse_columns(columns),
        split=split,
        limit=limit,
        profile=profile,
        settings=parse_settings(set_),
        seed=seed,
        cache_dir=str(cache_dir) if cache_dir else None,
        use_cache=not no_cache,
        progress=not quiet,
        engine=engine,
        engine_options={"address": ray_address, "workers": workers, "cpus_per_worker": cpus_per_worker,
                        "gpus_per_worker": gpus_per_worker},
        shard=parse_shard(shard_) if shard_ else None,
        command="factbench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        analysis={"by": by, "thresholds": thresholds} if by else {},
    )
    out = run_(cfg)
    click.echo(f"wrote {out}/summary.md")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def report(run_dir):
    """Regenerate every report of RUN_DIR from its stored scores alone."""
    from ..report import write_reports

    click.echo(f"wrote {write_reports(run_dir)}")
