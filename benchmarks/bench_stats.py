"""Benchmark: 1000 bootstrap resamples of the correlation of 15 metrics over 2246 summaries (FRANK).

Uses the official FRANK files (human_annotations.json and baseline_factuality_metrics_outputs.json, joined on
hash + model_name) from $FACTBENCH_DATA_DIR (default ../shared/data). Times the vectorised bootstrap
(factbench.stats.resampling: count matrices as frequency weights) for each (level, method), and the naive
baseline (materialise each resample, call scipy) on fewer resamples, extrapolated to 1000.

    python benchmarks/bench_stats.py [--resamples 1000] [--naive-resamples 20] [--unit inputs]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from factbench.stats.correlation import make_layout
from factbench.stats.resampling import bootstrap_distribution, bootstrap_distribution_loop, resample_weights

REPO = Path(__file__).resolve().parents[1]
COMBOS = [("global", "pearson"), ("global", "spearman"), ("partial", "pearson"), ("partial", "spearman"),
          ("summary", "pearson"), ("summary", "spearman"), ("summary", "kendall"), ("system", "kendall")]


def load_frank(data_dir: Path):
    folder = data_dir / "frank"
    human = json.loads((folder / "human_annotations.json").read_text())
    outputs = {(r["hash"], r["model_name"]): r
               for r in json.loads((folder / "baseline_factuality_metrics_outputs.json").read_text())}
    names = [k for k in next(iter(outputs.values())) if k not in ("hash", "model_name", "dataset", "split")]
    x = np.array([[outputs[(r["hash"], r["model_name"])][m] for m in names] for r in human], dtype=float).T
    y = np.array([r["Factuality"] for r in human])
    return names, x, y, [r["hash"] for r in human], [r["model_name"] for r in human]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--naive-resamples", type=int, default=20)
    ap.add_argument("--unit", default="inputs", choices=["inputs", "systems", "both"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    data_dir = Path(os.environ.get("FACTBENCH_DATA_DIR") or REPO.parent / "shared" / "data")
    names, x, y, docs, systems = load_frank(data_dir)
    layout = make_layout(docs, systems)
    print(f"FRANK: {len(names)} metrics x {len(y)} summaries, {layout.n_docs} documents, {layout.n_systems} "
          f"systems; bootstrap over {args.unit}, seed {args.seed}; numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    weights = resample_weights(layout, args.resamples, args.unit, args.seed)
    print(f"draw {args.resamples} resamples (index matrices -> counts): {time.perf_counter() - t0:.3f} s")
    total = total_cpu = 0.0
    for level, method in COMBOS:
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(len(names)):
            mask = np.isfinite(x[i])
            bootstrap_distribution(np.where(mask, x[i], 0.0), y, layout, level, method, weights=weights,
                                   mask=mask)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        total += dt
        total_cpu += cpu
        # Naive: one metric (Rouge 1, no missing values), args.naive_resamples resamples, extrapolated.
        t0 = time.perf_counter()
        bootstrap_distribution_loop(x[0], y, layout, level, method, n_resamples=args.naive_resamples,
                                    unit=args.unit, seed=args.seed)
        naive = (time.perf_counter() - t0) / args.naive_resamples * args.resamples * len(names)
        print(f"{level:>8} {method:<9} vectorised {dt:6.2f} s wall ({cpu:6.2f} s CPU) for {len(names)} metrics x "
              f"{args.resamples} resamples | naive loop ~{naive:7.1f} s wall (from {args.naive_resamples} "
              f"resamples) | x{naive / dt:5.1f}")
    print(f"total vectorised: {total:.2f} s wall, {total_cpu:.2f} s CPU for {len(COMBOS)} (level, method) "
          f"combinations (CPU time is the fairer figure on a shared machine)")


if __name__ == "__main__":
    main()
