"""The ConSeq commands through the CLI: user errors become one line on stderr with the error's exit code;
``conseq train --stop-after`` then the same command resumes and finishes."""

import json

from click.testing import CliRunner

from factbench.cli import main


def one_line_error(result, code):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code and len(lines) == 1 and lines[0].startswith("factbench: error: "), result.stderr
    return lines[0]


def test_select_on_a_missing_run_is_a_run_error(tmp_path):
    result = CliRunner().invoke(main, ["conseq", "select", str(tmp_path / "nope"), "--out", str(tmp_path / "p.jsonl")])
    assert "is not a finished run directory" in one_line_error(result, 5)


def test_train_with_a_bad_pairs_file_is_a_data_error(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("{not json\n")
    result = CliRunner().invoke(main, ["conseq", "train", "--model", "tiny:bart", "--pairs", str(pairs),
                                       "--out", str(tmp_path / "t"), "--quiet"])
    assert "line 1: not valid JSON" in one_line_error(result, 3)


def test_compare_needs_two_systems(tmp_path):
    result = CliRunner().invoke(main, ["compare", str(tmp_path), "--systems", "mle"])
    assert "at least two" in one_line_error(result, 2)


def test_train_stops_and_resumes_from_the_cli(tiny_models, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    row = {"doc_id": "d", "source": "The council met on Monday.", "positive": "The council met.", "negative": "Nobody met."}
    pairs.write_text("".join(json.dumps({**row, "doc_id": f"d{i}"}) + "\n" for i in range(3)))
    args = ["conseq", "train", "--model", str(tiny_models["bart"]), "--pairs", str(pairs), "--out", str(tmp_path / "t"),
            "--max-tokens", "16", "--update-freq", "1", "--device", "cpu", "--quiet"]
    first = CliRunner().invoke(main, args + ["--stop-after", "2"])
    assert first.exit_code == 0 and "stopped after 2 updates" in first.output, first.output
    second = CliRunner().invoke(main, args)
    # 3 documents, one per batch (16 tokens), update-freq 1, 2 epochs: 6 updates
    assert second.exit_code == 0 and "6 updates" in second.output, second.output
    assert (tmp_path / "t" / "model" / "config.json").is_file()
