"""``factbench models tiny DIR``: build the tiny random-weight test models."""

from __future__ import annotations

import click

from . import main


@main.group()
def models():
    """Model utilities."""


@models.command("tiny")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["bart", "t5", "qa", "classifier"]),
              help="Build only these kinds (repeatable); default all.")
@click.option("--seed", type=int, default=None, help="Weight seed (default: the fixed tiny-model seed).")
def tiny(directory, kinds, seed):
    """Build deterministic tiny BART, T5, extractive-QA BERT and classifier BERT models under DIRECTORY/<kind>.

    Random weights: for tests and the `tiny` profiles only; their scores mean nothing.
    """
    from ..models import tiny as tiny_mod

    seed = tiny_mod.SEED if seed is None else seed
    for kind in kinds or tiny_mod.KINDS:
        path = tiny_mod.build(kind, f"{directory}/{kind}", seed=seed)
        click.echo(f"{kind:11s} {path}")
