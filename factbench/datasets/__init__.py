"""Dataset loaders: the benchmarks of the shared data directory, generic files and the sample set.

Each benchmark loader is registered by name with :func:`register`. ``load(name_or_path, ...)`` is the
one entry point the runner and the CLI use.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import ConfigError, DataError
from ..records import Dataset


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: how to load it and what it should contain.

    ``folder`` is the sub-folder of the data directory it reads (``None`` for the bundled sample set);
    ``files`` the files that must be there; ``counts`` the expected number of records, for ``data list``.
    """

    name: str
    loader: Callable[[Path], Dataset]
    folder: str | None
    files: tuple[str, ...]
    description: str
    counts: str = ""


_REGISTRY: dict[str, DatasetSpec] = {}
# Modules that register benchmark loaders when imported.
_LOADER_MODULES = ("sample", "qags", "frank", "xsumfaith", "summeval", "cliff", "polytope", "dialsummeval")


def register(spec: DatasetSpec) -> DatasetSpec:
    _REGISTRY[spec.name] = spec
    return spec


def registry() -> dict[str, DatasetSpec]:
    for mod in _LOADER_MODULES:
        importlib.import_module(f"{__name__}.{mod}")
    return dict(_REGISTRY)


def default_data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The data directory: the explicit argument, else ``FACTBENCH_DATA_DIR``, else the config file."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("FACTBENCH_DATA_DIR")
    if env:
        return Path(env)
    from ..config import load_config

    value = load_config().get("data_dir")
    return Path(value) if value else None


def is_present(spec: DatasetSpec, data_dir: Path | None) -> bool:
    if spec.folder is None:
        return True
    if data_dir is None:
        return False
    return all((data_dir / spec.folder / f).exists() for f in spec.files)


def load(name_or_path: str, data_dir: str | os.PathLike | None = None, *, columns: dict | None = None,
         stream: bool = False) -> Dataset:
    """Load a dataset by registered name, or a JSONL/CSV/TSV file by path (with an optional column map).

    ``stream``: a file's records are read lazily, again on each iteration (see
    :func:`factbench.datasets.generic.load_file`); the benchmark loaders return lists either way.
    """
    specs = registry()
    if name_or_path in specs:
        spec = specs[name_or_path]
        if spec.folder is None:
            return spec.loader(None)
        root = default_data_dir(data_dir)
        if root is None:
            raise DataError(
                f"dataset {spec.name!r} needs the data directory: pass --data-dir, set FACTBENCH_DATA_DIR, "
                f"or set data_dir in the config file (`factbench data fetch {spec.name}` downloads it)"
            )
        folder = root / spec.folder
        for f in spec.files:
            if not (folder / f).exists():
                raise DataError(f"missing file for dataset {spec.name!r}", path=folder / f)
        return spec.loader(folder)
    path = Path(name_or_path)
    if path.suffix.lower() in (".jsonl", ".csv", ".tsv", ".json"):
        if not path.exists():
            raise DataError("no such file", path=path)
        from .generic import load_file

        return load_file(path, columns=columns, stream=stream)
    raise ConfigError(
        f"unknown dataset {name_or_path!r}; known datasets: {', '.join(sorted(specs))} "
        "(or give a path to a .jsonl, .csv or .tsv file)"
    )
