"""QAGS throughput: factbench's batched execution against one question at a time, side by side.

Both sides run the same QAGS algorithm (ALGORITHMS.md §1) with the same models on the same records and
report their scores, which must agree. The difference is the execution:

- **factbench**: ``Qags.score`` on the whole set: all (summary, answer) lines of the batch through beam
  search together (``qg_batch_size`` lines per call), answerability on the summary asked only for the
  candidates the filter reaches in QG-score order (it stops once 20 are kept: same result), every
  question-window pair of a stage through the QA model in length-sorted batches (``qa_batch_size``);
- **one at a time**: ``Qags`` with ``execution = "reference"`` (factbench/metrics/qags_reference.py), the
  pipeline as the original ran it: one summary at a time, one (summary, answer) line per generation call,
  then every one of the 100 candidates answered on the summary (the paper setting ``--use_all_qsts``),
  the filter, and each kept question answered on the summary and on the source, one QA call per
  question; no cache.

Models, random weights, no download: ``tiny`` = factbench's tiny BART QG + tiny BERT QA
(factbench/models/tiny.py); ``base`` = a BART-base-size QG (d_model 768, 6+6 layers, 12 heads, FFN 3072,
50265-entry output layer) and a BERT-base-size QA model (hidden 768, 12 layers, 12 heads, FFN 3072,
30522-entry vocabulary): the models of ``factbench bench --arch base`` (factbench/bench/archs.py), with
tokenizers of the real vocabulary sizes (a byte-level BPE trained on the benchmark texts, padded to 50265;
the real bert-base-uncased WordPiece), built once and cached under the cache dir. Random weights never
stop, ask or follow their input on their own, so every QG model gets the same output-bias nudge (EOS +4,
ids the tokenizer lacks blocked) and the decoded text ``t`` of a generation for answer ``a`` is shown to the
rest of QAGS as the question ``"what about a t?"`` (bench only, on both sides): as with a trained QG model,
questions then end in ``?`` and differ from answer to answer, so the filter and the QA stages get the
realistic amount of work (some 100 distinct candidates per summary). Records: the first ``--n`` summaries of the sample set; ``--source-words``
lengthens each source with the other sample documents (QAGS-CNN/DM articles are ~700 words).

Run (about 5-10 minutes on 2 CPU cores)::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_qags.py --sizes tiny,base --n 3 --repeats 2 --threads 2

(``--threads 1`` on a 2-core machine shared with other jobs: there one torch thread is much faster than two.)
The base models are built on first use (about a minute) and cached (``FACTBENCH_CACHE_DIR``).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factbench.bench import archs
from factbench.cache import Cache  # noqa: E402
from factbench.datasets import load  # noqa: E402
from factbench.metrics.qags import Qags  # noqa: E402
from factbench.models import generation  # noqa: E402
from factbench.models.loading import LoadedModel, load_model  # noqa: E402
from factbench.models.tiny import build  # noqa: E402
from factbench.records import Record  # noqa: E402
from factbench.timing import StageTimer  # noqa: E402


def nudge(model, tokenizer) -> None:
    """Make a random QG model stop: EOS +4, ids the tokenizer cannot decode blocked."""
    with torch.no_grad():
        bias = model.final_logits_bias
        bias[0, len(tokenizer) :] = -1e4
        bias[0, model.config.eos_token_id] += 4.0


_real_beam_search = generation.beam_search


def beam_search_as_questions(model, tokenizer, inputs, **kw):
    """The real beam search; each hypothesis text ``t`` for the line highlighting ``a`` becomes ``what about a t?``."""
    out = _real_beam_search(model, tokenizer, inputs, **kw)
    for line, hyps in zip(inputs, out):
        found = re.search("<hl> (.*?) <hl>", line)
        answer = found.group(1) if found else ""
        for h in hyps:
            h.text = f"what about {answer} {' '.join(h.text.split())}?"
    return out


def qg_model(size: str, tiny_dir: Path, texts: list[str]) -> LoadedModel:
    """tiny: the tiny BART; base: `factbench bench`'s BART-base with its 50265-entry BPE tokenizer."""
    path = str(tiny_dir) if size == "tiny" else archs.ensure("base", "seq2seq", texts)
    loaded = load_model(path, "seq2seq", device="cpu")
    nudge(loaded.model, loaded.tokenizer)
    return loaded


def qa_model(size: str, tiny_dir: Path, texts: list[str]) -> LoadedModel:
    """tiny: the tiny BERT QA model; base: `factbench bench`'s BERT-base with the real WordPiece vocabulary."""
    path = str(tiny_dir) if size == "tiny" else archs.ensure("base", "qa", texts)
    return load_model(path, "qa", device="cpu")


def records(n: int, source_words: int) -> list[Record]:
    ds = load("sample")
    docs: dict[str, str] = {}
    for r in ds.records:
        docs.setdefault(r.doc_id, r.source)
    out = []
    for r in ds.records[:n]:
        words = " ".join([docs[r.doc_id]] + [d for k, d in docs.items() if k != r.doc_id]).split()
        source = " ".join(words[: max(source_words, len(docs[r.doc_id].split()))])
        out.append(Record(r.dataset, r.split, r.example_id, r.doc_id, r.system, source, r.summary))
    return out


def metric(qg: LoadedModel, qa: LoadedModel, execution: str = "factbench") -> Qags:
    m = Qags({"qg_model": "bench", "qa_model": "bench", "execution": execution}, profile="tiny")
    m.settings["qg_max_new_tokens"] = 32
    m._models = {"qg": qg, "qa": qa}
    m._fingerprints = {"qg": qg.fingerprint, "qa": qa.fingerprint}
    m.cache = Cache(None)
    return m


def walls(timer: StageTimer) -> dict:
    return {k: round(v["wall_s"], 2) for k, v in timer.as_dict().items()}


def run(size: str, tiny_dirs: dict, recs: list[Record], qg_batch_size: int | None, repeats: int) -> dict:
    """Alternate the two executions ``repeats`` times; keep each side's fastest run (the least disturbed)."""
    texts = sorted({t for r in recs for t in (r.source, r.summary)})
    qg, qa = qg_model(size, tiny_dirs["bart"], texts), qa_model(size, tiny_dirs["qa"], texts)
    best_fast = best_slow = None
    times_fast, times_slow = [], []
    for _ in range(repeats):
        m = metric(qg, qa)
        if qg_batch_size:
            m.settings["qg_batch_size"] = qg_batch_size
        m.spacy()  # load outside the timings
        t0 = time.perf_counter()
        results = m.score(recs)
        times_fast.append(time.perf_counter() - t0)
        if best_fast is None or times_fast[-1] <= min(times_fast):
            best_fast = (m, results)
        ref = metric(qg, qa, "reference")  # the adapter's one-question-at-a-time execution
        ref._nlp = m.spacy()
        t0 = time.perf_counter()
        slow_results = ref.score(recs)
        times_slow.append(time.perf_counter() - t0)
        if best_slow is None or times_slow[-1] <= min(times_slow):
            best_slow = (ref.timer, [r.scores["qags"] for r in slow_results])
    (m, results), (slow_timer, slow) = best_fast, best_slow
    fast = [r.scores["qags"] for r in results]
    t_fast, t_slow = min(times_fast), min(times_slow)
    diffs = [abs(a - b) for a, b in zip(fast, slow) if a is not None and b is not None]
    return {
        "size": size,
        "n_summaries": len(recs),
        "params_qg": qg.n_params,
        "params_qa": qa.n_params,
        "factbench_s": round(t_fast, 2),
        "one_at_a_time_s": round(t_slow, 2),
        "factbench_all_s": [round(t, 2) for t in times_fast],
        "one_at_a_time_all_s": [round(t, 2) for t in times_slow],
        "factbench_summaries_per_s": round(len(recs) / t_fast, 4),
        "one_at_a_time_summaries_per_s": round(len(recs) / t_slow, 4),
        "speedup": round(t_slow / t_fast, 2),
        "same_missing": [a is None for a in fast] == [b is None for b in slow],
        "max_abs_score_diff": max(diffs) if diffs else None,
        "passed_filter_per_summary": [r.details.get("n_passed_filter") for r in results],
        "qg_batch_size": m.settings["qg_batch_size"],
        "qa_batch_size": m.settings["qa_batch_size"],
        "factbench_stage_wall_s": walls(m.timer),
        "one_at_a_time_stage_wall_s": walls(slow_timer),
        "factbench_model_calls": {k: v.get("model_calls", 0) for k, v in m.timer.as_dict().items()},
        "one_at_a_time_model_calls": {k: v.get("model_calls", 0) for k, v in slow_timer.as_dict().items()},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="tiny,base")
    ap.add_argument("--n", type=int, default=6, help="summaries (from the sample set)")
    ap.add_argument("--source-words", type=int, default=0, help="lengthen sources to about this many words")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the JSON results here too")
    ap.add_argument("--repeats", type=int, default=1, help="alternate the two sides this often; keep the fastest")
    ap.add_argument("--qg-batch-size", type=int, default=None, help="factbench side: lines per generation call")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    generation.beam_search = beam_search_as_questions  # what factbench's QG stage calls, too
    recs = records(args.n, args.source_words)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tiny_dirs = {k: build(k, Path(tmp) / k) for k in ("bart", "qa")}
        for size in args.sizes.split(","):
            res = run(size, tiny_dirs, recs, args.qg_batch_size, args.repeats)
            print(json.dumps(res), flush=True)
            results.append(res)
    meta = {"torch": torch.__version__, "threads": args.threads, "machine": platform.machine(),
            "python": platform.python_version(), "command": " ".join(sys.argv)}
    if args.out:
        Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    words = sum(len(r.source.split()) for r in recs) / len(recs)
    print(f"\nsources: {words:.0f} words on average; {len(recs)} summaries; torch threads {args.threads}; "
          f"fastest of {args.repeats} alternating runs per side\n")
    print("| models | factbench summaries/s | one at a time summaries/s | speedup | max abs score diff |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['size']} (QG {r['params_qg'] / 1e6:.1f}M, QA {r['params_qa'] / 1e6:.1f}M) "
              f"| {r['factbench_summaries_per_s']} | {r['one_at_a_time_summaries_per_s']} | {r['speedup']}x "
              f"| {r['max_abs_score_diff']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
