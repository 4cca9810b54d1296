"""`data fetch` against a hostile server (issue 15, item 9): a body larger than the manifest says, a server that
trickles bytes, and SIGTERM mid-download. Served from 127.0.0.1 only; nothing reaches the network."""

import hashlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from factbench.datasets.fetch import fetch
from factbench.errors import DataError

BODY = b"0123456789" * 10  # 100 bytes


def manifest(size, body=BODY):
    return {"format": 1, "datasets": [{"folder": "toy", "loaders": ["toy"], "files": [
        {"path": "f.txt", "bytes": size, "sha256": hashlib.sha256(body).hexdigest()}]}]}


@pytest.fixture
def server():
    """Serves BODY at any path: at once, or one byte every ``delay`` seconds (set ``server.delay``)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            try:
                if not state.delay:
                    self.wfile.write(state.body)
                    return
                for i in range(len(state.body)):
                    self.wfile.write(state.body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(state.delay)
            except (BrokenPipeError, ConnectionResetError):
                pass

    class State:
        delay = 0.0
        body = BODY

    state = State()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_body_larger_than_the_manifest_is_refused(server, tmp_path):
    with pytest.raises(DataError, match="larger than the manifest's 40 bytes"):
        fetch("toy", tmp_path / "data", base_url=server.url, manifest=manifest(40))
    assert leftovers(tmp_path / "data") == []
    # The same body with its true size passes (the cap is not off by one).
    fetch("toy", tmp_path / "data", base_url=server.url, manifest=manifest(len(BODY)))
    assert (tmp_path / "data" / "toy" / "f.txt").read_bytes() == BODY


def test_a_trickling_server_meets_the_deadline(server, tmp_path):
    server.delay = 0.05  # 100 bytes in 5 s, each read well within the socket timeout
    began = time.monotonic()
    with pytest.raises(DataError, match="did not finish within 1 s"):
        fetch("toy", tmp_path / "data", base_url=server.url, manifest=manifest(len(BODY)), deadline=1.0)
    assert time.monotonic() - began < 4.5  # stopped at the deadline, not at the end of the body
    assert leftovers(tmp_path / "data") == []


def test_sigterm_mid_download_leaves_no_part_file(server, tmp_path):
    server.delay = 0.2  # 20 s for the whole body: SIGTERM comes long before
    data = tmp_path / "data"
    code = (
        "import json, sys; from factbench.datasets.fetch import fetch; "
        f"fetch('toy', {str(data)!r}, base_url={server.url!r}, manifest=json.loads(sys.argv[1]))"
    )
    import json

    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(manifest(len(BODY)))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".part") for p in data.rglob("*")) if data.exists() else True:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else "timeout"
            time.sleep(0.05)
        time.sleep(0.3)  # some bytes written
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM  # terminated, after cleaning up
    assert leftovers(data) == []
