"""Load a seq2seq, extractive-QA or sequence-classification model by local directory or hub id.

Offline first: a hub id resolves from the local Hugging Face cache; it is downloaded only when the hub
is reachable and ``HF_HUB_OFFLINE`` is not set. A model that cannot be found raises one
:class:`ModelUnavailableError` that names the model, where it was looked for, and how to provide it.
Remote code is never trusted.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError, ModelUnavailableError

KINDS = ("seq2seq", "qa", "classifier")
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt")


@dataclass
class LoadedModel:
    """A model ready to run, with what identifies it for signatures and the cache."""

    name: str
    kind: str
    path: Path
    fingerprint: str
    model: object
    tokenizer: object
    device: str
    dtype: str

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def split_revision(name: str, revision: str | None = None) -> tuple[str, str | None]:
    """``"org/model@rev"`` -> ``("org/model", "rev")``; an explicit revision wins."""
    if "@" in name and not Path(name).exists():
        name, _, rev = name.rpartition("@")
        revision = revision or rev
    return name, revision


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or os.environ.get(
        "TRANSFORMERS_OFFLINE", "0"
    ).lower() in ("1", "true", "yes")


def resolve(name: str, revision: str | None = None) -> tuple[Path, str]:
    """The local directory of a model and its fingerprint (content hash, or hub id + commit)."""
    name, revision = split_revision(name, revision)
    if name.startswith("tiny:"):  # factbench's own tiny test models, built on first use under the cache dir
        from .tiny import ensure

        name = str(ensure(name))
    local = Path(name).expanduser()
    if local.is_dir():
        return local, "sha256:" + weights_hash(str(local.resolve()))
    if local.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise ModelUnavailableError(
            f"model {name!r}: no such directory {local}; give the directory that holds config.json and the weights"
        )
    from huggingface_hub import constants, snapshot_download

    try:
        path = Path(snapshot_download(name, revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - any miss in the local cache falls through to the download attempt
        path = None
    if path is None and not offline():
        try:
            path = Path(snapshot_download(name, revision=revision))
        except Exception:  # noqa: BLE001 - reported below with the same single message
            path = None
    if path is None:
        how = (
            "it is not downloaded because HF_HUB_OFFLINE is set"
            if offline()
            else "downloading it failed (no network or no such model)"
        )
        raise ModelUnavailableError(
            f"model {name!r}{'@' + revision if revision else ''} is not available: not a local directory and not in "
            f"the Hugging Face cache {constants.HF_HUB_CACHE}; {how}. Provide it by running "
            f"`huggingface-cli download {name}` on a machine with network access (then copy the cache), or pass a "
            f"local directory with config.json and the weights instead of the hub id."
        )
    return path, f"hub:{name}@{path.name}"


@lru_cache(maxsize=None)
def weights_hash(directory: str) -> str:
    """sha256 over the names and bytes of the weight and config files of a local model directory."""
    h = hashlib.sha256()
    root = Path(directory)
    files = sorted(p for p in root.iterdir() if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.suffix == ".json"))
    for p in files:
        h.update(p.name.encode())
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device not in ("cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu, cuda or mps")
    return device


def load_model(
    name: str,
    kind: str,
    *,
    revision: str | None = None,
    device: str = "auto",
    dtype: str = "fp32",
    threads: int | None = None,
) -> LoadedModel:
    """Load model and tokenizer once; put the model in eval mode on ``device`` in ``dtype``."""
    if kind not in KINDS:
        raise ConfigError(f"unknown model kind {kind!r}; kinds: {', '.join(KINDS)}")
    if dtype not in DTYPES:
        raise ConfigError(f"unknown dtype {dtype!r}; use {', '.join(DTYPES)}")
    import torch
    import transformers as tf

    if threads:
        torch.set_num_threads(int(threads))
    path, fingerprint = resolve(name, revision)
    auto = {
        "seq2seq": tf.AutoModelForSeq2SeqLM,
        "qa": tf.AutoModelForQuestionAnswering,
        "classifier": tf.AutoModelForSequenceClassification,
    }[kind]
    try:
        tokenizer = tf.AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        model = auto.from_pretrained(str(path), trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 - a broken config.json raises anything from KeyError to TypeError
        cause = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelUnavailableError(
            f"model {name!r} in folder {path} could not be loaded as a {kind} model: {type(exc).__name__}: {cause[:300]}"
        ) from None
    dev = pick_device(device)
    model = model.to(device=dev, dtype=getattr(torch, DTYPES[dtype])).eval()
    return LoadedModel(name, kind, path, fingerprint, model, tokenizer, dev, dtype)
