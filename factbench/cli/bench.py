"""``factbench bench``: timed, repeated metric runs with realistic random-weight models."""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from pathlib import Path

import click

from ..errors import ConfigError
from . import main


def _list(value: str, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise ConfigError(f"{what} is empty")
    return items


@main.command()
@click.option("--metrics", required=True, help="Comma-separated metrics, e.g. quals,qags.")
@click.option("--dataset", required=True, help="Dataset name or path; the first N records are scored.")
@click.option("-n", "n", type=int, default=5, show_default=True, help="Records (summaries) per run.")
@click.option("--arch", default="base", show_default=True,
              help="Random-weight models: tiny, base (BART-base/BERT-base), paper (BART-large/BERT-large); "
                   "'none' keeps the models of the metric cards (real models by path or id via --set).")
@click.option("--repeats", type=int, default=3, show_default=True, help="Timed repeats per configuration.")
@click.option("--warmup", type=int, default=1, show_default=True,
              help="Untimed runs first; the first loads the models and counts FLOPs.")
@click.option("--mode", "modes", default="factbench,reference", show_default=True,
              help="Execution modes: factbench, reference (one example/question at a time, as the originals).")
@click.option("--dtype", "dtypes", default="fp32", show_default=True, help="fp32, bf16 or both (fp32,bf16).")
@click.option("--flops-only", is_flag=True, help="Count FLOPs in one run per configuration; no timed repeats.")
@click.option("--no-interleave", is_flag=True, help="Measure configurations one after another (less memory).")
@click.option("--set", "set_", multiple=True, metavar="METRIC.KEY=VALUE", help="Override a metric setting (repeatable).")
@click.option("--split", default=None, help="Only records of this split.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Benchmark data directory.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default reports/bench-<time>).")
@click.option("--peak-size", type=int, default=2048, show_default=True, help="Matrix size of the matmul peak measurement.")
@click.option("--bootstrap", type=int, default=2000, show_default=True, help="Bootstrap resamples of the ratio intervals.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice).")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def bench(metrics, dataset, n, arch, repeats, warmup, modes, dtypes, flops_only, no_interleave, set_, split, data_dir,
          out_dir, peak_size, bootstrap, seed, threads, quiet):
    """Time metrics on N real summaries: medians, spreads, ratios with bootstrap intervals, FLOPs, peak."""
    from ..bench.runner import BenchConfig, run_bench
    from .run import parse_settings

    if threads:
        import torch

        torch.set_num_threads(threads)
    cfg = BenchConfig(
        metrics=_list(metrics, "--metrics"),
        dataset=dataset,
        n=n,
        arch=None if arch == "none" else arch,
        repeats=repeats,
        warmup=warmup,
        modes=_list(modes, "--mode"),
        dtypes=_list(dtypes, "--dtype"),
        out_dir=out_dir or Path("reports") / f"bench-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}",
        data_dir=str(data_dir) if data_dir else None,
        split=split,
        settings=parse_settings(set_),
        flops_only=flops_only,
        interleave=not no_interleave,
        peak_n=peak_size,
        bootstrap=bootstrap,
        seed=seed,
        command="factbench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        progress=not quiet,
    )
    if cfg.arch is not None and cfg.arch not in ("tiny", "base", "paper"):
        raise ConfigError(f"unknown --arch {arch!r}; use tiny, base, paper or none")
    path = run_bench(cfg)
    click.echo(f"bench report: {path}")
