"""Tests written for mutants of factbench/stats/weighted.py (``is_constant``) that survived the mutation run of
2026-12-01 (docs/mutation.md).

``is_constant(x, w)`` is documented as "True where ``x`` takes fewer than two distinct values among the items with
positive weight". The expected values are hand-computed (listed in the docstrings) or come from ``_reference``
below, a direct transcription of that sentence in plain Python (a set of the present values), which shares no
code with factbench.
"""

import numpy as np

from factbench.stats import weighted


def _reference(x, w):
    """The docstring's definition, in plain Python: fewer than two distinct floats among items with weight > 0."""
    return len({float(v) for v, wi in zip(x, w) if float(wi) > 0}) < 2


def _reference_rows(x, w):
    """``_reference`` for every row of the (broadcast) 2-D arrays x and w."""
    x, w = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(w, dtype=float))
    return np.array([_reference(xr, wr) for xr, wr in zip(x, w)])


# Shared values, one weighting (x and w 1-D)


def test_shared_values_one_weighting_counts_only_items_with_positive_weight():
    """x = (1, 2, 3), hand-computed: weights (1, 0, 0) leave one value -> True; (0, 1, 0) leave only the middle
    value 2 -> True; (1, 1, 0) leave 1 and 2 -> False; (0, 0, 0) leave nothing -> True; (1, 1, 1) -> False."""
    x = [1.0, 2.0, 3.0]
    assert bool(weighted.is_constant(x, [1, 0, 0])) is True
    assert bool(weighted.is_constant(x, [0, 1, 0])) is True
    assert bool(weighted.is_constant(x, [1, 1, 0])) is False
    assert bool(weighted.is_constant(x, [0, 0, 0])) is True
    assert bool(weighted.is_constant(x, [1, 1, 1])) is False


def test_shared_values_repeated_present_value_is_constant_even_if_absent_items_differ():
    """x = (5, 7, 5, 9) with weights (2, 0, 1, 0): the present values are 5 and 5, one distinct value -> True
    (hand-computed); with weight on item 1 as well, 5 and 7 -> False."""
    x = [5.0, 7.0, 5.0, 9.0]
    assert bool(weighted.is_constant(x, [2, 0, 1, 0])) is True
    assert bool(weighted.is_constant(x, [2, 1, 1, 0])) is False


# Shared values, many weightings (x 1-D, w 2-D: the bootstrap)


def test_shared_values_many_weightings_give_one_answer_per_row():
    """x = (2, 3, 1) (unsorted on purpose) and seven weightings of shape (7, 3); the result has one entry per row,
    hand-computed from that row's present values as listed next to it. A row's answer must not be taken from
    another row (e.g. the first row's first or last present item, or "any item present in any row")."""
    x = [2.0, 3.0, 1.0]
    w = np.array([
        [0, 1, 0],  # {3}        -> True
        [1, 0, 1],  # {2, 1}     -> False
        [0, 0, 1],  # {1}        -> True
        [1, 1, 0],  # {2, 3}     -> False
        [0, 0, 0],  # nothing    -> True
        [1, 0, 0],  # {2} (the middle of the sorted values) -> True
        [2, 3, 1],  # {1, 2, 3}  -> False
    ])
    got = weighted.is_constant(x, w)
    assert got.shape == (7,)
    assert got.tolist() == [True, False, True, False, True, True, False]


def test_shared_values_random_weightings_match_the_definition():
    """50 random count weightings (0..2) of 6 shared values with only 3 distinct levels (so constant rows occur);
    each row must agree with ``_reference`` (the docstring's definition in plain Python)."""
    rng = np.random.default_rng(20261201)
    x = rng.integers(0, 3, size=6).astype(float)
    w = rng.integers(0, 3, size=(50, 6)) * (rng.random((50, 6)) < 0.4)
    got = weighted.is_constant(x, w)
    expected = [_reference(x, row) for row in w]
    assert got.shape == (50,)
    assert got.tolist() == expected
    assert any(expected) and not all(expected)  # both answers are exercised


def test_shared_values_with_leading_axes_keep_the_weight_shape():
    """w of shape (2, 3, 5) against shared x of length 5: the result has w.shape[:-1] = (2, 3) (module docstring)
    and every entry agrees with ``_reference``."""
    rng = np.random.default_rng(7)
    x = np.array([1.0, 1.0, 2.0, 4.0, 4.0])
    w = rng.integers(0, 2, size=(2, 3, 5)) * (rng.random((2, 3, 5)) < 0.5)
    got = weighted.is_constant(x, w)
    assert got.shape == (2, 3)
    assert got.reshape(-1).tolist() == [_reference(x, row) for row in w.reshape(-1, 5)]


# Per-row values (x 2-D)


def test_per_row_values_each_row_is_judged_on_its_own():
    """Hand-computed, all weights 1: row (0, 1) has two values -> False; row (2, 2) one -> True; row (1, 1) one ->
    True; row (2, 3) two -> False. A global max/min over all rows would call (2, 2) non-constant (max 3 > 2, or
    2 > min 0) and (1, 1) non-constant."""
    x = np.array([[0.0, 1.0], [2.0, 2.0], [1.0, 1.0], [2.0, 3.0]])
    got = weighted.is_constant(x, np.ones_like(x))
    assert got.tolist() == [False, True, True, False]


def test_per_row_values_ignore_zero_weight_items():
    """Hand-computed: row (1, 1, 5) with weights (1, 1, 0) has present values {1} -> True; with weights
    (1, 0, 1) {1, 5} -> False; row (4, 9, 9) with weights (0, 2, 3) -> {9} True; all weights 0 -> True."""
    x = np.array([[1.0, 1.0, 5.0], [1.0, 1.0, 5.0], [4.0, 9.0, 9.0], [4.0, 9.0, 9.0]])
    w = np.array([[1, 1, 0], [1, 0, 1], [0, 2, 3], [0, 0, 0]])
    assert weighted.is_constant(x, w).tolist() == [True, False, True, True]


def test_per_row_values_random_rows_match_the_definition():
    """40 random rows of 5 values from 3 levels with random count weights (0..2): each agrees with ``_reference``."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, size=(40, 5)).astype(float)
    w = rng.integers(0, 3, size=(40, 5)) * (rng.random((40, 5)) < 0.5)
    expected = _reference_rows(x, w).tolist()
    assert weighted.is_constant(x, w).tolist() == expected
    assert any(expected) and not all(expected)


# Inputs are read as floats


def test_numeric_strings_are_read_as_numbers_for_values_and_weights():
    """Both inputs are converted with ``np.asarray(..., dtype=float)``, so numbers given as strings (e.g. an object
    column read from a CSV) are numbers: "1" and "1.0" are the same value 1.0 -> True; "1" and "2" -> False
    (hand-computed); weights "1"/"0" are 1.0/0.0. As strings, "1" != "1.0", and a string array can neither be
    compared with 0 nor combined with -inf."""
    assert bool(weighted.is_constant(["1", "1.0"], [1.0, 1.0])) is True
    assert bool(weighted.is_constant(["1", "2"], [1.0, 1.0])) is False
    assert bool(weighted.is_constant([1.0, 2.0], ["1", "0"])) is True
    assert bool(weighted.is_constant([1.0, 2.0], ["1", "1"])) is False
    assert weighted.is_constant([["1", "1.0"], ["1", "2"]], np.ones((2, 2))).tolist() == [True, False]
    assert weighted.is_constant([[1.0, 2.0], [3.0, 3.0]], [["1", "0"], ["1", "1"]]).tolist() == [True, True]
