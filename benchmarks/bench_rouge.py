"""ROUGE summaries per second on FRANK: factbench's runner against rouge-score called directly in a loop.

Both sides score the same 2246 (summary, reference) pairs with RougeScorer(['rouge1','rouge2','rougeL'],
use_stemmer=True); the runner side includes everything factbench adds per summary (batching, result checks,
the resumable partial file). A third arm runs the runner with rouge-score's own scorer in place of factbench's
memoised stemmer, to show the harness overhead alone. Repeats alternate the two sides; the report gives medians and the overhead.

    FACTBENCH_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_rouge.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rouge_score import rouge_scorer

from factbench import datasets
from factbench.metrics import create
from factbench.runner import _score_all


def direct(records) -> float:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    start = time.perf_counter()
    for r in records:
        scorer.score(r.references[0], r.summary)
    return time.perf_counter() - start


def through_factbench(records, memo: bool = True) -> float:
    metric = create("rouge", {"against": "reference"})
    if not memo:  # the harness alone: swap in rouge-score's own scorer, without the memoised stemmer
        metric._scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        _score_all("rouge", metric, records, Path(tmp) / "partial", progress=False)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    records = datasets.load("frank").records
    direct(records[:50]), through_factbench(records[:50])  # warm-up: imports, stemmer caches
    times = {"rouge-score loop": [], "factbench": [], "factbench, plain stemmer": []}
    for _ in range(args.repeats):
        times["rouge-score loop"].append(direct(records))
        times["factbench"].append(through_factbench(records))
        times["factbench, plain stemmer"].append(through_factbench(records, memo=False))
    print(f"FRANK, {len(records)} summaries, {args.repeats} alternating repeats (median wall time)")
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, t in medians.items():
        print(f"  {name:26s} {t:7.3f} s  {len(records) / t:8.1f} summaries/s")
    for name in ("factbench", "factbench, plain stemmer"):
        overhead = medians[name] / medians["rouge-score loop"] - 1
        print(f"  {name} against the loop: {overhead * 100:+.1f} % time (target: under +10 %)")


if __name__ == "__main__":
    main()
