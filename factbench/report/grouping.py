"""Analysis by subgroup (``factbench analyze --by FIELD``): which rows form each group, and how grouped results
are labelled.

The analysis itself is unchanged: every statistic of :mod:`factbench.report.analysis` runs on the whole dataset
(group ``all``) and again on the rows of each value of FIELD, and the grouped rows carry two extra columns,
``by`` (the field) and ``group`` (its value), right after ``label``. FIELD is a column of ``scores.csv``
(``system``, ``split``, ``doc_id``) or a scalar meta field of the records, which the run stores in
``groups.csv`` (see :func:`factbench.runner.write_groups`); the loaders name their natural ones (FRANK's and
CLIFF's ``origin``, every benchmark's ``system``; ``factbench data list`` shows them).

A group too small for a statistic is reported, never dropped: its n is in ``analysis/group_sizes.csv`` and in the
tables' column headers, an undefined statistic is ``n/a`` with the reason in the notes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import ConfigError, DataError, RunError

GROUPS_FILE = "groups.csv"  # written by the runner: dataset, example_id, every scalar meta field
ALL = "all"
NONE = "(none)"  # the group of rows whose record has no value for the field
THRESHOLDS = ("per-group", "global")
SCORE_FIELDS = ("split", "doc_id", "system")
# groups.csv columns that are keys, not fields
_KEYS = ("dataset", "example_id")


def available_fields(run_dir) -> list[str]:
    """The fields a run can be grouped by: the scores.csv id columns and the columns of groups.csv."""
    fields = list(SCORE_FIELDS)
    path = Path(run_dir) / GROUPS_FILE
    if path.is_file():
        header = pd.read_csv(path, nrows=0).columns
        fields += [c for c in header if c not in _KEYS and c not in fields]
    return fields


def group_values(run_dir, scores: pd.DataFrame, by: str) -> pd.Series:
    """The value of field ``by`` for every row of ``scores`` (as text; ``(none)`` where a record has none).

    Raises
    ------
    ConfigError
        ``by`` is neither a scores.csv id column nor a field of the run's groups.csv.
    """
    if by in SCORE_FIELDS:
        return scores[by].astype(str)
    path = Path(run_dir) / GROUPS_FILE
    fields = available_fields(run_dir)
    if by not in fields:
        where = "" if path.is_file() else f" ({path.name} is missing: runs before group support store none)"
        raise ConfigError(f"--by {by}: no such field in {run_dir}{where}; fields: {', '.join(fields)}")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=[*_KEYS, by])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"cannot read: {exc}", path=path) from exc
    if table.duplicated(list(_KEYS)).any():
        row = table[table.duplicated(list(_KEYS))].iloc[0]
        raise DataError(f"example {row['dataset']}/{row['example_id']} is listed twice", path=path)
    lookup = table.set_index(list(_KEYS))[by]
    keys = pd.MultiIndex.from_arrays([scores["dataset"].astype(str), scores["example_id"].astype(str)])
    missing = ~keys.isin(lookup.index)
    if missing.any():
        i = int(missing.argmax())
        raise RunError(f"{path}: example {keys[i][0]}/{keys[i][1]} of scores.csv is not in it; the run directory "
                       "is inconsistent (re-run, or analyse without --by)")
    values = lookup.reindex(keys).to_numpy()
    return pd.Series(values, index=scores.index).replace("", NONE)


def parts(frame: pd.DataFrame, values: pd.Series | None):
    """``[(group, rows)]``: ``(None, frame)`` without grouping; else ``("all", frame)`` then each value, sorted."""
    if values is None:
        return [(None, frame)]
    own = values.loc[frame.index]
    if (own == NONE).all():  # this dataset has no such field (e.g. --by origin on SummEval): whole dataset only
        return [(ALL, frame)]
    return [(ALL, frame)] + [(str(g), frame[own == g]) for g in sorted(own.unique())]


def tagged(row: dict, by: str | None, group: str | None) -> dict:
    """The row with ``by`` and ``group`` inserted after ``label`` (unchanged without grouping)."""
    if by is None:
        return row
    out = {}
    for key, value in row.items():
        out[key] = value
        if key == "label":
            out["by"], out["group"] = by, group
    if "by" not in out:
        out = {"by": by, "group": group, **out}
    return out


def threshold_text(by: str, thresholds: str) -> str:
    """The protocol words for where the detection thresholds of grouped results come from."""
    if thresholds == "global":
        return f"one threshold per metric, tuned on the whole dataset's validation cut, applied to every {by} group"
    return (f"thresholds tuned on the validation cut of each {by} group separately (AggreFact: one threshold per "
            f"origin); group 'all' uses the whole validation cut")


def check_thresholds(thresholds: str) -> str:
    if thresholds not in THRESHOLDS:
        raise ConfigError(f"--thresholds must be one of {', '.join(THRESHOLDS)}; got {thresholds!r}")
    return thresholds
