"""The Ray engine: long-lived actors that build the run's metrics once and score the batches they are sent.

Why actors and not Ray Data: see the package docstring (:mod:`factbench.engines`).

Each worker rebuilds the metrics from the run settings with :func:`factbench.runner.build_metrics`, exactly
as the driver did, and the driver refuses to start when a worker's signatures differ from its own (another
library version on another node would otherwise mix numbers in one run). Models load lazily on a worker's
first batch and stay loaded. Each worker opens the stage cache of its own node (``--cache-dir`` or the
default cache folder there; SQLite in WAL mode is safe for several workers on one host); ``run.json``
lists, per worker, the node and the cache it used.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import warnings
from typing import Iterable, Iterator

from ..cache import Cache, stats_since
from ..errors import ConfigError, FactbenchError, RunError
from ..metrics.base import Metric
from ..records import Record
from .local import Engine, Scored, sum_nested

INSTALL_HINT = "--engine ray needs Ray, which is not installed here: pip install 'factbench[ray]'"
# Batches queued per worker beyond the one it is scoring, so that it never waits for the driver.
QUEUED_PER_WORKER = 1


def import_ray(local: bool = False):
    """The ``ray`` module, or a one-line ConfigError saying how to install it.

    ``local``: the caller will start a private instance, so Ray is told, before it is first imported, to use
    the loopback address as the node address; its servers then listen on 127.0.0.1 only (by default they
    take the machine's outward address).
    """
    if local and "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # read once, when ray is imported
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return ray


class RayEngine(Engine):
    """Scores batches on ``workers`` Ray actors.

    Parameters
    ----------
    address : str, optional
        ``None`` starts a local Ray instance (bound to 127.0.0.1, no dashboard) and stops it at the end;
        ``"auto"`` joins the cluster this machine belongs to; else a Ray address (``host:port``,
        ``ray://host:10001``). When this process is already connected to Ray, that connection is used.
    workers : int
        Number of actors.
    cpus_per_worker, gpus_per_worker : float
        Ray resources each actor reserves; a worker sets torch to ``max(1, int(cpus_per_worker))`` threads.
    max_retries : int
        How often a dead worker is restarted and its batch retried before the run fails.
    setup : callable, optional
        See :func:`factbench.engines.create`; called in each worker, after its metrics are built.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 1, cpus_per_worker: float = 1.0,
                 gpus_per_worker: float = 0.0, max_retries: int = 3, setup=None):
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        if not cpus_per_worker > 0:
            raise ConfigError(f"--cpus-per-worker must be above 0, got {cpus_per_worker}")
        if gpus_per_worker < 0:
            raise ConfigError(f"--gpus-per-worker must be 0 or more, got {gpus_per_worker}")
        super().__init__(setup)
        self.ray = import_ray(local=address is None)
        self.address = address
        self.workers = workers
        self.cpus_per_worker = float(cpus_per_worker)
        self.gpus_per_worker = float(gpus_per_worker)
        self.max_retries = max_retries
        self._connected = False  # this engine called ray.init, so it disconnects (and stops a local instance)
        self._actors: list = []

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self, cfg, metrics: dict[str, Metric]) -> None:
        ray = self.ray
        if not ray.is_initialized():
            try:
                self._connect()
            except Exception as exc:  # noqa: BLE001 - Ray raises several kinds; the user needs one line
                where = "start a local Ray instance" if self.address is None else f"join the Ray cluster at {self.address}"
                raise RunError(f"could not {where}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from exc
        self._check_resources()
        worker_cls = ray.remote(_Worker)
        spec = _worker_spec(cfg)
        self._actors = [
            worker_cls.options(
                num_cpus=self.cpus_per_worker,
                num_gpus=self.gpus_per_worker,
                max_restarts=self.max_retries,
                max_task_retries=self.max_retries,
            ).remote(spec, max(1, int(self.cpus_per_worker)), self.setup)
            for _ in range(self.workers)
        ]
        expected = {label: m.signature() for label, m in metrics.items()}
        for info in self._get([a.signatures.remote() for a in self._actors], "starting the workers"):
            if info["signatures"] != expected:
                differ = sorted(k for k in expected if info["signatures"].get(k) != expected[k])
                raise RunError(
                    f"worker on {info['host']} computes other numbers than this driver for {', '.join(differ)}: "
                    f"signature {info['signatures'][differ[0]]!r} there, {expected[differ[0]]!r} here "
                    "(install the same factbench and libraries on every node)"
                )

    def _connect(self) -> None:
        ray = self.ray
        if self.address is None:
            # A private instance on this machine only: loopback address, no dashboard, no usage report.
            needed = math.ceil(self.workers * self.cpus_per_worker)
            ray.init(
                address="local",
                num_cpus=max(os.cpu_count() or 1, needed),
                include_dashboard=False,
                log_to_driver=False,
                _node_ip_address="127.0.0.1",
            )
        else:
            ray.init(address=self.address, log_to_driver=False)
        self._connected = True

    def _check_resources(self) -> None:
        total = self.ray.cluster_resources()
        for resource, each in (("CPU", self.cpus_per_worker), ("GPU", self.gpus_per_worker)):
            needed, have = self.workers * each, total.get(resource, 0.0)
            if needed > have:
                message = (
                    f"--workers {self.workers} x {each:g} {resource} per worker needs {needed:g} {resource}s; "
                    f"the Ray cluster has {have:g}"
                )
                if self._connected and self.address is None:  # a local instance never grows
                    raise RunError(message)
                warnings.warn(message + " now: the run waits until the cluster grows", stacklevel=2)

    def close(self) -> None:
        for actor in self._actors:
            self.ray.kill(actor, no_restart=True)
        self._actors = []
        if self._connected and self.ray.is_initialized():
            self.ray.shutdown()
        self._connected = False

    # -- scoring ---------------------------------------------------------------------------------------

    def score(self, label: str, metric: Metric, batches: Iterable[list[Record]]) -> Iterator[Scored]:
        ray = self.ray
        todo = iter(batches)
        pending: dict = {}  # object ref -> (batch, worker index)
        load = [0] * len(self._actors)
        exhausted = False
        while True:
            while not exhausted and min(load) <= QUEUED_PER_WORKER:
                batch = next(todo, None)
                if batch is None:
                    exhausted = True
                    break
                worker = load.index(min(load))
                pending[self._actors[worker].score.remote(label, batch)] = (batch, worker)
                load[worker] += 1
            if not pending:
                return
            [ref], _ = ray.wait(list(pending), num_returns=1)
            batch, worker = pending.pop(ref)
            load[worker] -= 1
            yield batch, self._get(ref, f"metric {label}: scoring the batch of {batch[0].example_id}")

    def _get(self, refs, what: str):
        """``ray.get`` with Ray's failures turned into factbench errors (a metric's own error unchanged)."""
        ray = self.ray
        try:
            return ray.get(refs)
        except ray.exceptions.RayActorError as exc:
            # A worker that cannot start (its constructor raised) or that died more often than it may be restarted.
            cause = next((line.strip() for line in reversed(str(exc).splitlines()) if "Error" in line), type(exc).__name__)
            raise RunError(
                f"{what}: a Ray worker died and could not be restarted (up to {self.max_retries} restarts): {cause}"
            ) from exc
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, (FactbenchError, KeyboardInterrupt)):
                raise cause from None
            raise RunError(f"{what}: {type(cause).__name__ if cause else 'error'} on a Ray worker: {cause or exc}") from exc

    # -- accounting ------------------------------------------------------------------------------------

    def stats(self, label: str, metric: Metric) -> dict:
        """Stage timers of ``label`` and cache counters, summed over the workers (wall and CPU seconds are
        worker seconds, so with N busy workers they add up to about N times the run's wall time). A worker
        that Ray restarted counts from its restart: the work of the process that died is not in them."""
        parts = self._get([a.stats.remote(label) for a in self._actors], "collecting the workers' timings")
        return {"stages": sum_nested([p["stages"] for p in parts]), "cache": sum_nested([p["cache"] for p in parts])}

    def describe(self) -> dict:
        info = self._get([a.info.remote() for a in self._actors], "collecting the workers' descriptions")
        return {
            "name": self.name,
            "address": self.address or "local",
            "workers": self.workers,
            "cpus_per_worker": self.cpus_per_worker,
            "gpus_per_worker": self.gpus_per_worker,
            "ray": self.ray.__version__,
            # Which node and which stage cache each worker used; "restarted" if Ray had to restart it.
            "worker_nodes": info,
        }


class _Worker:
    """A Ray actor: the run's metrics, built once, and a stage cache on its node."""

    def __init__(self, spec: dict, threads: int, setup=None):
        import torch

        torch.set_num_threads(threads)
        from ..config import cache_dir, using_cache_dir
        from ..runner import RunConfig, build_metrics

        cfg = RunConfig(datasets=[], out_dir=".", **spec)
        # This process serves one run: its --cache-dir (where tiny models are built too) holds for its life.
        using_cache_dir(cfg.cache_dir).__enter__()
        self._cache_before: dict[str, dict] = {}
        self.metrics = dict(zip(cfg.metrics, build_metrics(cfg)))
        self.cache_path = None
        if cfg.use_cache:
            self.cache_path = str(os.path.join(cfg.cache_dir or cache_dir(), "cache.sqlite"))
        self.cache = Cache(self.cache_path)
        for m in self.metrics.values():
            m.cache = self.cache
        if setup is not None:
            setup(self.metrics)

    def signatures(self) -> dict:
        return {"host": socket.gethostname(), "signatures": {k: m.signature() for k, m in self.metrics.items()}}

    def score(self, label: str, batch: list[Record]):
        self._cache_before.setdefault(label, self.cache.stats())  # one cache for all metrics: count this one's
        return self.metrics[label].score(batch)

    def stats(self, label: str) -> dict:
        return {"stages": self.metrics[label].timer.as_dict(),
                "cache": stats_since(self._cache_before.get(label, {}), self.cache.stats())}

    def info(self) -> dict:
        import ray

        context = ray.get_runtime_context()
        with warnings.catch_warnings():  # Ray's own method reads its deprecated actor_id property
            warnings.simplefilter("ignore", DeprecationWarning)
            restarted = bool(context.was_current_actor_reconstructed)
        return {
            "node_id": context.get_node_id(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "cache": self.cache_path,
            "restarted": restarted,
        }

    def pid(self) -> int:
        return os.getpid()


def _worker_spec(cfg) -> dict:
    """The run settings a worker needs to build the same metrics; paths made absolute for its other cwd."""
    absolute = lambda p: os.path.abspath(p) if p else None  # noqa: E731
    return {
        "metrics": list(cfg.metrics),
        "settings": cfg.settings,
        "profile": cfg.profile,
        "seed": cfg.seed,
        "data_dir": absolute(cfg.data_dir),
        "cache_dir": absolute(cfg.cache_dir),
        "use_cache": cfg.use_cache,
    }
