"""``factbench bench`` end to end on the bundled sample set with tiny models and a fast metric."""

import json

import pytest
from click.testing import CliRunner

from factbench.cli import main


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("bench_cache")


@pytest.fixture(autouse=True)
def cache_dir(shared_cache, monkeypatch):
    # one cache for the module: the tiny models are built once, never in the user's cache
    monkeypatch.setenv("FACTBENCH_CACHE_DIR", str(shared_cache))


def test_bench_rouge_end_to_end(tmp_path):
    out = tmp_path / "bench"
    res = CliRunner().invoke(main, ["bench", "--metrics", "rouge", "--dataset", "sample", "-n", "2", "--arch", "tiny",
                                    "--repeats", "2", "--peak-size", "64", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    for name in ("bench.json", "bench.md", "bench.png"):
        assert (out / name).is_file(), name
    raw = json.loads((out / "bench.json").read_text())
    (conf,) = raw["configs"]
    assert (conf["metric"], conf["mode"], conf["dtype"]) == ("rouge", "factbench", "fp32")
    assert len(conf["wall_s"]) == 2 and all(t > 0 for t in conf["wall_s"])
    assert len(conf["stages"]) == 2 and "scoring" in conf["stages"][0]
    assert len(conf["scores"]["rouge1"]) == 2
    assert conf["flops"]["counted"].get("scoring", 0) == 0  # rouge runs no model: no matmul FLOPs
    assert raw["peak"]["fp32"]["gflops"] > 0
    # the peak is measured before the runs and after each of the 2 rounds; the ceiling is the best of the 3
    assert len(raw["peak"]["fp32"]["all_gflops"]) == 3
    assert raw["peak"]["fp32"]["gflops"] == max(raw["peak"]["fp32"]["all_gflops"])
    assert raw["complete"] is True
    md = (out / "bench.md").read_text()
    assert "rouge / factbench / fp32" in md
    # rouge has no execution setting: reference mode is reported as not measured, never invented
    assert "rouge / reference: the rouge card has no `execution` setting" in md


def test_bench_bad_options(tmp_path):
    r = CliRunner().invoke(main, ["bench", "--metrics", "rouge", "--dataset", "sample", "--mode", "fast",
                                  "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "unknown --mode 'fast'" in r.output
    r = CliRunner().invoke(main, ["bench", "--metrics", "rouge", "--dataset", "sample", "--arch", "huge",
                                  "--out", str(tmp_path / "y")])
    assert r.exit_code != 0 and "unknown --arch 'huge'" in r.output
    r = CliRunner().invoke(main, ["bench", "--metrics", "rouge", "--dataset", "sample", "-n", "999",
                                  "--out", str(tmp_path / "z")])
    assert r.exit_code != 0 and "fewer than -n 999" in r.output


def test_plan_maps_models_and_lengths():
    from factbench.bench.runner import BenchConfig, plan

    cfg = BenchConfig(metrics=["qags"], dataset="sample", arch="tiny", modes=["factbench", "reference"],
                      dtypes=["fp32", "bf16"])
    configs, unavailable = plan(cfg, [])
    # the QAGS card has `execution` and `dtype` settings: every mode x dtype is a configuration
    assert [(c.mode, c.dtype) for c in configs] == [("factbench", "fp32"), ("factbench", "bf16"),
                                                     ("reference", "fp32"), ("reference", "bf16")]
    assert [(c.settings["execution"], c.settings["dtype"]) for c in configs] == [(c.mode, c.dtype) for c in configs]
    assert unavailable == []
    s = configs[0].settings
    assert s["qg_model"] == "tiny:bart" and s["qa_model"] == "tiny:qa"
    assert s["qg_max_new_tokens"] == 14


def test_arch_unsupported_metric(monkeypatch):
    from factbench import metrics as registry
    from factbench.bench import runner
    from factbench.errors import ConfigError
    from factbench.metrics.base import Metric

    class NoTiny(Metric):
        name = "notiny"
        card_text = '+++\nname = "notiny"\nversion = "1"\nsummary = "x"\n[defaults]\nmodel = "org/some-model"\n+++\n'

    monkeypatch.setattr(registry, "metric_class", lambda name: NoTiny)
    with pytest.raises(ConfigError, match="does not support --arch"):
        runner.plan(runner.BenchConfig(metrics=["notiny"], dataset="sample", arch="base"), [])


def test_quals_random_weight_stand_in():
    """Unparsable random-weight hypotheses reach the real QUALS filter as pairs that pass it."""
    from types import SimpleNamespace

    from factbench.bench.runner import random_weight_stand_ins

    from factbench.metrics import quals
    hyps = [{"tokens": [5, 6, i, 2], "score": -float(i), "norm_score": -i / 4, "token_logprobs": [-1.0] * 4}
            for i in range(60)]
    instance = SimpleNamespace(_pairs=lambda h: ([], len(h)))
    conf = SimpleNamespace(metric="quals", instance=instance)
    assert random_weight_stand_ins(conf)
    pairs, bad = instance._pairs(hyps)
    assert bad == 60 and len(pairs) == 60 and pairs[3]["target"] == [5, 6, 3, 2]
    selected = quals.filter_and_select(pairs, "Ann met Bob.", 10)
    # one answer group (""), one pair per round until 10: the 10 best by total log-prob (score 0, -1, ..., -9)
    assert [p["target"][2] for p in selected] == list(range(10))
    # a parsable output is left alone
    real = ([{"question": "q", "answer": "a"}], 0)
    conf2 = SimpleNamespace(metric="quals", instance=SimpleNamespace(_pairs=lambda h: real))
    random_weight_stand_ins(conf2)
    assert conf2.instance._pairs(hyps) == real
    assert random_weight_stand_ins(SimpleNamespace(metric="qags", instance=instance)) is None


def test_qags_random_weight_stand_in():
    from types import SimpleNamespace

    from factbench.bench.runner import random_weight_stand_ins

    same = [["who is it", -1.0], ["what is it", -2.0]]
    # the generation call itself is wrapped: the reference execution calls it directly, not through questions()
    instance = SimpleNamespace(_generate=lambda inputs: [[list(x) for x in same] for _ in inputs])
    assert random_weight_stand_ins(SimpleNamespace(metric="qags", instance=instance))
    out = instance._generate(["a", "b"])
    # crc32("a") = e8b7be43, crc32("b") = 71beeff9 (zlib): every question is tagged by its input and beam, so the
    # tags do not depend on which inputs shared a generation call; scores are kept.
    assert out[0] == [["who is it #e8b7be43.0", -1.0], ["what is it #e8b7be43.1", -2.0]]
    assert out[1] == [["who is it #71beeff9.0", -1.0], ["what is it #71beeff9.1", -2.0]]
    assert instance._generate(["b"]) == [out[1]]


def test_bench_quals_qags_tiny(tmp_path):
    """Both QA metrics through the bench with tiny models and shrunk searches: the speed-up row, the
    stand-ins, FLOPs counted in every model stage."""
    out = tmp_path / "bench"
    res = CliRunner().invoke(main, [
        "bench", "--metrics", "quals,qags", "--dataset", "sample", "-n", "1", "--arch", "tiny", "--repeats", "1",
        "--peak-size", "64", "--out", str(out), "--quiet",
        "--set", "quals.num_pairs=4", "--set", "quals.max_qas=2",
        "--set", "qags.n_answers=2", "--set", "qags.num_beams=2", "--set", "qags.num_return_sequences=2",
        "--set", "qags.n_questions=2",
    ])
    assert res.exit_code == 0, res.output
    raw = json.loads((out / "bench.json").read_text())
    confs = {(c["metric"], c["mode"]): c for c in raw["configs"] if c["dtype"] == "fp32"}
    assert set(confs) == {(m, mode) for m in ("quals", "qags") for mode in ("factbench", "reference")}
    for c in confs.values():
        assert c["stand_in"], c["metric"]
        assert c["settings"].get("qg_max_new_tokens", 14) == 14
    # QUALS: generation and both teacher-forced stages ran model work (the stand-in fed them pairs); factbench
    # takes the summary side from the search's own log-probs, the reference scores it in a pass of its own
    counted = confs[("quals", "reference")]["flops"]["counted"]
    assert all(counted.get(s, 0) > 0 for s in ("generation", "source_scoring", "summary_scoring")), counted
    counted = confs[("quals", "factbench")]["flops"]["counted"]
    assert counted.get("generation", 0) > 0 and counted.get("source_scoring", 0) > 0
    assert counted.get("summary_scoring", 0) == 0
    for mode in ("factbench", "reference"):
        counted = confs[("qags", mode)]["flops"]["counted"]
        assert all(counted.get(s, 0) > 0 for s in ("questions", "qa_summary", "qa_source")), counted
    # the stand-ins make both executions ask the same questions, so they give the same scores
    for m in ("quals", "qags"):
        a, b = confs[(m, "factbench")]["scores"], confs[(m, "reference")]["scores"]
        assert a.keys() == b.keys() and a
        for k in a:
            assert b[k] == pytest.approx(a[k], abs=1e-5), (m, k)
    md = (out / "bench.md").read_text()
    assert "| QAGS / QUALS (factbench, fp32) |" in md
    assert (out / "bench.png").is_file()
