"""report.html without a browser: the Markdown rendering, the explorer's data files, and defensive reading
of details. What the page does with them in a real browser is tests/report/test_report_browser.py."""

import json
import re
import shutil

import pandas as pd

from factbench.report import write_reports
from factbench.report.html.data import DIGITS, ROWS_PER_CHUNK, read_chunk
from factbench.report.html.markdown import inline, to_html


def _load_js(path, call):
    """The JSON payload of a ``call(...);`` data file."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith(call + "(") and text.rstrip().endswith(");")
    return json.loads(text[len(call) + 1 : text.rstrip().rindex(")")])


def test_markdown_escapes_text_and_renders_tables():
    """Hand-written input and expected HTML: a summary's text must never become markup."""
    assert inline("a <b>x</b> & `<i>` **bold** *it*") == (
        "a &lt;b&gt;x&lt;/b&gt; &amp; <code>&lt;i&gt;</code> <strong>bold</strong> <em>it</em>")
    html = to_html("## Scores\n\n| a | b |\n|---|---|\n| 1 | <x> |\n\n- one\n  - nested\n- two\n")
    assert '<h2 id="scores">Scores</h2>' in html
    assert '<table class="data"><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>&lt;x&gt;</td></tr>' in html
    assert "<td>a | b</td><td>c</td>" in to_html("| x | y |\n|---|---|\n| a \\| b | c |")  # an escaped pipe
    assert html.count("<ul>") == 2 and "<li>one<ul><li>nested</li></ul></li><li>two</li></ul>" in html


def test_report_holds_summary_md_and_the_data_of_every_summary(tiny_run):
    """Every table of summary.md is in the page (same number, same header cells); the index holds each row of
    scores.csv with its scores, and each chunk the details of results.jsonl (rounded to DIGITS significant digits)."""
    page = (tiny_run / "report.html").read_text(encoding="utf-8")
    md = (tiny_run / "summary.md").read_text(encoding="utf-8")
    md_tables = re.findall(r"^\|.*\|\n\|(?:---\|)+$", md, flags=re.M)
    assert page.count('<table class="data">') == len(md_tables) > 3
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page  # offline
    for png in (tiny_run / "analysis").glob("*.png"):
        assert f'src="analysis/{png.name}"' in page

    scores = pd.read_csv(tiny_run / "scores.csv", dtype={"example_id": str})
    index = _load_js(tiny_run / "report_data" / "index.js", "FB.index")
    assert index["n"] == len(scores) and index["example_id"] == list(scores["example_id"])
    for name in ("rouge1", "quals", "entity_overlap"):
        expected = [None if pd.isna(v) else v for v in scores[name]]
        assert index["scores"][name] == expected
    assert index["labels"]["consistent"] == list(scores["label:consistent"].astype(float))
    texts = [json.loads(line) for line in (tiny_run / "texts.jsonl").open()]
    assert index["summary"] == [next(t["summary"] for t in texts if t.get("example_id") == e) for e in index["example_id"]]

    chunks = sorted((tiny_run / "report_data").glob("chunk_*.js"))
    assert len(chunks) == -(-len(scores) // ROWS_PER_CHUNK) == index["n_chunks"]
    assert chunks[0].read_text().startswith('FB.chunkz("')
    chunk = read_chunk(chunks[0])
    row_of = {e: i for i, e in enumerate(index["example_id"])}
    for line in (tiny_run / "results.jsonl").open():
        r = json.loads(line)
        stored = chunk["rows"][str(row_of[r["example_id"]])]["metrics"][r["metric"]]
        assert stored["missing"] == r["missing"]
        for k, pair in enumerate(r["details"].get("qa_pairs", [])):
            got = stored["details"]["qa_pairs"][k]
            assert got["tokens"] == pair["tokens"]
            assert got["logprobs_source"] == [float(f"{v:.{DIGITS}g}") for v in pair["logprobs_source"]]
            assert "diff_per_token" not in got  # derived, recomputed by the page
        source_id = chunk["rows"][str(row_of[r["example_id"]])]["source_id"]
        assert chunk["sources"][str(source_id)] == next(t["source"] for t in texts if t.get("source_id") == source_id
                                                        and "source" in t)


def test_report_tolerates_missing_texts_and_odd_details(tiny_run, tmp_path, write_results):
    """A run without texts.jsonl (made before it existed) and details with missing or unexpected keys still
    give a page: the data files are written, the absent parts are empty, nothing raises."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "texts.jsonl").unlink()
    rows = [json.loads(line) for line in (run / "results.jsonl").open()]
    for r in rows:
        if r["metric"] == "quals":  # unscored, so that summary.md's lowest-scoring list (not ours) skips them
            r.update(scores={"quals": None}, missing="odd", details={"qa_pairs": [{"question": "q?"}], "n_kept": "x"})
        else:
            r["details"] = {}
    write_results(run, rows)
    write_reports(run)
    index = _load_js(run / "report_data" / "index.js", "FB.index")
    assert index["texts"] is False and set(index["summary"]) == {""}
    chunk = read_chunk(run / "report_data" / "chunk_00000.js")
    assert chunk["sources"] == {} and chunk["rows"]["0"]["metrics"]["qags"]["details"] == {}


def test_report_command_rewrites_the_page(tiny_run, tmp_path):
    """``factbench report RUN_DIR`` regenerates report.html and report_data/ (a stale chunk is removed)."""
    from click.testing import CliRunner

    from factbench.cli import main

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "report.html").unlink()
    (run / "report_data" / "chunk_00099.js").write_text("stale")
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "report.html").read_text(encoding="utf-8") == (tiny_run / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (run / "report_data").iterdir()) == \
        sorted(p.name for p in (tiny_run / "report_data").iterdir())
