"""``factbench explain``: the QA-pair figure draws exactly the stored per-token log-probabilities (read
back from the figure's bars and compared with results.jsonl), and bad requests give one-line errors."""

import json

from click.testing import CliRunner
from matplotlib.colors import to_rgb

from factbench.cli import main
from factbench.report.explain import SOURCE_COLOUR, SUMMARY_COLOUR, draw_qa_pairs, find_result


def _with_pairs(run):
    return next(r for r in map(json.loads, (run / "results.jsonl").open())
                if r["metric"] == "quals" and r["details"].get("qa_pairs"))


def test_bars_are_the_stored_log_probs(tiny_run):
    """Each panel has one blue and one orange bar per token, whose heights are log p given the summary and
    given the source as stored in results.jsonl (the source of truth for the figure)."""
    row = _with_pairs(tiny_run)
    fig = draw_qa_pairs(find_result(tiny_run, row["example_id"]))
    axes = [ax for ax in fig.axes if ax.patches]
    assert len(axes) == len(row["details"]["qa_pairs"])
    for ax, pair in zip(axes, row["details"]["qa_pairs"]):
        heights = [p.get_height() for p in ax.patches]
        n = len(pair["tokens"])
        assert heights == [*map(float, pair["logprobs_summary"]), *map(float, pair["logprobs_source"])]
        assert len(ax.get_xticks()) == n
        assert {p.get_facecolor()[:3] for p in ax.patches[:n]} == {to_rgb(SUMMARY_COLOUR)}
        assert {p.get_facecolor()[:3] for p in ax.patches[n:]} == {to_rgb(SOURCE_COLOUR)}


def test_cli_writes_the_figure_and_names_bad_requests(tiny_run, tmp_path):
    row = _with_pairs(tiny_run)
    out = tmp_path / "pairs.png"
    ok = CliRunner().invoke(main, ["explain", str(tiny_run), "--example", row["example_id"], "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    unscored = [r for r in map(json.loads, (tiny_run / "results.jsonl").open())
                if r["metric"] == "quals" and not r["details"].get("qa_pairs")]
    cases = [
        (["--example", "nope"], 2, "--example 'nope': no such example"),
        (["--example", row["example_id"], "--metric", "bleu"], 2, "--metric 'bleu' is not in this run"),
        (["--example", row["example_id"], "--metric", "rouge"], 5, "rouge has no QA pair"),
        *[(["--example", r["example_id"]], 5, r["details"]["reason"]) for r in unscored[:1]],
        (["--example", row["example_id"], "--out", str(tmp_path / "x.jpg")], 2, "must be one of .png, .svg, .pdf"),
    ]
    for args, code, message in cases:
        if "--out" not in args:
            args = [*args, "--out", str(tmp_path / "x.png")]
        result = CliRunner().invoke(main, ["explain", str(tiny_run), *args])
        assert result.exit_code == code, (args, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1
