"""QUALS throughput: factbench's runtime against a one-pair-at-a-time execution of the same algorithm.

Both sides run the same QUALS algorithm (ALGORITHMS.md §2) on the same records and must agree on the
scores. The difference is the execution:

- **factbench**: ``Quals.score`` - summaries batched through diverse beam search (``batch_size``), each
  source encoded once and its cross-attention keys/values computed once for all its QA pairs, sources
  batched for scoring, the summary side likewise;
- **one-at-a-time**: ``Quals`` with ``execution = "reference"`` (factbench/metrics/quals_reference.py):
  one summary per generation call, then for every selected QA pair one full model forward given the
  source and one given the summary (``model(input_ids=..., decoder_input_ids=...)``), so the source is
  re-encoded for each pair; no cache.

Models: the tiny random BART (factbench/models/tiny.py) and a BART-base-size random model built from
its config in code (d_model 768, 6+6 layers, 12 heads, FFN 3072, 50265-entry output layer, no
download), sharing the tiny byte-level tokenizer. Random weights never stop on their own (a random
tied-embedding decoder mostly repeats its last token), so both models get an output-bias nudge (tiny:
EOS +4, separator +3, built in; base: EOS +10 (``--eos-bias``), separator +3) and ids the tokenizer
lacks are blocked: QA sequences then end after about 9-17 tokens, as trained QAGen's do (the mean
length is reported as ``mean_qa_tokens``).
Sources are news-article length: each sample document followed by the other sample documents, cut at
1024 tokens as in QUALS.

Random weights also rarely give a parsable pair whose answer is in the summary (0-3 per summary instead
of the ~10 a trained QAGen gives), which would understate the scoring work. ``--workload qagen`` (the
default) therefore counts every generated sequence as a pair with an empty answer and a question made
distinct by a running number (the parser is replaced, on both sides alike); the empty answer passes the
substring filter, and the unchanged selection (one pair of the single answer group per round) takes 10
questions per summary, as with a trained model. ``--workload raw`` runs the
parser as is. Both sides always compute the same scores (checked).

Timing: wall and process CPU seconds, both sides in the same process, one after the other. On a shared
machine prefer ``--threads 1`` (a thread pool waits for busy cores).

Run (about 10 minutes on one free CPU core)::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_quals.py --sizes tiny,base --n 5 --threads 1
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factbench.bench import archs
from factbench.cache import Cache  # noqa: E402
from factbench.datasets import load  # noqa: E402
from factbench.metrics import quals as quals_mod  # noqa: E402
from factbench.metrics.quals import Quals  # noqa: E402
from factbench.models.loading import LoadedModel, load_model  # noqa: E402
from factbench.models.tiny import build  # noqa: E402
from factbench.records import Record  # noqa: E402


def base_model(tiny_dir: Path, eos_bias: float = 10.0) -> LoadedModel:
    """BART-base dimensions, random weights, the tiny tokenizer; same output-bias nudge as the tiny model."""
    import transformers as tf

    tiny = load_model(str(tiny_dir), "seq2seq", device="cpu")
    n_tok = len(tiny.tokenizer)
    config = archs.config("base", "seq2seq")  # BART-base, the same configuration as `factbench bench`
    torch.manual_seed(0)
    model = tf.BartForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.final_logits_bias[0, n_tok:] = -1e4  # ids the tokenizer cannot decode
        model.final_logits_bias[0, 2] += eos_bias
        model.final_logits_bias[0, 5] += 3.0
    return LoadedModel("bart-base-random", "seq2seq", tiny_dir, "bench:bart-base-random", model, tiny.tokenizer,
                       "cpu", "fp32")


def records(n: int) -> list[Record]:
    ds = load("sample")
    docs = {}
    for r in ds.records:
        docs.setdefault(r.doc_id, r.source)
    out = []
    for r in ds.records[:n]:
        long_source = "\n\n".join([docs[r.doc_id]] + [d for k, d in docs.items() if k != r.doc_id])
        out.append(Record(r.dataset, r.split, r.example_id, r.doc_id, r.system, long_source, r.summary))
    return out


def metric_for(lm: LoadedModel, batch_size: int, execution: str = "factbench") -> Quals:
    m = Quals({"model": str(lm.path), "batch_size": batch_size, "execution": execution}, profile="tiny")
    m._loaded = lm
    m.cache = Cache(None)
    return m


def timed(m: Quals, recs: list[Record]):
    t0, c0 = time.perf_counter(), time.process_time()
    results = m.score(recs)
    return results, time.perf_counter() - t0, time.process_time() - c0


def stages(timer) -> dict:
    return {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in timer.as_dict().items()}


def run(size: str, lm: LoadedModel, recs: list[Record], batch_size: int) -> dict:
    m = metric_for(lm, batch_size)
    fast_results, t_fast, c_fast = timed(m, recs)
    fast = [r.scores["quals"] for r in fast_results]
    n_sel = [r.details.get("n_selected", 0) for r in fast_results]
    ref = metric_for(lm, batch_size, "reference")  # the adapter's one-pair-at-a-time execution
    slow_results, t_slow, c_slow = timed(ref, recs)
    slow = [r.scores["quals"] for r in slow_results]
    diffs = [abs(a - b) for a, b in zip(fast, slow) if a is not None and b is not None]
    return {
        "size": size,
        "n_summaries": len(recs),
        "params": lm.n_params,
        "factbench_s": round(t_fast, 2),
        "one_at_a_time_s": round(t_slow, 2),
        "factbench_summaries_per_s": round(len(recs) / t_fast, 3),
        "one_at_a_time_summaries_per_s": round(len(recs) / t_slow, 3),
        "speedup": round(t_slow / t_fast, 2),
        "factbench_cpu_s": round(c_fast, 2),
        "one_at_a_time_cpu_s": round(c_slow, 2),
        "speedup_cpu": round(c_slow / c_fast, 2),
        "mean_qa_tokens": round(sum(len(p["logprobs_source"]) for r in fast_results
                                    for p in r.details.get("qa_pairs", [])) / max(1, sum(n_sel)), 1),
        "scored": sum(x is not None for x in fast),
        "same_missing": [a is None for a in fast] == [b is None for b in slow],
        "max_abs_score_diff": max(diffs) if diffs else None,
        "selected_pairs_per_summary": n_sel,
        "stages": stages(m.timer),
        "one_at_a_time_stages": stages(ref.timer),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="tiny,base")
    ap.add_argument("--n", type=int, default=10, help="summaries (from the sample set)")
    ap.add_argument("--batch-size", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eos-bias", type=float, default=10.0, help="EOS output bias of the base-size random model")
    ap.add_argument("--workload", choices=["qagen", "raw"], default="qagen",
                    help="qagen: every generated sequence is a pair with an empty answer (see the module doc)")
    ap.add_argument("--out", default=None, help="write the JSON results here too")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    recs = records(args.n)
    parser = quals_mod.parse_original
    if args.workload == "qagen":
        numbers = itertools.count()  # distinct questions: the selection discards a repeated one (§2.3)
        quals_mod.parse_original = lambda text, sep: (f"{text.replace(sep, ' ').strip()} #{next(numbers)}", "")
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tiny_dir = build("bart", Path(tmp) / "bart")
            for size in args.sizes.split(","):
                lm = (load_model(str(tiny_dir), "seq2seq", device="cpu") if size == "tiny"
                      else base_model(tiny_dir, args.eos_bias))
                res = run(size, lm, recs, args.batch_size)
                print(json.dumps(res), flush=True)
                results.append(res)
    finally:
        quals_mod.parse_original = parser
    meta = {"torch": torch.__version__, "threads": args.threads, "workload": args.workload,
            "eos_bias": args.eos_bias, "machine": platform.machine(),
            "python": platform.python_version(), "command": " ".join(sys.argv)}
    if args.out:
        Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print("| model | summaries | pairs/summary | factbench summ/s | one-at-a-time summ/s | speedup (wall) "
          "| speedup (CPU) | max abs score diff |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        pairs = sum(r["selected_pairs_per_summary"]) / r["n_summaries"]
        print(f"| {r['size']} ({r['params'] / 1e6:.1f}M) | {r['n_summaries']} | {pairs:.1f} "
              f"| {r['factbench_summaries_per_s']} | {r['one_at_a_time_summaries_per_s']} | {r['speedup']}x "
              f"| {r['speedup_cpu']}x | {r['max_abs_score_diff']} |")
    return results


if __name__ == "__main__":
    main()
