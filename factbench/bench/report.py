"""The bench report from ``bench.json`` alone: Markdown tables, ratios with bootstrap intervals, a bar chart.

Statistics: per configuration the median wall time over the timed repeats and its spread (min-max);
a ratio of two configurations is the ratio of their medians, with a percentile bootstrap interval that
resamples each side's repeat times with replacement (``bootstrap`` resamples, seeded). With 3 repeats the
interval is coarse (it can only take the values the 3 x 3 medians allow); it says how stable the figures
were, not more.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from ..io import read_json, write_text

CI = 0.95
ARCH_NOTE = {
    "base": "Random weights: the scores mean nothing; the costs are those of the real architectures.",
    "paper": "Random weights: the scores mean nothing; the costs are those of the real architectures.",
    "tiny": "**Tiny models: the costs say nothing about real models; this tests the mechanics.**",
}


def ratio_ci(a: list[float], b: list[float], n_boot: int = 2000, seed: int = 0) -> tuple[float, float | None, float | None]:
    """``median(a) / median(b)`` with a percentile bootstrap interval over both samples (None if < 2 each).

    Examples
    --------
    >>> ratio_ci([4.0, 4.0, 4.0], [2.0, 2.0, 2.0])
    (2.0, 2.0, 2.0)
    """
    point = statistics.median(a) / statistics.median(b)
    if len(a) < 2 or len(b) < 2:
        return point, None, None
    rng = np.random.default_rng(seed)
    aa, bb = np.asarray(a), np.asarray(b)
    ra = np.median(aa[rng.integers(0, len(aa), (n_boot, len(aa)))], axis=1)
    rb = np.median(bb[rng.integers(0, len(bb), (n_boot, len(bb)))], axis=1)
    lo, hi = np.quantile(ra / rb, [(1 - CI) / 2, 1 - (1 - CI) / 2])
    return point, float(lo), float(hi)


def _fmt_ratio(r) -> str:
    point, lo, hi = r
    return f"{point:.2f}x" + ("" if lo is None else f" [{lo:.2f}, {hi:.2f}]")


def _g(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _label(c: dict) -> str:
    return f"{c['metric']} / {c['mode']} / {c['dtype']}"


def _total_flops(c: dict) -> float:
    return sum(c["flops"].get("counted", {}).values())


def stage_rows(c: dict, n: int, peaks: dict) -> list[dict]:
    """Per stage: median wall per summary, counted FLOPs, achieved GFLOP/s and fraction of peak."""
    rows = []
    stages = sorted({s for rep in c["stages"] for s in rep} | set(c["flops"].get("counted", {})) - {"(outside stages)"})
    peak = peaks.get(c["dtype"], {}).get("gflops")
    by_model = c["flops"].get("by_model", {})
    for s in stages:
        walls = [rep.get(s, {}).get("wall_s", 0.0) for rep in c["stages"]]
        wall = statistics.median(walls) if walls else None
        cpus = [rep.get(s, {}).get("cpu_s", 0.0) for rep in c["stages"]]
        flops = c["flops"].get("counted", {}).get(s, 0.0)
        est = sum(m["estimate_2n"] for m in by_model.get(s, {}).values()) if by_model.get(s) else None
        rate = flops / wall / 1e9 if wall and flops else None
        fastest = min(walls) if walls else None
        best_rate = flops / fastest / 1e9 if fastest and flops else None
        counters = (c["stages"][0] if c["stages"] else c["flops"].get("counting_stages", {})).get(s, {})
        rows.append({
            "stage": s,
            "wall_per_summary": wall / n if wall is not None else None,
            "cpu_per_summary": statistics.median(cpus) / n if cpus else None,
            "gflop_per_summary": flops / n / 1e9,
            "estimate_gflop_per_summary": est / n / 1e9 if est else None,
            "gflops": rate,
            "peak_fraction": rate / peak if rate and peak else None,
            "fastest_peak_fraction": best_rate / peak if best_rate and peak else None,
            "model_calls": counters.get("model_calls"),
            "tokens_in": counters.get("tokens_in"),
            "tokens_out": counters.get("tokens_out"),
            "items": counters.get("items"),
        })
    return rows


def render(raw: dict, bootstrap: int = 2000, seed: int = 0) -> str:
    n = len(raw["records"])
    peaks = {k: v for k, v in raw["peak"].items() if "gflops" in v}
    configs = raw["configs"]
    timed = [c for c in configs if c["wall_s"]]
    p = raw["protocol"]
    protocol = (
        "FLOP count only (no timed repeats)"
        if p["flops_only"]
        else f"{p['warmup']} warm-up run(s) (the first loads the models and counts FLOPs, untimed), {p['repeats']} timed repeats"
    )
    lines = [
        "# factbench bench",
        "",
        *([] if raw.get("complete", True) else ["> **Incomplete: the bench was interrupted; these are the repeats it finished.**", ""]),
        f"- command: `{raw.get('command') or 'n/a'}`",
        f"- started {raw['started']}, ended {raw['ended']}",
        f"- machine: {raw['machine']['platform']}, {raw['machine']['processor']}, torch {raw['machine']['torch']}, "
        f"transformers {raw['machine']['transformers']}, {raw['machine']['threads']} threads; peak memory "
        f"{raw['machine']['peak_memory_mb']:.0f} MB",
        f"- models: `--arch {raw['arch']['name']}`: {raw['arch']['description']}. " + ARCH_NOTE.get(raw["arch"]["name"], ""),
        f"- data: {n} records of {p['dataset']} (first {n}; mean {statistics.mean(r['source_words'] for r in raw['records']):.0f} "
        f"source words, {statistics.mean(r['summary_words'] for r in raw['records']):.0f} summary words)",
        f"- protocol: {protocol}"
        f"{', interleaved across configurations' if p['interleave'] and not p['flops_only'] else ''}; stage cache off; "
        f"generation lengths fixed: {', '.join(f'{k} {v} tokens' for k, v in raw['generation_tokens'].items())}",
        f"- ratios: ratio of medians, [{CI:.0%} percentile bootstrap over the repeat times, {bootstrap} resamples, seed {seed}]",
        "",
    ]
    if raw.get("tokens_per_word"):
        lines += ["Source tokens per whitespace word of the tokenizers used (a realism check: sequence lengths set the "
                  "costs; the BERT one is the real bert-base-uncased vocabulary when available):", ""]
        lines += [f"- `{k}`: {v:.2f}" for k, v in raw["tokens_per_word"].items()]
        lines.append("")
    lines += ["## Matmul peak", "",
              "Median GFLOP/s of `repeats` square products after warm-up; measured before the runs and after every "
              "round of repeats, the best of these measurements is the ceiling (other load only slows one down).", "",
              "| dtype | GFLOP/s (ceiling) | fastest single product | every measurement | n | repeats |",
              "|---|---|---|---|---|---|"]
    for dt, v in raw["peak"].items():
        if "gflops" in v:
            every = ", ".join(f"{g:.1f}" for g in v.get("all_gflops", [v["gflops"]]))
            lines.append(f"| {dt} | {v['gflops']:.1f} | {v['best_gflops']:.1f} | {every} | {v['n']} | {v['repeats']} |")
        else:
            lines.append(f"| {dt} | unsupported: {v['unsupported']} | | | | |")
    lines += ["", "## Per configuration", "",
              "| metric / mode / dtype | s per summary (median) | spread (min-max) | CPU s per summary | summaries/s | "
              "GFLOP per summary | achieved GFLOP/s | % of peak | first run s (incl. load) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for c in configs:
        flops = _total_flops(c) / n / 1e9
        if c["wall_s"]:
            med = statistics.median(c["wall_s"]) / n
            spread = f"{min(c['wall_s']) / n:.3f}-{max(c['wall_s']) / n:.3f}"
            rate = _total_flops(c) / statistics.median(c["wall_s"]) / 1e9
            pk = peaks.get(c["dtype"], {}).get("gflops")
            cpu = statistics.median(c["cpu_s"]) / n
            lines.append(f"| {_label(c)} | {med:.3f} | {spread} | {cpu:.3f} | {1 / med:.2f} | {flops:.1f} | {rate:.1f} | "
                         f"{_g(100 * rate / pk if pk else None)} | {_g(c['first_run_s'])} |")
        else:
            lines.append(f"| {_label(c)} | not timed | | | | {flops:.1f} | | | {_g(c['first_run_s'])} |")
    lines += ["", "## Per stage", "",
              "Wall time from the metric's stage timer (median over repeats); FLOPs counted by torch's FlopCounterMode "
              "in the counting pass (every matmul and attention op that ran, padding included); the 2N estimate is "
              "`factbench.bench.flops.estimate` on the tokens each model processed (linear layers only, no attention "
              "scores); fraction of peak against the matmul peak of the stage's dtype, for the median and for the fastest "
              "repeat (on a shared machine, the one least slowed by other load). Counters (model calls, items, tokens) "
              "are the metric's own, from the first timed repeat, for all N summaries.", "",
              "| metric / mode / dtype | stage | s per summary | CPU s per summary | GFLOP per summary | 2N estimate | "
              "GFLOP/s | % of peak | % of peak, fastest repeat | model calls | items | tokens in | tokens out |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in configs:
        for r in stage_rows(c, n, peaks):
            lines.append(
                f"| {_label(c)} | {r['stage']} | {_g(r['wall_per_summary'], 3)} | {_g(r['cpu_per_summary'], 3)} | "
                f"{r['gflop_per_summary']:.2f} | "
                f"{_g(r['estimate_gflop_per_summary'], 2)} | {_g(r['gflops'])} | "
                f"{_g(100 * r['peak_fraction'] if r['peak_fraction'] else None)} | "
                f"{_g(100 * r['fastest_peak_fraction'] if r['fastest_peak_fraction'] else None)} | "
                f"{_g(r['model_calls'], 0)} | {_g(r['items'], 0)} | "
                f"{_g(r['tokens_in'], 0)} | {_g(r['tokens_out'], 0)} |"
            )
    lines += ["", "## Ratios", ""] + ratio_lines(configs, n, bootstrap, seed)
    lines += ["", "## Targets (issue 7, at base size on the project's CPU)", ""] + target_lines(configs, n, peaks, bootstrap, seed)
    lines += ["", "## bf16 against fp32", ""] + bf16_lines(configs, bootstrap, seed)
    stand_ins = [c for c in configs if c.get("stand_in")]
    if stand_ins:
        lines += ["", "## Random-weight stand-ins", ""]
        lines += [f"- {_label(c)}: {c['stand_in']}" for c in stand_ins]
    if raw["unavailable"]:
        lines += ["", "## Not measured", ""]
        lines += [f"- {u['metric']} / {u['mode']}{' / ' + u['dtype'] if u.get('dtype') else ''}: {u['why']}"
                  for u in raw["unavailable"]]
    if timed:
        lines += ["", "![time per summary by metric and stage](bench.png)"]
    return "\n".join(lines) + "\n"


def _find(configs, metric, mode, dtype):
    return next((c for c in configs if (c["metric"], c["mode"], c["dtype"]) == (metric, mode, dtype)), None)


def ratio_lines(configs: list[dict], n: int, bootstrap: int, seed: int) -> list[str]:
    rows = ["| comparison | wall-time ratio [CI] | ratio of fastest repeats | FLOP ratio |", "|---|---|---|---|"]
    keys = {(c["mode"], c["dtype"]) for c in configs}
    for mode, dtype in sorted(keys):
        a, b = _find(configs, "qags", mode, dtype), _find(configs, "quals", mode, dtype)
        if a and b:
            wall = _fmt_ratio(ratio_ci(a["wall_s"], b["wall_s"], bootstrap, seed)) if a["wall_s"] and b["wall_s"] else "not timed"
            fl = _total_flops(a) / _total_flops(b) if _total_flops(b) else None
            rows.append(f"| QAGS / QUALS ({mode}, {dtype}) | {wall} | {_fastest(a, b)} | {_g(fl, 2)}x |")
    for c in configs:
        if c["mode"] != "reference":
            continue
        f = _find(configs, c["metric"], "factbench", c["dtype"])
        if f:
            wall = _fmt_ratio(ratio_ci(c["wall_s"], f["wall_s"], bootstrap, seed)) if c["wall_s"] and f["wall_s"] else "not timed"
            fl = _total_flops(c) / _total_flops(f) if _total_flops(f) else None
            agree = score_diff(c, f)
            rows.append(f"| {c['metric']} reference / factbench ({c['dtype']}) | {wall} | {_fastest(c, f)} | {_g(fl, 2)}x; "
                        f"scores differ by max {agree} |")
    return rows if len(rows) > 2 else ["No pair of configurations to compare (QAGS and QUALS, or reference and factbench)."]


TARGET_SPEEDUP = {"quals": 3.0, "qags": 2.0}  # factbench at least this much faster than reference mode
TARGET_SCORING_PEAK = 0.40  # QUALS's teacher-forced scoring stage: at least 40 % of the fp32 matmul peak


def target_lines(configs: list[dict], n: int, peaks: dict, bootstrap: int, seed: int) -> list[str]:
    rows = []
    for metric, target in TARGET_SPEEDUP.items():
        ref, fb = _find(configs, metric, "reference", "fp32"), _find(configs, metric, "factbench", "fp32")
        if ref and fb and ref["wall_s"] and fb["wall_s"]:
            r = ratio_ci(ref["wall_s"], fb["wall_s"], bootstrap, seed)
            rows.append(f"- {metric}: factbench {_fmt_ratio(r)} faster than reference (target >= {target:.0f}x): "
                        f"{'met' if r[0] >= target else 'NOT met'}")
        elif _find(configs, metric, "factbench", "fp32"):
            rows.append(f"- {metric}: factbench against reference (target >= {target:.0f}x): not measured (no reference mode)")
    fb = _find(configs, "quals", "factbench", "fp32")
    if fb and fb["wall_s"]:
        for r in stage_rows(fb, n, peaks):
            if "scoring" in r["stage"] and r["peak_fraction"] is not None:
                best = r["fastest_peak_fraction"] or 0.0
                rows.append(f"- quals {r['stage']}: {100 * r['peak_fraction']:.0f} % of the fp32 matmul peak at the median, "
                            f"{100 * best:.0f} % in the fastest repeat (target >= {100 * TARGET_SCORING_PEAK:.0f} %): "
                            f"{'met' if r['peak_fraction'] >= TARGET_SCORING_PEAK else 'NOT met'} at the median, "
                            f"{'met' if best >= TARGET_SCORING_PEAK else 'NOT met'} in the fastest repeat")
    return rows or ["No configuration the targets apply to."]


def _fastest(a: dict, b: dict) -> str:
    """min(a) / min(b): on a shared machine the fastest repeat is the one least slowed by other load."""
    return f"{min(a['wall_s']) / min(b['wall_s']):.2f}x" if a["wall_s"] and b["wall_s"] else "n/a"


def score_diff(a: dict, b: dict) -> str:
    diffs = []
    for name, va in a["scores"].items():
        for x, y in zip(va, b["scores"].get(name, [])):
            if x is not None and y is not None:
                diffs.append(abs(x - y))
    return f"{max(diffs):.3g}" if diffs else "n/a"


def bf16_lines(configs: list[dict], bootstrap: int, seed: int) -> list[str]:
    rows = ["| metric / mode | fp32 / bf16 wall-time ratio [CI] | score | max abs diff | mean abs diff | n |",
            "|---|---|---|---|---|---|"]
    for c in configs:
        if c["dtype"] != "bf16":
            continue
        f = _find(configs, c["metric"], c["mode"], "fp32")
        if not f:
            continue
        wall = _fmt_ratio(ratio_ci(f["wall_s"], c["wall_s"], bootstrap, seed)) if c["wall_s"] and f["wall_s"] else "not timed"
        for name, vb in c["scores"].items():
            pairs = [(x, y) for x, y in zip(f["scores"].get(name, []), vb) if x is not None and y is not None]
            d = [abs(x - y) for x, y in pairs]
            rows.append(f"| {c['metric']} / {c['mode']} | {wall} | {name} | {_g(max(d) if d else None, 4)} | "
                        f"{_g(statistics.mean(d) if d else None, 4)} | {len(d)} |")
    return rows if len(rows) > 2 else ["Not measured (run with `--dtype fp32,bf16`)."]


def chart(raw: dict, path: Path) -> None:
    """Horizontal stacked bars: median seconds per summary of each stage, one bar per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(raw["records"])
    configs = [c for c in raw["configs"] if c["wall_s"]]
    stages = sorted({s for c in configs for rep in c["stages"] for s in rep})
    fig, ax = plt.subplots(figsize=(10, max(2.5, 1.2 + 0.5 * len(configs))))
    labels = [_label(c) for c in configs]
    left = np.zeros(len(configs))
    colors = plt.get_cmap("tab10")
    for i, s in enumerate(stages + ["other"]):
        vals = []
        for c in configs:
            per = {st: statistics.median([rep.get(st, {}).get("wall_s", 0.0) for rep in c["stages"]]) for st in stages}
            vals.append((max(statistics.median(c["wall_s"]) - sum(per.values()), 0.0) if s == "other" else per[s]) / n)
        ax.barh(labels, vals, left=left, label=s, color=colors(i % 10))
        left += np.asarray(vals)
    ax.set_xlabel("seconds per summary (median over repeats)")
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="stage")
    ax.set_title(f"time per summary by metric and stage (--arch {raw['arch']['name']}, n={n})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(out_dir: str | Path, bootstrap: int = 2000, seed: int = 0) -> Path:
    """(Re)write bench.md and bench.png from bench.json; return bench.md."""
    out = Path(out_dir)
    raw = read_json(out / "bench.json")
    if any(c["wall_s"] for c in raw["configs"]):
        chart(raw, out / "bench.png")
    write_text(out / "bench.md", render(raw, bootstrap, seed))
    return out / "bench.md"
