"""Input validation shared by the statistics: user data never reaches a formula unchecked."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError


def as_vector(values, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """Return ``values`` as a 1-D float array, or raise a DataError naming ``name``."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: not numeric ({exc})") from exc
    if arr.ndim != 1:
        raise DataError(f"{name}: expected a 1-D sequence, got shape {arr.shape}")
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise DataError(f"{name}: value at position {bad} is {arr[bad]!r} (missing values must be dropped first)")
    return arr


def same_length(**arrays) -> int:
    """Check that all named arrays have the same length; return it."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        raise DataError("length mismatch: " + ", ".join(f"{k}={v}" for k, v in lengths.items()))
    return next(iter(lengths.values()))


def choice(value, allowed, name: str):
    """Raise a ConfigError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def confidence_level(value) -> float:
    if not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"confidence must be in (0, 1); got {value!r}")
    return float(value)
