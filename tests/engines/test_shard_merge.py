"""--shard I/N and factbench merge (no Ray needed).

The merged run against the unsharded run, byte for byte, is consistency (factbench against factbench); the
shard of a record is checked against coreutils' sha256sum (correctness of the documented hash rule).
"""

import csv
import json

import pytest
from click.testing import CliRunner

from factbench.cli import main
from factbench.engines.shard import parse_shard, shard_of


@pytest.fixture
def mine(tmp_path):
    """A second dataset, so that the merge has to keep the datasets' order too."""
    path = tmp_path / "mine.jsonl"
    rows = [{"id": f"m{i}", "source": "The council met on Monday and approved the budget of 4 million.",
             "summary": f"The council approved a budget of {i} million.", "label:ok": i % 2} for i in range(9)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def run_args(mine, out, *extra):
    return ["run", "--dataset", "sample", "--dataset", mine, "--metrics", "rouge", "--quiet", "--no-cache",
            "--out", out, *extra]


def test_docstring_examples():
    import doctest

    from factbench.engines import shard

    result = doctest.testmod(shard)
    assert result.attempted > 0 and result.failed == 0


def test_shard_of_follows_sha256_of_dataset_nul_id():
    # printf 'sample\0s1-library:faithful' | sha256sum -> 8c40f06a1ad3a507... ; 0x8c40f06a1ad3a507 % 4 == 3
    assert shard_of("sample", "s1-library:faithful", 4) == 3
    assert parse_shard("3/4") == (3, 4)


@pytest.mark.parametrize("text", ["4/4", "-1/4", "1/0", "a/b", "2"])
def test_bad_shard_is_one_line(text, tmp_path, mine):
    result = invoke(*run_args(mine, tmp_path / "run", "--shard", text))
    assert result.exit_code == 2 and "--shard" in result.stderr and result.stderr.count("\n") == 1


def test_three_shards_partition_the_records_and_merge_into_the_unsharded_run(tmp_path, mine):
    whole = tmp_path / "whole"
    assert invoke(*run_args(mine, whole)).exit_code == 0
    shard_dirs = []
    for i in range(3):
        out = tmp_path / f"shard{i}"
        result = invoke(*run_args(mine, out, "--shard", f"{i}/3"))
        assert result.exit_code == 0, result.output
        shard_dirs.append(out)
    ids = [{(r["dataset"], r["example_id"]) for r in csv.DictReader(open(d / "scores.csv"))} for d in shard_dirs]
    assert sum(map(len, ids)) == 39 and len(set().union(*ids)) == 39  # 30 sample + 9 mine, each once
    assert all(ids)  # no empty shard (else the test shows less)
    # Shards given in any order.
    result = invoke("merge", shard_dirs[2], shard_dirs[0], shard_dirs[1], "--out", tmp_path / "merged")
    assert result.exit_code == 0, result.output
    merged = tmp_path / "merged"
    for name in ("scores.csv", "results.jsonl", "groups.csv", "texts.jsonl"):
        assert (merged / name).read_bytes() == (whole / name).read_bytes(), name
    meta = json.loads((merged / "run.json").read_text())
    assert [d["n"] for d in meta["datasets"]] == [30, 9]
    assert sorted(s["index"] for s in meta["engine"]["shards"]) == [0, 1, 2]
    assert (merged / "summary.md").is_file()


@pytest.fixture
def shards(tmp_path, mine):
    dirs = []
    for i in range(3):
        out = tmp_path / f"s{i}"
        assert invoke(*run_args(mine, out, "--shard", f"{i}/3")).exit_code == 0
        dirs.append(out)
    return dirs


def test_merge_refuses_a_missing_or_repeated_shard(shards, tmp_path):
    result = invoke("merge", shards[0], shards[1], "--out", tmp_path / "m")
    assert result.exit_code == 5 and "each of the 3 shards exactly once: missing [2]" in result.stderr
    result = invoke("merge", shards[0], shards[1], shards[1], "--out", tmp_path / "m")
    assert result.exit_code == 5 and "missing [2]; given twice [1]" in result.stderr
    assert not (tmp_path / "m").exists()


def test_merge_refuses_shards_of_another_run(shards, tmp_path, mine):
    other = tmp_path / "other"
    assert invoke(*run_args(mine, other, "--shard", "2/3", "--set", "rouge.against=source")).exit_code == 0
    result = invoke("merge", shards[0], shards[1], other, "--out", tmp_path / "m")
    assert result.exit_code == 5 and "ran other metrics or settings: rouge differ" in result.stderr


def test_merge_refuses_a_missing_or_duplicated_record(shards, tmp_path):
    path = shards[1] / "scores.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # one record gone
    result = invoke("merge", *shards, "--out", tmp_path / "m")
    assert result.exit_code == 5 and "the shards hold" in result.stderr and "selected records" in result.stderr
    # The same record in two shards.
    other = shards[0] / "scores.csv"
    other.write_text(other.read_text() + lines[-1])
    result = invoke("merge", *shards, "--out", tmp_path / "m2")
    assert result.exit_code == 5 and "does not belong to shard 0/3" in result.stderr


def test_merge_refuses_a_run_that_is_not_a_shard(tmp_path, mine, shards):
    whole = tmp_path / "whole"
    assert invoke(*run_args(mine, whole)).exit_code == 0
    result = invoke("merge", whole, *shards, "--out", tmp_path / "m")
    assert result.exit_code == 5 and "is not a shard run" in result.stderr
