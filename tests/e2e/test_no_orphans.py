"""No orphans: ``momentum run`` without PREFECT_API_URL starts a temporary Prefect server of its own; a
SIGKILL of the run leaves no server process behind (checked in /proc), and the next run marks the killed
run's flow run Crashed instead of leaving it RUNNING."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from momentum_cli.prefect_api import TemporaryServer

REPO_ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2022-11-30"


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOMENTUM_"))}
    return {**env, "PREFECT_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}


def momentum_run(home: Path, store: Path, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "momentum_cli", "run", "--store", str(store), "--as-of", AS_OF],
            env=clean_env(home),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def processes_of(home: Path) -> list[int]:
    """Every process whose environment names ``home`` as its PREFECT_HOME."""
    marker = f"PREFECT_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:  # gone, or not ours to read
                continue
            if marker in environ:
                found.append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def api(url: str, path: str, body: dict | None = None) -> object:
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def running_flow_run(pid: int, wait: float = 180) -> tuple[int, str]:
    """(server pid, flow run id) once the run's temporary server shows its flow run RUNNING."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for child in children(pid):
            args = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"uvicorn" not in args:
                continue
            port = args[args.index(b"--port") + 1].decode()
            try:
                runs = api(f"http://127.0.0.1:{port}/api", "/flow_runs/filter", {"limit": 5})
            except OSError:
                continue
            running = [r["id"] for r in runs if r["state_type"] == "RUNNING"]
            if running:
                return child, running[0]
        time.sleep(0.5)
    raise AssertionError("the run never showed a RUNNING flow run on its temporary server")


def test_sigkill_leaves_no_server_and_the_next_run_marks_the_flow_run_crashed(tmp_path):
    home = tmp_path / "prefect-home"
    killed = momentum_run(home, tmp_path / "store-1", tmp_path / "killed.log")
    try:
        server_pid, flow_run_id = running_flow_run(killed.pid)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    for _ in range(100):  # the kernel delivers the parent-death signal; wait for the exit to be reaped
        if not Path(f"/proc/{server_pid}").exists() and not processes_of(home):
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{server_pid}").exists(), "the temporary server outlived its run"
    assert processes_of(home) == []  # no process of that PREFECT_HOME at all (no uvicorn with PPID 1)

    after = momentum_run(home, tmp_path / "store-2", tmp_path / "next.log")
    assert after.wait(timeout=600) == 0, (tmp_path / "next.log").read_text()[-2000:]
    assert processes_of(home) == []  # the next run's server stopped with it

    server = TemporaryServer(home).start()
    try:
        state = api(server.api_url, f"/flow_runs/{flow_run_id}")["state"]
    finally:
        server.stop()
    assert state["type"] == "CRASHED" and "is gone" in state["message"]


def test_two_runs_started_together_each_with_a_temporary_server_both_finish(tmp_path):
    home = tmp_path / "prefect-home"  # a fresh home: both would migrate the same new database
    runs = [momentum_run(home, tmp_path / f"store-{i}", tmp_path / f"run-{i}.log") for i in (1, 2)]
    codes = [run.wait(timeout=600) for run in runs]
    logs = [(tmp_path / f"run-{i}.log").read_text() for i in (1, 2)]
    assert codes == [0, 0], [log[-1500:] for log in logs]
    assert not any("ephemeral Prefect API server" in log or "Error logging to API" in log for log in logs)
    assert processes_of(home) == []
