"""ROUGE-1/2/L on Google's rouge-score, against the reference summary or the source."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from ..errors import ConfigError
from ..records import Record
from .base import SELF_REFERENCE, Metric, Result, summary_is_reference

MEASURES = {"fmeasure": "", "precision": "_p", "recall": "_r"}
# rouge-score's own sentence splitter for rougeLsum needs NLTK's punkt data (a download); this rule
# splits after ., ! or ? followed by whitespace, and keeps existing line breaks.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


NO_TOKENS = ("{what} has no scorable tokens: rouge-score's default tokenizer keeps only the letters a-z and digits "
             "(text in other scripts scores nothing)")


def split_sentences(text: str) -> str:
    return "\n".join(s.strip() for s in _SENTENCE_END.split(text) if s.strip())


class _MemoStemmer:
    def __init__(self, stemmer):
        self.stem = lru_cache(maxsize=1 << 16)(stemmer.stem)


class Rouge(Metric):
    """ROUGE-N/L F-measure (precision and recall on request), several references by max or mean."""

    name = "rouge"
    signature_keys = ("against", "types", "measures", "stemmer", "multi_ref")
    libraries = ("rouge-score",)
    batch_size = 256

    def __init__(self, settings=None, **kw):
        super().__init__(settings, **kw)
        s = self.settings
        if s["against"] not in ("auto", "reference", "source"):
            raise ConfigError(f"rouge.against must be auto, reference or source, not {s['against']!r}")
        if s["multi_ref"] not in ("max", "mean"):
            raise ConfigError(f"rouge.multi_ref must be max or mean, not {s['multi_ref']!r}")
        unknown = [m for m in s["measures"] if m not in MEASURES]
        bad_types = [t for t in s["types"] if t not in ("rouge1", "rouge2", "rougeL", "rougeLsum")]
        if unknown or bad_types or not s["measures"]:
            raise ConfigError(
                f"rouge: unknown measures {unknown} or types {bad_types}; measures: {list(MEASURES)}, "
                "types: rouge1, rouge2, rougeL, rougeLsum"
            )
        from rouge_score import rouge_scorer, tokenizers

        tokenizer = tokenizers.DefaultTokenizer(use_stemmer=bool(s["stemmer"]))
        if s["stemmer"]:
            # Porter stemming is most of ROUGE's time and news text repeats words: memoise it (same output).
            tokenizer._stemmer = _MemoStemmer(tokenizer._stemmer)
        self._tokenizer = tokenizer
        self._scorer = rouge_scorer.RougeScorer(list(s["types"]), tokenizer=tokenizer)
        self.score_names = tuple(t + MEASURES[m] for m in s["measures"] for t in s["types"])

    def _targets(self, record: Record) -> tuple[str, list[str]]:
        against = self.settings["against"]
        if against == "auto":
            against = "reference" if record.references else "source"
        if against == "reference":
            refs = [r for r in record.references if r and r.strip()]
            if not refs:
                return against, []
            return against, refs
        return against, [record.source]

    def score(self, batch: Sequence[Record]) -> list[Result]:
        lsum = "rougeLsum" in self.settings["types"]
        results = []
        with self.timer.stage("scoring"):
            for record in batch:
                against, targets = self._targets(record)
                if not targets:
                    results.append(
                        Result({n: None for n in self.score_names}, {"against": against}, "record has no reference")
                    )
                    continue
                # rouge-score's default tokenizer keeps only a-z and 0-9: a summary in another script has no
                # tokens and would silently score 0; say so instead.
                if not self._tokenizer.tokenize(record.summary):
                    results.append(Result({n: None for n in self.score_names}, {"against": against},
                                          NO_TOKENS.format(what="summary")))
                    continue
                if not any(self._tokenizer.tokenize(t) for t in targets):
                    results.append(Result({n: None for n in self.score_names}, {"against": against},
                                          NO_TOKENS.format(what=against)))
                    continue
                summary = split_sentences(record.summary) if lsum else record.summary
                per_target = [self._scorer.score(split_sentences(t) if lsum else t, summary) for t in targets]
                scores = {}
                for measure in self.settings["measures"]:
                    for rtype in self.settings["types"]:
                        values = [getattr(s[rtype], measure) for s in per_target]
                        agg = max(values) if self.settings["multi_ref"] == "max" else sum(values) / len(values)
                        scores[rtype + MEASURES[measure]] = agg
                details = {"against": against, "n_targets": len(targets)}
                if against == "reference" and summary_is_reference(record):
                    details[SELF_REFERENCE] = True  # scored against itself: out of the correlations
                results.append(Result(scores, details))
            self.timer.add("scoring", items=len(batch))
        return results
