"""The engines: worker scaling and Ray overhead for QUALS and QAGS at base size; driver memory against records.

``throughput``: QUALS and QAGS on the first N summaries of qags-cnndm, with random-weight BART-base/BERT-base
models (``factbench.bench.archs``, as ``factbench bench --arch base``) and the bench's random-weight stand-ins
(so that random weights do the work a real model would), generation lengths fixed as in ``factbench bench``.
Each metric runs through ``factbench.runner.run`` with the local engine (1 torch thread), then Ray with 1 and
2 workers (1 CPU, 1 torch thread each), stage cache off. Every engine first scores one warm-up record in
each worker (models loaded, outside the timing: the ``setup`` hook); the time is the runner's scoring wall time
(``timings.json``), repeats interleaved (local, ray1, ray2, local, ...); medians. Reported: summaries/s,
2 workers / 1 worker, Ray 1 worker / local - 1 (the overhead), and whether the scores.csv files are identical.

    FACTBENCH_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_engines.py throughput -n 16 --repeats 3

``memory``: ROUGE over K synthetic records (seeded JSONL, 60-word sources, 12-word summaries and references),
one fresh ``factbench run`` process per size; reported: the driver's peak resident memory when scoring ends
(``timings.json``, ru_maxrss) and over the whole command including the reports (the child's ru_maxrss).

    .venv/bin/python benchmarks/bench_engines.py memory --sizes 20000,200000

Both write ``--out`` (default ``reports/bench-engines``): ``<kind>.json`` and ``<kind>.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# -- memory ------------------------------------------------------------------------------------------------

WORDS = ("the council approved a budget of million for new roads and schools on monday after a long debate "
         "officials said residents will vote in may on the plan").split()


def synthetic(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            summary = " ".join(rng.choice(WORDS) for _ in range(12))
            fh.write(json.dumps({"id": f"e{i}", "source": " ".join(rng.choice(WORDS) for _ in range(60)),
                                 "summary": summary, "reference": " ".join(rng.choice(WORDS) for _ in range(12))}) + "\n")


def memory(args) -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in args.sizes.split(",")]:
            data, out = Path(tmp) / f"syn{n}.jsonl", Path(tmp) / f"run{n}"
            synthetic(data, n)
            command = [sys.executable, "-c", "from factbench.cli import main; main()", "run", "--dataset", str(data),
                       "--metrics", "rouge", "--no-cache", "--quiet", "--out", str(out)]
            # A wrapper process, so that RUSAGE_CHILDREN is this one command's peak.
            wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
                       "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(done.stderr)
            timings = json.loads((out / "timings.json").read_text())
            rows.append({"records": n, "scoring_peak_mb": timings["peak_memory_mb"],
                         "command_peak_mb": int(done.stdout.split()[-1]) / 1024,
                         "scoring_wall_s": timings["metrics"]["rouge"]["wall_s"],
                         "command_wall_s": time.perf_counter() - start})
            print(json.dumps(rows[-1]), flush=True)
    first, last = rows[0], rows[-1]
    return {"rows": rows, "ratio_scoring": last["scoring_peak_mb"] / first["scoring_peak_mb"],
            "ratio_command": last["command_peak_mb"] / first["command_peak_mb"]}


def memory_md(result: dict) -> str:
    lines = ["| records | driver peak at end of scoring (MB) | whole command incl. reports (MB) | scoring wall s | command wall s |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['records']} | {r['scoring_peak_mb']:.0f} | {r['command_peak_mb']:.0f} | {r['scoring_wall_s']:.1f} | "
              f"{r['command_wall_s']:.1f} |" for r in result["rows"]]
    lines += ["", f"Largest / smallest: {result['ratio_scoring']:.2f}x at the end of scoring, "
                  f"{result['ratio_command']:.2f}x over the whole command (target: 200k <= 1.5x 20k)."]
    return "\n".join(lines)


# -- throughput --------------------------------------------------------------------------------------------

def _warm(metrics: dict) -> None:
    """The engines' setup hook, run where the metrics score: the bench's random-weight stand-ins, then one
    warm-up record so that model loading is not timed. Defined in __main__, so Ray pickles it by value."""
    from types import SimpleNamespace

    import torch

    from factbench.bench.runner import random_weight_stand_ins

    torch.set_num_threads(1)
    for name, metric in metrics.items():
        random_weight_stand_ins(SimpleNamespace(metric=name, instance=metric))
        metric.score([WARMUP[0]])


WARMUP: list = []


def throughput(args) -> dict:
    import torch

    from factbench import datasets as ds
    from factbench.bench import archs
    from factbench.bench.runner import corpus_texts, generation_settings, model_settings
    from factbench.metrics import metric_class
    from factbench.runner import RunConfig, run

    torch.set_num_threads(1)
    # The arch tokenizers are trained in this process before Ray forks its workers.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    records = ds.load("qags-cnndm", args.data_dir).records
    WARMUP.append(records[args.n])  # a record outside the measured ones
    texts = corpus_texts(args.data_dir)
    engines = [("local", {})] + [(f"ray{w}", {"workers": w, "cpus_per_worker": 1}) for w in args.workers]
    times: dict = {}
    identical: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        rows = [{"id": r.example_id, "source": r.source, "summary": r.summary} for r in records[: args.n]]
        data = Path(tmp) / "qags-cnndm-first.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        for metric in args.metrics:
            defaults = metric_class(metric).load_card().settings(None)
            settings = {k: archs.ensure("base", kind, texts) for k, kind in model_settings(metric).items()}
            settings.update(generation_settings(metric, defaults), device="cpu", batch_size=args.batch_size)
            for repeat in range(args.repeats):
                for name, options in engines:
                    run_dir = Path(tmp) / f"{metric}-{name}-{repeat}"
                    cfg = RunConfig(datasets=[str(data)], metrics=[metric], out_dir=run_dir, use_cache=False,
                                    progress=False, settings={metric: settings},
                                    engine="local" if name == "local" else "ray", engine_options={**options, "setup": _warm})
                    run(cfg)
                    wall = json.loads((run_dir / "timings.json").read_text())["metrics"][metric]["wall_s"]
                    times.setdefault(metric, {}).setdefault(name, []).append(wall)
                    scores = (run_dir / "scores.csv").read_bytes()
                    if name == "local":  # engines run local first in each repeat
                        reference = scores
                    else:
                        same = identical.setdefault(metric, {})
                        same[name] = same.get(name, True) and scores == reference
                    print(f"{metric} {name} repeat {repeat}: {wall:.1f} s for {args.n} summaries", flush=True)
    result = {"n": args.n, "batch_size": args.batch_size, "repeats": args.repeats, "arch": "base",
              "cpus": os.cpu_count(), "metrics": {}}
    for metric, by_engine in times.items():
        med = {name: statistics.median(v) for name, v in by_engine.items()}
        entry = {"wall_s": by_engine, "median_s": med,
                 "summaries_per_s": {name: args.n / t for name, t in med.items()},
                 "identical_scores": identical.get(metric, {})}
        if "ray1" in med:
            entry["ray1_overhead_vs_local"] = med["ray1"] / med["local"] - 1
        if "ray1" in med and "ray2" in med:
            entry["speedup_2_vs_1_workers"] = med["ray1"] / med["ray2"]
        result["metrics"][metric] = entry
    return result


def throughput_md(result: dict) -> str:
    lines = [f"{result['n']} qags-cnndm summaries, batch size {result['batch_size']}, random BART-base/BERT-base, "
             f"{result['repeats']} repeat(s), medians; {result['cpus']} CPUs.", "",
             "| metric | engine | median s | summaries/s | scores.csv = local |", "|---|---|---|---|---|"]
    for metric, e in result["metrics"].items():
        for name, t in e["median_s"].items():
            same = "-" if name == "local" else ("yes" if e["identical_scores"][name] else "NO")
            lines.append(f"| {metric} | {name} | {t:.1f} | {e['summaries_per_s'][name]:.3f} | {same} |")
    lines.append("")
    for metric, e in result["metrics"].items():
        if "speedup_2_vs_1_workers" in e:
            lines.append(f"- {metric}: 2 workers / 1 worker = {e['speedup_2_vs_1_workers']:.2f}x (target >= 1.7x); "
                         f"Ray 1 worker vs local: {100 * e['ray1_overhead_vs_local']:+.1f} % (target <= 10 %)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--sizes", default="20000,200000")
    t = sub.add_parser("throughput")
    t.add_argument("-n", type=int, default=16)
    t.add_argument("--metrics", default="quals,qags")
    t.add_argument("--workers", default="1,2")
    t.add_argument("--batch-size", type=int, default=2)
    t.add_argument("--repeats", type=int, default=3)
    t.add_argument("--data-dir", default=os.environ.get("FACTBENCH_DATA_DIR"))
    for p in (m, t):
        p.add_argument("--out", default=str(REPO / "reports" / "bench-engines"))
    args = parser.parse_args()
    if args.kind == "memory":
        result = memory(args)
        md = memory_md(result)
    else:
        args.metrics = args.metrics.split(",")
        args.workers = [int(w) for w in args.workers.split(",")]
        result = throughput(args)
        md = throughput_md(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result["command"] = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    if args.kind == "throughput":
        result["note"] = ("timing ratios are only meaningful on an otherwise idle machine: on a shared one, other "
                          "processes take CPU time from the workers")
    (out / f"{args.kind}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{args.kind}.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
