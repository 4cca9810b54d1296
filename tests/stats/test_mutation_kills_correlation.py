"""Tests written for mutants of factbench/stats/correlation.py and factbench/stats/_checks.py that survived the
mutation run of 2026-12-01 (docs/mutation.md). Each pins a behaviour no earlier test checked. Expected values
come from scipy/numpy on the expanded (or residualised) sample, from a hand derivation, or from the docstrings;
none is factbench compared with itself."""

import warnings

import numpy as np
import pytest
from scipy import stats

from factbench.errors import ConfigError, DataError
from factbench.stats import correlate, make_layout
from factbench.stats._checks import confidence_level, positive_int
from factbench.stats.correlation import level_statistic, method_name


# ---------------------------------------------------------------- references (numpy / scipy, not factbench)

def _partial_reference(x, y, sys_codes, counts):
    """FRANK's partial correlation on the sample expanded by the integer ``counts`` (each row repeated that many
    times): residualise on one-hot(system) with numpy's least squares, then scipy's Pearson."""
    idx = np.repeat(np.arange(len(x)), np.rint(counts).astype(int))
    onehot = np.eye(sys_codes.max() + 1)[sys_codes[idx]]
    rx = x[idx] - onehot @ np.linalg.lstsq(onehot, x[idx], rcond=None)[0]
    ry = y[idx] - onehot @ np.linalg.lstsq(onehot, y[idx], rcond=None)[0]
    return stats.pearsonr(rx, ry).statistic


def _grid(n_docs, systems=("A", "B", "C")):
    """Every document summarised by every system: ``docs``, ``systems`` per row and the layout."""
    docs = np.repeat([f"d{i}" for i in range(n_docs)], len(systems))
    sys = np.tile(list(systems), n_docs)
    return docs, sys, make_layout(docs, sys)


# ---------------------------------------------------------------- error messages (_checks, validated, correlate)

def test_correlate_errors_name_the_bad_argument_and_its_problem():
    with pytest.raises(DataError, match=r"^metric scores: expected a 1-D sequence, got shape \(2, 2\)$"):
        correlate([[1, 2], [3, 4]], [1, 2])
    with pytest.raises(DataError, match=r"^metric scores: not numeric \(could not convert string to float: 'a'\)$"):
        correlate(["a", "b"], [1, 2])
    with pytest.raises(DataError, match=r"^metric scores: value at position 1 is .*nan.* \(missing values must be "
                                        r"dropped first\)$"):
        correlate([1.0, float("nan"), 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=r"^human scores: value at position 0 is .*inf"):
        correlate([1.0, 2.0], [float("inf"), 2.0])
    with pytest.raises(ConfigError, match=r"^method must be one of pearson, spearman, kendall; got 'pearsonr'$"):
        correlate([1, 2, 3], [1, 3, 2], method="pearsonr")
    with pytest.raises(ConfigError, match=r"^kendall variant must be one of b, c; got 'a'$"):
        correlate([1, 2, 3], [1, 3, 2], method="kendall", kendall_variant="a")
    with pytest.raises(ConfigError, match=r"^level must be one of summary, system, global, partial; got 'doc'$"):
        correlate([1, 2, 3], [1, 3, 2], level="doc")
    with pytest.raises(ConfigError, match=r"^the summary level needs document ids \(docs=\.\.\.\)$"):
        correlate([1, 2, 3], [1, 3, 2], systems=["A", "B", "C"], level="summary")


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.5, "0.95"])
def test_confidence_outside_the_open_unit_interval_or_not_a_number_is_refused(bad):
    """The level must lie in the open interval (0, 1): 0 and 1 themselves are refused, as is a string."""
    with pytest.raises(ConfigError, match=rf"^confidence must be in \(0, 1\); got {repr(bad)}$"):
        confidence_level(bad)


@pytest.mark.parametrize("bad", [True, 2.5, "10", 0])
def test_a_count_must_be_a_true_integer_at_least_the_minimum(bad):
    """A bool is not a count, nor is a float or a string, even when its value would pass."""
    with pytest.raises(ConfigError, match=rf"^number of bootstrap resamples must be an integer >= 1; got {repr(bad)}$"):
        positive_int(bad, "number of bootstrap resamples")


def test_a_count_may_be_a_numpy_integer():
    assert positive_int(np.int64(5), "number of permutations") == 5 and positive_int(3, "n", minimum=3) == 3


def test_confidence_inside_the_unit_interval_is_returned_as_float():
    assert confidence_level(0.95) == 0.95 and isinstance(confidence_level(0.95), float)


# ---------------------------------------------------------------- make_layout

def test_make_layout_needs_some_ids_or_a_length():
    with pytest.raises(ValueError, match=r"^make_layout needs docs, systems or n$"):
        make_layout()


def test_make_layout_refuses_ids_of_different_lengths_naming_each_length():
    with pytest.raises(DataError, match=r"^length mismatch: docs=3, systems=2, n=3$"):
        make_layout(["d1", "d2", "d3"], ["A", "B"])
    with pytest.raises(DataError, match=r"^length mismatch: docs=2, n=3$"):
        make_layout(["d1", "d2"], n=3)
    with pytest.raises(DataError, match=r"^length mismatch: systems=2, n=3$"):
        make_layout(systems=["A", "B"], n=3)


def test_make_layout_from_systems_only_makes_every_row_its_own_document():
    """Docstring: ``docs=None`` makes every row its own document; the length comes from ``systems``. With one
    summary per document, ``cells`` has one column (shape (n_docs, max summaries per document))."""
    lay = make_layout(systems=["A", "B", "A"])
    assert (lay.n, lay.n_docs, lay.n_systems) == (3, 3, 2)
    assert lay.cells.tolist() == [[0], [1], [2]]
    assert lay.doc_names == ("0", "1", "2") and all(isinstance(d, str) for d in lay.doc_names)
    assert lay.sys_codes.tolist() == [0, 1, 0]


def test_make_layout_from_docs_only_puts_every_row_in_one_system_named_all():
    """Docstring: ``systems=None`` puts every row in one system; its label is "all", the label factbench gives the
    whole data set elsewhere too (report.grouping.ALL)."""
    lay = make_layout(["d1", "d2", "d1"])
    assert lay.sys_names == ("all",) and lay.sys_codes.tolist() == [0, 0, 0]
    assert lay.cells.tolist() == [[0, 2], [1, -1]]
    lay = make_layout(["d1", "d2"])
    assert lay.cells.tolist() == [[0], [1]]  # one summary per document: one column, no padding


def test_make_layout_of_zero_rows_is_an_empty_layout():
    for lay in (make_layout([]), make_layout(n=0)):
        assert (lay.n, lay.n_docs) == (0, 0) and lay.cells.size == 0


def test_make_layout_lists_each_documents_rows_in_row_order():
    """60 rows, 4 documents interleaved in reverse: ``cells[d]`` holds the rows of document d in increasing order
    (as in the docstring example), expected from ``np.flatnonzero`` on the ids."""
    docs = np.array([f"d{3 - (i % 4)}" for i in range(60)])
    lay = make_layout(docs, np.arange(60) % 15)
    assert lay.doc_names == ("d0", "d1", "d2", "d3")
    for d, name in enumerate(lay.doc_names):
        assert lay.cells[d].tolist() == np.flatnonzero(docs == name).tolist()


def test_make_layout_emits_no_warning():
    """A deprecated numpy call (e.g. ``np.bincount(..., minlength=None)``) would warn now and fail later."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lay = make_layout(["d1", "d1", "d2"], ["A", "B", "A"])
    assert lay.cells.tolist() == [[0, 1], [2, -1]]


# ---------------------------------------------------------------- method names and the default Kendall variant

def test_kendall_is_named_tau_b_by_default():
    assert method_name("kendall") == "Kendall tau-b"
    assert method_name("kendall", "c") == "Kendall tau-c"


def test_level_statistic_default_kendall_variant_is_tau_b():
    """Data with ties and a 2x3 table, where tau-b and tau-c differ; expected from scipy's kendalltau."""
    x = np.array([1.0, 1.0, 2.0, 2.0, 2.0, 1.0])
    y = np.array([1.0, 2.0, 3.0, 3.0, 2.0, 1.0])
    tau_b = stats.kendalltau(x, y, variant="b").statistic
    assert tau_b != pytest.approx(stats.kendalltau(x, y, variant="c").statistic)
    value = level_statistic(x, y, make_layout(n=6), "global", "kendall")[0]
    assert float(value) == pytest.approx(tau_b, abs=1e-12)


# ---------------------------------------------------------------- level_statistic inputs

def _obj(a):
    return np.array(list(a), dtype=object)


@pytest.mark.parametrize("arg", ["x", "y", "doc_w", "sys_w", "mask"])
def test_level_statistic_converts_object_arrays_to_float(arg):
    """An object-dtype array of numbers (what a pandas object column gives) is read as floats, like a float array.
    System level, Spearman: expected is scipy's spearmanr of the per-system means computed with numpy."""
    rng = np.random.default_rng(11)
    docs, sys, lay = _grid(5, ("A", "B", "C", "D"))
    x = rng.normal(size=20)
    y = x + rng.normal(size=20)
    means = [(x[sys == s].mean(), y[sys == s].mean()) for s in lay.sys_names]
    expected = stats.spearmanr(*zip(*means)).statistic
    args = {"x": x, "y": y}
    kwargs = {}
    ones = {"doc_w": np.ones(5), "sys_w": np.ones(4), "mask": np.ones(20, bool)}
    if arg in args:
        args[arg] = _obj(args[arg])
    else:
        kwargs[arg] = _obj(ones[arg])
    value, used, _ = level_statistic(args["x"], args["y"], lay, "system", "spearman", **kwargs)
    assert float(value) == pytest.approx(expected, abs=1e-12) and int(used) == 4


def test_summary_level_counts_a_single_summary_document_as_skipped_and_a_fully_masked_one_as_absent():
    """4 documents x 3 systems. Document d2 keeps one summary: it has no correlation and is counted in
    ``n_skipped`` (module docstring: fewer than two summaries). Document d3 has no summary left at all: like a
    document not drawn (weight 0) it is absent, neither used nor skipped. The value is the mean of scipy's
    Pearson over d0 and d1."""
    rng = np.random.default_rng(5)
    docs, sys, lay = _grid(4)
    x, y = rng.normal(size=12), rng.normal(size=12)
    mask = np.ones(12, bool)
    mask[[7, 8]] = False          # d2: only row 6 left
    mask[[9, 10, 11]] = False     # d3: nothing left
    expected = np.mean([stats.pearsonr(x[3 * d:3 * d + 3], y[3 * d:3 * d + 3]).statistic for d in (0, 1)])
    value, used, skipped = level_statistic(x, y, lay, "summary", "pearson", mask=mask)
    assert (int(used), int(skipped)) == (2, 1)
    assert float(value) == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------- partial Pearson over many weightings

def test_partial_pearson_with_two_leading_weight_axes_equals_scipy_on_each_expanded_sample():
    """``doc_w`` of shape (2, 4, n_docs) (the docstring allows any leading axes; 4 weightings per row differ from
    the 3 systems so no axis mix-up can broadcast by chance): each entry equals FRANK's partial correlation
    computed with numpy least squares + scipy on that weighting's expanded sample."""
    rng = np.random.default_rng(21)
    docs, sys, lay = _grid(6)
    x = rng.normal(size=18) + np.repeat([[0.0, 2.0, -1.0]], 6, axis=0).ravel()
    y = 0.5 * x + rng.normal(size=18)
    doc_w = rng.integers(1, 3, size=(2, 4, 6)).astype(float)
    value, used, skipped = level_statistic(x, y, lay, "partial", "pearson", doc_w=doc_w)
    assert value.shape == used.shape == skipped.shape == (2, 4)
    for a in range(2):
        for b in range(4):
            counts = doc_w[a, b][lay.doc_codes]
            assert value[a, b] == pytest.approx(_partial_reference(x, y, lay.sys_codes, counts), abs=1e-12)
    assert used.tolist() == [[18] * 4] * 2
    assert np.issubdtype(skipped.dtype, np.integer) and not skipped.any()


def test_partial_pearson_over_weightings_is_accurate_for_scores_with_a_large_offset():
    """Scores around 1e6 (e.g. raw counts) with unit-scale variation: the bootstrap's one-pass moment formulas must
    not lose the variation to cancellation. Expected: numpy least squares + scipy on each expanded sample."""
    rng = np.random.default_rng(2)
    docs, sys, lay = _grid(8)
    x = 1e6 + rng.normal(size=24) + np.tile([0.0, 5.0, -3.0], 8)
    y = 1e6 + 0.5 * (x - 1e6) + rng.normal(size=24)
    doc_w = rng.integers(0, 3, size=(30, 8)).astype(float)
    value, used, _ = level_statistic(x, y, lay, "partial", "pearson", doc_w=doc_w)
    expected = [_partial_reference(x, y, lay.sys_codes, w[lay.doc_codes]) for w in doc_w]
    np.testing.assert_allclose(value, expected, rtol=0, atol=1e-9)
    assert used.tolist() == (3 * (doc_w > 0).sum(axis=1)).tolist()  # summaries with weight, 3 per drawn document


def test_partial_pearson_over_weightings_does_not_depend_on_the_scale_of_the_weights():
    """Weighted Pearson is unchanged when every weight is multiplied by the same constant, also when a system's
    total weight falls below 1 (weights = counts / 100). Expected: scipy on the sample expanded by the counts."""
    rng = np.random.default_rng(9)
    docs, sys, lay = _grid(5)
    x, y = rng.normal(size=15), rng.normal(size=15)
    counts = rng.integers(1, 3, size=(6, 5)).astype(float)
    value = level_statistic(x, y, lay, "partial", "pearson", doc_w=counts / 100)[0]
    expected = [_partial_reference(x, y, lay.sys_codes, w[lay.doc_codes]) for w in counts]
    np.testing.assert_allclose(value, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("slope", [3.0, -3.0, 0.7, -0.7])
def test_partial_pearson_of_exactly_linear_residuals_is_plus_or_minus_one_never_beyond(slope):
    """y = slope * x + a per-system offset: the within-system residuals are exactly proportional, so the partial
    correlation is sign(slope) (hand-derived), and a correlation never exceeds 1 in absolute value (Cauchy-Schwarz),
    whatever the rounding of the moment sums."""
    rng = np.random.default_rng(1)
    docs, sys, lay = _grid(10)
    x = rng.normal(size=30)
    y = slope * x + np.tile([0.3, -1.7, 2.2], 10)
    doc_w = rng.integers(1, 3, size=(200, 10)).astype(float)
    value = level_statistic(x, y, lay, "partial", "pearson", doc_w=doc_w)[0]
    assert np.all(np.abs(value) <= 1.0)
    np.testing.assert_allclose(value, np.sign(slope), rtol=0, atol=1e-12)


def test_partial_pearson_is_nan_when_the_metric_is_constant_within_every_drawn_system():
    """System A appears in one document only, drawn once in every weighting (total weight exactly 1); in B and C
    the metric takes one value over the drawn documents d0-d4 and other values only in the documents never
    drawn (d5-d7). Within every system with weight the metric is constant, so the partial correlation is
    undefined (module docstring: a constant vector gives NaN) in every weighting."""
    rng = np.random.default_rng(3)
    docs = [0, 0, 0] + [d for d in range(1, 8) for _ in range(2)]
    systems = ["A", "B", "C"] + ["B", "C"] * 7
    lay = make_layout(docs, systems)
    base = {"A": 0.3, "B": 1.1, "C": -0.7}
    x = np.array([base[s] for s in systems]) + np.where(np.asarray(docs) >= 5, rng.normal(size=lay.n), 0.0)
    y = rng.normal(size=lay.n)
    doc_w = np.zeros((300, 8))
    doc_w[:, 0] = 1
    doc_w[:, 1:5] = rng.integers(1, 4, size=(300, 4))
    value = level_statistic(x, y, lay, "partial", "pearson", doc_w=doc_w)[0]
    assert value.shape == (300,) and np.all(np.isnan(value))


def test_partial_pearson_over_weightings_is_accurate_for_scores_on_a_small_scale():
    """Scores whose within-system differences are of order 1e-6 (e.g. near-equal probabilities): the bootstrap's
    partial Pearson over many weightings stays exact, with no rounding of the residuals at a fixed number of
    decimals. Expected: numpy least squares + scipy on each expanded sample."""
    rng = np.random.default_rng(2)
    docs, sys, lay = _grid(8)
    x = 1e-6 * (rng.normal(size=24) + np.tile([0.0, 5.0, -3.0], 8))
    y = 0.5e6 * x + rng.normal(size=24)
    doc_w = rng.integers(0, 3, size=(30, 8)).astype(float)
    value = level_statistic(x, y, lay, "partial", "pearson", doc_w=doc_w)[0]
    expected = [_partial_reference(x, y, lay.sys_codes, w[lay.doc_codes]) for w in doc_w]
    np.testing.assert_allclose(value, expected, rtol=0, atol=1e-9)


# ---------------------------------------------------------------- summary and system level over many weightings

def test_summary_level_with_document_weights_only_averages_scipy_per_document_over_drawn_documents():
    """``doc_w`` of shape (B, n_docs) and no ``sys_w``: each document's correlation (scipy's Pearson over its 3
    summaries) is averaged with the document weights; a document with weight 0 is neither used nor skipped, a
    drawn constant document (d4) is skipped. Counts have one entry per weighting and are integers."""
    rng = np.random.default_rng(8)
    docs, sys, lay = _grid(6)
    x, y = rng.normal(size=18), rng.normal(size=18)
    x[12:15] = 0.25                                   # d4: constant metric
    per_doc = np.array([stats.pearsonr(x[3 * d:3 * d + 3], y[3 * d:3 * d + 3]).statistic if d != 4 else np.nan
                        for d in range(6)])
    doc_w = rng.integers(0, 3, size=(40, 6)).astype(float)
    doc_w[0] = [0, 2, 0, 1, 1, 0]
    value, used, skipped = level_statistic(x, y, lay, "summary", "pearson", doc_w=doc_w)
    assert value.shape == used.shape == skipped.shape == (40,)
    assert np.issubdtype(used.dtype, np.integer) and np.issubdtype(skipped.dtype, np.integer)
    assert (int(used[0]), int(skipped[0])) == (2, 1)
    for w, v, u, s in zip(doc_w, value, used, skipped):
        ok = (w > 0) & ~np.isnan(per_doc)
        assert (u, s) == (ok.sum(), ((w > 0) & np.isnan(per_doc)).sum())
        if ok.any():
            assert v == pytest.approx(np.average(per_doc[ok], weights=w[ok]), abs=1e-12)


def _system_data():
    """5 documents x 4 systems; system D has no present row, system C only one (document d0)."""
    rng = np.random.default_rng(13)
    docs, sys, lay = _grid(5, ("A", "B", "C", "D"))
    x, y = rng.normal(size=20), rng.normal(size=20)
    mask = (sys != "D") & ((sys != "C") | (docs == "d0"))
    means = {s: (x[(sys == s) & mask].mean(), y[(sys == s) & mask].mean()) for s in ("A", "B", "C")}
    return x, y, lay, mask, means


def test_system_level_uses_every_system_with_a_present_summary_and_only_those():
    """System D (no present summary) is not a point; system C (one present summary, weight exactly 1) is.
    Expected: scipy's Pearson over the three system means computed with numpy (to 1e-9: factbench rounds system
    means to 10 decimals, TIE_DECIMALS); 3 systems used, 0 skipped."""
    x, y, lay, mask, means = _system_data()
    expected = stats.pearsonr(*zip(*means.values())).statistic
    value, used, skipped = level_statistic(x, y, lay, "system", "pearson", mask=mask)
    assert float(value) == pytest.approx(expected, abs=1e-9)
    assert (int(used), int(skipped)) == (3, 0)


def test_system_level_over_system_weights_has_one_value_and_integer_counts_per_weighting():
    """``sys_w`` of shape (B, n_systems): entry b equals scipy's Pearson over the system means repeated
    ``sys_w[b, s]`` times (the expanded sample; to 1e-9, as the means are rounded to 10 decimals); D has no
    present summary and never counts."""
    x, y, lay, mask, means = _system_data()
    rng = np.random.default_rng(14)
    sys_w = rng.integers(1, 4, size=(25, 4)).astype(float)
    value, used, skipped = level_statistic(x, y, lay, "system", "pearson", sys_w=sys_w, mask=mask)
    assert value.shape == used.shape == skipped.shape == (25,)
    assert np.issubdtype(skipped.dtype, np.integer) and skipped.tolist() == [0] * 25
    assert used.tolist() == [3] * 25
    pts = np.array(list(means.values()))
    for w, v in zip(sys_w, value):
        rep = np.repeat(pts, w[:3].astype(int), axis=0)
        assert v == pytest.approx(stats.pearsonr(rep[:, 0], rep[:, 1]).statistic, abs=1e-9)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_global_level_over_weightings_equals_scipy_on_each_expanded_sample_and_counts_drawn_rows(method):
    """Every row its own document, ``doc_w`` of shape (B, n) with zeros: entry b equals scipy's statistic on the
    sample expanded by the counts; ``n_used`` counts the rows drawn at least once; ``n_skipped`` is integer 0."""
    rng = np.random.default_rng(17)
    x, y = rng.normal(size=12), rng.normal(size=12)
    doc_w = rng.integers(0, 3, size=(20, 12)).astype(float)
    lay = make_layout(n=12)
    value, used, skipped = level_statistic(x, y, lay, "global", method, doc_w=doc_w)
    assert value.shape == used.shape == skipped.shape == (20,)
    assert used.tolist() == (doc_w > 0).sum(axis=1).tolist()
    assert np.issubdtype(skipped.dtype, np.integer) and not skipped.any()
    scipy_stat = {"pearson": stats.pearsonr, "spearman": stats.spearmanr}[method]
    for w, v in zip(doc_w, value):
        idx = np.repeat(np.arange(12), w[lay.doc_codes].astype(int))  # doc_w is indexed by document code
        assert v == pytest.approx(scipy_stat(x[idx], y[idx]).statistic, abs=1e-12)
