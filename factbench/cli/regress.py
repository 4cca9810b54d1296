"""``factbench regress``: compare a run with a committed baseline; exit 0 pass, 1 regression, 2 not comparable,
3 an unreadable run or baseline, 5 a damaged run directory."""

from __future__ import annotations

from pathlib import Path

import click

from . import main


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--baseline", "baseline_path", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Baseline JSON, e.g. reports/baselines/frank-rouge.json.")
@click.option("--update", is_flag=True,
              help="Write RUN_DIR as the new baseline (after reporting the drift from the old one); exits 0.")
@click.option("--tolerance", "tolerances", multiple=True, metavar="METRIC_OR_SCORE=ABS[,REL]",
              help="Allowed drift of a metric, a score, 'analysis', 'analysis:<table>' or 'default' (repeatable): "
                   "a value passes when |run - baseline| <= max(ABS, REL*|baseline|). Default 1e-6,1e-6; "
                   "labels exact. With --update, stored in the baseline.")
@click.pass_context
def regress(ctx, run_dir, baseline_path, update, tolerances):
    """Compare RUN_DIR's per-example scores, labels and analysis tables with a baseline.

    Prints a drift table that names the likely cause (a changed setting, model or library version) and
    writes it to RUN_DIR/regress.md, with every changed analysis value in RUN_DIR/regress_analysis.csv.
    Exit code 0: no regression; 1: a regression (a value beyond its tolerance, changed labels, examples
    in one side only); 2: not comparable (other datasets or split, no shared example, a score column or
    analysis table missing), or a usage error; 3: a file that cannot be read (a baseline or scores.csv that is
    not valid JSON/CSV, a column run.json names missing); 5: a run directory whose files are not the ones the
    run wrote (truncated, duplicated or edited scores.csv, damaged run.json).
    """
    from ..errors import FactbenchError
    from ..io import write_text
    from ..regress import (PASS, build_baseline, compare, load_baseline, parse_tolerances, read_run, render,
                           write_analysis_changes)

    cli_tol = parse_tolerances(tolerances)
    run = read_run(run_dir)
    status = PASS
    if not update or baseline_path.is_file():
        try:
            base = load_baseline(baseline_path)
        except FactbenchError as exc:
            if not update:
                raise
            # An unreadable old baseline must not block replacing it.
            click.echo(f"factbench: warning: old baseline not compared: {exc}", err=True)
            base = None
        if base is not None:
            cmp = compare(base, run, cli_tol)
            report = render(cmp, run_dir, baseline_path)
            write_text(Path(run_dir) / "regress.md", report + "\n")
            write_analysis_changes(cmp, Path(run_dir) / "regress_analysis.csv")
            click.echo(report)
            status = cmp.status
    if update:
        build_baseline(run_dir, baseline_path, cli_tol)
        click.echo(f"wrote baseline {baseline_path}")
        status = PASS
    ctx.exit(status)
