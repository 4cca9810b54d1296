"""Reports of a run directory, recomputed from its stored files alone (scores.csv, results.jsonl,
run.json, timings.json): the comparison table, the run summary, and the analysis against human labels."""

from __future__ import annotations

import heapq
import json
from collections import Counter
from pathlib import Path

import pandas as pd

from ..errors import RunError
from ..io import read_json, write_text
from .tables import comparison_table, markdown_table, wide_means

LOWEST_SHOWN = 3


def load_run(run_dir: str | Path) -> tuple[dict, pd.DataFrame]:
    run_dir = Path(run_dir)
    for name in ("run.json", "scores.csv"):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} is not a finished run directory: {name} is missing")
    meta = read_json(run_dir / "run.json")
    scores = pd.read_csv(run_dir / "scores.csv", dtype={"example_id": str, "doc_id": str, "system": str, "split": str})
    return meta, scores


def score_columns(meta: dict) -> list[str]:
    return [n for m in meta["metrics"].values() for n in m["score_names"]]


def write_reports(run_dir: str | Path) -> Path:
    """(Re)write table.csv, table.md, summary.md and the analysis of a run directory; return summary.md."""
    run_dir = Path(run_dir)
    meta, scores = load_run(run_dir)
    columns = score_columns(meta)
    table = comparison_table(scores, columns)
    with open(run_dir / "table.csv", "w", newline="", encoding="utf-8") as fh:
        table.to_csv(fh, index=False)
    write_text(run_dir / "table.md", markdown_table(wide_means(table)) + "\n")

    analysis_md = ""
    label_columns = [c for c in scores.columns if c.startswith("label:")]
    if label_columns:
        try:
            from .analysis import analyze_run
        except ImportError:
            analyze_run = None
        if analyze_run is not None:
            analysis_md = analyze_run(run_dir)

    timings = read_json(run_dir / "timings.json") if (run_dir / "timings.json").exists() else None
    summary = render_summary(meta, table, timings, _lowest(run_dir, meta, scores), analysis_md)
    write_text(run_dir / "summary.md", summary)
    return run_dir / "summary.md"


def render_summary(meta: dict, table: pd.DataFrame, timings: dict | None, lowest: str, analysis_md: str) -> str:
    lines = ["# factbench run", ""]
    if any(m.get("profile") == "tiny" for m in meta["metrics"].values()):
        lines += [
            "> **Tiny profile: these numbers are meaningless.** The tiny models are random weights built to test",
            "> the mechanics; use the `paper` or `fast` profile for scores that mean something.",
            "",
        ]
    lines += [
        f"- command: `{meta.get('command') or 'n/a'}`",
        f"- factbench {meta['factbench_version']}, git {meta.get('git_commit') or 'n/a'}, seed {meta['seed']}",
        f"- started {meta['started']}, ended {meta['ended']}; machine {meta['machine'].get('platform')}, "
        f"{meta['machine'].get('cpus')} CPUs",
        "",
        "## Datasets",
        "",
    ]
    for d in meta["datasets"]:
        lines.append(f"- **{d['name']}** (split {d['split']}, {d['n']} summaries): {d.get('description', '')}")
        for name, scale in d["label_scales"].items():
            lines.append(
                f"  - label `{name}` in [{scale['low']}, {scale['high']}] ({scale['kind']}): {scale['description']}"
            )
    lines += ["", "## Metrics", ""]
    for label, m in meta["metrics"].items():
        lines.append(f"- **{label}**: `{m['signature']}`")
    lines += ["", "## Scores (mean per dataset and system)", "", markdown_table(wide_means(table)), ""]
    if timings:
        lines += ["## Speed", "", "| metric | summaries | wall s | summaries/s | cache hits | cache misses |", "|---|---|---|---|---|---|"]
        for label, t in timings["metrics"].items():
            rate = t.get("summaries_per_s")
            cache = t.get("cache", {})
            lines.append(
                f"| {label} | {t['summaries']} (+{t['resumed']} resumed) | {t['wall_s']:.2f} | "
                f"{'n/a' if rate is None else f'{rate:.1f}'} | {sum(cache.get('hits', {}).values())} | "
                f"{sum(cache.get('misses', {}).values())} |"
            )
        stage_rows = [
            f"| {label} | {stage} | {s.get('wall_s', 0.0):.2f} | {s.get('cpu_s', 0.0):.2f} | {s.get('model_calls', 0):.0f} | "
            f"{s.get('tokens_in', 0):.0f} | {s.get('tokens_out', 0):.0f} | {s.get('flops', 0.0) / 1e9:.2f} | "
            f"{s['flops'] / s['wall_s'] / 1e9 if s.get('flops') and s.get('wall_s') else 0.0:.1f} |"
            for label, t in timings["metrics"].items()
            for stage, s in t.get("stages", {}).items()
        ]
        if stage_rows:  # estimated FLOPs are the adapters' counters (2 x parameters x tokens)
            lines += ["", "| metric | stage | wall s | cpu s | model calls | tokens in | tokens out | est. GFLOP | GFLOP/s |",
                      "|---|---|---|---|---|---|---|---|---|", *stage_rows]
        lines += ["", f"Peak memory: {timings['peak_memory_mb']:.0f} MB.", ""]
    if analysis_md:
        lines += [analysis_md, ""]
    if lowest:
        lines += [lowest, ""]
    return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    """A missing reason without its record-specific tail, so that like reasons are counted together."""
    return reason.split(" for ")[0].split(": ")[0][:120]


def _lowest(run_dir: Path, meta: dict, scores: pd.DataFrame) -> str:
    """Per metric: the summaries it could not score and why, and the lowest-scoring summaries with the
    details the metric can show (e.g. QA pairs)."""
    from ..metrics import metric_class

    results_path = run_dir / "results.jsonl"
    if not results_path.exists():
        return ""
    formatters = {}
    for label, m in meta["metrics"].items():
        try:
            cls = metric_class(label)
        except Exception:  # noqa: BLE001 - a plug-in that is not installed here just shows no details
            continue
        if m["score_names"]:
            formatters[label] = (cls.format_details, m["score_names"][0])
    sections = []
    # One pass over results.jsonl keeping, per metric, counts, the first missing ids and the lowest rows only:
    # memory does not grow with the number of records.
    seen: dict[str, dict] = {}
    with results_path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            row = json.loads(line)
            if row["metric"] not in formatters:
                continue
            acc = seen.setdefault(row["metric"], {"rows": 0, "missing": 0, "reasons": Counter(), "ids": [], "lowest": []})
            acc["rows"] += 1
            if row.get("missing"):
                acc["missing"] += 1
                acc["reasons"][_reason_kind(row["missing"])] += 1
                if len(acc["ids"]) < 10:
                    acc["ids"].append(f"{row['dataset']}/{row['example_id']}")
            value = row["scores"].get(formatters[row["metric"]][1])
            if value is not None:  # ties keep file order, as a stable sort of all rows would
                heapq.heappush(acc["lowest"], (-value, -n, row))
                if len(acc["lowest"]) > LOWEST_SHOWN:
                    heapq.heappop(acc["lowest"])
    for label, acc in seen.items():
        if acc["missing"]:
            sections += [f"## Unscored by {label}: {acc['missing']} of {acc['rows']} summaries", ""]
            sections += [f"- {n} x {reason}" for reason, n in acc["reasons"].most_common(5)]
            ids = ", ".join(acc["ids"][:10])
            sections += [f"- examples: {ids}{' ...' if acc['missing'] > 10 else ''}", ""]
        fmt, main_score = formatters[label]
        scored = [row for _, _, row in sorted(acc["lowest"], reverse=True)]
        shown = [(r, fmt(r["details"])) for r in scored[:LOWEST_SHOWN]]
        shown = [(r, text) for r, text in shown if text]
        if not shown:
            continue
        sections.append(f"## Lowest-scoring summaries by {label} ({main_score})")
        for r, text in shown:
            sections += ["", f"### {r['dataset']} / {r['example_id']}: {main_score} = {r['scores'][main_score]:.4f}", "", text]
        sections.append("")
    return "\n".join(sections)
