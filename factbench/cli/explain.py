"""``factbench explain RUN_DIR --example ID``: the QA-pair figure of one summary, for a paper or a slide."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from . import main

FORMATS = (".png", ".svg", ".pdf")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--example", "example_id", required=True, help="Example id (the example_id column of scores.csv).")
@click.option("--metric", default="quals", show_default=True, help="Metric label in the run whose QA pairs to draw.")
@click.option("--dataset", default=None, help="Dataset of the example, when several datasets share the id.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Figure file: .png, .svg or .pdf.")
@click.option("--max-pairs", default=10, show_default=True, type=click.IntRange(min=1), help="Draw at most N pairs.")
def explain(run_dir, example_id, metric, dataset, out, max_pairs):
    """Draw the QA pairs of one summary: per-token log-probabilities given the summary (blue) and given the
    source (orange), with each pair's term. Reads RUN_DIR/results.jsonl only."""
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out {out}: the figure format must be one of {', '.join(FORMATS)}")
    from ..report.explain import find_result, qa_pair_figure  # matplotlib only when the command runs

    row = find_result(run_dir, example_id, metric=metric, dataset=dataset)
    click.echo(f"wrote {qa_pair_figure(row, out, max_pairs=max_pairs)}")
