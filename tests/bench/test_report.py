"""The bench report from a hand-written bench.json: ratios, bf16 score movement, targets, unavailable modes."""

import json

from factbench.bench.report import write_report


def config(metric, mode, dtype, walls, flops, scores):
    return {"metric": metric, "mode": mode, "dtype": dtype, "settings": {}, "first_run_s": 1.0, "wall_s": walls,
            "cpu_s": walls, "stages": [{"scoring": {"wall_s": w, "cpu_s": w, "model_calls": 2}} for w in walls],
            "flops": {"counted": {"scoring": flops}, "by_model": {}}, "models": {}, "stand_in": None,
            "scores": {metric: scores}}


def test_report_ratios_bf16_targets(tmp_path):
    raw = {
        "command": "factbench bench ...", "complete": True, "started": "s", "ended": "e",
        "protocol": {"dataset": "qags-cnndm", "flops_only": False, "warmup": 1, "repeats": 3, "interleave": True},
        "arch": {"name": "base", "description": "d"}, "generation_tokens": {"qags": 14, "quals": 24},
        "machine": {"platform": "p", "processor": "x", "torch": "t", "transformers": "t", "threads": 2,
                    "peak_memory_mb": 1.0},
        "records": [{"source_words": 300, "summary_words": 40}] * 2,
        "peak": {"fp32": {"gflops": 100.0, "best_gflops": 110.0, "n": 2048, "repeats": 5},
                 "bf16": {"gflops": 200.0, "best_gflops": 210.0, "n": 2048, "repeats": 5}},
        "unavailable": [{"metric": "qags", "mode": "reference", "why": "the qags card has no `execution` setting"}],
        "configs": [
            # 2 summaries; QUALS source scoring 40 GFLOP in 0.8 s = 50 GFLOP/s = 50 % of the fp32 peak
            config("quals", "factbench", "fp32", [0.8, 0.8, 0.8], 40e9, [-1.0, -2.0]),
            config("quals", "reference", "fp32", [4.0, 4.0, 4.0], 80e9, [-1.0, -2.0]),
            config("quals", "factbench", "bf16", [0.4, 0.4, 0.4], 40e9, [-1.01, -1.97]),
            config("qags", "factbench", "fp32", [8.0, 8.0, 8.0], 400e9, [0.5, 0.25]),
        ],
    }
    raw["configs"][0]["stages"] = [{"source_scoring": {"wall_s": 0.8, "cpu_s": 0.8}}] * 3
    raw["configs"][0]["flops"]["counted"] = {"source_scoring": 40e9}
    (tmp_path / "bench.json").write_text(json.dumps(raw))
    md = write_report(tmp_path).read_text()
    assert "| QAGS / QUALS (factbench, fp32) | 10.00x [10.00, 10.00] | 10.00x | 10.00x |" in md  # 8 / 0.8 s; 400 / 40 GFLOP
    assert "| quals reference / factbench (fp32) | 5.00x [5.00, 5.00] | 5.00x | 2.00x; scores differ by max 0 |" in md
    assert "- quals: factbench 5.00x [5.00, 5.00] faster than reference (target >= 3x): met" in md
    assert "- qags: factbench against reference (target >= 2x): not measured (no reference mode)" in md
    assert ("- quals source_scoring: 50 % of the fp32 matmul peak at the median, 50 % in the fastest repeat "
            "(target >= 40 %): met at the median, met in the fastest repeat") in md
    # bf16 moved the scores by |-1.01 + 1| = 0.01 and |-1.97 + 2| = 0.03: max 0.03, mean 0.02
    assert "| quals / factbench | 2.00x [2.00, 2.00] | quals | 0.0300 | 0.0200 | 2 |" in md
    assert "- qags / reference: the qags card has no `execution` setting" in md
    assert (tmp_path / "bench.png").is_file()
