"""The ``factbench`` command line. Each concern adds its commands from its own module."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from ..errors import FactbenchError

# Modules that attach commands to ``main`` when imported.
_COMMAND_MODULES = (
    "run", "data", "metrics_cmd", "analyze", "models_cmd", "bench", "regress", "conseq", "explain", "merge",
)


class _Group(click.Group):
    """Turns library errors into one line on stderr and the error's exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FactbenchError as exc:
            click.echo(f"factbench: error: {exc}", err=True)
            sys.exit(exc.exit_code)


class _StderrHandler(logging.Handler):
    """The library's notices (``logging.getLogger("factbench")``) as ``factbench: [warning: ]message`` lines."""

    def emit(self, record):
        prefix = "warning: " if record.levelno >= logging.WARNING else ""
        click.echo(f"factbench: {prefix}{record.getMessage()}", err=True)


@click.group(cls=_Group)
@click.version_option(package_name="factbench")
def main():
    """Run factual-consistency metrics over summaries, compare them with human judgments, time them."""
    logger = logging.getLogger("factbench")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.INFO)


for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
