"""Tests written for mutants of ``Seq2SeqRunner`` (factbench/models/scoring.py) that survived the mutation run
(docs/mutation.md).

They pin down what the runner computes and how it is documented to compute it:

- every decoding step and every teacher-forced pass gives the log-probs of transformers' own forward pass
  (``model(input_ids, attention_mask, decoder_input_ids).logits`` of one unpadded row, then
  ``log_softmax``), through reorders within a source, a selection of another source's rows, a first-step
  selection that repeats rows (groups of 2) and a selection out of those groups; also for a float64 model,
  for a config with ``use_cache=False`` or ``return_dict=False``, for an empty target, and for a model whose
  forward takes ``cache`` (the transformers-5 name) or returns legacy tuple caches (stand-ins below);
- the cost counters: one model call per pass, ``tokens_in`` / ``tokens_out`` as the module docstring defines
  them, ``flops = 2 x parameters x tokens`` (the module docstring's estimate, the parameters counted here
  with ``sum(p.numel())``), under the default stage name ``"scoring"``;
- the execution details the docstrings promise outside ``plain``: the log-probs live in a buffer that the
  next step overwrites, BART's head runs as the sliced projection (``lm_head`` is never called), an identity
  reorder copies nothing, a selection in groups of 2 keeps one cross-attention row per group; and inside
  ``plain``: the stock head (``lm_head`` called, never sliced) and no preallocated cache;
- every tensor the runner makes is requested on the model's device (a CPU-only machine cannot tell
  ``device=None`` from ``device="cpu"`` by the result, so the test records the requested devices).

Expected values come from transformers' forward (the oracle), hand arithmetic (counters), or the docstrings;
where a test compares factbench with itself it says so.
"""

import sys
import types

import pytest
import torch
from torch.overrides import TorchFunctionMode
import transformers

from factbench.models import scoring
from factbench.models.loading import load_model
from factbench.models.scoring import Seq2SeqRunner, encode_source, special_ids
from factbench.timing import StageTimer

TRANSFORMERS_5 = int(transformers.__version__.split(".")[0]) >= 5

SOURCES = ["The city council approved a new budget on Monday after a long debate.", "Police arrested a man."]
ATOL = 1e-5


@pytest.fixture(scope="module", params=["bart", "t5"])
def lm(request, tiny_models):
    return load_model(str(tiny_models[request.param]), "seq2seq", device="cpu")


def _fresh(tiny_models, kind):
    """A model of its own, for tests that change its config or dtype."""
    return load_model(str(tiny_models[kind]), "seq2seq", device="cpu")


def _setup(lm):
    pad, _, start = special_ids(lm.model, lm.tokenizer)
    return pad, start, [encode_source(lm.tokenizer, s).ids for s in SOURCES]


def oracle(model, src, dec):
    """transformers' own forward of one unpadded (source, decoder input) pair: float log-probs, (len(dec), V)."""
    with torch.no_grad():
        out = model(input_ids=torch.tensor([src]), attention_mask=torch.ones(1, len(src), dtype=torch.long),
                    decoder_input_ids=torch.tensor([dec]), use_cache=False, return_dict=True)
    return torch.log_softmax(out.logits[0].double(), dim=-1)


def _check_step(model, lp, srcs, hist):
    """Row r of a step's log-probs equals the oracle's last position for (its source, its decoder history)."""
    assert lp.dtype == torch.float32 and lp.shape[0] == len(hist)
    for r, (s, h) in enumerate(zip(srcs, hist)):
        want = oracle(model, s, h)[-1]
        assert torch.allclose(lp[r].double(), want, atol=ATOL), (r, (lp[r].double() - want).abs().max())


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------------------
# decoding steps against transformers' forward


def test_steps_reorder_and_select_equal_the_model_forward(lm):
    """2 sources x 3 rows: a step from the start token, a step with distinct tokens, a reorder within each
    source, a step, a selection of the second source's 3 rows (the cross-attention cache is one row per
    decoder row then: the selection must read rows 3..5, not ``idx // 3``), a step. Then the counters."""
    model = lm.model
    pad, start, ids = _setup(lm)
    timer = StageTimer()
    runner = Seq2SeqRunner(model, ids, pad, repeats=3, timer=timer, capacity=8)  # stage left at its default
    srcs = [ids[0]] * 3 + [ids[1]] * 3
    hist = [[start] for _ in range(6)]
    rows_stepped = 0

    def step(tokens):
        nonlocal rows_stepped
        lp = runner.step(torch.tensor([h[-1] for h in hist])).clone()
        rows_stepped += len(hist)
        _check_step(model, lp, srcs, hist)
        for h, t in zip(hist, tokens):
            h.append(t)

    step([11, 12, 13, 14, 15, 16])
    step([21, 22, 23, 24, 25, 26])
    idx = [2, 0, 1, 5, 3, 4]  # within each source (beam search never moves rows across sources)
    runner.reorder(torch.tensor(idx))
    hist, srcs = [list(hist[i]) for i in idx], [srcs[i] for i in idx]
    step([31, 32, 33, 34, 35, 36])
    keep = [3, 4, 5]
    runner.select(torch.tensor(keep))
    hist, srcs = [hist[i] for i in keep], [srcs[i] for i in keep]
    step([41, 42, 43])
    if scoring.decoding_attention_works(model):  # select's docstring: one cross-attention row per group
        assert runner.past.cross_attention_cache.layers[0].keys.shape[0] == 1

    # counters (module docstring): 1 encoder pass + 4 steps; tokens_in = non-padding source tokens;
    # tokens_out = rows x 1 position per step = 6 + 6 + 6 + 3; flops = 2 x parameters x (in + out)
    tokens_in = len(ids[0]) + len(ids[1])
    assert rows_stepped == 21
    assert set(timer.as_dict()) == {"scoring"}
    counts = timer.as_dict()["scoring"]
    assert counts["model_calls"] == 5
    assert counts["tokens_in"] == tokens_in and counts["tokens_out"] == 21
    assert counts["flops"] == pytest.approx(2.0 * _n_params(model) * (tokens_in + 21), rel=1e-12)


def test_first_step_shared_then_groups_of_two(lm, request):
    """A beam search's first step run once per input, then each row repeated twice (``select([0, 0, 1, 1])``,
    groups of 2 that share a source: BART keeps one cross-attention row per group, as select's docstring
    says), a step, then one row out of each group (``select([1, 2])``), a step."""
    if TRANSFORMERS_5 and lm.model.config.model_type == "t5":
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "known gap on transformers 5: after select([0, 0, 1, 1]) T5's next step reaches sdpa with 4 query "
            "rows and the 2 grouped cross-attention rows (size mismatch); not yet traced")))
    model = lm.model
    pad, start, ids = _setup(lm)
    runner = Seq2SeqRunner(model, ids, pad, capacity=4)
    srcs, hist = list(ids), [[start], [start]]
    _check_step(model, runner.step(torch.tensor([start, start])).clone(), srcs, hist)
    runner.select(torch.tensor([0, 0, 1, 1]))
    srcs = [ids[0], ids[0], ids[1], ids[1]]
    hist = [[start, 7], [start, 8], [start, 9], [start, 10]]
    grouped = scoring.decoding_attention_works(model)
    assert runner.past.cross_attention_cache.layers[0].keys.shape[0] == (2 if grouped else 4)
    assert runner.cross_per_group == grouped
    _check_step(model, runner.step(torch.tensor([7, 8, 9, 10])).clone(), srcs, hist)
    runner.select(torch.tensor([1, 2]))
    srcs, hist = [srcs[1], srcs[2]], [hist[1] + [17], hist[2] + [18]]
    _check_step(model, runner.step(torch.tensor([17, 18])).clone(), srcs, hist)


def test_identity_reorder_copies_nothing(lm):
    """reorder's docstring (class): an identity order copies nothing, outside ``plain``; with ``plain`` the
    cache is reordered at every step (fresh tensors, the same values)."""
    pad, start, ids = _setup(lm)
    for plain in (False, True):
        runner = Seq2SeqRunner(lm.model, ids, pad, repeats=2, plain=plain)
        runner.step(torch.full((4,), start))
        layer = runner.past.self_attention_cache.layers[0]
        before = layer.keys
        runner.reorder(torch.arange(4))
        after = runner.past.self_attention_cache.layers[0].keys
        assert (after is before) == (not plain)
        assert torch.equal(after, before)


# ---------------------------------------------------------------------------------------------------------
# teacher forcing against transformers' forward


def test_teacher_forced_equals_the_model_forward(lm):
    """Targets of different lengths (the decoder input is padded) for 2 sources, one of them empty: each
    per-token value is the oracle's log-prob of that token after ``[start] + target[:t]``; the empty target
    gives []. Counters: tokens_out = sum of the decoder rows' lengths (1 + len(t) - 1, and 1 for [])."""
    model = lm.model
    pad, start, ids = _setup(lm)
    targets = [[5, 6, 7, 2], [8, 2], [], [9, 10, 11, 12, 2]]
    index = [0, 0, 1, 1]
    timer = StageTimer()
    runner = Seq2SeqRunner(model, ids, pad, index=index, timer=timer, stage="tf")
    got = runner.teacher_forced(targets, start)
    assert got[2] == []
    for k, (t, lp) in enumerate(zip(targets, got)):
        assert len(lp) == len(t)
        if not t:
            continue
        want = oracle(model, ids[index[k]], [start] + t[:-1])
        for i, tok in enumerate(t):
            assert lp[i] == pytest.approx(want[i, tok].item(), abs=ATOL)
    counts = timer.as_dict()["tf"]
    tokens_in, tokens_out = len(ids[0]) + len(ids[1]), 4 + 2 + 1 + 5
    assert counts["model_calls"] == 2 and counts["tokens_out"] == tokens_out
    assert counts["flops"] == pytest.approx(2.0 * _n_params(model) * (tokens_in + tokens_out), rel=1e-12)


# ---------------------------------------------------------------------------------------------------------
# configs and dtypes


@pytest.mark.parametrize("kind", ["bart", "t5"])
def test_config_without_cache_or_return_dict(tiny_models, kind, request):
    """A checkpoint whose config says ``use_cache=False`` and ``return_dict=False``: the runner asks for the cache
    and a dict output itself (encoder included), so its steps and teacher forcing still equal the oracle."""
    if TRANSFORMERS_5 and kind == "bart":
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "known gap on transformers 5: BartModel.forward reads .last_hidden_state of its decoder's output, "
            "a tuple when the config says return_dict=False, although return_dict=True is passed")))
    lm = _fresh(tiny_models, kind)
    lm.model.config.use_cache = False
    lm.model.config.return_dict = False
    pad, start, ids = _setup(lm)
    runner = Seq2SeqRunner(lm.model, ids, pad)
    hist = [[start], [start]]
    _check_step(lm.model, runner.step(torch.tensor([start, start])).clone(), ids, hist)
    hist = [[start, 13], [start, 14]]
    _check_step(lm.model, runner.step(torch.tensor([13, 14])).clone(), ids, hist)
    got = Seq2SeqRunner(lm.model, ids, pad).teacher_forced([[13, 2], [14, 2]], start)
    for s, t, lp in zip(ids, [[13, 2], [14, 2]], got):
        want = oracle(lm.model, s, [start] + t[:-1])
        assert lp == pytest.approx([want[i, tok].item() for i, tok in enumerate(t)], abs=ATOL)


@pytest.mark.parametrize("kind", ["bart", "t5"])
def test_float64_model_gives_float32_log_probs(tiny_models, kind):
    """The class docstring: steps return float32 log-probs, whatever the model's dtype (here float64, whose
    BART logits land in the reused buffer in float64 and must not be log-softmaxed in place there)."""
    lm = _fresh(tiny_models, kind)
    lm.model.double()
    pad, start, ids = _setup(lm)
    runner = Seq2SeqRunner(lm.model, ids, pad, repeats=2)
    srcs, hist = [ids[0], ids[0], ids[1], ids[1]], [[start]] * 4
    _check_step(lm.model, runner.step(torch.full((4,), start)), srcs, hist)
    hist = [[start, t] for t in (3, 4, 5, 6)]
    _check_step(lm.model, runner.step(torch.tensor([3, 4, 5, 6])), srcs, hist)


# ---------------------------------------------------------------------------------------------------------
# execution details outside and inside ``plain``


def test_step_log_probs_live_in_the_reused_buffer(tiny_models):
    """Class docstring: outside ``plain``, the log-probs of a step live in a buffer that the next step
    overwrites (BART: the sliced head writes the logits into the runner's buffer and the log-softmax runs in
    place there). The first step's tensor, still referenced, is overwritten by the second step's values,
    which equal the oracle; with ``plain`` every step is a fresh tensor."""
    lm = _fresh(tiny_models, "bart")
    pad, start, ids = _setup(lm)
    runner = Seq2SeqRunner(lm.model, ids, pad, repeats=2)
    first = runner.step(torch.full((4,), start))
    kept = first.clone()
    second = runner.step(torch.tensor([3, 4, 5, 6]))
    assert second.data_ptr() == first.data_ptr()
    assert torch.equal(first, second) and not torch.equal(kept, second)
    _check_step(lm.model, second, [ids[0], ids[0], ids[1], ids[1]], [[start, t] for t in (3, 4, 5, 6)])

    plain = Seq2SeqRunner(lm.model, ids, pad, repeats=2, plain=True)
    first = plain.step(torch.full((4,), start))
    kept = first.clone()
    second = plain.step(torch.tensor([3, 4, 5, 6]))
    assert second.data_ptr() != first.data_ptr() and torch.equal(first, kept)


def _count_head(model, monkeypatch):
    """Counts calls of the model's ``lm_head`` module and of scoring.sliced_projection."""
    calls = {"lm_head": 0, "sliced": 0}
    head = model.get_output_embeddings()
    handle = head.register_forward_hook(lambda *a: calls.__setitem__("lm_head", calls["lm_head"] + 1))
    real = scoring.sliced_projection

    def counting(*args, **kwargs):
        calls["sliced"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "sliced_projection", counting)
    return calls, handle


def test_head_outside_and_inside_plain(tiny_models, monkeypatch):
    """BART outside ``plain``: the logits come from the sliced projection with the final bias inside, the
    ``lm_head`` module is never called (module docstring). Inside ``plain``: the stock forward, ``lm_head``
    called once per pass and nothing sliced (class docstring: "the output projection as one product"), and no
    preallocated self-attention cache even when a capacity is given. Values equal the oracle either way."""
    lm = _fresh(tiny_models, "bart")
    pad, start, ids = _setup(lm)
    calls, handle = _count_head(lm.model, monkeypatch)
    try:
        fast = Seq2SeqRunner(lm.model, ids, pad, capacity=8)
        fast_lp = fast.step(torch.tensor([start, start])).clone()
        fast.teacher_forced([[5, 2], [6, 2]], start)
        assert calls == {"lm_head": 0, "sliced": 2}
        assert "update" in vars(fast.past.self_attention_cache.layers[0])  # capacity honoured outside plain

        calls.update(lm_head=0, sliced=0)
        plain = Seq2SeqRunner(lm.model, ids, pad, plain=True, capacity=8)
        plain_lp = plain.step(torch.tensor([start, start])).clone()
        plain.step(torch.tensor([5, 6]))
        assert calls == {"lm_head": 2, "sliced": 0}
        assert "update" not in vars(plain.past.self_attention_cache.layers[0])
    finally:
        handle.remove()
    for lp in (fast_lp, plain_lp):  # the oracle calls lm_head itself, so after the counting
        _check_step(lm.model, lp, ids, [[start], [start]])


def test_t5_head_is_sliced_outside_plain(tiny_models, monkeypatch):
    """T5 (no final bias, so no split): outside ``plain`` the model's head runs sliced (:func:`chunked_head`)
    once the vocabulary exceeds the slice; inside ``plain`` it is one product. Here the slice is set to 128
    rows so that the tiny vocabulary exceeds it."""
    lm = _fresh(tiny_models, "t5")
    monkeypatch.setattr(scoring, "HEAD_CHUNK", 128)
    assert lm.model.get_output_embeddings().weight.shape[0] > 128
    pad, start, ids = _setup(lm)
    calls, handle = _count_head(lm.model, monkeypatch)
    try:
        for plain, sliced in ((False, 1), (True, 0)):
            calls.update(lm_head=0, sliced=0)
            runner = Seq2SeqRunner(lm.model, ids, pad, plain=plain)
            lp = runner.step(torch.tensor([start, start])).clone()
            assert calls == {"lm_head": 1, "sliced": sliced}
            _check_step(lm.model, lp, ids, [[start], [start]])  # (the oracle calls lm_head too)
    finally:
        handle.remove()


# ---------------------------------------------------------------------------------------------------------
# devices


_FACTORIES = {torch.arange, torch.as_tensor, torch.tensor, torch.empty, torch.full, torch.zeros, torch.ones}


class _DeviceRequests(TorchFunctionMode):
    """Records the device requested by each tensor factory call and each ``Tensor.to`` made from
    factbench/models/scoring.py (the caller's frame), outside its ``_pad`` helper, whose factories build on
    the CPU on purpose and whose result is moved with ``.to(device)``."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        kwargs = kwargs or {}
        frame = sys._getframe(1)
        where = frame.f_code
        if where.co_filename.endswith("scoring.py"):
            if func is torch.Tensor.to:
                self.seen.append(("to", where.co_name, args[1] if len(args) > 1 else kwargs.get("device", "-")))
            elif func in _FACTORIES and "_pad" not in where.co_name:
                self.seen.append((func.__name__, where.co_name, kwargs.get("device", "-")))
        return func(*args, **kwargs)


def test_every_tensor_is_requested_on_the_model_device(lm):
    """Each tensor the runner builds (the padded sources and decoder inputs, the row index, the logits buffer,
    the target ids, the identity order of reorder) names the model's device, so a model on an accelerator
    gets them there; on this CPU-only machine the request is what can be checked."""
    pad, start, ids = _setup(lm)
    mode = _DeviceRequests()
    with mode:
        runner = Seq2SeqRunner(lm.model, ids, pad, repeats=2)
        runner.step(torch.full((4,), start))
        runner.reorder(torch.tensor([1, 0, 2, 3]))
        runner.teacher_forced([[5, 2], [6], [7, 8, 2], [9, 2]], start)
        Seq2SeqRunner(lm.model, ids, pad, index=[0, 1])
    cpu = torch.device("cpu")
    assert mode.seen
    bad = [s for s in mode.seen
           if not isinstance(s[2], (torch.device, str)) or s[2] == "-" or torch.device(s[2]) != cpu]
    assert not bad, bad
    names = {s[0] for s in mode.seen}
    assert {"to", "arange", "as_tensor", "tensor"} <= names
    if lm.model.config.model_type == "bart":
        assert "empty" in names  # the logits buffer


# ---------------------------------------------------------------------------------------------------------
# other cache conventions (stand-ins around the tiny BART)


class _NoReorder:
    """A self-attention cache part that cannot reorder itself."""


class _OpaqueCache:
    """A cache that reorders as a whole but whose self-attention part cannot (the runner's ``elif`` branch)."""

    def __init__(self, inner):
        self.inner = inner
        self.self_attention_cache = _NoReorder()

    def reorder_cache(self, idx):
        self.inner.reorder_cache(idx)


class _StandIn(torch.nn.Module):
    """The tiny model behind another cache convention: ``legacy`` returns and takes tuple caches, one
    ``(self k, self v, cross k, cross v)`` per layer (transformers before its Cache classes); ``opaque`` returns
    an :class:`_OpaqueCache`. Logits are the inner model's."""

    def __init__(self, inner, mode):
        super().__init__()
        self.inner, self.mode, self.config = inner, mode, inner.config

    def get_encoder(self):
        return self.inner.get_encoder()

    def get_decoder(self):
        return self.inner.get_decoder()

    def get_output_embeddings(self):
        return self.inner.get_output_embeddings()

    def _run(self, past, **kwargs):
        from transformers.cache_utils import EncoderDecoderCache

        if isinstance(past, tuple):
            past = EncoderDecoderCache.from_legacy_cache(past)
        elif isinstance(past, _OpaqueCache):
            past = past.inner
        out = self.inner(past_key_values=past, **kwargs)
        cache = out.past_key_values
        if cache is not None and self.mode == "legacy":
            cache = cache.to_legacy_cache()
        elif cache is not None and self.mode == "opaque":
            cache = _OpaqueCache(cache)
        return out.logits, cache

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, encoder_outputs=None,
                past_key_values=None, use_cache=None, return_dict=None):
        logits, cache = self._run(past_key_values, input_ids=input_ids, attention_mask=attention_mask,
                                  decoder_input_ids=decoder_input_ids, encoder_outputs=encoder_outputs,
                                  use_cache=use_cache, return_dict=True)
        return types.SimpleNamespace(logits=logits, past_key_values=cache)


class _Renamed(_StandIn):
    """The tiny model behind transformers 5's names, as the runner's ``_cache_arg`` describes them: the cache
    goes in as ``cache=`` and comes back as ``.cache`` (no ``past_key_values`` attribute)."""

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, encoder_outputs=None,
                cache=None, use_cache=None, return_dict=None):
        logits, cache = self._run(cache, input_ids=input_ids, attention_mask=attention_mask,
                                  decoder_input_ids=decoder_input_ids, encoder_outputs=encoder_outputs,
                                  use_cache=use_cache, return_dict=True)
        return types.SimpleNamespace(logits=logits, cache=cache)


@pytest.mark.parametrize("mode", ["legacy", "opaque", "renamed"])
def test_other_cache_conventions_equal_the_model_forward(tiny_models, mode):
    """2 sources x 2 rows: steps, a reorder within each source, a selection, steps; then teacher forcing. Each
    equals the oracle (the inner model's own forward), whatever convention carries the cache."""
    if TRANSFORMERS_5 and mode == "legacy":
        pytest.skip("transformers 5 has no legacy tuple caches (EncoderDecoderCache.to_legacy_cache is gone)")
    lm = _fresh(tiny_models, "bart")
    inner = lm.model
    model = _Renamed(inner, "cache") if mode == "renamed" else _StandIn(inner, mode)
    pad, start, ids = _setup(lm)
    runner = Seq2SeqRunner(model, ids, pad, repeats=2)
    assert runner._cache_arg == ("cache" if mode == "renamed" else "past_key_values")
    srcs, hist = [ids[0], ids[0], ids[1], ids[1]], [[start] for _ in range(4)]

    def step(tokens):
        _check_step(inner, runner.step(torch.tensor([h[-1] for h in hist])).clone(), srcs, hist)
        for h, t in zip(hist, tokens):
            h.append(t)

    step([11, 12, 13, 14])
    step([21, 22, 23, 24])
    idx = [1, 0, 3, 2]
    runner.reorder(torch.tensor(idx))
    hist, srcs = [list(hist[i]) for i in idx], [srcs[i] for i in idx]
    step([31, 32, 33, 34])
    keep = [0, 3]
    runner.select(torch.tensor(keep))
    hist, srcs = [hist[i] for i in keep], [srcs[i] for i in keep]
    step([41, 42])
    targets = [[5, 6, 2], [7, 2]]
    got = Seq2SeqRunner(model, ids, pad).teacher_forced(targets, start)
    for s, t, lp in zip(ids, targets, got):
        want = oracle(inner, s, [start] + t[:-1])
        assert lp == pytest.approx([want[i, tok].item() for i, tok in enumerate(t)], abs=ATOL)
