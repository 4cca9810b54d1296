"""``factbench conseq train``: fine-tune a seq2seq summarizer with the ConSeq loss, fairseq-style.

What the original run did (``scripts/launch_sagemaker_unlikelihood_xsum.py`` and the fairseq code of
``amazon-science/fact-check-summarization``), and what this module does the same way:

- data: the documents of the pairs file in order of source length (stable; fairseq's
  ``LanguagePairDataset.ordered_indices`` with ``shuffle=False``, which keeps each document's positive and
  negative in the same batch); batches of consecutive documents while ``documents x longest`` stays within
  ``max_tokens`` (1024), where a document's length is the longest of its source, positive and negative
  (``batch_by_size`` over ``RoundRobinZipDatasets.num_tokens``); the batch order shuffled each epoch with
  ``numpy.random.RandomState(seed + epoch)`` (epochs counted from 1, fairseq's ``--seed`` default 1);
  ``update_freq`` (4) consecutive batches per update, the last group of an epoch possibly shorter;
- loss: :func:`factbench.conseq.loss.conseq_loss` summed over the update's batches; the gradient divided by
  the update's target tokens of positives and negatives together (the trainer's ``multiply_grads(1 /
  sample_size)``), then clipped to norm 0.1;
- optimiser: Adam with decoupled weight decay 0.01 on every parameter (fairseq's ``Adam``; torch's
  ``AdamW``), betas (0.9, 0.999), eps 1e-8;
- schedule: ``polynomial_decay``, no warm-up, power 1, end 0, over fairseq's default ``--total-num-update``
  of 1,000,000 updates (the launch script sets none, so over two epochs the rate barely moves from 3e-6);
  the update with index ``n`` (from 0) uses ``lr * (1 - n / total)``;
- dropout and attention dropout 0.1, 2 epochs.

Deviations (docs/conseq.md): one encoder pass per batch feeds both decoder passes (fairseq ran the model
twice, so its two passes saw different encoder dropout masks); bf16 autocast with fp32 weights instead of
fp16 with loss scaling; targets are encoded by the model's own tokenizer (BART: ``<s> ... </s>``).

Resumable: every ``save_every`` updates and at the end of each epoch ``DIR/checkpoint.pt`` holds the
weights, the optimiser, the update count, the position in the epoch and every random state, so that a
run stopped at any point and restarted ends with the same weights as an unbroken one.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..datasets._io import stream_jsonl
from ..errors import ConfigError, DataError, RunError
from ..io import atomic_open, write_json
from .loss import CLAMP, LABEL_SMOOTHING, conseq_loss

CHECKPOINT = "checkpoint.pt"
LOG_COLUMNS = ("update", "epoch", "lr", "loss", "positive_loss", "negative_loss", "positive_nll", "negative_nll",
               "positive_tokens", "negative_tokens", "grad_norm", "wall_s")
# Settings that change the trained weights: a checkpoint made with other values is not resumed.
_RESUME_KEYS = ("model", "lr", "epochs", "max_tokens", "update_freq", "dropout", "attention_dropout", "weight_decay",
                "clip_norm", "label_smoothing", "adam_betas", "adam_eps", "total_num_update", "end_lr", "power",
                "seed", "dtype", "prefix", "max_source_tokens", "max_target_tokens")


@dataclass
class TrainConfig:
    """Settings of one training run; defaults are the paper's (docs/conseq.md gives each source)."""

    model: str
    pairs: Path
    out_dir: Path
    lr: float = 3e-6
    epochs: int = 2
    max_tokens: int = 1024
    update_freq: int = 4
    dropout: float = 0.1
    attention_dropout: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 0.1
    label_smoothing: float = LABEL_SMOOTHING
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    total_num_update: int = 1_000_000
    end_lr: float = 0.0
    power: float = 1.0
    seed: int = 1
    device: str = "auto"
    dtype: str = "auto"
    prefix: str = ""
    max_source_tokens: int | None = None
    max_target_tokens: int = 1024
    save_every: int = 100
    stop_after: int | None = None
    progress: bool = True
    command: str = ""

    def check(self) -> None:
        for name in ("lr", "clip_norm", "adam_eps"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"conseq train: --{name.replace('_', '-')} must be > 0, got {getattr(self, name)}")
        for name in ("epochs", "max_tokens", "update_freq", "total_num_update", "save_every", "max_target_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"conseq train: --{name.replace('_', '-')} must be an integer >= 1, got {value!r}")
        for name in ("dropout", "attention_dropout", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"conseq train: --{name.replace('_', '-')} must be in [0, 1), got {getattr(self, name)}")
        if self.weight_decay < 0:
            raise ConfigError(f"conseq train: --weight-decay must be >= 0, got {self.weight_decay}")
        if self.stop_after is not None and self.stop_after < 1:
            raise ConfigError(f"conseq train: --stop-after must be >= 1, got {self.stop_after}")
        if self.dtype not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"conseq train: --dtype must be auto, fp32 or bf16, got {self.dtype!r}")

    def resume_key(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if k in _RESUME_KEYS}


@dataclass
class Pair:
    """One document with its positive and negative target, as token ids."""

    doc_id: str
    source: list[int]
    positive: list[int]
    negative: list[int]

    @property
    def num_tokens(self) -> int:
        return max(len(self.source), len(self.positive), len(self.negative))


# ------------------------------------------------------------------------------------------------- data


def read_pairs(path) -> list[dict]:
    """The rows of a pairs file written by ``conseq select`` (needs doc_id, source, positive, negative)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such pairs file", path=path)
    rows = []
    for lineno, row in stream_jsonl(path):
        for key in ("doc_id", "source", "positive", "negative"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(f"line {lineno}: field {key!r} is missing or empty", path=path)
        rows.append(row)
    if not rows:
        raise DataError("the pairs file holds no pairs (did `conseq select` keep any document?)", path=path)
    return rows


def encode_target(tokenizer, text: str, max_tokens: int) -> list[int]:
    """The target as the model's tokenizer encodes it for training (BART ``<s> ... </s>``, T5 ``... </s>``),
    cut to ``max_tokens`` with its last token kept."""
    ids = list(tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])
    if len(ids) > max_tokens:
        ids = ids[: max_tokens - 1] + ids[-1:]
    return ids


def encode_pairs(rows: list[dict], tokenizer, max_source: int, max_target: int, prefix: str = "") -> list[Pair]:
    from ..models.scoring import encode_source

    return [
        Pair(r["doc_id"], encode_source(tokenizer, r["source"], max_tokens=max_source, prefix=prefix).ids,
             encode_target(tokenizer, r["positive"], max_target), encode_target(tokenizer, r["negative"], max_target))
        for r in rows
    ]


def ordered_indices(pairs: list[Pair]) -> np.ndarray:
    """Documents by source length, ties in file order (fairseq: ``argsort(src_sizes, kind='mergesort')``)."""
    return np.argsort(np.array([len(p.source) for p in pairs]), kind="mergesort")


def batch_by_size(indices, num_tokens, max_tokens: int) -> list[list[int]]:
    """fairseq's ``batch_by_size_fast`` with ``max_sentences`` off and a batch-size multiple of 1.

    Examples
    --------
    >>> batch_by_size([0, 1, 2, 3], [300, 400, 500, 600].__getitem__, 1024)  # 2 x 400 <= 1024 < 3 x 500
    [[0, 1], [2], [3]]
    """
    batches, batch, longest = [], [], 0
    for idx in indices:
        n = int(num_tokens(idx))
        if n > max_tokens:
            raise ConfigError(f"conseq train: document {idx} needs {n} tokens, more than --max-tokens {max_tokens}; "
                              "raise --max-tokens or lower --max-source-tokens/--max-target-tokens")
        if batch and (len(batch) + 1) * max(longest, n) > max_tokens:
            batches.append(batch)
            batch, longest = [], 0
        batch.append(int(idx))
        longest = max(longest, n)
    if batch:
        batches.append(batch)
    return batches


def epoch_groups(batches: list[list[int]], epoch: int, seed: int, update_freq: int) -> list[list[list[int]]]:
    """The batches of one epoch in fairseq's order (shuffled with ``RandomState(seed + epoch)``), grouped by
    ``update_freq`` into updates."""
    order = list(batches)
    np.random.RandomState(seed + epoch).shuffle(order)
    return [order[i : i + update_freq] for i in range(0, len(order), update_freq)]


def collate(pairs: list[Pair], pad: int, start: int, device):
    """Padded tensors: source ids and mask; decoder inputs (targets shifted right after ``start``) and
    targets (padding = -100) of the positives and of the negatives."""
    import torch

    def pad_to(seqs, value):
        width = max(len(s) for s in seqs)
        return torch.tensor([s + [value] * (width - len(s)) for s in seqs], dtype=torch.long, device=device)

    src = pad_to([p.source for p in pairs], pad)
    mask = pad_to([[1] * len(p.source) for p in pairs], 0)
    out = {"input_ids": src, "attention_mask": mask}
    for side in ("positive", "negative"):
        targets = [getattr(p, side) for p in pairs]
        out[side + "_decoder"] = pad_to([[start] + t[:-1] for t in targets], pad)
        out[side + "_target"] = pad_to(targets, -100)
    return out


# ------------------------------------------------------------------------------------------------ model


def load_trainable(name: str, dropout: float, attention_dropout: float, device: str):
    """Model and tokenizer of ``name`` (directory, hub id or ``tiny:bart``) with the training dropouts."""
    import transformers as tf

    from ..errors import ModelUnavailableError
    from ..models.loading import pick_device, resolve

    path, fingerprint = resolve(name)
    try:
        config = tf.AutoConfig.from_pretrained(str(path), trust_remote_code=False)
        for attr in ("dropout", "dropout_rate"):  # BART, T5
            if hasattr(config, attr):
                setattr(config, attr, dropout)
        if hasattr(config, "attention_dropout"):
            config.attention_dropout = attention_dropout
        tokenizer = tf.AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        model = tf.AutoModelForSeq2SeqLM.from_pretrained(str(path), config=config, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"model {name!r} at {path} could not be loaded as a seq2seq model: {exc}") from exc
    return model.to(pick_device(device)), tokenizer, fingerprint


def resolve_dtype(dtype: str, device: str) -> str:
    if dtype != "auto":
        return dtype
    import torch

    return "bf16" if device.startswith("cuda") and torch.cuda.is_bf16_supported() else "fp32"


def forward_pair(model, batch: dict, dtype: str):
    """Decoder logits of the positive and the negative targets, from one encoder pass."""
    import torch

    device_type = batch["input_ids"].device.type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=dtype == "bf16"):
        # return_dict: a checkpoint whose config says return_dict=False would hand back tuples
        enc = model.get_encoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                  return_dict=True)
        logits = [
            model(encoder_outputs=enc, attention_mask=batch["attention_mask"],
                  decoder_input_ids=batch[side + "_decoder"], use_cache=False, return_dict=True).logits
            for side in ("positive", "negative")
        ]
    return logits


def mean_loglik(model, pairs: list[Pair], pad: int, start: int, *, batch_size: int = 16) -> dict[str, float]:
    """Mean per-token log-likelihood ``log p(y_t | doc, y_<t)`` (eval mode, fp32) of the positives and of the
    negatives: what training should raise and lower."""
    import torch

    was_training = model.training
    model.eval()
    sums = {"positive": 0.0, "negative": 0.0}
    counts = {"positive": 0, "negative": 0}
    device = next(model.parameters()).device
    with torch.inference_mode():
        for i in range(0, len(pairs), batch_size):
            batch = collate(pairs[i : i + batch_size], pad, start, device)
            for side, logits in zip(("positive", "negative"), forward_pair(model, batch, "fp32")):
                target = batch[side + "_target"]
                lp = torch.log_softmax(logits.float(), -1).gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
                keep = target.ne(-100)
                sums[side] += float(lp[keep].sum())
                counts[side] += int(keep.sum())
    model.train(was_training)
    return {side: sums[side] / counts[side] for side in sums}


# --------------------------------------------------------------------------------------------- training


def polynomial_lr(cfg: TrainConfig, num_updates: int) -> float:
    """fairseq's ``polynomial_decay`` (no warm-up) after ``num_updates`` updates."""
    if num_updates >= cfg.total_num_update:
        return cfg.end_lr
    remaining = 1 - num_updates / cfg.total_num_update
    return (cfg.lr - cfg.end_lr) * remaining**cfg.power + cfg.end_lr


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _rng_state() -> dict:
    import torch

    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_checkpoint(out: Path, state: dict) -> None:
    import torch

    with atomic_open(out / CHECKPOINT, "wb") as fh:
        torch.save(state, fh)


def _write_log(out: Path, rows: list[dict]) -> None:
    with atomic_open(out / "loss_log.csv", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


@dataclass
class TrainResult:
    out_dir: Path
    finished: bool
    num_updates: int
    info: dict = field(default_factory=dict)


def train(cfg: TrainConfig) -> TrainResult:
    """Train (or resume training) and, once every epoch is done, save ``DIR/model`` and ``DIR/train.json``.

    Returns with ``finished=False`` when ``stop_after`` updates were made in this call; calling again with
    the same settings resumes from the checkpoint.
    """
    import torch
    from tqdm import tqdm

    from ..models.scoring import model_max_source, special_ids

    cfg.check()
    out = Path(cfg.out_dir)
    if (out / "train.json").exists():
        raise RunError(f"{out} already holds a finished training run; choose another --out")
    rows = read_pairs(cfg.pairs)
    pairs_hash = file_sha256(cfg.pairs)
    torch.manual_seed(cfg.seed)  # fairseq seeds torch before building the model and the first update
    model, tokenizer, fingerprint = load_trainable(cfg.model, cfg.dropout, cfg.attention_dropout, cfg.device)
    device = str(next(model.parameters()).device)
    cfg.dtype = resolve_dtype(cfg.dtype, device)
    if cfg.max_source_tokens is None:
        cfg.max_source_tokens = model_max_source(model, tokenizer)
    pad, _, start = special_ids(model, tokenizer)
    pairs = encode_pairs(rows, tokenizer, cfg.max_source_tokens, cfg.max_target_tokens, cfg.prefix)
    batches = batch_by_size(ordered_indices(pairs), lambda i: pairs[i].num_tokens, cfg.max_tokens)

    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=tuple(cfg.adam_betas), eps=cfg.adam_eps,
                                  weight_decay=cfg.weight_decay)
    key = {**cfg.resume_key(), "model_fingerprint": fingerprint, "pairs_sha256": pairs_hash}
    state = {"num_updates": 0, "epoch": 1, "group": 0, "log": [], "tokens": 0, "train_wall_s": 0.0}
    ckpt = out / CHECKPOINT
    if ckpt.exists():
        saved = torch.load(ckpt, map_location=device, weights_only=False)
        if saved["key"] != key:
            diff = sorted(k for k in set(key) | set(saved["key"]) if key.get(k) != saved["key"].get(k))
            raise RunError(f"{ckpt} was made with other settings ({', '.join(diff)}); use another --out or the "
                           "same settings to resume")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        _set_rng_state(saved["rng"])
        before = saved["before"]
    else:
        out.mkdir(parents=True, exist_ok=True)
        before = mean_loglik(model, pairs, pad, start)

    def checkpoint():
        _save_checkpoint(out, {"key": key, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "state": state, "rng": _rng_state(), "before": before})
        _write_log(out, state["log"])

    groups_per_epoch = math.ceil(len(batches) / cfg.update_freq)
    total = cfg.epochs * groups_per_epoch
    made = 0
    model.train()
    bar = tqdm(total=total, initial=state["num_updates"], desc="conseq train", unit="update", disable=not cfg.progress)
    try:
        while state["epoch"] <= cfg.epochs:
            groups = epoch_groups(batches, state["epoch"], cfg.seed, cfg.update_freq)
            while state["group"] < len(groups):
                if cfg.stop_after is not None and made >= cfg.stop_after:
                    checkpoint()
                    return TrainResult(out, False, state["num_updates"])
                wall = time.perf_counter()
                row = _update(model, optimizer, cfg, [[pairs[i] for i in b] for b in groups[state["group"]]],
                              pad, start, device, state["num_updates"])
                row["wall_s"] = time.perf_counter() - wall
                state["train_wall_s"] += row["wall_s"]
                state["tokens"] += row["positive_tokens"] + row["negative_tokens"]
                state["num_updates"] += 1
                state["group"] += 1
                row.update(update=state["num_updates"], epoch=state["epoch"])
                state["log"].append(row)
                made += 1
                bar.update(1)
                if state["num_updates"] % cfg.save_every == 0:
                    checkpoint()
            state["epoch"] += 1
            state["group"] = 0
            checkpoint()
    finally:
        bar.close()

    model.eval()
    after = mean_loglik(model, pairs, pad, start)
    model.save_pretrained(str(out / "model"), safe_serialization=True)
    tokenizer.save_pretrained(str(out / "model"))
    _write_log(out, state["log"])
    from .plots import loss_plot

    loss_plot(state["log"], out / "loss_log.png")
    info = _info(cfg, fingerprint, pairs_hash, pairs, batches, state, before, after, device)
    write_json(out / "train.json", info)
    ckpt.unlink(missing_ok=True)
    return TrainResult(out, True, state["num_updates"], info)


def _update(model, optimizer, cfg: TrainConfig, group: list[list[Pair]], pad: int, start: int, device: str,
            num_updates: int) -> dict:
    """One optimiser update over ``update_freq`` batches (fairseq's ``Trainer.train_step``)."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    sums = dict.fromkeys(("loss", "positive_loss", "negative_loss", "positive_nll", "negative_nll"), 0.0)
    pos_tokens = neg_tokens = 0
    for pairs in group:
        batch = collate(pairs, pad, start, device)
        pos_logits, neg_logits = forward_pair(model, batch, cfg.dtype)
        parts = conseq_loss(pos_logits, batch["positive_target"], neg_logits, batch["negative_target"],
                            epsilon=cfg.label_smoothing, ignore_index=-100)
        parts.loss.backward()
        for name, value in (("loss", parts.loss), ("positive_loss", parts.positive), ("negative_loss", parts.negative),
                            ("positive_nll", parts.positive_nll), ("negative_nll", parts.negative_nll)):
            sums[name] += float(value.detach())
        pos_tokens += parts.positive_tokens
        neg_tokens += parts.negative_tokens
    sample_size = pos_tokens + neg_tokens
    for p in model.parameters():
        if p.grad is not None:
            p.grad.div_(sample_size)
    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm))
    lr = polynomial_lr(cfg, num_updates)
    for g in optimizer.param_groups:
        g["lr"] = lr
    optimizer.step()
    row = {k: v / sample_size for k, v in sums.items()}  # per target token, in nats
    row.update(lr=lr, positive_tokens=pos_tokens, negative_tokens=neg_tokens, grad_norm=grad_norm)
    return row


def _info(cfg, fingerprint, pairs_hash, pairs, batches, state, before, after, device) -> dict:
    from .. import __version__
    from ..metrics.base import library_version

    settings = {k: (list(v) if isinstance(v, tuple) else (str(v) if isinstance(v, Path) else v))
                for k, v in asdict(cfg).items() if k not in ("progress",)}
    wall = state["train_wall_s"]
    return {
        "factbench_version": __version__,
        "command": cfg.command,
        "settings": settings,
        "model_fingerprint": fingerprint,
        "pairs_sha256": pairs_hash,
        "n_pairs": len(pairs),
        "n_batches_per_epoch": len(batches),
        "n_updates": state["num_updates"],
        "device": device,
        "unlikelihood_clamp": CLAMP,
        "target_tokens": state["tokens"],
        "train_wall_s": wall,
        "target_tokens_per_s": state["tokens"] / wall if wall > 0 else None,
        "mean_loglik_before": before,
        "mean_loglik_after": after,
        "packages": {p: library_version(p) for p in ("python", "torch", "transformers", "numpy")},
        "threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or None,
    }
