"""The docstring examples of factbench.conseq are part of the tests (hand-computed values)."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["loss", "train", "select", "compare"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(f"factbench.conseq.{name}"))
    assert result.attempted > 0 and result.failed == 0
