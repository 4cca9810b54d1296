"""Deterministic tiny random-weight models for tests and the ``tiny`` profiles: mechanics only.

``build(kind, directory)`` writes a model directory that :func:`factbench.models.loading.load_model`
loads like any other: ``config.json``, safetensors weights and a ``tokenizer.json`` trained on the fly
with the ``tokenizers`` library from a small built-in corpus (no download, no sentencepiece). Kinds:

- ``bart``: BART seq2seq, byte-level BPE (any text encodes, no ``<unk>``), with a ``<sep>`` token that
  plays the role of QAGen's question/answer separator;
- ``t5``: T5 seq2seq, unigram tokenizer with a metaspace pre-tokenizer (sentencepiece-like);
- ``qa``: BERT extractive QA, lower-cased WordPiece;
- ``classifier``: BERT sequence classifier with two labels (``CORRECT``, ``INCORRECT``, FactCC's order).

Weights come from ``torch.manual_seed(seed)`` and the model's own initialiser, so one torch version
builds the same bytes every time (the loader's fingerprint is a hash of them). Scores made with these
models measure nothing: every result of the ``tiny`` profile is flagged as such.

A model name ``"tiny:<kind>"`` (as in the ``tiny`` profiles of the metric cards) resolves, through
:func:`ensure`, to a directory under the cache dir that is built on first use in about a second.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from ..errors import ConfigError

KINDS = ("bart", "t5", "qa", "classifier")
# Bump when anything below changes the built models, so that cached tiny dirs are rebuilt.
TINY_VERSION = "2"
SEED = 1234
SEP_TOKEN = "<sep>"

# A small news-like corpus: enough to give the tokenizers ordinary English pieces and the lmqg
# output template ("question: ..., answer: ... | ...").
_CORPUS = """
The city council approved a new budget on Monday after a long debate about schools and roads.
The mayor said the plan would raise taxes by two percent and hire forty new teachers.
Police arrested a man in London on Friday in connection with the robbery of a jewellery shop.
The company reported a profit of 3.2 billion dollars for the third quarter, beating forecasts.
Scientists found that the river had been polluted by waste from a nearby factory.
The football club signed a striker from Brazil for a record fee of 90 million euros.
A storm brought heavy rain and strong winds to the coast, closing roads and schools.
The president met the prime minister in Paris to discuss trade and climate change.
Researchers at the university published a study showing that coffee may reduce the risk of disease.
The airline cancelled hundreds of flights because of a strike by pilots and cabin crew.
Who won the election? The opposition party won the election with 52 percent of the vote.
When did the fire start? The fire started early on Sunday morning in a warehouse.
Where was the concert held? The concert was held in the national stadium in Berlin.
How many people were injured? Twelve people were injured and three were taken to hospital.
What did the minister announce? The minister announced a plan to build new homes.
question: Who won the election?, answer: the opposition party | question: When did the fire start?, answer: Sunday
question: Where was the concert held?, answer: Berlin | question: How many people were injured?, answer: twelve
generate question and answer: The company said sales rose by ten percent in March and April.
The summary says the report was released on Tuesday, but the article says it was released on Thursday.
Officials confirmed that the bridge would reopen next week after repairs costing 5 million pounds.
"""


_PRINTABLE = "".join(chr(i) for i in range(33, 127))


def corpus() -> list[str]:
    return [line.strip() for line in _CORPUS.strip().splitlines() if line.strip()]


def _write_tokenizer(tok, directory: Path, config: dict) -> None:
    tok.save(str(directory / "tokenizer.json"))
    # PreTrainedTokenizerFast reads everything from tokenizer.json and this config, on transformers 4.x
    # and 5.x alike; model-specific tokenizer classes would want vocab files we do not have.
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", **config}, indent=1)
    )


# The trainers of the ``tokenizers`` library break ties in hash-map order, which changes between
# processes; these small trainers break ties alphabetically, so the same corpus gives the same vocabulary.


def _word_counts(pre_tokenizer, lower: bool = False) -> Counter:
    counts: Counter = Counter()
    for line in corpus():
        for word, _ in pre_tokenizer.pre_tokenize_str(line.lower() if lower else line):
            counts[word] += 1
    return counts


def train_bpe(words: Counter, alphabet: list[str], n_merges: int) -> list[tuple[str, str]]:
    """Learn ``n_merges`` BPE merges: most frequent adjacent pair first, ties broken alphabetically."""
    split = {w: list(w) for w in sorted(words)}
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter = Counter()
        for w, parts in split.items():
            for a, b in zip(parts, parts[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        for w, parts in split.items():
            out, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    out.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            split[w] = out
    return merges


def _bart_tokenizer(directory: Path, vocab_size: int = 600) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", SEP_TOKEN]
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    merges = train_bpe(_word_counts(pre), alphabet, vocab_size - len(specials) - len(alphabet))
    vocab = {t: i for i, t in enumerate(specials + alphabet + [a + b for a, b in merges])}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.add_special_tokens(specials)
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    _write_tokenizer(
        tok,
        directory,
        {
            "bos_token": "<s>",
            "eos_token": "</s>",
            "pad_token": "<pad>",
            "unk_token": "<unk>",
            "mask_token": "<mask>",
            "sep_token": SEP_TOKEN,
            "model_max_length": 1024,
        },
    )
    return tok.get_vocab_size()


def _t5_tokenizer(directory: Path, vocab_size: int = 400) -> int:
    """A unigram (sentencepiece-like) vocabulary: whole words by frequency plus every character."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    specials = ["<pad>", "</s>", "<unk>"]
    pre = pre_tokenizers.Metaspace()
    words = _word_counts(pre)
    chars = Counter({c: 1 for c in _PRINTABLE})  # every printable ASCII character encodes without <unk>
    for w, n in words.items():
        for c in w:
            chars[c] += n
    total = sum(words.values()) + sum(chars.values())
    pieces = sorted(chars, key=lambda c: (-chars[c], c))
    pieces += [w for w in sorted(words, key=lambda w: (-words[w], w)) if len(w) > 1]
    pieces = pieces[: vocab_size - len(specials)]
    counts = {**chars, **words}
    vocab = [(s, 0.0) for s in specials] + [(p, math.log(counts[p] / total)) for p in pieces]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2))
    tok.add_special_tokens(specials)
    tok.pre_tokenizer = pre
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    _write_tokenizer(
        tok, directory, {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>", "model_max_length": 512}
    )
    return tok.get_vocab_size()


def _bert_tokenizer(directory: Path, vocab_size: int = 500) -> int:
    """A lower-cased WordPiece vocabulary: every character (also as ``##c``) plus whole words by frequency."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = _word_counts(pre_tokenizers.BertPreTokenizer(), lower=True)
    chars = sorted({c for w in words for c in w} | set(_PRINTABLE.lower()))
    pieces = chars + ["##" + c for c in chars]
    pieces += [w for w in sorted(words, key=lambda w: (-words[w], w)) if len(w) > 1]
    vocab = {t: i for i, t in enumerate((specials + pieces)[:vocab_size])}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tok.add_special_tokens(specials)
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    _write_tokenizer(
        tok,
        directory,
        {
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "pad_token": "[PAD]",
            "unk_token": "[UNK]",
            "mask_token": "[MASK]",
            "model_max_length": 512,
            "do_lower_case": True,
            # transformers 5 returns token_type_ids only when asked for by name
            "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
        },
    )
    return tok.get_vocab_size()


def _model(kind: str, vocab: int):
    import transformers as tf

    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    if kind == "bart":
        config = tf.BartConfig(
            vocab_size=vocab,
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=1024,
            bos_token_id=0,
            pad_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=2,
            forced_bos_token_id=None,
            forced_eos_token_id=None,
        )
        return tf.BartForConditionalGeneration(config)
    if kind == "t5":
        config = tf.T5Config(
            vocab_size=vocab,
            d_model=32,
            d_kv=16,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=2,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
        return tf.T5ForConditionalGeneration(config)
    config = tf.BertConfig(vocab_size=vocab, max_position_embeddings=512, pad_token_id=0, **small)
    if kind == "qa":
        return tf.BertForQuestionAnswering(config)
    config.num_labels = 2
    config.id2label = {0: "CORRECT", 1: "INCORRECT"}
    config.label2id = {"CORRECT": 0, "INCORRECT": 1}
    return tf.BertForSequenceClassification(config)


def build(kind: str, directory: str | os.PathLike, seed: int = SEED) -> Path:
    """Write a tiny random ``kind`` model with its tokenizer to ``directory``; return the directory."""
    if kind not in KINDS:
        raise ConfigError(f"unknown tiny model kind {kind!r}; kinds: {', '.join(KINDS)}")
    import torch

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    vocab = {"bart": _bart_tokenizer, "t5": _t5_tokenizer}.get(kind, _bert_tokenizer)(out)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: a thread pool only waits for busy cores
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = _model(kind, vocab)
    finally:
        torch.set_num_threads(threads)
    if kind == "bart":
        # Nudge the output bias so that random generations sometimes contain one separator and end
        # early: QUALS's mechanics (parse, filter, select, score) then have pairs to work on.
        with torch.no_grad():
            model.final_logits_bias[0, 2] += 4.0  # </s>
            model.final_logits_bias[0, 5] += 3.0  # <sep>
    model.eval()
    model.save_pretrained(str(out), safe_serialization=True)
    (out / "TINY_MODEL.txt").write_text(
        f"factbench tiny {kind} model (version {TINY_VERSION}, seed {seed}): random weights, for tests only.\n"
    )
    return out


def build_all(root: str | os.PathLike, kinds=KINDS) -> dict[str, Path]:
    """Build every tiny model under ``root/<kind>``; returns kind -> directory."""
    return {kind: build(kind, Path(root) / kind) for kind in kinds}


def is_tiny(name: str) -> bool:
    return str(name).startswith("tiny:")


def cache_root() -> Path:
    """Where ``tiny:<kind>`` models live: the cache folder (``$FACTBENCH_CACHE_DIR``, config, ~/.cache)."""
    from ..config import cache_dir

    return cache_dir()


def ensure(name: str) -> Path:
    """The directory of ``tiny:<kind>``, built on first use (atomically, so concurrent runs are safe)."""
    kind = str(name).split(":", 1)[1]
    if kind not in KINDS:
        raise ConfigError(f"unknown tiny model {name!r}; use one of {', '.join('tiny:' + k for k in KINDS)}")
    import torch

    target = cache_root() / "tiny-models" / f"v{TINY_VERSION}-torch{torch.__version__.split('+')[0]}" / kind
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=target.parent))
    try:
        build(kind, tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race: its copy is identical
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
