"""``factbench analyze RUN_DIR``: agreement with human judgments, intervals, tests, detection, plots."""

from __future__ import annotations

import click

from ..stats.correlation import LEVELS, METHODS
from . import main


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--bootstrap", "bootstrap", default=1000, show_default=True, type=int,
              help="Bootstrap resamples per confidence interval.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for resampling and permutations.")
@click.option("--resample", type=click.Choice(["inputs", "systems", "both"]), default="inputs", show_default=True,
              help="What the bootstrap and the permutation test resample.")
@click.option("--kendall", type=click.Choice(["b", "c"]), default="b", show_default=True,
              help="Kendall variant: tau-b (ties corrected) or tau-c.")
@click.option("--tune-on", default="val", show_default=True,
              help="Cut on which the detection threshold is tuned (only 'val' is allowed).")
@click.option("--level", "levels", multiple=True, type=click.Choice(LEVELS),
              help="Correlation level(s); repeat for several. Default: all.")
@click.option("--method", "methods", multiple=True, type=click.Choice(METHODS),
              help="Correlation method(s); repeat for several. Default: all, but Kendall only at the summary "
                   "and system levels unless asked for.")
@click.option("--permutations", default=1000, show_default=True, type=int,
              help="Permutations of the paired permutation test.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
def analyze(run_dir, bootstrap, seed, resample, kendall, tune_on, levels, methods, permutations, no_plots):
    """Correlate every metric with every human label of RUN_DIR, with intervals, tests and detection.

    Reads RUN_DIR/scores.csv and RUN_DIR/run.json only; writes RUN_DIR/analysis/.
    """
    from ..report.analysis import analyze_run  # pandas/matplotlib only when the command runs

    analyze_run(run_dir, bootstrap=bootstrap, seed=seed, resample=resample, kendall=kendall, tune_on=tune_on,
                levels=levels or None, methods=methods or None, permutations=permutations,
                plots=not no_plots)
    click.echo(f"wrote {run_dir}/analysis/ (analysis.md, comparison.md/.csv, correlations.csv, pairwise.csv, "
               f"detection.md/.csv, *.png)")
