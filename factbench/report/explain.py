"""The QA-pair figure of one summary (QUALS paper, Figure 1 style) from a run directory: for each selected
QA pair, per-token log-probabilities given the summary (blue) and given the source (orange), with the
pair's term. Read from ``results.jsonl`` only; no model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigError, RunError

SUMMARY_COLOUR, SOURCE_COLOUR = "#1f77b4", "#ff7f0e"  # the same colours as report.html


def find_result(run_dir: str | Path, example_id: str, metric: str = "quals", dataset: str | None = None) -> dict:
    """The ``results.jsonl`` row of ``example_id`` (in ``dataset``, when given) for ``metric``."""
    path = Path(run_dir) / "results.jsonl"
    if not path.is_file():
        raise RunError(f"{run_dir} is not a finished run directory: results.jsonl is missing")
    matches, metrics_seen, example_seen = [], set(), False
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            metrics_seen.add(row.get("metric"))
            if row.get("example_id") != example_id or (dataset is not None and row.get("dataset") != dataset):
                continue
            example_seen = True
            if row.get("metric") == metric:
                matches.append(row)
    if metric not in metrics_seen:
        raise ConfigError(f"--metric {metric!r} is not in this run; its metrics: {', '.join(sorted(map(str, metrics_seen)))}")
    if not example_seen:
        where = f" in dataset {dataset!r}" if dataset else ""
        raise ConfigError(f"--example {example_id!r}: no such example{where} in {path}")
    if len(matches) > 1:
        names = ", ".join(sorted(r["dataset"] for r in matches))
        raise ConfigError(f"--example {example_id!r} is in several datasets ({names}); choose one with --dataset")
    return matches[0]


def _printable(text) -> str:
    # control characters (random tiny models generate them) have no glyph and would only make warnings
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in str(text))


def _num(value: float, digits: int = 3) -> str:
    """Fixed decimals, or scientific notation for a tiny non-zero value (which would print as 0.000)."""
    return f"{value:.{digits}f}" if value == 0 or abs(value) >= 10 ** -digits else f"{value:.1e}"


def _token(text: str) -> str:
    # byte-level BPE marks a leading space with 'Ġ', SentencePiece with '▁'
    return _printable(str(text).replace("\u0120", " ").replace("\u2581", " ").replace("\u010a", "\\n")).strip() or "␣"


def qa_pair_figure(row: dict, out: str | Path, max_pairs: int = 10) -> Path:
    """Draw the QA pairs of a QUALS-like ``results.jsonl`` row into ``out`` (.png, .svg or .pdf)."""
    import matplotlib.pyplot as plt

    fig = draw_qa_pairs(row, max_pairs)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out


def draw_qa_pairs(row: dict, max_pairs: int = 10):
    """The matplotlib figure: one panel per QA pair (at most ``max_pairs``), two bars per token."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    details = row.get("details") or {}
    pairs = [p for p in details.get("qa_pairs") or []
             if isinstance(p, dict) and p.get("tokens") and p.get("logprobs_source") and p.get("logprobs_summary")
             and len(p["tokens"]) == len(p["logprobs_source"]) == len(p["logprobs_summary"])]
    name = f"{row.get('dataset')}/{row.get('example_id')}"
    if not pairs:
        why = details.get("reason") or row.get("missing") or "the metric stored no per-token log-probabilities"
        raise RunError(f"{row.get('metric')} has no QA pair with per-token log-probabilities for {name}: {why}")
    pairs = pairs[:max_pairs]
    width = max(len(p["tokens"]) for p in pairs)
    fig, axes = plt.subplots(len(pairs), 1, figsize=(max(6.0, 0.32 * width + 1.5), 2.3 * len(pairs)), squeeze=False)
    deepest = max(-min(p["logprobs_source"] + p["logprobs_summary"]) for p in pairs)
    for ax, p in zip(axes[:, 0], pairs):
        x = range(len(p["tokens"]))
        ax.bar([i - 0.2 for i in x], p["logprobs_summary"], width=0.4, color=SUMMARY_COLOUR, label="log p(token | summary)")
        ax.bar([i + 0.2 for i in x], p["logprobs_source"], width=0.4, color=SOURCE_COLOUR, label="log p(token | source)")
        ax.set_xticks(list(x), [_token(t) for t in p["tokens"]], rotation=60, ha="right", fontsize=7)
        ax.set_xlim(-0.6, width - 0.4)
        ax.set_ylim(-max(1.0, deepest) * 1.05, 0)
        ax.axhline(0, color="grey", lw=0.5)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("log p", fontsize=7)
        m_src = p.get("mean_source", sum(p["logprobs_source"]) / len(p["logprobs_source"]))
        m_sum = p.get("mean_summary", sum(p["logprobs_summary"]) / len(p["logprobs_summary"]))
        ax.set_title(f"Q: {_printable(p.get('question') or '(empty)')}   A: {_printable(p.get('answer') or '(empty)')}   "
                     f"term {_num(m_src - m_sum)} (source {m_src:.2f} − summary {m_sum:.2f})", fontsize=8, loc="left")
    axes[0, 0].legend(fontsize=7, loc="lower right")
    scores = ", ".join(f"{k} = {_num(v, 4)}" for k, v in (row.get("scores") or {}).items() if isinstance(v, (int, float)))
    title = f"{row.get('metric')} QA pairs of {name}" + (f" ({scores})" if scores else "")
    if details.get("warning"):
        title += f"\n{details['warning']}"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
