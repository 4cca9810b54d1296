"""Shared fixtures. Real benchmark data comes from FACTBENCH_DATA_DIR (default ../shared/data); without it
the tests that need it skip, except in CI (CI=true), where missing data fails the run."""

import logging
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_configure(config):
    # Tiny models do many small ops; on a small, busy CPU a multi-thread pool makes each one wait on the
    # others (a 60-group beam search took 15 s with 2 threads, 0.9 s with 1). Results do not depend on it.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("FACTBENCH_DATA_DIR") or REPO.parent / "shared" / "data")
    if not path.is_dir():
        message = f"benchmark data directory {path} is missing (set FACTBENCH_DATA_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict:
    """Tiny random-weight models built once per session: kind ("bart", "t5", "qa", "classifier") -> directory.

    Built by factbench.models.tiny (deterministic: same torch version, same bytes); they load with
    factbench.models.loading.load_model(path, "seq2seq" | "qa" | "classifier").
    """
    from factbench.models.tiny import build_all

    return build_all(tmp_path_factory.mktemp("tiny_models"))


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """Install a Metric class as a real entry point of the ``factbench.metrics`` group: a dist-info on
    sys.path whose entry point names a module registered in sys.modules. Returns ``install(cls)``."""
    import sys

    def install(cls):
        module_name = f"tests_plugin_{cls.name}"
        dist = tmp_path / "site" / f"{cls.name}_plugin-1.0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {cls.name}-plugin\nVersion: 1.0\n")
        (dist / "entry_points.txt").write_text(f"[factbench.metrics]\n{cls.name} = {module_name}:{cls.__name__}\n")
        module = type(sys)(module_name)
        setattr(module, cls.__name__, cls)
        monkeypatch.setitem(sys.modules, module_name, module)
        monkeypatch.syspath_prepend(str(tmp_path / "site"))
        return f"{module_name}:{cls.__name__}"

    return install


@pytest.fixture
def length_warnings():
    """A function giving the transformers "longer than the specified maximum" warnings logged so far in the
    test (the tokenizer's logger at warning level while the test runs)."""
    from transformers.utils import logging as hf_logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("transformers.tokenization_utils_base")
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_warning()
    logger.addHandler(handler)
    try:
        yield lambda: [r.getMessage() for r in records if "longer than the specified maximum" in r.getMessage()]
    finally:
        logger.removeHandler(handler)
        hf_logging.set_verbosity(level)
