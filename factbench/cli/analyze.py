"""``factbench analyze RUN_DIR``: agreement with human judgments, intervals, tests, detection, plots."""

from __future__ import annotations

import click

from ..stats.correlation import LEVELS, METHODS
from . import main

# Shared with `factbench run`, which passes them through to the analysis of its run directory.
BY_OPTION = click.option(
    "--by", default=None, metavar="FIELD",
    help="Also analyse each value of FIELD separately, side by side with the whole dataset: a record field "
         "(system, split) or a meta field (e.g. origin for FRANK and CLIFF; `factbench data list` names them).")
THRESHOLDS_OPTION = click.option(
    "--thresholds", type=click.Choice(["per-group", "global"]), default="per-group", show_default=True,
    help="With --by: tune each group's detection threshold on that group's validation cut (AggreFact), or tune "
         "one on the whole validation cut and apply it to every group.")


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
@BY_OPTION
@THRESHOLDS_OPTION
def analyze(run_dir, bootstrap, seed, resample, kendall, tune_on, levels, methods, permutations, no_plots, by,
            thresholds):
    """Correlate every metric with every human label of RUN_DIR, with intervals, tests and detection.

    Reads RUN_DIR/scores.csv and RUN_DIR/run.json only (and RUN_DIR/groups.csv with --by); writes
    RUN_DIR/analysis/. With --by FIELD every table also holds each value of FIELD, side by side with the whole
    dataset (group "all"); analysis/group_sizes.csv gives each group's size and what it was too small for.
    """
    from ..report.analysis import analyze_run  # pandas/matplotlib only when the command runs

    analyze_run(run_dir, bootstrap=bootstrap, seed=seed, resample=resample, kendall=kendall, tune_on=tune_on,
                levels=levels or None, methods=methods or None, permutations=permutations,
                plots=not no_plots, by=by, thresholds=thresholds)
    click.echo(f"wrote {run_dir}/analysis/ (analysis.md, comparison.md/.csv, comparison_wide.csv, correlations.csv, "
               f"pairwise.csv, detection.md/.csv, detection_wide.csv, detection_pairwise.csv"
               f"{', group_sizes.csv' if by else ''}, *.png)")
