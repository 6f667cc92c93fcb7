"""``momentum serve`` as the user starts it: a process of its own, its start-up lines read as they come,
stopped with SIGTERM (what Ctrl-C's terminal sends a service manager's child)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

MOMENTUM = [sys.executable, "-m", "momentum_cli"]
READY = "Ctrl-C stops everything."


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without Prefect or momentum settings, with ``PREFECT_HOME`` = ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOMENTUM_"))}
    return {**env, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


class ServeProcess:
    """``momentum serve ARGS`` in the background; :meth:`wait_ready` returns its start-up lines."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            args if args[0] == "bash" else [*MOMENTUM, "serve", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def from_command(cls, command: str, env: dict[str, str], cwd: Path) -> "ServeProcess":
        """A documented ``momentum serve ...`` line, run as written by bash (its ``~`` and ``$VAR``)."""
        assert command.startswith("momentum serve"), command
        return cls(["bash", "-c", f"exec {command}"], env, cwd)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_ready(self, timeout: float = 180) -> list[str]:
        """Every line up to the one that says serve is up; fails with the output if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"momentum serve exited {self.proc.wait()}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if line == READY:
                return list(self.lines)
        raise AssertionError("momentum serve not ready:\n" + "\n".join(self.lines))

    def line(self, label: str) -> str:
        """The value of the start-up line ``label:   value``."""
        found = [ln.split(":", 1)[1].strip() for ln in self.lines if ln.startswith(f"{label}:")]
        assert found, f"no {label!r} line in:\n" + "\n".join(self.lines)
        return found[0]

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit status (serve stops its worker and server first)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
