"""How the stored tables of a run directory are written and read back: one explicit rule everywhere.

- Text cells (dataset, split, example id, document id, system) are text, always: a dataset or a system named
  ``NA``, ``None``, ``null`` or ``nan`` stays that name (pandas would read these as missing by default).
- Number cells (labels, scores) are numbers; an empty cell is missing, anything else not a number is an error.
- A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return) is written with a leading ``'`` (the OWASP CSV-injection advice); a cell that starts with
  ``'`` gets one more, so that reading strips exactly one and every name comes back as it was.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from .errors import DataError

TEXT_COLUMNS = ("dataset", "split", "example_id", "doc_id", "system")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_cell(text: str) -> str:
    """``"=SUM(A1)"`` -> ``"'=SUM(A1)"``; names that start otherwise are unchanged."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def unescape_cell(text: str) -> str:
    """The inverse of :func:`escape_cell`."""
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_START else text


def escape_frame(frame: pd.DataFrame, columns=TEXT_COLUMNS) -> pd.DataFrame:
    """A copy of ``frame`` with its text columns escaped, for ``to_csv``."""
    frame = frame.copy()
    for col in columns:
        if col in frame.columns:
            frame[col] = [escape_cell(v) if isinstance(v, str) else v for v in frame[col]]
    return frame


def read_scores(path: str | Path, required=()) -> pd.DataFrame:
    """``scores.csv`` as a frame: text columns as str, every other column as float (empty = NaN).

    ``required`` are columns that must be there (e.g. the score columns run.json names). Raises DataError
    naming the file and the problem: no header, a missing column, a cell that is not a number.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, quoting=csv.QUOTE_MINIMAL)
    except pd.errors.EmptyDataError:
        raise DataError("empty file (no header line)", path=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot parse: {exc}", path=path) from None
    missing = [c for c in (*TEXT_COLUMNS, *required) if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", path=path)
    for col in frame.columns:
        if col in TEXT_COLUMNS:
            frame[col] = [unescape_cell(v) for v in frame[col]]
            continue
        values = pd.to_numeric(frame[col], errors="coerce")  # "" and "nan" become NaN
        bad = values.isna() & ~frame[col].isin(["", "nan", "NaN"])
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(f"column {col!r} holds a non-numeric value {frame[col].iloc[row]!r}", path=path,
                            record=frame["example_id"].iloc[row])
        frame[col] = values.astype(float)
    return frame
