"""The device's matmul throughput: the ceiling against which each stage's achieved FLOP/s is read.

``measure(dtype)`` times square ``n x n`` matrix products (``2 n^3`` FLOPs each) after warm-up and
reports the median and best GFLOP/s over the repeats. On a CPU, bf16 is measured only where the CPU has
native bf16 instructions (AVX512-BF16 or AMX); elsewhere torch emulates bf16 and the figure would say
nothing about the hardware.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

from ..errors import ConfigError

TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16"}


@dataclass
class Peak:
    """Matmul throughput of one dtype: ``gflops`` is the median over repeats, ``best_gflops`` the fastest."""

    dtype: str
    device: str
    threads: int
    n: int
    repeats: int
    gflops: float
    best_gflops: float
    times_s: list[float]

    def as_dict(self) -> dict:
        return asdict(self)


def bf16_supported(device: str = "cpu") -> tuple[bool, str]:
    """Whether ``device`` runs bf16 matmuls natively, with the reason."""
    import torch

    if device.startswith("cuda"):
        ok = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return ok, "torch.cuda.is_bf16_supported()" if ok else "this GPU has no bf16 support"
    cpu = getattr(torch, "cpu", None)
    avx512_bf16 = bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)())
    amx = bool(getattr(cpu, "_is_amx_tile_supported", lambda: False)())
    mkldnn = bool(torch.backends.mkldnn.is_available())
    if mkldnn and (avx512_bf16 or amx):
        return True, "CPU has " + " and ".join(n for n, f in (("AVX512-BF16", avx512_bf16), ("AMX", amx)) if f)
    return False, "CPU has neither AVX512-BF16 nor AMX (bf16 would be emulated)"


def measure(dtype: str = "fp32", *, n: int = 2048, repeats: int = 5, warmup: int = 2, device: str = "cpu",
            threads: int | None = None) -> Peak:
    """Time ``repeats`` products of two random ``n x n`` matrices in ``dtype`` on ``device``.

    Examples
    --------
    >>> p = measure("fp32", n=128, repeats=3, warmup=1)
    >>> p.gflops > 0
    True
    """
    if dtype not in TORCH_DTYPES:
        raise ConfigError(f"peak: unknown dtype {dtype!r}; use {', '.join(TORCH_DTYPES)}")
    if n < 1 or repeats < 1 or warmup < 0:
        raise ConfigError(f"peak: need n >= 1, repeats >= 1, warmup >= 0 (got n={n}, repeats={repeats}, warmup={warmup})")
    if dtype == "bf16":
        ok, why = bf16_supported(device)
        if not ok:
            raise ConfigError(f"peak: bf16 is not supported natively on {device}: {why}")
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    tdtype = getattr(torch, TORCH_DTYPES[dtype])
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=tdtype)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=tdtype)
    out = torch.empty(n, n, device=device, dtype=tdtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            sync()
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    flops = 2.0 * n**3
    return Peak(
        dtype=dtype,
        device=device,
        threads=torch.get_num_threads(),
        n=n,
        repeats=repeats,
        gflops=flops / statistics.median(times) / 1e9,
        best_gflops=flops / min(times) / 1e9,
        times_s=times,
    )


def measure_all(dtypes=("fp32", "bf16"), **kwargs) -> dict[str, dict]:
    """``{dtype: Peak.as_dict() or {"unsupported": reason}}`` for each dtype."""
    out: dict[str, dict] = {}
    for dt in dtypes:
        if dt == "bf16":
            ok, why = bf16_supported(kwargs.get("device", "cpu"))
            if not ok:
                out[dt] = {"unsupported": why}
                continue
        out[dt] = measure(dt, **kwargs).as_dict()
    return out


def best_of(runs: list[dict[str, dict]]) -> dict[str, dict]:
    """Combine several :func:`measure_all` results: per dtype the fastest measurement, with every median.

    The machine's limit is the best it reached: other load only ever slows a measurement down, so a bench
    measures the peak several times (before and between rounds) and reads fractions against the best.

    Examples
    --------
    >>> best_of([{"fp32": {"gflops": 10.0}}, {"fp32": {"gflops": 30.0}}])["fp32"]
    {'gflops': 30.0, 'all_gflops': [10.0, 30.0]}
    """
    out: dict[str, dict] = {}
    for dtype in dict.fromkeys(k for run in runs for k in run):
        measured = [run[dtype] for run in runs if "gflops" in run.get(dtype, {})]
        if not measured:
            out[dtype] = next(run[dtype] for run in runs if dtype in run)
            continue
        best = max(measured, key=lambda m: m["gflops"])
        out[dtype] = {**best, "all_gflops": [m["gflops"] for m in measured]}
    return out
