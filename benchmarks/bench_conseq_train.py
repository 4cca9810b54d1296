"""Throughput of ``factbench conseq train`` (target tokens per second) at base size, fp32 and bf16, read
against the matmul peak that ``factbench bench`` measures (factbench/bench/peak.py).

Protocol:

1. The model: random-weight BART-base from :mod:`factbench.bench.archs` (``ensure("base", "seq2seq")``, real
   vocabulary size 50265; the byte-level BPE trained on the texts below).
2. The pairs: the sample set's documents (``data/sample``, repeated ``--copies`` times), the reference as the
   positive and the entity-swap summary as the negative.
3. The matmul peak for each dtype (``peak.measure``, ``--peak-size``), before and after the runs; the best is
   the ceiling (other load only slows a measurement down).
4. For each dtype: ``conseq.train`` with the paper's settings except ``--epochs 1`` and ``--update-freq 1``
   (every update is one token-budget batch of 1024), all updates timed one by one (the trainer's loss log);
   the first update is warm-up and left out. Target tokens per second = the updates' positive + negative
   target tokens / their wall time. FLOP/s: 3 x the forward estimate of :func:`factbench.bench.flops.estimate`
   (backward ~ 2 x forward) over the padded positions each update computes: one encoder pass, two decoder
   passes (positive, negative), each projecting the source to cross-attention keys/values, attention scores
   included.

Usage::

    FACTBENCH_CACHE_DIR=... python benchmarks/bench_conseq_train.py [--dtypes fp32,bf16] [--copies 2]
        [--threads N] [--out reports/bench-conseq-train.json]

On a shared or busy machine every figure is a lower bound; say so when reporting one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_pairs(path: Path, copies: int) -> list[str]:
    from factbench.datasets.sample import load_sample

    records = load_sample().records
    negatives = {r.doc_id: r.summary for r in records if r.system == "entity_swap"}
    rows, texts, seen = [], [], set()
    for r in records:
        texts += [r.source, r.summary]
        if r.doc_id in seen:
            continue
        seen.add(r.doc_id)
        rows.append({"source": r.source, "positive": r.references[0], "negative": negatives[r.doc_id], "doc": r.doc_id})
    with path.open("w", encoding="utf-8") as fh:
        for c in range(copies):
            for row in rows:
                fh.write(json.dumps({"doc_id": f"{row['doc']}#{c}", "source": row["source"],
                                     "positive": row["positive"], "negative": row["negative"]}) + "\n")
    return texts


def update_flops(model, cfg, tokenizer) -> list[float]:
    """Estimated training FLOPs of each update, in the order the trainer runs them (epoch 1)."""
    from factbench.bench.flops import estimate
    from factbench.conseq.train import batch_by_size, encode_pairs, epoch_groups, ordered_indices, read_pairs

    pairs = encode_pairs(read_pairs(cfg.pairs), tokenizer, cfg.max_source_tokens, cfg.max_target_tokens)
    batches = batch_by_size(ordered_indices(pairs), lambda i: pairs[i].num_tokens, cfg.max_tokens)
    out = []
    for group in epoch_groups(batches, 1, cfg.seed, cfg.update_freq):
        total = 0.0
        for batch in group:
            ps = [pairs[i] for i in batch]
            n, src = len(ps), max(len(p.source) for p in ps)
            for side in ("positive", "negative"):
                tgt = max(len(getattr(p, side)) for p in ps)
                # one encoder pass shared by the two decoder passes: count it once (with the first side)
                enc_tokens = n * src if side == "positive" else 0
                fwd = estimate(model, enc_tokens, n * tgt, cross_kv_tokens=n * src, source_len=src, target_len=tgt)
                total += 3.0 * fwd
        out.append(total)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--copies", type=int, default=2, help="Copies of the 6 sample documents (more updates).")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--peak-size", type=int, default=2048)
    ap.add_argument("--out", type=Path, default=Path("reports/bench-conseq-train.json"))
    args = ap.parse_args(argv)

    import torch

    from factbench.bench import archs, peak
    from factbench.conseq.train import TrainConfig, train
    from factbench.models.loading import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    peaks = [peak.measure_all(dtypes, n=args.peak_size, repeats=5)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pairs = tmp / "pairs.jsonl"
        texts = make_pairs(pairs, args.copies)
        model_dir = archs.ensure("base", "seq2seq", texts)
        loaded = load_model(model_dir, "seq2seq", device="cpu")
        for dtype in dtypes:
            cfg = TrainConfig(model=model_dir, pairs=pairs, out_dir=tmp / f"run-{dtype}", epochs=1, update_freq=1,
                              device="cpu", dtype=dtype, progress=False, max_source_tokens=1024)
            start = time.perf_counter()
            res = train(cfg)
            wall = time.perf_counter() - start
            log = _read_log(tmp / f"run-{dtype}" / "loss_log.csv")
            flops = update_flops(loaded.model, cfg, loaded.tokenizer)
            timed = log[1:] if len(log) > 1 else log
            tflops = flops[1:] if len(flops) > 1 else flops
            secs = sum(r["wall_s"] for r in timed)
            tokens = sum(r["positive_tokens"] + r["negative_tokens"] for r in timed)
            results[dtype] = {
                "updates": len(log), "timed_updates": len(timed), "update_wall_s": [r["wall_s"] for r in log],
                "median_update_s": statistics.median(r["wall_s"] for r in timed),
                "target_tokens": tokens, "target_tokens_per_s": tokens / secs,
                "est_train_gflops": sum(tflops) / 1e9, "achieved_gflops_per_s": sum(tflops) / secs / 1e9,
                "whole_call_wall_s": wall, "n_pairs": res.info["n_pairs"], "threads": torch.get_num_threads(),
            }
        peaks.append(peak.measure_all(dtypes, n=args.peak_size, repeats=5))
    best = peak.best_of(peaks)
    for dtype, r in results.items():
        p = best.get(dtype, {})
        r["peak_gflops"] = p.get("gflops")
        r["fraction_of_peak"] = r["achieved_gflops_per_s"] / p["gflops"] if p.get("gflops") else None
    report = {"protocol": "benchmarks/bench_conseq_train.py (module docstring)", "peak": best, "results": results,
              "torch": torch.__version__, "note": "measured on a shared machine: figures are lower bounds"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for dtype, r in results.items():
        frac = f"{r['fraction_of_peak']:.1%}" if r["fraction_of_peak"] is not None else "n/a"
        print(f"{dtype}: {r['target_tokens_per_s']:.1f} target tokens/s over {r['timed_updates']} updates "
              f"(median {r['median_update_s']:.2f} s/update), {r['achieved_gflops_per_s']:.1f} GFLOP/s estimated = "
              f"{frac} of the {dtype} matmul peak {r['peak_gflops'] or float('nan'):.1f} GFLOP/s")
    print(f"wrote {args.out}")
    return 0


def _read_log(path: Path) -> list[dict]:
    import csv

    with path.open(encoding="utf-8") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


if __name__ == "__main__":
    sys.exit(main())
