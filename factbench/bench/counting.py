"""The FLOP-counting pass: exact matmul FLOPs per stage, and the tokens each model processed.

During one untimed run of a metric:

- ``torch.utils.flop_counter.FlopCounterMode`` counts the FLOPs of every matmul, attention and
  convolution op (exact for what runs, padding included), attributed to the innermost active stage of the
  metric's timer;
- a patched ``nn.Linear.forward`` counts the rows that go through every linear layer; after the run they are
  resolved to the models the metric loaded, giving per stage and model the encoder tokens, decoder/LM-head
  positions and cross-attention key/value rows that :func:`factbench.bench.flops.estimate` takes.

Both add Python overhead per op, which is why this pass is never timed.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager

from ..timing import StageTimer
from .flops import CROSS_KV, estimate

OUTSIDE = "(outside stages)"


class CountingTimer(StageTimer):
    """A StageTimer that knows its active stage, so FLOPs can be attributed to it."""

    def __init__(self, counter=None):
        super().__init__()
        self.active: list[str] = []
        self.counter = counter
        self.flops: dict[str, float] = defaultdict(float)
        self.rows: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self._last = 0.0

    def current(self) -> str:
        return self.active[-1] if self.active else OUTSIDE

    def flush(self) -> None:
        if self.counter is None:
            return
        total = float(self.counter.get_total_flops())
        self.flops[self.current()] += total - self._last
        self._last = total

    @contextmanager
    def stage(self, name: str):
        self.flush()
        self.active.append(name)
        try:
            with super().stage(name):
                yield
        finally:
            self.flush()
            self.active.pop()


def find_models(obj, depth: int = 3, seen=None) -> dict[str, object]:
    """The torch modules an object holds (directly, in dicts/lists, or in LoadedModel-like objects), by path."""
    import torch

    seen = set() if seen is None else seen
    found: dict[str, object] = {}
    if depth < 0 or id(obj) in seen:
        return found
    seen.add(id(obj))
    if isinstance(obj, torch.nn.Module):
        return {"": obj}
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        items = vars(obj).items()
    else:
        return found
    for key, value in items:
        if isinstance(value, (str, bytes, int, float)) or value is None:
            continue
        for sub, mod in find_models(value, depth - 1, seen).items():
            found[f"{key}.{sub}" if sub else str(key)] = mod
    return found


def _sdpa_formula(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query_shape, key_shape, value_shape)


def flop_counter():
    """torch's FlopCounterMode, taught the CPU attention kernel (torch counts only the CUDA ones, so CPU
    attention would count as 0)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    return FlopCounterMode(display=False, custom_mapping={torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_formula})


@contextmanager
def counting(metric):
    """Swap in a CountingTimer and count FLOPs and Linear rows while the block runs; yields the timer."""
    import torch

    from ..models import scoring

    original = metric.timer
    timer = CountingTimer()
    keep: dict[int, object] = {}  # strong references, so ids stay unique during the pass
    linear_forward = torch.nn.Linear.forward

    # Patched on the class, not hooked on the module: factbench's shared cross-attention K/V wraps the
    # instance's forward and calls the class forward on the un-expanded source states, and the rows that
    # are really computed are the ones to count.
    def forward(module, x):
        keep[id(module)] = module
        timer.rows[timer.current()][id(module)] += x.numel() // module.in_features
        return linear_forward(module, x)

    torch.nn.Linear.forward = forward
    metric.timer = timer
    head_chunk, scoring.HEAD_CHUNK = scoring.HEAD_CHUNK, 0  # the sliced head bypasses nn.Linear.forward
    try:
        with flop_counter() as counter:
            timer.counter = counter
            timer._last = 0.0
            yield timer
            timer.flush()
    finally:
        torch.nn.Linear.forward = linear_forward
        scoring.HEAD_CHUNK = head_chunk
        metric.timer = original
        timer.counter = None


def model_tokens(timer: CountingTimer, models: dict[str, object]) -> dict[str, dict[str, dict]]:
    """Per stage and model: tokens_in, tokens_out, cross_kv_tokens, linear FLOPs, and the 2N estimate."""
    import torch

    out: dict[str, dict[str, dict]] = {}
    for name, model in models.items():
        linears = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
        ids = {id(m): n for n, m in linears.items()}
        seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
        enc_root = model.get_encoder() if seq2seq else model
        first_enc = next((m for m in enc_root.modules() if isinstance(m, torch.nn.Linear)), None)
        head = model.get_output_embeddings() if seq2seq else None
        xkv = [m for n, m in linears.items() if any(k in n for k in CROSS_KV)]
        for stage, rows in timer.rows.items():
            mine = {i: r for i, r in rows.items() if i in ids}
            if not mine:
                continue
            linear_flops = sum(2.0 * r * linears[ids[i]].in_features * linears[ids[i]].out_features for i, r in mine.items())
            t_in = mine.get(id(first_enc), 0) if first_enc is not None else 0
            t_out = mine.get(id(head), 0) if head is not None else 0
            # k and v of every layer see the same rows: the mean over them is the per-layer count
            t_xkv = sum(mine.get(id(m), 0) for m in xkv) / len(xkv) if xkv else 0
            out.setdefault(stage, {})[name] = {
                "tokens_in": t_in,
                "tokens_out": t_out,
                "cross_kv_tokens": t_xkv,
                "linear_flops": linear_flops,
                "estimate_2n": estimate(model, t_in, t_out, cross_kv_tokens=t_xkv),
            }
    return out
