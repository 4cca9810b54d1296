"""``report.html``: a self-contained, offline page per run directory, computed from the stored files alone.

The page holds everything summary.md says (rendered from it, so the two never disagree) with the plots of
``analysis/``, every table sortable and filterable (plain tables without JavaScript), and a per-summary
explorer whose data live next to the page in ``report_data/`` (see :mod:`.data`). CSS and JavaScript are the
project's own, inlined; nothing is fetched from the network. No model is loaded.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

import pandas as pd

from ...io import write_text
from .data import DATA_DIR, write_data
from .markdown import to_html

REPORT_FILE = "report.html"


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, so that lazily loaded plots do not shift the page (a jump to
    #explorer would land elsewhere)."""
    head = path.read_bytes()[:24]
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _img(path: Path) -> str:
    size = _png_size(path)
    dims = ""
    if size:  # shown at most 620 px wide (report.css), so the reserved box matches the drawn one
        w, h = size
        scale = min(1.0, 620 / w) if w else 1.0
        dims = f' width="{round(w * scale)}" height="{round(h * scale)}"'
    name = html.escape(path.name)
    return f'<img src="analysis/{name}"{dims} loading="lazy" alt="{html.escape(path.stem)}">'


def _plots(run_dir: Path) -> str:
    """Figures for every PNG the analysis wrote, linked relatively (they stay files in the run directory)."""
    pngs = sorted((run_dir / "analysis").glob("*.png")) if (run_dir / "analysis").is_dir() else []
    if not pngs:
        return "<p>No plots (the run has no human labels, or the analysis was run with --no-plots).</p>"
    return "\n".join(
        f'<figure><a href="analysis/{html.escape(p.name)}">{_img(p)}</a>'
        f'<figcaption>{html.escape(p.name)}</figcaption></figure>'
        for p in pngs
    )


def write_html(run_dir: str | Path, meta: dict, scores: pd.DataFrame) -> Path:
    """Write ``report.html`` and ``report_data/`` into ``run_dir`` (which already holds summary.md)."""
    run_dir = Path(run_dir)
    info = write_data(run_dir, meta, scores)
    summary_path = run_dir / "summary.md"
    summary = to_html(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else "<p>summary.md is missing.</p>"
    title = "factbench report: " + ", ".join(d.get("name", "?") for d in meta.get("datasets", []))
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{_asset("report.css")}
</style>
</head>
<body>
<header class="top"><b>factbench</b><a href="#summary">Summary</a><a href="#plots">Plots</a><a href="#explorer">Explorer</a></header>
<main>
<section id="summary">
{summary}
</section>
<section id="plots">
<h2>Plots</h2>
{_plots(run_dir)}
</section>
<section id="explorer">
<h2>Explorer: {info["n"]} summaries</h2>
<p class="muted">Filter, sort (by any score, label, or the disagreement between a score and a label: the
difference of their percentile ranks within the dataset), search, and click a row to see the summary, its
source, its labels and every metric's details.</p>
<noscript><p>The explorer needs JavaScript. Every per-summary score and detail is in <code>scores.csv</code>
and <code>results.jsonl</code> of this run directory.</p></noscript>
<div id="fb-explorer" data-n="{info["n"]}" data-chunks="{info["n_chunks"]}"><p>loading {DATA_DIR}/index.js&hellip;</p></div>
</section>
</main>
<script>
{_asset("report.js")}
</script>
<script src="{DATA_DIR}/index.js"></script>
</body>
</html>
"""
    out = run_dir / REPORT_FILE
    write_text(out, page)
    return out
