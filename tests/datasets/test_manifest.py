"""data/manifest.json: every benchmark file listed with the right sha256, and every verbatim file has a source."""

import hashlib

from factbench.datasets import registry
from factbench.datasets.fetch import file_url, find_entry, load_manifest


def test_manifest_matches_the_data_dir(data_dir):
    manifest = load_manifest()
    listed = set()
    for entry in manifest["datasets"]:
        for item in entry["files"]:
            path = data_dir / entry["folder"] / item["path"]
            data = path.read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (item["bytes"], item["sha256"]), path
            listed.add(path)
    on_disk = {p for p in data_dir.rglob("*") if p.is_file() and p.name != "PROVENANCE.md"}
    assert on_disk == listed
    # Checksums stated in the PROVENANCE files (qags, summeval, cliff) agree with the manifest.
    qags = {i["path"]: i["sha256"] for i in find_entry("qags", manifest)["files"]}
    assert qags["mturk_cnndm.jsonl"] == "5a6e20201f2c5d5d2489865137987c5d68d04c5b4e84662f99bb03862bb3a575"


def test_every_file_is_downloadable_or_has_a_recipe():
    for entry in load_manifest()["datasets"]:
        assert entry["license"] and entry["citation"]
        for item in entry["files"]:
            if item.get("derived"):
                assert len(item["recipe"]) > 80
            else:
                assert len(item["commit"]) == 40 and "/" in item["repository"] and item["source_path"]


def test_manifest_and_registry_agree():
    loaders = {n for e in load_manifest()["datasets"] for n in e["loaders"]}
    assert loaders == set(registry()) - {"sample"}


def test_urls():
    entry = find_entry("qags-cnndm")
    item = entry["files"][0]
    assert file_url(entry, item) == (
        "https://raw.githubusercontent.com/W4ngatang/qags/47798e9b63344e2d3fb4df2def6edc18e9402d30/data/mturk_cnndm.jsonl"
    )
    assert file_url(entry, item, "http://127.0.0.1:8000/") == "http://127.0.0.1:8000/qags/mturk_cnndm.jsonl"
    frank = find_entry("frank")
    article = next(i for i in frank["files"] if i["path"].startswith("articles-"))
    assert article["commit"].startswith("5860706")  # the per-article JSON comes from FRANK's initial commit
