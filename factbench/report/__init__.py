"""Reports of a run directory, recomputed from its stored files alone (scores.csv, results.jsonl,
run.json, timings.json): the comparison table, the run summary, and the analysis against human labels."""

from __future__ import annotations

import heapq
import json
from collections import Counter
from pathlib import Path

import pandas as pd

from .. import rundir
from ..io import read_json, write_text
from ..stored import escape_frame, read_scores
from .tables import comparison_table, markdown_table, wide_means

LOWEST_SHOWN = 3


def load_run(run_dir: str | Path) -> tuple[dict, pd.DataFrame]:
    """run.json and scores.csv of a finished run, checked against the fingerprints run.json recorded."""
    run_dir = Path(run_dir)
    meta = rundir.verify(run_dir)
    scores = read_scores(run_dir / "scores.csv", required=score_columns(meta))
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
        escape_frame(table).to_csv(fh, index=False)
    write_text(run_dir / "table.md", markdown_table(wide_means(table)) + "\n")

    analysis_md = ""
    label_columns = [c for c in scores.columns if c.startswith("label:")]
    if label_columns:
        try:
            from .analysis import analyze_run
        except ImportError:
            analyze_run = None
        if analyze_run is not None:
            # The run's own analysis options (`factbench run --by FIELD`), so that `report` reproduces them.
            analysis_md = analyze_run(run_dir, **(meta.get("analysis") or {}))

    timings = read_json(run_dir / "timings.json") if (run_dir / "timings.json").exists() else None
    summary = render_summary(meta, table, timings, _lowest(run_dir, meta, scores), analysis_md,
                             parsing=unparsable_shares(run_dir))
    write_text(run_dir / "summary.md", summary)
    from .html import write_html

    write_html(run_dir, meta, scores)  # report.html renders summary.md, so it comes after it
    return run_dir / "summary.md"


def render_summary(meta: dict, table: pd.DataFrame, timings: dict | None, lowest: str, analysis_md: str,
                   parsing: str = "") -> str:
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
        if d.get("group_fields"):
            lines.append("  - groupable by (`--by FIELD`): "
                         + "; ".join(f"`{k}`: {v}" for k, v in d["group_fields"].items()))
    lines += ["", "## Metrics", ""]
    for label, m in meta["metrics"].items():
        lines.append(f"- **{label}**: `{m['signature']}`")
    lines += ["", "## Scores (mean per dataset and system)", "", markdown_table(wide_means(table)), ""]
    if parsing:
        lines += [parsing, ""]
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


def unparsable_shares(run_dir: str | Path) -> str:
    """Per metric whose details count generated output (``n_generated``, ``n_unparsable``, ``n_usable``: QUALS's
    QA sequences, QAGS's questions): the share of generated sequences that did not parse and the share of
    summaries left with no usable pair or question, as a Markdown table ("" when no metric counts them)."""
    path = Path(run_dir) / "results.jsonl"
    if not path.exists():
        return ""
    counts: dict[str, list[int]] = {}  # metric -> [generated, unparsable, summaries, without a usable one]
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if '"n_generated"' not in line:
                continue
            row = json.loads(line)
            d = row.get("details") or {}
            if "n_generated" not in d or "n_unparsable" not in d:
                continue
            c = counts.setdefault(row["metric"], [0, 0, 0, 0])
            c[0] += int(d["n_generated"])
            c[1] += int(d["n_unparsable"])
            c[2] += 1
            c[3] += int(d.get("n_usable", 1) == 0)
    if not counts:
        return ""

    def share(part: int, whole: int) -> str:
        return f"{100 * part / whole:.1f} % ({part} of {whole})" if whole else "n/a"

    lines = ["### Generated output that could not be used", "",
             "| metric | generated sequences that did not parse | summaries with no usable pair |", "|---|---|---|"]
    lines += [f"| {m} | {share(c[1], c[0])} | {share(c[3], c[2])} |" for m, c in counts.items()]
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
            acc = seen.setdefault(row["metric"], {"rows": 0, "missing": 0, "reasons": Counter(), "ids": [], "lowest": [],
                                                  "cut": 0, "cut_ids": []})
            acc["rows"] += 1
            details = row.get("details") or {}
            # Every metric that cuts its input says so in its details (QUALS source_truncated, FactCC truncated).
            if details.get("truncated") or details.get("source_truncated"):
                acc["cut"] += 1
                if len(acc["cut_ids"]) < 10:
                    acc["cut_ids"].append(f"{row['dataset']}/{row['example_id']}")
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
        if acc["cut"]:
            sections += [f"## Inputs cut by {label}: {acc['cut']} of {acc['rows']} summaries", "",
                         f"- the model saw only the first tokens of these inputs (see the metric's settings); "
                         f"examples: {', '.join(acc['cut_ids'])}{' ...' if acc['cut'] > 10 else ''}", ""]
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
