"""The matmul peak measurement and the bootstrap ratio of the bench report."""

import pytest

from factbench.bench import peak
from factbench.bench.report import ratio_ci
from factbench.errors import ConfigError


def test_peak_positive_and_consistent():
    p = peak.measure("fp32", n=64, repeats=3, warmup=1)
    assert p.gflops > 0 and p.best_gflops >= p.gflops
    assert len(p.times_s) == 3
    # gflops is 2 n^3 over the median time (definition of a square matmul's FLOPs)
    import statistics

    assert p.gflops == pytest.approx(2 * 64**3 / statistics.median(p.times_s) / 1e9)


def test_bf16_where_supported():
    ok, why = peak.bf16_supported("cpu")
    assert why
    if ok:
        assert peak.measure("bf16", n=64, repeats=2, warmup=1).gflops > 0
    else:
        with pytest.raises(ConfigError, match="bf16"):
            peak.measure("bf16", n=64, repeats=2)
        assert "unsupported" in peak.measure_all(("bf16",), n=64, repeats=1)["bf16"]


def test_bf16_refused_when_unsupported(monkeypatch):
    monkeypatch.setattr(peak, "bf16_supported", lambda device="cpu": (False, "no AVX512-BF16"))
    with pytest.raises(ConfigError, match="no AVX512-BF16"):
        peak.measure("bf16", n=8, repeats=1)
    assert peak.measure_all(("fp32", "bf16"), n=8, repeats=1)["bf16"] == {"unsupported": "no AVX512-BF16"}


def test_bad_arguments():
    with pytest.raises(ConfigError):
        peak.measure("fp8", n=8)
    with pytest.raises(ConfigError):
        peak.measure("fp32", n=8, repeats=0)


def test_ratio_ci():
    # identical repeats: every resample gives the same ratio (hand-computed 6 / 2 = 3)
    assert ratio_ci([6.0, 6.0, 6.0], [2.0, 2.0, 2.0]) == (3.0, 3.0, 3.0)
    point, lo, hi = ratio_ci([5.0, 6.0, 7.0], [2.0, 2.0, 2.0], n_boot=500, seed=1)
    assert point == 3.0 and 2.5 <= lo <= point <= hi <= 3.5  # medians of resamples lie in [5, 7]
    assert ratio_ci([4.0], [2.0]) == (2.0, None, None)  # one repeat: no interval
