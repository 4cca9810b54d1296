"""The optional user config file (TOML): ``$FACTBENCH_CONFIG``, else ``./factbench.toml``, else
``~/.config/factbench/config.toml``. Keys: ``data_dir``, ``cache_dir``; and the cache folder they set."""

from __future__ import annotations

import os
import tomllib
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError


def config_path() -> Path | None:
    env = os.environ.get("FACTBENCH_CONFIG")
    candidates = [Path(env)] if env else [Path("factbench.toml"), Path.home() / ".config" / "factbench" / "config.toml"]
    return next((p for p in candidates if p.is_file()), None)


def load_config() -> dict:
    path = config_path()
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML config file: {exc}") from exc


_CACHE_DIR_OVERRIDE: list[Path] = []


@contextmanager
def using_cache_dir(path: str | os.PathLike | None):
    """Within the block, :func:`cache_dir` is ``path`` (a run's ``--cache-dir``), so that everything a run
    caches, the tiny models it builds included, goes to the folder the user named; ``None`` changes nothing."""
    if path is None:
        yield
        return
    _CACHE_DIR_OVERRIDE.append(Path(path).expanduser())
    try:
        yield
    finally:
        _CACHE_DIR_OVERRIDE.pop()


def cache_dir() -> Path:
    """Where the stage cache and built models live: a run's ``--cache-dir``, else ``$FACTBENCH_CACHE_DIR``, the
    config's ``cache_dir``, or ``~/.cache/factbench``."""
    if _CACHE_DIR_OVERRIDE:
        return _CACHE_DIR_OVERRIDE[-1]
    value = os.environ.get("FACTBENCH_CACHE_DIR") or load_config().get("cache_dir")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "factbench"
