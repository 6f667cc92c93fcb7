"""A local Prefect stack: a server on loopback, the process work pool, the deployments and a worker.

Everything runs through Prefect's own command line (``prefect server start``, ``prefect work-pool
create``, ``prefect deploy --all``, ``prefect worker start``), exactly the commands docs/deploy.md lists,
so :class:`LocalStack` is what ``momentum serve`` runs and also what the end-to-end tests start and stop.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from momentum.errors import PermanentError
from momentum_cli.work_pools import PROCESS_POOL, WorkPool, deployments_file, save_secret_blocks

# Where the flows' code lives: the checkout, or site-packages for an installed package (flows/ is a package).
REPO_ROOT = Path(__file__).resolve().parents[1]
# The deployments: the root prefect.yaml, shipped inside the package as momentum_cli/prefect.yaml (a link).
PREFECT_FILE = Path(__file__).resolve().parent / "prefect.yaml"
POOL = PROCESS_POOL.name
FLOW = "rebalance"
DEPLOYMENTS = ("daily", "rebalance")
# Variables that would point a child process at another Prefect API, profile or database.
_PREFECT_ISOLATION = (
    "PREFECT_API_URL",
    "PREFECT_API_KEY",
    "PREFECT_PROFILES_PATH",
    "PREFECT_PROFILE",
    "PREFECT_SERVER_DATABASE_CONNECTION_URL",
    "PREFECT_API_DATABASE_CONNECTION_URL",
    "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE",
)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def absolute_store(url: str) -> str:
    """A store URL that means the same from any working directory (the flow runs in MOMENTUM_HOME)."""
    return url if "://" in url else str(Path(url).expanduser().resolve())


@dataclass
class LocalStack:
    """A Prefect server on loopback (SQLite under ``home``), a work pool, the deployments, a worker.

    ``worker_env`` is added to the worker's environment (and so to every flow run); with
    ``inherit_momentum_env`` False the caller's ``MOMENTUM_*`` variables are not passed on, so the pool's
    environment alone decides (what the tests and ``momentum serve`` want). ``settings_env`` (non-secret
    ``MOMENTUM_*`` settings) joins the pool's environment; ``secret_blocks`` (block name -> value) are
    saved as Secret blocks before the worker starts; ``live`` makes the live opt-in a parameter of the
    deployments.
    """

    home: Path
    store_url: str
    port: int = 0
    host: str = "127.0.0.1"
    repo: Path = REPO_ROOT
    worker_poll_seconds: float = 5.0
    worker_env: dict[str, str] = field(default_factory=dict)
    inherit_momentum_env: bool = True
    pool: WorkPool = PROCESS_POOL
    settings_env: dict[str, str] = field(default_factory=dict)
    secret_blocks: dict[str, str] = field(default_factory=dict, repr=False)
    live: bool = False
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        self.port = self.port or free_port(self.host)
        self.store_url = absolute_store(self.store_url)
        self.logs = self.home / "logs"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment of every Prefect command of this stack."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _PREFECT_ISOLATION and (self.inherit_momentum_env or not k.startswith("MOMENTUM_"))
        }
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api_url,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_CLI_PROMPT="false",
            PREFECT_CLI_COLORS="false",
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        return env

    @property
    def pool_env(self) -> dict[str, str]:
        return {
            "MOMENTUM_HOME": self.pool.code_dir(self.repo),
            **self.settings_env,
            "MOMENTUM_STORE_URL": self.store_url,
        }

    def prefect(self, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess:
        """Run one ``prefect`` command against this stack; raise with its output when it fails."""
        done = subprocess.run(
            [sys.executable, "-m", "prefect", *args],
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"prefect {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "prefect", *args],
                cwd=self.repo,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.processes[name] = proc
        return proc

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def start_server(self, timeout: float = 90) -> None:
        with socket.socket() as sock:
            try:
                sock.bind((self.host, self.port))
            except OSError as exc:
                raise PermanentError(
                    f"{self.host}:{self.port} is in use ({exc.strerror})", "--port", "pick another --port"
                ) from exc
        proc = self._spawn(
            "server",
            ["server", "start", "--host", self.host, "--port", str(self.port), "--analytics-off"],
            self.env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited {proc.returncode}:\n{self.log('server')}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"prefect server not healthy after {timeout} s:\n{self.log('server')}")

    def create_pool(self) -> None:
        """The work pool with its runs' environment (store, settings, code directory)."""
        self.home.mkdir(parents=True, exist_ok=True)
        template = self.home / f"{self.pool.name}-template.json"
        template.write_text(json.dumps(self.pool.template(self.pool_env, self.store_url)))
        self.prefect(
            "work-pool",
            "create",
            self.pool.name,
            "--type",
            self.pool.type,
            "--base-job-template",
            str(template),
            "--overwrite",
        )

    def deployments_file(self) -> Path:
        """prefect.yaml itself, or its copy for another pool or with the live opt-in."""
        if self.pool == PROCESS_POOL and not self.live:
            return PREFECT_FILE
        path = self.home / "prefect.serve.yaml"
        path.write_text(yaml.safe_dump(deployments_file(PREFECT_FILE, self.pool, self.live), sort_keys=False))
        return path

    def deploy(self) -> str:
        """``prefect deploy --all`` from the code root (validates and applies prefect.yaml)."""
        done = self.prefect("deploy", "--all", "--prefect-file", str(self.deployments_file()))
        output = done.stdout + done.stderr
        if "Skipping" in output or any(f"{FLOW}/{name}" not in output for name in DEPLOYMENTS):
            raise RuntimeError(f"prefect deploy --all did not apply every deployment:\n{output}")
        return output

    def start_worker(self) -> None:
        env = {
            **self.env,
            "PREFECT_WORKER_QUERY_SECONDS": str(self.worker_poll_seconds),
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            **self.worker_env,
        }
        self._spawn(
            "worker",
            [
                "worker",
                "start",
                "--pool",
                self.pool.name,
                "--type",
                self.pool.type,
                "--name",
                "momentum-worker",
                "--limit",
                "1",
                "--install-policy",
                "never",
            ],
            env,
        )

    def start(self) -> "LocalStack":
        atexit.register(self.stop)  # also if the caller dies without stopping it
        try:
            self.start_server()
            if self.secret_blocks:
                save_secret_blocks(self.env, self.secret_blocks)
            self.create_pool()
            self.deploy()
            self.start_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 20) -> None:
        """Stop the worker (and any flow run it started), then the server: SIGTERM, then SIGKILL."""
        for name in ("worker", "server"):
            proc = self.processes.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)  # the process group this stack started for it
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
