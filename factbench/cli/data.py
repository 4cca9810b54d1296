"""``factbench data list`` and ``factbench data fetch``: which benchmarks are there, and getting them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from ..datasets import default_data_dir, is_present, load, registry
from ..errors import ConfigError, FactbenchError
from . import main

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Benchmark data directory (default: FACTBENCH_DATA_DIR, else data_dir in the config file).",
)


@main.group()
def data():
    """List the known datasets and download the public benchmarks."""


def _counts(dataset) -> tuple[str, str]:
    """'split n, ...' and 'label positive/n, ...' for the binary labels."""
    splits = Counter(r.split for r in dataset.records)
    split_text = ", ".join(f"{s} {n}" for s, n in sorted(splits.items()))
    binary = [name for name, scale in dataset.label_scales.items() if scale.kind == "binary"]
    positives = []
    for name in binary:
        labelled = [r for r in dataset.records if name in r.labels]
        text = f"{name} {int(sum(r.labels[name] for r in labelled))}/{len(labelled)}"
        if len(splits) > 1:  # per split too: detection thresholds are tuned on one cut and reported on another
            per_split = []
            for s in sorted(splits):
                in_split = [r.labels[name] for r in labelled if r.split == s]
                per_split.append(f"{s} {int(sum(in_split))}/{len(in_split)}")
            text += " (" + ", ".join(per_split) + ")"
        positives.append(text)
    return split_text, ", ".join(positives) or "-"


def group_values(dataset, name: str) -> Counter:
    """How many records hold each value of a groupable field (a record attribute or a meta key)."""
    if name in ("dataset", "split", "doc_id", "system"):
        return Counter(str(getattr(r, name)) for r in dataset.records)
    return Counter(str(r.meta[name]) for r in dataset.records if name in r.meta)


def _groups_text(dataset) -> str:
    """E.g. ``origin: cnndm 1250, xsum 996; system: 9 values``."""
    parts = []
    for name in dataset.group_fields:
        values = group_values(dataset, name)
        shown = (", ".join(f"{v} {n}" for v, n in sorted(values.items())) if len(values) <= 4
                 else f"{len(values)} values")
        parts.append(f"{name}: {shown}")
    return "; ".join(parts)


@data.command("list")
@_DATA_DIR
def list_(data_dir):
    """Show each dataset, whether it is present, and its counts (records per split, positives per binary label),
    then the fields each can be grouped by (`factbench analyze --by FIELD`)."""
    root = default_data_dir(data_dir)
    click.echo(f"data directory: {root if root else '(not set: pass --data-dir or set FACTBENCH_DATA_DIR)'}")
    rows = [("dataset", "present", "records", "splits", "binary positives")]
    groups = []
    for name, spec in sorted(registry().items()):
        if not is_present(spec, root):
            rows.append((name, "no", "-", "-", f"expected: {spec.counts}"))
            continue
        try:
            dataset = load(name, root)
        except FactbenchError as exc:  # one broken dataset must not hide the others
            rows.append((name, "error", "-", "-", str(exc)))
            continue
        split_text, positives = _counts(dataset)
        rows.append((name, "yes", str(len(dataset.records)), split_text, positives))
        if dataset.group_fields:
            groups.append(f"  {name}: {_groups_text(dataset)}")
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    if groups:
        click.echo("group by (factbench analyze --by FIELD; any record or meta field works, these are named):")
        for line in groups:
            click.echo(line)


@data.command("fetch")
@click.argument("name")
@_DATA_DIR
@click.option(
    "--base-url",
    default=None,
    help="Download from {BASE_URL}/{folder}/{file} instead of raw.githubusercontent.com "
    "(default: FACTBENCH_FETCH_BASE_URL).",
)
@click.option("--deadline", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True,
              help="Seconds one file's download may take in all.")
def fetch_(name, data_dir, base_url, deadline):
    """Download the verbatim files of benchmark NAME (e.g. frank, qags or qags-cnndm; `all` for every one),
    verify their sha256, and print the recipe of each derived file."""
    from ..datasets.fetch import fetch, find_entry, load_manifest

    root = default_data_dir(data_dir)
    if root is None:
        raise ConfigError(
            "no data directory: pass --data-dir, set FACTBENCH_DATA_DIR, or set data_dir in the config file"
        )
    manifest = load_manifest()
    entries = manifest["datasets"] if name == "all" else [find_entry(name, manifest)]
    for entry in entries:
        click.echo(f"{entry['folder']}: {entry['title']}")
        click.echo(f"  license: {entry['license']}")
        outcomes = fetch(
            entry["folder"], root, base_url=base_url, manifest=manifest, deadline=deadline,
            log=lambda m: click.echo(f"  {m}"),
        )
        counts = Counter(o.status for o in outcomes)
        click.echo(
            f"  {counts['downloaded']} downloaded, {counts['present']} already present (checksum ok), "
            f"into {root / entry['folder']}"
        )
        for outcome in outcomes:
            if outcome.status == "derived-present":
                click.echo(f"  derived file {outcome.path.name}: present, {outcome.detail}")
            elif outcome.status == "derived-missing":
                click.echo(f"  derived file {outcome.path.name} is not downloadable; to rebuild it: {outcome.detail}")
