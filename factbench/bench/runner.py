"""The bench protocol: N real records, each metric in each execution mode and dtype, warm-up and repeats.

For each configuration (metric x mode x dtype):

1. a first run, which loads the models and is the first warm-up; it is also the FLOP-counting pass
   (:mod:`.counting`: exact matmul FLOPs per stage, tokens per model), so it is never timed;
2. ``warmup - 1`` more untimed runs;
3. ``repeats`` timed runs, each with a fresh stage timer; with ``interleave`` the repeats of all
   configurations alternate (round r of every configuration, then round r + 1), so that drift in the
   machine's speed spreads over all of them instead of biasing one.

The stage cache is disabled (``Cache(None)``, the metrics' default): every run does all model work.
Medians, spreads and ratios with bootstrap intervals over the repeat times are computed by
:mod:`.report`.
"""

from __future__ import annotations

import zlib

import gc
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .. import datasets as ds
from .. import metrics as registry
from ..errors import ConfigError
from ..io import write_json
from ..metrics.base import library_version
from ..records import Record
from ..timing import StageTimer, peak_memory_mb
from . import archs, peak
from .counting import counting, find_models, model_tokens

MODES = ("factbench", "reference")
DTYPES = ("fp32", "bf16")
# Generation lengths, fixed so that random weights do not decide how long beam search runs. Chosen, not
# measured from the real models (their weights are not available offline): a SQuAD/NewsQA-style question
# is about 10-12 words, i.e. about 13-15 GPT-2 BPE tokens with the "?" and EOS; a QUALS QA pair adds a
# separator and a short answer span (2-4 words), and lmqg's format spells out "question: ..., answer: ...".
GENERATION_TOKENS = {"qags": 14, "quals": 24}  # generated tokens, EOS included


def generation_settings(metric: str, defaults: dict) -> dict:
    """The card settings that pin ``GENERATION_TOKENS[metric]``: EOS allowed only at the last position."""
    n = GENERATION_TOKENS.get(metric)
    if n is None:
        return {}
    wanted = {
        # qags: counts include EOS and the card wants min < max
        "qg_max_new_tokens": n, "qg_min_new_tokens": n - 1,
        # quals: counts are tokens before EOS (fairseq --min_len / --max_len)
        "max_tokens": n - 1, "min_tokens": n - 1,
    }
    return {k: v for k, v in wanted.items() if k in defaults}


def random_weight_stand_ins(conf) -> str | None:
    """Make a metric do its real amount of work with random weights; returns what was changed, or None.

    Random weights barely condition on the input, and their outputs never parse, so without these two
    stand-ins the metrics would skip work a real model makes them do and look cheaper than they are:

    - QUALS keeps only generated pairs that parse as question + answer with the answer in the summary
      (ALGORITHMS.md §2.3); random weights never produce one, and both teacher-forced scoring stages would
      score nothing. When no hypothesis of a summary parses, the bench hands the real filter every
      hypothesis as a pair with an empty answer (a substring of every summary) and its generated tokens
      as the target: the filter selects ``max_qas`` of them by total log-probability, the number it keeps
      from a real model, and the scoring stages score them as usual.
    - QAGS deduplicates questions; random weights generate nearly the same beams for every answer, so
      about 10 distinct questions would reach question answering instead of the K = 20 of a real model.
      The bench makes repeated question texts distinct by appending `` #<input>.<beam>`` (1-3 more
      tokens on a ~14-token question, small against the 384-token QA windows).
    """
    metric = conf.instance
    if conf.metric == "quals" and hasattr(metric, "_pairs"):
        original = metric._pairs

        def pairs(hyps):
            found, bad = original(hyps)
            if found:
                return found, bad
            return [
                {"question": f"(random-weight hypothesis {i})", "answer": "", "score": h["score"],
                 "norm_score": h["norm_score"], "group": h.get("group"), "target": list(h["tokens"]),
                 "gen_logprobs": h.get("token_logprobs"), "model_logprobs": h.get("model_logprobs")}
                for i, h in enumerate(hyps)
            ], bad

        metric._pairs = pairs
        return ("unparsable random-weight QA pairs are passed to the filter with an empty answer, so that max_qas "
                "pairs reach the teacher-forced scoring stages as with a real model")
    if conf.metric == "qags" and hasattr(metric, "_generate"):
        generate = metric._generate

        def questions(inputs, **kw):
            # The suffix depends on the input line and the beam only, not on which inputs share a generation
            # call, so that both execution modes (batched and one input per call) ask the same questions;
            # it wraps the generation call itself, which both executions make (the reference bypasses
            # ``questions()`` and its cache).
            return [
                [[f"{q} #{zlib.crc32(line.encode()):08x}.{j}", p] for j, (q, p) in enumerate(per)]
                for line, per in zip(inputs, generate(inputs, **kw))
            ]

        metric._generate = questions
        return ("random-weight questions are made distinct (suffix ' #<crc32 of the QG input>.<beam>'), so that K "
                "distinct questions reach question answering as with a real model")
    return None


@dataclass
class BenchConfig:
    metrics: list[str]
    dataset: str
    n: int = 5
    arch: str | None = "base"
    repeats: int = 3
    warmup: int = 1
    modes: list[str] = field(default_factory=lambda: ["factbench", "reference"])
    dtypes: list[str] = field(default_factory=lambda: ["fp32"])
    out_dir: Path = Path("reports/bench")
    data_dir: str | None = None
    split: str | None = None
    settings: dict[str, dict] = field(default_factory=dict)
    flops_only: bool = False
    interleave: bool = True
    peak_n: int = 2048
    peak_repeats: int = 5
    bootstrap: int = 2000
    seed: int = 0
    command: str = ""
    progress: bool = True


@dataclass
class Config:
    """One measured configuration and everything measured on it."""

    metric: str
    mode: str
    dtype: str
    settings: dict
    instance: object = None
    first_run_s: float | None = None
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)
    flops: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    stand_in: str | None = None

    @property
    def label(self) -> str:
        return f"{self.metric} / {self.mode} / {self.dtype}"


def model_settings(metric: str) -> dict[str, str]:
    """The card's model settings and their kinds, read from its ``tiny`` profile (``tiny:bart`` -> seq2seq)."""
    card = registry.metric_class(metric).load_card()
    tiny = card.profiles.get("tiny", {})
    kinds = {"bart": "seq2seq", "t5": "seq2seq", "qa": "qa", "classifier": "classifier"}
    out = {}
    for key, value in tiny.items():
        if isinstance(value, str) and value.startswith("tiny:"):
            kind = kinds.get(value.split(":", 1)[1])
            if kind is None:
                raise ConfigError(f"metric {metric!r}: model setting {key} = {value!r} has no bench architecture")
            out[key] = kind
    return out


def plan(cfg: BenchConfig, texts: Sequence[str]) -> tuple[list[Config], list[dict]]:
    """The configurations to measure, and the ones that cannot be (with why)."""
    configs, unavailable = [], []
    for metric in cfg.metrics:
        card = registry.metric_class(metric).load_card()
        defaults = card.settings(None)
        base = {}
        models = model_settings(metric)
        if cfg.arch:
            if any(k.endswith("_model") or k == "model" for k in defaults if k != "spacy_model") and not models:
                raise ConfigError(
                    f"metric {metric!r} does not support --arch: its card has model settings but no tiny profile "
                    "naming their kinds; pass its models with --set instead (and --arch none)"
                )
            base.update({key: archs.ensure(cfg.arch, kind, texts) for key, kind in models.items()})
            base.update(generation_settings(metric, defaults))
        base.update(cfg.settings.get(metric, {}))
        for mode in cfg.modes:
            if mode != "factbench" and "execution" not in defaults:
                unavailable.append({"metric": metric, "mode": mode, "why": f"the {metric} card has no `execution` setting"})
                continue
            for dtype in cfg.dtypes:
                if dtype != "fp32" and "dtype" not in defaults:
                    unavailable.append({"metric": metric, "mode": mode, "dtype": dtype,
                                        "why": f"the {metric} card has no `dtype` setting (no model to run in {dtype})"})
                    continue
                settings = dict(base)
                if "execution" in defaults:
                    settings["execution"] = mode
                if "dtype" in defaults:
                    settings["dtype"] = dtype
                if "device" in defaults:
                    settings.setdefault("device", "cpu")
                configs.append(Config(metric, mode, dtype, settings))
    return configs, unavailable


def score_all(metric, records: Sequence[Record]) -> tuple[float, float, list]:
    """Score every record in the metric's batches; wall and CPU seconds and the results."""
    wall, cpu = time.perf_counter(), time.process_time()
    results = []
    for start in range(0, len(records), metric.batch_size):
        results += metric.score(list(records[start : start + metric.batch_size]))
    return time.perf_counter() - wall, time.process_time() - cpu, results


def _scores(results) -> dict[str, list]:
    names = sorted({k for r in results for k in r.scores})
    return {k: [r.scores.get(k) for r in results] for k in names}


def _prepare(conf: Config, records, progress, random_weights: bool) -> None:
    """Build the metric, run the counting pass (first warm-up, loads the models)."""
    conf.instance = registry.create(conf.metric, conf.settings)
    if random_weights:
        conf.stand_in = random_weight_stand_ins(conf)
    with counting(conf.instance) as timer:
        start = time.perf_counter()
        _, _, results = score_all(conf.instance, records)
        conf.first_run_s = time.perf_counter() - start
    models = find_models(conf.instance)
    conf.models = {name: _describe(m) for name, m in models.items()}
    conf.flops = {
        "counted": dict(timer.flops),
        "by_model": model_tokens(timer, models),
        "adapter": {s: v.get("flops", 0.0) for s, v in timer.as_dict().items()},
        "counting_stages": timer.as_dict(),  # the metric's counters in the counting pass (wall times inflated)
    }
    conf.scores = _scores(results)
    if progress:
        print(f"  {conf.label}: first run (loads models, counts FLOPs) {conf.first_run_s:.1f} s", flush=True)


def _describe(model) -> dict:
    from .flops import param_counts

    p = next(model.parameters())
    return {"class": type(model).__name__, "params": sum(x.numel() for x in model.parameters()),
            "dtype": str(p.dtype).replace("torch.", ""), "counts": param_counts(model).as_dict()}


def _timed(conf: Config, records) -> None:
    conf.instance.timer = StageTimer()
    wall, cpu, results = score_all(conf.instance, records)
    conf.wall_s.append(wall)
    conf.cpu_s.append(cpu)
    conf.stages.append(conf.instance.timer.as_dict())
    conf.scores = _scores(results)


def corpus_texts(data_dir) -> list[str]:
    """Sources and summaries of every dataset present: the corpus of the BART arch tokenizer."""
    texts: set[str] = set()
    root = ds.default_data_dir(data_dir)
    for name, spec in sorted(ds.registry().items()):
        if ds.is_present(spec, root):
            for r in ds.load(name, root).records:
                texts.update(t for t in (r.source, r.summary) if isinstance(t, str))
    return sorted(texts)


def select_records(cfg: BenchConfig) -> list[Record]:
    dataset = ds.load(cfg.dataset, cfg.data_dir)
    records = dataset.records
    if cfg.split:
        records = [r for r in records if r.split == cfg.split]
    if cfg.n < 1:
        raise ConfigError("-n must be at least 1")
    if len(records) < cfg.n:
        raise ConfigError(f"dataset {cfg.dataset!r} has {len(records)} records, fewer than -n {cfg.n}")
    return records[: cfg.n]


def run_bench(cfg: BenchConfig) -> Path:
    """Measure, then write bench.json, bench.md and bench.png to ``cfg.out_dir``; return the Markdown path."""
    if cfg.repeats < 1 and not cfg.flops_only:
        raise ConfigError("--repeats must be at least 1")
    if cfg.warmup < 1:
        raise ConfigError("--warmup must be at least 1 (the first run loads the models and counts FLOPs)")
    for m in cfg.modes:
        if m not in MODES:
            raise ConfigError(f"unknown --mode {m!r}; use {', '.join(MODES)}")
    for d in cfg.dtypes:
        if d not in DTYPES:
            raise ConfigError(f"unknown --dtype {d!r}; use {', '.join(DTYPES)}")
    if "bf16" in cfg.dtypes:
        ok, why = peak.bf16_supported("cpu")
        if not ok:
            raise ConfigError(f"--dtype bf16: {why}")
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    records = select_records(cfg)
    texts = corpus_texts(cfg.data_dir) if cfg.arch in ("base", "paper") else []
    configs, unavailable = plan(cfg, texts)
    if not configs:
        raise ConfigError("nothing to measure: " + "; ".join(u["why"] for u in unavailable))
    peak_dtypes = tuple(sorted(set(cfg.dtypes) | {"fp32"}))
    peak_runs = [peak.measure_all(peak_dtypes, n=cfg.peak_n, repeats=cfg.peak_repeats)]
    peaks = peak.best_of(peak_runs)

    def remeasure_peak() -> None:
        # the peak again after every round: other load only slows it down, so the best is the ceiling
        peak_runs.append(peak.measure_all(peak_dtypes, n=cfg.peak_n, repeats=cfg.peak_repeats))
        peaks.update(peak.best_of(peak_runs))

    def log(msg):
        if cfg.progress:
            print(msg, flush=True)

    log(f"bench: {len(configs)} configurations on {len(records)} records of {cfg.dataset}")
    if cfg.flops_only or not cfg.interleave:
        for conf in configs:
            _prepare(conf, records, cfg.progress, cfg.arch is not None)
            if not cfg.flops_only:
                for _ in range(cfg.warmup - 1):
                    score_all(conf.instance, records)
                for r in range(cfg.repeats):
                    _timed(conf, records)
                    log(f"  {conf.label}: repeat {r + 1}/{cfg.repeats} {conf.wall_s[-1]:.2f} s")
                remeasure_peak()
            _checkpoint(cfg, started, records, configs, unavailable, peaks)
            conf.instance = None
            gc.collect()
    else:
        for conf in configs:
            _prepare(conf, records, cfg.progress, cfg.arch is not None)
        for _ in range(cfg.warmup - 1):
            for conf in configs:
                score_all(conf.instance, records)
        for r in range(cfg.repeats):
            for conf in configs:
                _timed(conf, records)
                log(f"  {conf.label}: repeat {r + 1}/{cfg.repeats} {conf.wall_s[-1]:.2f} s")
            remeasure_peak()
            _checkpoint(cfg, started, records, configs, unavailable, peaks)
    _checkpoint(cfg, started, records, configs, unavailable, peaks, complete=True)
    from .report import write_report

    return write_report(Path(cfg.out_dir), bootstrap=cfg.bootstrap, seed=cfg.seed)


def _checkpoint(cfg, started, records, configs, unavailable, peaks, complete: bool = False) -> None:
    """Write bench.json with what is measured so far, so that an interrupted bench keeps its repeats."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "bench.json", _raw(cfg, started, records, configs, unavailable, peaks, complete))


def _raw(cfg: BenchConfig, started: str, records, configs, unavailable, peaks, complete: bool) -> dict:
    """Everything measured so far, as written to bench.json (``complete`` false while the bench runs)."""
    import torch

    return {
        "command": cfg.command,
        "complete": complete,
        "started": started,
        "ended": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "protocol": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(cfg).items() if k != "settings"},
        "overrides": cfg.settings,
        "arch": {"name": cfg.arch, "description": archs.DESCRIPTION.get(cfg.arch or "", "models from the metric cards")},
        "generation_tokens": GENERATION_TOKENS,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "torch": library_version("torch"),
            "transformers": library_version("transformers"),
            "threads": torch.get_num_threads(),
            "peak_memory_mb": peak_memory_mb(),
        },
        "records": [{"dataset": r.dataset, "example_id": r.example_id, "source_words": len(r.source.split()),
                     "summary_words": len(r.summary.split())} for r in records],
        "tokens_per_word": _tokens_per_word(configs, records),
        "peak": peaks,
        "unavailable": unavailable,
        "configs": [
            {"metric": c.metric, "mode": c.mode, "dtype": c.dtype, "settings": c.settings, "first_run_s": c.first_run_s,
             "wall_s": c.wall_s, "cpu_s": c.cpu_s, "stages": c.stages, "flops": c.flops, "models": c.models, "stand_in": c.stand_in,
             "scores": c.scores}
            for c in configs
        ],
    }


def _tokens_per_word(configs: list[Config], records) -> dict[str, float]:
    """Source tokens per whitespace word of each model tokenizer the metrics used (realism check)."""
    from transformers import AutoTokenizer

    out = {}
    words = sum(len(r.source.split()) for r in records)
    for conf in configs:
        for key, value in conf.settings.items():
            if isinstance(value, str) and key.endswith("model") and key != "spacy_model" and value not in out:
                try:
                    from ..models.loading import resolve

                    tok = AutoTokenizer.from_pretrained(str(resolve(value)[0]))
                except Exception:  # noqa: BLE001 - a realism note only; never fails the bench
                    continue
                n = sum(len(tok(r.source, add_special_tokens=False)["input_ids"]) for r in records)
                out[value] = n / max(words, 1)
    return out
