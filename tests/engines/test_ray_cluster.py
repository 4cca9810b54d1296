"""The Ray engine on a simulated two-node cluster (ray.cluster_utils.Cluster: two raylets on this machine, one
CPU each, both on 127.0.0.1), joined by address as a real cluster would be.

Consistency, not correctness: the cluster run against the local engine, byte for byte; and the stage cache,
shared by the two workers of this host, read back by a second run.
"""

import json
import os

import pytest

from factbench.runner import RunConfig, run

ray = pytest.importorskip("ray") if os.environ.get("CI") != "true" else __import__("ray")
from ray.cluster_utils import Cluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    yield c
    if ray.is_initialized():
        ray.shutdown()
    c.shutdown()


def config(out, cache, **kw):
    settings = {"rouge": {"batch_size": 4}, "entity-overlap": {"batch_size": 4}}
    return RunConfig(datasets=["sample"], metrics=["rouge", "entity-overlap"], out_dir=out, settings=settings,
                     cache_dir=str(cache), progress=False, **kw)


def test_two_nodes_same_scores_and_run_json_names_each_cache(cluster, tmp_path, monkeypatch):
    local = run(config(tmp_path / "local", tmp_path / "local-cache"))
    options = {"address": cluster.address, "workers": 2, "cpus_per_worker": 1}
    first = run(config(tmp_path / "first", tmp_path / "cache", engine="ray", engine_options=options))
    assert (first / "scores.csv").read_bytes() == (local / "scores.csv").read_bytes()
    meta = json.loads((first / "run.json").read_text())
    workers = meta["engine"]["worker_nodes"]
    # One CPU per node and one per worker: the two workers can only be on the two different nodes.
    assert len({w["node_id"] for w in workers}) == 2
    assert {w["node_id"] for w in workers} == {n.node_id for n in cluster.list_all_nodes()}
    assert {w["cache"] for w in workers} == {str(tmp_path / "cache" / "cache.sqlite")}
    assert meta["engine"]["address"] == cluster.address

    # A second run on the cluster, joined as --ray-address auto does (RAY_ADDRESS names it): every entity-overlap
    # stage output comes from the cache both workers wrote.
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    auto = {**options, "address": "auto"}
    second = run(config(tmp_path / "second", tmp_path / "cache", engine="ray", engine_options=auto))
    assert json.loads((second / "run.json").read_text())["engine"]["worker_nodes"][0]["node_id"] in {
        n.node_id for n in cluster.list_all_nodes()}
    assert (second / "scores.csv").read_bytes() == (local / "scores.csv").read_bytes()
    cache = json.loads((second / "timings.json").read_text())["metrics"]["entity-overlap"]["cache"]
    assert cache["hits"]["entity-overlap.ner"] == 30 and cache["misses"].get("entity-overlap.ner", 0) == 0
    first_cache = json.loads((first / "timings.json").read_text())["metrics"]["entity-overlap"]["cache"]
    assert first_cache["misses"]["entity-overlap.ner"] == 30
