"""The metric contract: settings in, ``score(batch) -> list[Result]``, ``signature()``.

Metrics never aggregate: a result belongs to one record. Everything downstream works on stored results.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import ClassVar, Sequence

from ..cache import Cache
from ..cards import Card, load_card, parse_card
from ..errors import ConfigError
from ..records import Record
from ..timing import StageTimer


@dataclass
class Result:
    """The scores of one record.

    ``scores`` maps each score name the metric declares to a float, or ``None`` when the metric could
    not score the record; ``missing`` then says why. ``details`` holds what a report may show
    (questions, answers, per-token log-probs); it must be JSON-serialisable.
    """

    scores: dict[str, float | None]
    details: dict = field(default_factory=dict)
    missing: str | None = None


# Details key of a reference-based result whose summary is its own reference (DATASETS.md §2.7: DialSummEval's
# GOLD, XSumFaith's Gold): the score is kept in the results, and the analysis leaves it out of correlations.
SELF_REFERENCE = "summary_is_reference"


def summary_is_reference(record: Record) -> bool:
    """Whether ``record``'s summary is its reference.

    A loader that knows (``meta["is_reference"]`` present: DialSummEval, XSumFaith) decides: a system output that
    happens to equal the reference word for word (4 in XSumFaith) is still a system output, scored as such.
    Otherwise (a user's file), the summary equal to one of its references (whitespace-normalised) is one.
    """
    if "is_reference" in record.meta:
        return bool(record.meta["is_reference"])
    summary = " ".join(record.summary.split())
    return any(" ".join(r.split()) == summary for r in record.references if r)


class Metric:
    """Base class of metric adapters.

    Subclasses set ``name`` (the registry name, also the card's file name) and ``score_names`` (the
    columns they produce, unique across metrics; an instance may set them from its settings), implement
    :meth:`score`, and list in
    ``signature_keys`` the settings that change numbers. Models load lazily, on first use.
    """

    name: ClassVar[str]
    score_names: tuple[str, ...] = ()
    signature_keys: ClassVar[tuple[str, ...]] = ()
    libraries: ClassVar[tuple[str, ...]] = ()
    # A plug-in adapter ships its card as text here; built-ins read metrics/<name>.md.
    card_text: ClassVar[str | None] = None
    batch_size: int = 32
    # Set by the runner, which then calls observe() itself with every scored batch (see observe()).
    observed_by_runner: bool = False

    def __init__(self, settings: dict | None = None, *, card: Card | None = None, profile: str | None = None):
        self.card = card or self.load_card()
        self.profile = profile
        self.settings = self.card.settings(profile, settings)
        self.batch_size = self.settings.get("batch_size", type(self).batch_size)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"setting {self.name}.batch_size must be a positive integer, got {self.batch_size!r}")
        # The runner replaces this with the run's persistent cache; a metric used on its own computes.
        self.cache = Cache(None)
        self.timer = StageTimer()

    @classmethod
    def load_card(cls) -> Card:
        if cls.card_text is not None:
            return parse_card(cls.card_text, f"{cls.__module__}.{cls.__name__}")
        return load_card(cls.name)

    def score(self, batch: Sequence[Record]) -> list[Result]:
        raise NotImplementedError

    def observe(self, batch: Sequence[Record], results: Sequence[Result]) -> None:
        """Called by the runner, in the driver process, with every batch scored in this run and its results,
        whichever engine scored it. A metric that reports run-level facts in :meth:`describe` (the join
        coverage of ``precomputed``) gathers them here rather than in :meth:`score`, which may run in another
        process; nothing by default."""

    def signature(self) -> str:
        """A sacreBLEU-style string that pins everything that changes this metric's numbers."""
        parts = [f"{self.name}", f"v:{self.card.version}"]
        parts += [f"{k}:{_fmt(self.settings[k])}" for k in self.signature_keys]
        parts += [f"{lib}:{library_version(lib)}" for lib in self.libraries]
        return "|".join(parts)

    @staticmethod
    def format_details(details: dict) -> str:
        """Markdown that shows a result's details in a report (e.g. the QA pairs); empty by default."""
        return ""

    def describe(self) -> dict:
        """Settings and signature for the run metadata."""
        return {
            "signature": self.signature(),
            "settings": self.settings,
            "profile": self.profile,
            "score_names": list(self.score_names),
        }


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def library_version(dist: str) -> str:
    if dist == "python":
        return platform.python_version()
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"
