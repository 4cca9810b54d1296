"""``factbench merge``: join shard run directories (``factbench run --shard I/N``) into one."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from . import main


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="The merged run directory.")
def merge(run_dirs, out_dir):
    """Join the run directories of --shard 0/N ... N-1/N into one, checking that they are shards of one run
    and that every record is present exactly once."""
    from ..engines.merge import merge as merge_

    out = merge_(list(run_dirs), out_dir, command="factbench " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    click.echo(f"wrote {out}/summary.md")
