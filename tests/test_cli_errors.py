"""Every user error of issue 2 through the CLI: one line on stderr naming file, record and problem, and a
non-zero exit code (2 configuration, 3 data). Nothing half-written is left behind."""

import json

import pytest
from click.testing import CliRunner

from factbench.cli import main


def write_jsonl(path, rows, raw_lines=()):
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
        for line in raw_lines:
            fh.write(line + "\n")
    return path


def good(i, **kw):
    row = {"id": f"e{i}", "source": "The council met on Monday.", "summary": "The council met.", "label:human": 1}
    row.update(kw)
    return row


def invoke(tmp_path, *args):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", *args, "--out", str(out), "--quiet", "--no-cache"])
    return result, out


def one_line_error(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("factbench: error: ")
    return lines[0]


def test_unknown_metric_lists_the_known_ones(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [good(1)])
    result, out = invoke(tmp_path, "--dataset", str(path), "--metrics", "rogue")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "unknown metric 'rogue'" in line and "rouge" in line
    assert not out.exists()


def test_unknown_dataset_lists_the_known_ones(tmp_path):
    result, _ = invoke(tmp_path, "--dataset", "frnak", "--metrics", "rouge")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "unknown dataset 'frnak'" in line and "frank" in line and "qags-cnndm" in line


def test_missing_file(tmp_path):
    result, _ = invoke(tmp_path, "--dataset", str(tmp_path / "nope.jsonl"), "--metrics", "rouge")
    assert result.exit_code == 3
    assert "nope.jsonl" in one_line_error(result)


@pytest.mark.parametrize(
    "rows, raw, expected",
    [
        ([good(1), {"id": "e2", "source": "text"}], (), ["line 2", "summary"]),
        ([good(1), good(2, summary="  ")], (), ["line 2", "empty summary"]),
        ([good(1, source="")], (), ["line 1", "empty source"]),
        ([good(1), good(1)], (), ["duplicate", "e1"]),
        ([good(1)], ('{"id": "e2", "source": "x"',), ["line 2"]),
    ],
    ids=["missing-field", "empty-summary", "empty-source", "duplicate-id", "undecodable-line"],
)
def test_bad_records_name_file_record_and_problem(tmp_path, rows, raw, expected):
    path = write_jsonl(tmp_path / "d.jsonl", rows, raw)
    result, out = invoke(tmp_path, "--dataset", str(path), "--metrics", "rouge")
    assert result.exit_code == 3, result.output
    line = one_line_error(result)
    assert "d.jsonl" in line
    for text in expected:
        assert text in line
    assert not (out / "scores.csv").exists()


def test_label_outside_its_declared_scale(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [good(1), good(2, **{"label:human": 7})])
    columns = json.dumps({"labels": {"human": {"column": "label:human", "low": 0, "high": 1, "kind": "continuous"}}})
    result, _ = invoke(tmp_path, "--dataset", str(path), "--columns", columns, "--metrics", "rouge")
    assert result.exit_code == 3
    line = one_line_error(result)
    assert "line 2" in line and "label 'human' = 7" in line and "[0, 1]" in line


def test_bad_setting_and_bad_set_syntax(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [good(1)])
    result, _ = invoke(tmp_path, "--dataset", str(path), "--metrics", "rouge", "--set", "rouge.stem=no")
    assert result.exit_code == 2
    assert "no setting 'stem'" in one_line_error(result)
    result, _ = invoke(tmp_path, "--dataset", str(path), "--metrics", "rouge", "--set", "rouge=no")
    assert result.exit_code == 2
    assert "METRIC.KEY=VALUE" in one_line_error(result)


def test_report_of_a_folder_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 5
    assert "run.json is missing" in one_line_error(result)
