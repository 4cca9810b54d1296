"""The numpy-style docstring examples of factbench.stats are part of the tests (their values are hand-computed
or come from the cited sources)."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["weighted", "correlation", "resampling", "significance", "detection"])
def test_docstring_examples(name):
    module = importlib.import_module(f"factbench.stats.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
