"""Metric adapters and their registry.

Built-in adapters are listed in ``BUILTIN`` as ``module:Class`` and imported on first use, so that a
metric's heavy dependencies (torch, spaCy) load only when it runs. Third-party adapters register under
the ``factbench.metrics`` entry-point group with the same ``module:Class`` form.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from ..errors import ConfigError
from .base import Metric, Result

BUILTIN = {
    "rouge": "factbench.metrics.rouge:Rouge",
    "quals": "factbench.metrics.quals:Quals",
    "qags": "factbench.metrics.qags:Qags",
    "factcc": "factbench.metrics.factcc:FactCC",
    "entity-overlap": "factbench.metrics.entity_overlap:EntityOverlap",
    "precomputed": "factbench.metrics.precomputed:Precomputed",
}


def available() -> dict[str, str]:
    """Every metric name with the ``module:Class`` that implements it (built-ins, then plug-ins)."""
    names = dict(BUILTIN)
    for ep in entry_points(group="factbench.metrics"):
        names.setdefault(ep.name, ep.value)
    return names


def metric_class(name: str) -> type[Metric]:
    base = name.split(":", 1)[0]
    known = available()
    if base not in known:
        raise ConfigError(f"unknown metric {name!r}; available metrics: {', '.join(sorted(known))}")
    module, _, cls = known[base].partition(":")
    return getattr(importlib.import_module(module), cls)


def create(name: str, settings: dict | None = None, profile: str | None = None) -> Metric:
    """Build a metric by name. ``name:arg`` passes ``arg`` as the ``source`` setting (``precomputed:frank-official``)."""
    cls = metric_class(name)
    settings = dict(settings or {})
    if ":" in name:
        settings.setdefault("source", name.split(":", 1)[1])
    return cls(settings, profile=profile)


__all__ = ["Metric", "Result", "available", "metric_class", "create", "BUILTIN"]
