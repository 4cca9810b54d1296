"""``factbench conseq sample``: K summaries per document sampled from a summarizer, as a dataset file.

The original (``preprocess/run_generate_unlikelihood_train_xsum.sh``, step 1) ran fairseq's sampling with
``--sampling True --sampling_topk 50 --beam 6 --max_len 60 --min_len 10`` (``lenpen 1.0``, temperature 1,
no n-gram blocking) on every training document. Here: transformers ``generate(do_sample=True, top_k=50,
num_return_sequences=K)`` with every other generation setting reset (a model's own generation config,
e.g. BART-large-CNN's ``num_beams=4, no_repeat_ngram_size=3, min_length=56``, is not applied); fairseq's
``min_len`` 10 forbids EOS before 10 tokens (``min_new_tokens=10``) and ``max_len_b`` 60 allows 60 tokens
and then EOS (``max_new_tokens=61``, EOS forced at the last position as fairseq forces it). A model's forced
BOS token (BART-large) is kept.

The output is a factbench dataset file (JSONL): per document K rows ``{id, doc_id, source, summary,
reference, system, sample}`` with ``system`` the given system name, and one row for the reference summary
itself (``system = "reference"``), so that ``factbench run`` scores samples and references alike.

Reproducible and resumable: documents are processed in file order in batches of ``batch_docs``; before each
batch the torch generator is seeded with a value derived from the seed and the batch's document ids, so a
batch's samples do not depend on what ran before it. Finished batches are appended to ``OUT.partial``
(first line: the settings); a restarted run with the same settings continues after the last whole batch,
and the finished file is written atomically at the end, with ``OUT.meta.json`` beside it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ConfigError, DataError, RunError
from ..io import atomic_open, write_json

REFERENCE_SYSTEM = "reference"


@dataclass
class SampleConfig:
    """Settings of ``conseq sample``; defaults are the original's (see the module docstring)."""

    model: str
    dataset: str
    out: Path
    k: int = 6
    top_k: int = 50
    min_len: int = 10
    max_len: int = 60
    seed: int = 0
    system: str = "sample"
    batch_docs: int = 4
    prefix: str = ""
    split: str | None = None
    limit: int | None = None
    data_dir: str | None = None
    device: str = "auto"
    dtype: str = "fp32"
    progress: bool = True

    def check(self) -> None:
        for name in ("k", "top_k", "batch_docs", "max_len"):
            if getattr(self, name) < 1:
                raise ConfigError(f"conseq sample: --{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.min_len <= self.max_len:
            raise ConfigError(f"conseq sample: need 0 <= --min-len <= --max-len, got {self.min_len} and {self.max_len}")
        if not self.system or self.system == REFERENCE_SYSTEM:
            raise ConfigError(f"conseq sample: --system must be a name other than {REFERENCE_SYSTEM!r}")

    def resume_key(self) -> dict:
        skip = ("out", "progress", "device", "data_dir")
        return {k: v for k, v in asdict(self).items() if k not in skip}


def documents(dataset, split=None, limit=None) -> list[dict]:
    """One entry per document of a dataset (first record of each doc_id, in order): doc_id, source, reference.

    Raises
    ------
    DataError
        A document without a reference summary (the positive of ConSeq), or one doc_id with two sources.
    """
    from ..runner import select

    docs: dict[str, dict] = {}
    for r in select(dataset, split, None):
        if r.doc_id in docs:
            if docs[r.doc_id]["source"] != r.source:
                raise DataError(f"doc_id {r.doc_id!r} has two different sources", path=dataset.path, record=r.example_id)
            continue
        if not r.references:
            raise DataError(f"document {r.doc_id!r} has no reference summary (ConSeq needs it as the positive)",
                            path=dataset.path, record=r.example_id)
        docs[r.doc_id] = {"doc_id": r.doc_id, "source": r.source, "reference": r.references[0]}
    out = list(docs.values())
    if limit is not None:
        if limit < 1:
            raise ConfigError("--limit must be at least 1")
        out = out[:limit]
    return out


def batch_seed(seed: int, doc_ids: list[str]) -> int:
    """The torch seed of one batch: sha256 of the run seed and the batch's document ids."""
    digest = hashlib.sha256(json.dumps([seed, doc_ids]).encode()).hexdigest()
    return int(digest[:15], 16)


def generation_config(model, cfg: SampleConfig):
    """A fresh GenerationConfig: top-k sampling as the original, the model's special tokens kept."""
    import transformers as tf

    own = model.generation_config
    return tf.GenerationConfig(
        do_sample=True, top_k=cfg.top_k, top_p=1.0, temperature=1.0, num_beams=1, num_return_sequences=cfg.k,
        min_new_tokens=cfg.min_len, max_new_tokens=cfg.max_len + 1, no_repeat_ngram_size=0, repetition_penalty=1.0,
        length_penalty=1.0,
        bos_token_id=own.bos_token_id, eos_token_id=own.eos_token_id, pad_token_id=own.pad_token_id,
        decoder_start_token_id=own.decoder_start_token_id if own.decoder_start_token_id is not None
        else model.config.decoder_start_token_id,
        # fairseq ends every hypothesis with EOS at step max_len: force it at the last position likewise
        forced_bos_token_id=own.forced_bos_token_id,
        forced_eos_token_id=own.eos_token_id if own.eos_token_id is not None else model.config.eos_token_id,
    )


def sample_batch(loaded, docs: list[dict], cfg: SampleConfig) -> list[list[str]]:
    """K decoded samples for each document of ``docs``, seeded by :func:`batch_seed`."""
    import torch

    from ..models.scoring import encode_source, model_max_source

    model, tok = loaded.model, loaded.tokenizer
    limit = model_max_source(model, tok)
    ids = [encode_source(tok, d["source"], max_tokens=limit, prefix=cfg.prefix).ids for d in docs]
    width = max(len(x) for x in ids)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=loaded.device)
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=loaded.device)
    torch.manual_seed(batch_seed(cfg.seed, [d["doc_id"] for d in docs]))
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=generation_config(model, cfg))
    texts = [t.strip() for t in tok.batch_decode(out, skip_special_tokens=True)]
    return [texts[i * cfg.k : (i + 1) * cfg.k] for i in range(len(docs))]


def rows_for(doc: dict, samples: list[str], system: str) -> list[dict]:
    base = {"doc_id": doc["doc_id"], "source": doc["source"], "reference": doc["reference"]}
    rows = [{"id": f"{doc['doc_id']}:{REFERENCE_SYSTEM}", **base, "summary": doc["reference"],
             "system": REFERENCE_SYSTEM, "sample": None}]
    for i, text in enumerate(samples):
        # An empty sample would be refused by the dataset loader; keep the row, marked, so K stays K.
        rows.append({"id": f"{doc['doc_id']}:{system}:{i}", **base, "summary": text if text.strip() else "<empty>",
                     "system": system, "sample": i})
    return rows


def _read_partial(path: Path, key: dict) -> list[dict]:
    """Rows of the batches a previous run finished with the same settings (a torn last line is dropped)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        header = None
    if not header or header.get("conseq_sample") != key:
        raise RunError(f"{path} holds an interrupted run with other settings; delete it or use the same settings")
    rows = []
    for line in lines[1:]:
        try:
            batch = json.loads(line)
        except json.JSONDecodeError:
            break  # the batch an interruption cut short
        rows.extend(batch["rows"])
    return rows


def sample(cfg: SampleConfig) -> Path:
    """Sample every document of the dataset and write ``cfg.out`` (JSONL) and ``cfg.out.meta.json``."""
    from tqdm import tqdm

    from .. import datasets as ds
    from ..models.loading import load_model

    cfg.check()
    out = Path(cfg.out)
    if out.suffix.lower() != ".jsonl":
        raise ConfigError(f"conseq sample: --out must be a .jsonl file, got {out}")
    if out.exists():
        raise RunError(f"{out} already exists; choose another --out (or delete it to sample again)")
    docs = documents(ds.load(cfg.dataset, cfg.data_dir), cfg.split, cfg.limit)
    if not docs:
        raise ConfigError("conseq sample: the selection holds no document")
    loaded = load_model(cfg.model, "seq2seq", device=cfg.device, dtype=cfg.dtype)
    key = {**cfg.resume_key(), "model_fingerprint": loaded.fingerprint}
    partial = out.with_name(out.name + ".partial")
    rows = _read_partial(partial, key)
    done = len({r["doc_id"] for r in rows})
    if done % cfg.batch_docs and done != len(docs):
        raise RunError(f"{partial} ends inside a batch; delete it to start again")
    if not partial.exists():
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"conseq_sample": key}) + "\n", encoding="utf-8")
    else:  # drop a torn last line before appending
        text = partial.read_text(encoding="utf-8")
        partial.write_text(text[: text.rfind("\n") + 1] if not text.endswith("\n") else text, encoding="utf-8")
    with partial.open("a", encoding="utf-8") as fh, tqdm(total=len(docs), initial=done, desc="conseq sample",
                                                           unit="doc", disable=not cfg.progress) as bar:
        for start in range(done, len(docs), cfg.batch_docs):
            batch = docs[start : start + cfg.batch_docs]
            new = [row for d, s in zip(batch, sample_batch(loaded, batch, cfg)) for row in rows_for(d, s, cfg.system)]
            fh.write(json.dumps({"rows": new}, ensure_ascii=False) + "\n")
            fh.flush()
            rows.extend(new)
            bar.update(len(batch))
    with atomic_open(out) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    from .. import __version__

    write_json(out.with_name(out.name + ".meta.json"), {
        "factbench_version": __version__, "settings": {**key, "out": str(out)}, "n_documents": len(docs),
        "n_rows": len(rows), "note": "K top-k samples per document plus the reference as its own row "
                                     "(system 'reference'); docs/conseq.md",
    })
    partial.unlink()
    return out
