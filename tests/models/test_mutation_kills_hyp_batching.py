"""Tests written for mutants of factbench/models/generation.py (``Hyp.to_json``/``Hyp.from_json``) and
factbench/models/batching.py that survived the mutation run of 2026-12-01 (docs/mutation.md).

They pin down two contracts:

* the JSON form of a generated hypothesis. QUALS caches ``Hyp.to_json()`` dicts and later reads them by key
  (``h["tokens"]``, ``h["token_logprobs"]``, ``h["score"]``, ``h["norm_score"]``, ``h.get("group")``,
  ``h.get("model_logprobs")``, metrics/quals.py ``_pairs``), so the keys and values are written out by hand
  below; ``from_json`` must read that form back field by field (also after a trip through ``json``), and
  fill the dataclass defaults (group None, text "", model_logprobs None) for keys an entry lacks.
* batching: ``unique_sorted`` gives the distinct items longest first (ties in first-seen order, as Python's
  stable ``sorted`` keeps them); ``is_oom`` recognises out-of-memory errors by message (any case) or by the
  class name ``OutOfMemoryError`` (torch.cuda.OutOfMemoryError); ``map_batches`` applies a function in
  batches of the given size over that order, halves the batch (integer halving) on an OOM and retries the
  same items, re-raises an OOM at batch size 1 and any other error at once. The batch functions below are
  fakes that record the chunks they are given and raise OOM-like errors on a scripted rule; every expected
  chunk sequence is worked out by hand from that rule.
"""

import json

import pytest
import torch

import factbench.models.batching as batching
from factbench.models.batching import is_oom, map_batches, unique_sorted
from factbench.models.generation import Hyp

# --- Hyp JSON form


def _full_hyp():
    return Hyp([5, 9, 2], [-0.5, -1.25, -0.25], -2.0, -2.0 / 3, 3, "a question?", [-0.5, -1.0, -0.125])


def test_hyp_to_json_writes_every_field_under_its_documented_key():
    """The dict QUALS caches and reads back by key (metrics/quals.py); values are the constructor's arguments."""
    assert _full_hyp().to_json() == {
        "tokens": [5, 9, 2],
        "token_logprobs": [-0.5, -1.25, -0.25],
        "score": -2.0,
        "norm_score": -2.0 / 3,
        "group": 3,
        "text": "a question?",
        "model_logprobs": [-0.5, -1.0, -0.125],
    }


def test_hyp_from_json_reads_every_field_also_after_a_json_trip():
    """A hand-written cache entry is read field by field (``text`` and ``model_logprobs`` are compare=False in
    the dataclass, so they are checked one by one); the same after to_json -> json text -> from_json."""
    d = {"tokens": [7, 1, 2], "token_logprobs": [-0.75, -0.5, -0.25], "score": -1.5, "norm_score": -0.5,
         "group": 4, "text": "who?", "model_logprobs": [-0.25, -0.5, -0.125]}
    for h in (Hyp.from_json(d), Hyp.from_json(json.loads(json.dumps(Hyp.from_json(d).to_json())))):
        assert (h.tokens, h.token_logprobs, h.score, h.norm_score, h.group, h.text, h.model_logprobs) == (
            [7, 1, 2], [-0.75, -0.5, -0.25], -1.5, -0.5, 4, "who?", [-0.25, -0.5, -0.125])


def test_hyp_from_json_fills_dataclass_defaults_for_missing_optional_keys():
    """Only the four required keys: group None, text "" and model_logprobs None (the dataclass defaults)."""
    h = Hyp.from_json({"tokens": [3, 2], "token_logprobs": [-1.0, -0.5], "score": -1.5, "norm_score": -0.75})
    assert (h.tokens, h.token_logprobs, h.score, h.norm_score, h.group, h.text, h.model_logprobs) == (
        [3, 2], [-1.0, -0.5], -1.5, -0.75, None, "", None)
    with pytest.raises(KeyError):
        Hyp.from_json({"token_logprobs": [-1.0], "score": -1.0, "norm_score": -1.0})


# --- unique_sorted


def test_unique_sorted_longest_first_not_by_value():
    """By length, longest first: "aaaa" (4), "zz" (2), "m" (1); duplicates dropped. By value (reverse) it would
    be zz, m, aaaa; ascending by length m, zz, aaaa. Ties keep first-seen order ("bb" before "yy" before "cc")."""
    assert unique_sorted(["zz", "aaaa", "m", "zz", "aaaa"], len) == ["aaaa", "zz", "m"]
    assert unique_sorted(["bb", "yy", "bb", "cc", "dddd"], len) == ["dddd", "bb", "yy", "cc"]
    # a key other than len: item ids 0..3 ranked by a length table
    lens = {0: 5, 1: 20, 2: 1, 3: 7}
    assert unique_sorted([0, 1, 2, 3, 2], lens.__getitem__) == [1, 3, 0, 2]


# --- is_oom


class OutOfMemoryError(RuntimeError):
    """Named like torch's CUDA OOM class; its message does not say "out of memory"."""


def test_is_oom_by_message_in_any_case_or_by_class_name():
    assert is_oom(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_oom(RuntimeError("MPS backend Out Of Memory (MPS allocated: 1 GB)"))  # case folded
    assert is_oom(OutOfMemoryError("allocation failed"))  # by class name alone
    assert is_oom(torch.cuda.OutOfMemoryError("CUDA error: allocation failed"))  # torch's own class
    assert not is_oom(RuntimeError("expected scalar type Float but found Half"))
    assert not is_oom(ValueError("bad shape"))


# --- map_batches


class Fake:
    """Batch function: returns each item doubled; records every chunk it is called with; raises
    RuntimeError(``message``) when a chunk holds more than ``fits`` items. An empty chunk is a bug
    (AssertionError, not caught by map_batches, so a broken back-off cannot loop)."""

    def __init__(self, fits=10**9, message="CUDA out of memory. Tried to allocate 1.00 GiB", exc=RuntimeError):
        self.fits, self.message, self.exc, self.calls = fits, message, exc, []

    def __call__(self, chunk):
        assert chunk, "empty chunk"
        self.calls.append(list(chunk))
        if len(chunk) > self.fits:
            raise self.exc(self.message)
        return [x * 2 for x in chunk]


@pytest.fixture
def cache_frees(monkeypatch):
    freed = []
    monkeypatch.setattr(batching, "_empty_device_cache", lambda: freed.append(1))
    return freed


def test_map_batches_plain_batches_in_length_order(cache_frees):
    """No OOM: distinct items, longest first ("dddd", "ccc", "bb", "a"), in chunks of 3; results per item."""
    fn = Fake()
    out = map_batches(["bb", "a", "dddd", "bb", "ccc"], fn, 3)
    assert fn.calls == [["dddd", "ccc", "bb"], ["a"]]
    assert out == {"dddd": "dddddddd", "ccc": "cccccc", "bb": "bbbb", "a": "aa"}
    assert cache_frees == []


def test_map_batches_batch_size_one_and_custom_length(cache_frees):
    """batch_size 1 -> one item per call; order by the length table 1 (9), 0 (4), 2 (2)."""
    fn = Fake()
    lens = {0: 4, 1: 9, 2: 2}
    assert map_batches([0, 1, 2], fn, 1, length=lens.__getitem__) == {1: 2, 0: 0, 2: 4}
    assert fn.calls == [[1], [0], [2]]


def test_map_batches_halves_on_oom_and_keeps_going(cache_frees):
    """9 items (lengths 9..1, so the order is 9,8,...,1), batch 8, only chunks of <= 4 fit:
    8 items -> OOM; size 8 // 2 = 4: [9..6], [5..2], [1] all fit. One cache free per OOM."""
    items = ["x" * n for n in range(1, 10)]
    fn = Fake(fits=4)
    out = map_batches(items, fn, 8)
    order = ["x" * n for n in range(9, 0, -1)]
    assert fn.calls == [order[:8], order[:4], order[4:8], order[8:]]
    assert out == {s: s * 2 for s in items}
    assert cache_frees == [1]


def test_map_batches_halves_down_to_one(cache_frees):
    """5 items, batch 4, only single items fit: 4 -> OOM, 4 // 2 = 2 -> OOM, 2 // 2 = 1 -> fits; then one by
    one. The OOM is recognised by the class name alone (message without "out of memory")."""
    items = [5, 4, 3, 2, 1]  # length = the value itself
    fn = Fake(fits=1, message="allocation failed", exc=OutOfMemoryError)
    out = map_batches(items, fn, 4, length=lambda x: x)
    assert fn.calls == [[5, 4, 3, 2], [5, 4], [5], [4], [3], [2], [1]]
    assert out == {5: 10, 4: 8, 3: 6, 2: 4, 1: 2}
    assert cache_frees == [1, 1]


def test_map_batches_reraises_oom_at_batch_size_one(cache_frees):
    """Nothing fits: 2 -> OOM, halve to 1 -> OOM again at size 1 -> raised (no further halving)."""
    fn = Fake(fits=0)
    with pytest.raises(RuntimeError, match="out of memory"):
        map_batches(["aa", "b", "cc"], fn, 2)
    assert fn.calls == [["aa", "cc"], ["aa"]]
    assert cache_frees == [1]


def test_map_batches_reraises_other_errors_at_once(cache_frees):
    """A RuntimeError that is not an OOM is raised on the first call, without halving."""
    fn = Fake(fits=0, message="expected scalar type Float but found Half")
    with pytest.raises(RuntimeError, match="scalar type"):
        map_batches(["aaa", "bb", "c", "dd"], fn, 4)
    assert fn.calls == [["aaa", "bb", "dd", "c"]]
    assert cache_frees == []
