"""Engine selection without Ray: the local engine never imports it, and asking for Ray without it installed is
one clear line. These run whether or not Ray is installed."""

import sys

import pandas as pd
from click.testing import CliRunner

from factbench.cli import main


def test_local_engine_never_imports_ray(monkeypatch, tmp_path):
    """With ``import ray`` made to fail, a local run still works: nothing on its path imports Ray."""
    monkeypatch.setitem(sys.modules, "ray", None)
    result = CliRunner().invoke(main, ["run", "--dataset", "sample", "--metrics", "rouge", "--quiet", "--no-cache",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    # 30 sample summaries, each scored (hand count: 6 documents x 5 summaries).
    assert pd.read_csv(tmp_path / "run" / "scores.csv")["rouge1"].notna().sum() == 30


def test_ray_engine_without_ray_is_one_line_saying_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    result = CliRunner().invoke(main, ["run", "--dataset", "sample", "--metrics", "rouge", "--quiet",
                                       "--engine", "ray", "--workers", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.stderr == (
        "factbench: error: --engine ray needs Ray, which is not installed here: pip install 'factbench[ray]'\n"
    )
    assert not (tmp_path / "run").exists()


def test_ray_options_with_the_local_engine_are_refused(tmp_path):
    result = CliRunner().invoke(main, ["run", "--dataset", "sample", "--metrics", "rouge", "--workers", "2",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--engine local takes none of workers" in result.stderr


def test_bad_worker_count_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["run", "--dataset", "sample", "--metrics", "rouge", "--engine", "ray",
                                       "--workers", "0", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--workers must be at least 1, got 0" in result.stderr


def test_a_private_ray_instance_without_the_gpus_asked_for_is_refused(tmp_path):
    """On a machine without GPUs, --gpus-per-worker 1 cannot be met by a private instance (it never grows):
    one line saying what is missing, instead of workers waiting forever for a GPU."""
    import os

    import pytest

    if os.environ.get("CI") != "true":
        pytest.importorskip("ray")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = CliRunner().invoke(main, ["run", "--dataset", "sample", "--metrics", "rouge", "--quiet", "--no-cache",
                                       "--engine", "ray", "--workers", "2", "--gpus-per-worker", "1",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 5
    assert "--workers 2 x 1 GPU per worker needs 2 GPUs; the Ray cluster has 0" in result.stderr
