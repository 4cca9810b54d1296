"""The dataset x system x score comparison table, and Markdown rendering of data frames."""

from __future__ import annotations

import math

import pandas as pd


def comparison_table(scores: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Long table: mean and count of every score column per dataset and system, ``(all)`` first."""
    rows = []
    for dataset, group in scores.groupby("dataset", sort=False):
        parts = [("(all)", group)] + [(str(s), g) for s, g in group.groupby("system", sort=True)]
        for system, part in parts:
            for col in columns:
                values = pd.to_numeric(part[col], errors="coerce")
                rows.append(
                    {"dataset": dataset, "system": system, "score": col, "n": len(part),
                     "mean": values.mean(), "count": int(values.notna().sum())}
                )
    return pd.DataFrame(rows, columns=["dataset", "system", "score", "n", "mean", "count"])


def wide_means(table: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset and system, one column per score mean; a cell with missing scores says how
    many were scored, e.g. ``0.4123 (n=240)``."""
    rows = []
    for (dataset, system), part in table.groupby(["dataset", "system"], sort=False):
        row = {"dataset": dataset, "system": system, "n": int(part["n"].iloc[0])}
        for r in part.itertuples(index=False):
            cell = _cell(r.mean)
            row[r.score] = cell if r.count == r.n else f"{cell} (n={r.count})"
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _md(text: str) -> str:
    """A table cell's text: ``|`` would end the cell and a line break the row."""
    return " ".join(text.split("\n")).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(_md(str(c)) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(_md(_cell(v)) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
