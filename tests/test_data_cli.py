"""`factbench data list` and `factbench data fetch` (against an http.server on 127.0.0.1, never the network)."""

import functools
import hashlib
import http.server
import threading

import pytest
from click.testing import CliRunner

from factbench.cli import main


@pytest.fixture
def serve():
    """Start a quiet HTTP server of a folder on 127.0.0.1; yields a function folder -> base URL."""
    servers = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    def start(folder):
        handler = functools.partial(Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env or {})


def test_list_with_data(data_dir):
    result = run("data", "list", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "2500" in lines["xsumfaith"] and "test 130/1250" in lines["xsumfaith"]  # DATASETS.md §3.3
    assert "test 41/634" in lines["polytope"]
    assert "consistent 113/235" in lines["qags-cnndm"]
    assert " yes " in lines["frank"] and "2246" in lines["frank"]


def test_list_without_data(tmp_path):
    result = run("data", "list", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert lines["frank"].split()[1] == "no" and "expected: 2246" in lines["frank"]
    assert lines["sample"].split()[1] == "yes" and "30" in lines["sample"]


def test_fetch_from_local_server(data_dir, tmp_path, serve):
    base = serve(data_dir)
    out = tmp_path / "data"
    result = run("data", "fetch", "qags", "--data-dir", str(out), "--base-url", base)
    assert result.exit_code == 0, result.output
    assert "2 downloaded" in result.output and "license:" in result.output
    for name in ("mturk_cnndm.jsonl", "mturk_xsum.jsonl"):
        assert (out / "qags" / name).read_bytes() == (data_dir / "qags" / name).read_bytes()
    assert sorted(p.name for p in (out / "qags").iterdir()) == ["mturk_cnndm.jsonl", "mturk_xsum.jsonl"]
    # Second run: the env variable gives the base URL; nothing to download.
    again = run("data", "fetch", "qags-xsum", "--data-dir", str(out), env={"FACTBENCH_FETCH_BASE_URL": base})
    assert again.exit_code == 0, again.output
    assert "0 downloaded, 2 already present" in again.output
    # The fetched files load like the shared ones.
    listed = run("data", "list", "--data-dir", str(out))
    assert "consistent 116/239" in listed.output


def test_fetch_nested_paths_via_env(data_dir, tmp_path, serve):
    base = serve(data_dir)
    result = run("data", "fetch", "dialsummeval", "--data-dir", str(tmp_path), env={"FACTBENCH_FETCH_BASE_URL": base})
    assert result.exit_code == 0, result.output
    assert "30 downloaded" in result.output  # human_judgment.jsonl, dials.txt, 14 x (summs.txt, metrics.csv)
    assert (tmp_path / "dialsummeval/models_eval_new/N/metrics.csv").read_bytes() == (
        data_dir / "dialsummeval/models_eval_new/N/metrics.csv"
    ).read_bytes()


def test_checksum_mismatch_leaves_nothing(tmp_path, serve):
    mirror = tmp_path / "mirror" / "qags"
    mirror.mkdir(parents=True)
    (mirror / "mturk_cnndm.jsonl").write_bytes(b'{"article": "tampered"}\n')
    out = tmp_path / "data"
    result = run("data", "fetch", "qags", "--data-dir", str(out), "--base-url", serve(tmp_path / "mirror"))
    assert result.exit_code == 3  # DataError
    assert "checksum mismatch" in result.stderr and "mturk_cnndm.jsonl" in result.stderr
    assert "5a6e20201f2c5d5d2489865137987c5d68d04c5b4e84662f99bb03862bb3a575" in result.stderr  # expected
    got = hashlib.sha256(b'{"article": "tampered"}\n').hexdigest()
    assert f"got {got}" in result.stderr
    assert not out.exists()  # no file, no partial download, not even the folders it made


def test_fetch_missing_file_on_server(tmp_path, serve):
    result = run("data", "fetch", "cliff", "--data-dir", str(tmp_path / "d"), "--base-url", serve(tmp_path / "empty"))
    assert result.exit_code == 3
    assert "HTTP 404" in result.stderr and "CLIFF_error_types.csv" in result.stderr
    assert not (tmp_path / "d").exists()


def test_fetch_derived_prints_recipe(tmp_path):
    result = run("data", "fetch", "polytope", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "0 downloaded" in result.output
    assert "not downloadable" in result.output and "hddbang/PolyTope" in result.output


def test_fetch_unknown_name(tmp_path):
    result = run("data", "fetch", "nope", "--data-dir", str(tmp_path))
    assert result.exit_code == 2 and "qags-cnndm" in result.stderr
