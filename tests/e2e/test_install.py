"""The package installed (not editable) into a new virtual environment works from any directory:
``momentum run`` on the embedded data, and ``momentum serve`` up to a completed deployment run.

The new venv gets the test environment's dependencies through a ``.pth`` file (resolving them again is
what ``.ci/run`` proves, in its own fresh venv), and the package itself by ``pip install --no-deps .``:
so what runs is the installed copy of momentum, flows and tasks, never the checkout."""

from __future__ import annotations

import json
import os
import re
import signal
import site
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from momentum_cli.local_stack import REPO_ROOT, free_port

VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A new venv with momentum installed from the checkout as a wheel; returns its bin folder."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    (venv / "lib" / VERSION / "site-packages" / "test-dependencies.pth").write_text(
        "\n".join(site.getsitepackages())
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv / "bin"


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOMENTUM_", "PYTHON"))}
    return {**env, "PREFECT_HOME": str(home)}


def test_the_installed_copy_is_what_runs(installed, tmp_path):
    code = (
        "import momentum, flows, tasks, momentum_cli; print(json.dumps([m.__file__ for m in "
        "(momentum, flows, tasks, momentum_cli)]))"
    )
    done = subprocess.run(
        [str(installed / "python"), "-c", f"import json; {code}"],
        cwd=tmp_path,
        env=clean_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    venv = installed.parent.resolve()
    assert all(Path(f).resolve().is_relative_to(venv) for f in json.loads(done.stdout)), (
        done.stdout + done.stderr
    )


def test_run_from_outside_the_checkout(installed, tmp_path):
    done = subprocess.run(
        [str(installed / "momentum"), "run", "--json"],
        cwd=tmp_path,
        env=clean_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    execution = summary["execution"]  # the default order_timing close: queued for the next close
    assert execution["queued"] == execution["orders"] > 0 and execution["attention"] == 0
    assert (tmp_path / "momentum-store" / "executions").is_dir()


def _wait_for(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} after {timeout} s:\n{log.read_text(errors='replace')[-4000:]}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_serve_from_outside_the_checkout_runs_a_deployment(installed, tmp_path):
    port, env, log = free_port(), clean_env(tmp_path / "client-home"), tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [
                str(installed / "momentum"),
                "serve",
                "--port",
                str(port),
                "--home",
                str(tmp_path / "serve-home"),
                "--store",
                str(tmp_path / "store"),
                "--poll-seconds",
                "1",
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait_for(
            lambda: "Ctrl-C stops everything" in log.read_text(errors="replace"), 240, "serve not ready", log
        )
        assert _answers(f"http://127.0.0.1:{port}/"), "the UI does not answer"
        api = {**env, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
        started = subprocess.run(
            [str(installed / "python"), "-m", "prefect", "deployment", "run", "rebalance/rebalance"],
            cwd=tmp_path,
            env=api,
            capture_output=True,
            text=True,
            timeout=120,
        )
        run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout).group(1)
        state = [""]

        def final() -> bool:
            shown = subprocess.run(
                [
                    str(installed / "python"),
                    "-m",
                    "prefect",
                    "flow-run",
                    "inspect",
                    run_id,
                    "--output",
                    "json",
                ],
                cwd=tmp_path,
                env=api,
                capture_output=True,
                text=True,
                timeout=60,
            )
            state[0] = json.loads(shown.stdout)["state"]["type"] if shown.returncode == 0 else ""
            return state[0] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

        _wait_for(final, 240, "the deployment run did not finish", log)
        assert state[0] == "COMPLETED", log.read_text(errors="replace")[-4000:]
        assert (tmp_path / "store" / "executions").is_dir()
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
    assert serve.returncode == 0, log.read_text(errors="replace")[-3000:]
