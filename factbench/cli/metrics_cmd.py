"""``factbench metrics list``."""

from __future__ import annotations

import click

from . import main


@main.group()
def metrics():
    """Inspect the available metrics."""


@metrics.command("list")
def list_():
    """Each metric with its card summary (built-ins and plug-ins)."""
    from ..metrics import available, metric_class

    for name in sorted(available()):
        click.echo(f"{name:16s} {metric_class(name).load_card().summary}")
