"""Metric cards: ``metrics/<name>.md`` at the repository root, shipped in the wheel as ``factbench.metric_cards``.

A card is Markdown for people with TOML front matter between ``+++`` lines for the adapter::

    +++
    name = "rouge"
    version = "1"
    summary = "one line for `factbench metrics list`"
    [defaults]            # every setting and its default
    [profiles.tiny]       # overrides per profile (paper, fast, tiny)
    +++
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from .errors import ConfigError


@dataclass(frozen=True)
class Card:
    name: str
    version: str
    summary: str
    defaults: dict
    profiles: dict = field(default_factory=dict)
    text: str = ""

    def settings(self, profile: str | None = None, overrides: dict | None = None) -> dict:
        """Defaults, then the profile's overrides, then the user's; unknown keys are an error."""
        out = dict(self.defaults)
        if profile:
            if profile not in self.profiles:
                if self.profiles:
                    raise ConfigError(
                        f"metric {self.name!r} has no profile {profile!r}; profiles: {', '.join(sorted(self.profiles))}"
                    )
            else:
                out.update(self.profiles[profile])
        for key, value in (overrides or {}).items():
            if key not in out:
                raise ConfigError(
                    f"metric {self.name!r} has no setting {key!r}; settings: {', '.join(sorted(out))}"
                )
            out[key] = coerce(value, out[key], f"{self.name}.{key}")
        return out


def coerce(value, like, what: str):
    """Turn a command-line string into the type of the card's default."""
    if not isinstance(value, str) or isinstance(like, str) or like is None:
        return value
    try:
        if isinstance(like, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
        if isinstance(like, list):
            return [v for v in value.split(",") if v]
    except ValueError:
        raise ConfigError(f"setting {what}: {value!r} is not a valid {type(like).__name__}") from None
    return value


def parse_card(text: str, origin: str) -> Card:
    parts = text.split("+++\n", 2)
    if len(parts) < 3 or parts[0].strip():
        raise ConfigError(f"metric card {origin}: no TOML front matter between '+++' lines")
    try:
        meta = tomllib.loads(parts[1])
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"metric card {origin}: {exc}") from exc
    return Card(
        name=meta["name"],
        version=str(meta.get("version", "1")),
        summary=meta.get("summary", ""),
        defaults=meta.get("defaults", {}),
        profiles=meta.get("profiles", {}),
        text=parts[2],
    )


@lru_cache(maxsize=None)
def load_card(name: str) -> Card:
    """The card of a built-in metric, from the installed package data."""
    path = resources.files("factbench.metric_cards").joinpath(f"{name}.md")
    if not path.is_file():
        raise ConfigError(f"no metric card for {name!r} (expected metrics/{name}.md)")
    return parse_card(path.read_text(encoding="utf-8"), f"metrics/{name}.md")
