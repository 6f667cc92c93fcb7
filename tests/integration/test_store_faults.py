"""Store errors say what, where and how to fix (issue 18): a full disk (a small tmpfs store, as root) and
S3 throttling that outlasts the retries (a loopback server answering every request 503 SlowDown) each
end a run in one line naming the store; a failed write leaves no temporary file."""

from __future__ import annotations

import re
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from momentum.store import StoreError, VersionedStore
from momentum.store._s3_limits import BOTOCORE_ATTEMPTS, S3FS_ATTEMPTS
from momentum_cli.app import app

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>"
)


class Throttling(BaseHTTPRequestHandler):
    """Answers every S3 request 503 SlowDown (what S3 says to a prefix over its request rate)."""

    requests: list[str] = []

    def answer(self) -> None:
        self.requests.append(f"{self.command} {self.path}")
        size = int(self.headers.get("Content-Length") or 0)
        if size and "100-continue" not in (self.headers.get("Expect") or ""):
            self.rfile.read(size)
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(SLOW_DOWN)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(SLOW_DOWN)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def throttled_s3(monkeypatch):
    """(the requests it answered, a store URL on it): an S3 endpoint that throttles every request;
    botocore tries each request twice (AWS_MAX_ATTEMPTS). A new bucket name each time, and no cached
    filesystem: fsspec and the composition root keep one per URL and settings, not per endpoint."""
    from s3fs import S3FileSystem

    S3FileSystem.clear_instance_cache()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for key, value in {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "2",
    }.items():
        monkeypatch.setenv(key, value)
    Throttling.requests = []
    yield Throttling.requests, f"s3://throttled-{uuid.uuid4().hex[:12]}/prefix"
    server.shutdown()
    S3FileSystem.clear_instance_cache()


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (we run as root), unmounted afterwards."""
    folder = tmp_path / "small"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def last_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and lines, result.output
    return lines[-1]


def test_a_full_disk_names_the_store_and_the_free_space_and_leaves_no_temporary_file(small_disk):
    store = VersionedStore(str(small_disk / "store"))
    big = pd.DataFrame({"x": np.random.default_rng(0).random(100_000)})  # ~800 KB of parquet
    with pytest.raises(StoreError) as full:
        store.write("bars", "2022-11-30", big)
    line = str(full.value)
    assert line.startswith("the disk is full: write bars/as_of=2022-11-30/v=") and "\n" not in line
    assert re.search(r" needs 7\d\d\.\d KiB more than the \d+\.\d KiB free, store ", line)
    assert line.split(" free, store ")[1].startswith(f"{small_disk / 'store'} (free space")
    assert not [p for p in small_disk.rglob("*") if ".tmp-" in p.name]


@pytest.mark.usefixtures("prefect_api")
def test_a_run_on_a_full_disk_ends_in_one_line_naming_the_store(small_disk):
    (small_disk / "filler").write_bytes(b"\0" * 200 * 1024)  # leave ~56 KiB: the bars do not fit
    url = str(small_disk / "store")
    line = last_line(CliRunner().invoke(app, ["run", "--store", url]))
    assert line.startswith("error: the disk is full: ") and f" KiB free, store {url} (free space" in line
    assert not [p for p in small_disk.rglob("*") if ".tmp-" in p.name]


def test_throttling_past_the_retries_names_the_store_and_what_was_retried(throttled_s3):
    requests, url = throttled_s3
    line = last_line(CliRunner().invoke(app, ["store", "ls", "orders", "--store", url]))
    assert line.startswith(
        "error: S3 answered SlowDown (Please reduce your request rate.) to every try to list "
    )
    tries, attempts = S3FS_ATTEMPTS, BOTOCORE_ATTEMPTS  # the store's bounded S3 limits
    assert f"{tries} s3fs tries x {attempts} botocore attempts over" in line
    assert f", store {url} (wait a few minutes and re-run" in line
    assert len(requests) == tries * attempts  # every request was one of those tries


@pytest.mark.usefixtures("prefect_api")
def test_a_run_on_a_throttled_store_ends_in_one_line_naming_the_store(throttled_s3):
    requests, url = throttled_s3
    line = last_line(CliRunner().invoke(app, ["run", "--store", url]))
    assert line.startswith("error: S3 answered SlowDown (Please reduce your request rate.) to every try to ")
    assert f", store {url} (" in line and requests
