"""Engines decide *where* ``metric.score(batch)`` runs, never *what* it computes.

The runner cuts the records still to score into the metric's batches, hands them to an engine, and writes
each ``(batch, results)`` pair the engine yields to ``partial/`` as it arrives: the runner is the only writer
of a run directory, so resume, the signature checks and the final files are the same for every engine.

- ``local`` (:mod:`.local`): in this process, batch after batch. It never imports Ray.
- ``ray`` (:mod:`.ray_actors`): long-lived Ray actors, each of which builds the run's metrics once (models
  load once per worker) and scores the batches it is sent; the results stream back to the driver.

Design note: plain Ray actors rather than Ray Data
--------------------------------------------------
Ray Data (``Dataset.map_batches`` with an actor pool) was the other candidate. Plain actors were chosen:

- *Identical numbers.* A batched model pads to the longest input of its batch, so the batch a record is
  scored in can move the last bits of a score. The driver here cuts exactly the batches the local engine
  cuts and sends each one whole; Ray Data re-blocks rows (block sizes, ``batch_size`` splitting across
  blocks) so batch composition would depend on the block layout and the worker count.
- *One writer, resume unchanged.* Finished records are filtered out on the driver before anything is sent,
  and every result comes back to the driver, which appends it to ``partial/`` exactly like the local engine.
  A Ray Data pipeline ends either in ``write_*`` from the workers (a second writer beside ``partial/``, and a
  second resume mechanism) or in the driver iterating its output, which is what the actors give directly.
- *Retry semantics that are easy to state.* An actor is created with ``max_restarts`` and
  ``max_task_retries``: when a worker process dies, Ray restarts it (the metrics are rebuilt) and re-runs the
  batch it had; an exception raised by a metric is not retried and stops the run with that error, as the
  local engine does. Ray Data retries its own tasks over blocks of its own making, which do not map onto the
  runner's batches.
- *Bounded driver memory without a second copy of the data.* The driver keeps at most two batches in flight
  per worker (one scoring, one queued, so a worker never waits for the driver); records are read lazily.

Ray Data's strengths (reading Parquet from object stores, autoscaling pools) matter less here: the inputs are
JSONL/CSV files that the driver streams, or benchmark loaders of a few thousand records, and the cost is in the
models.
``pyarrow`` is in the ``ray`` extra so that users can still hand Ray Data pipelines the same records.
"""

from __future__ import annotations

from ..errors import ConfigError
from .local import Engine, LocalEngine

ENGINES = ("local", "ray")


def create(name: str, setup=None, **options) -> Engine:
    """The engine called ``name`` (``local`` or ``ray``); ``options`` go to its constructor.

    ``setup``, if given, is called with the run's ``{label: metric}`` once the metrics are built where they
    score: in this process (local) or in each worker (ray; then it must be picklable). Benchmarks use it to
    load models before timing and to instrument metrics; it must not change what a metric computes.

    Raises
    ------
    ConfigError
        An unknown engine, options the engine does not take, or ``ray`` without Ray installed.
    """
    if name == "local":
        given = {k: v for k, v in options.items() if v is not None}
        if given:
            raise ConfigError(f"--engine local takes none of {', '.join(sorted(given))} (they are Ray options)")
        return LocalEngine(setup)
    if name == "ray":
        from .ray_actors import RayEngine

        return RayEngine(setup=setup, **{k: v for k, v in options.items() if v is not None})
    raise ConfigError(f"unknown engine {name!r}; engines: {', '.join(ENGINES)}")


__all__ = ["ENGINES", "Engine", "LocalEngine", "create"]
