"""Who holds a lease: this process as a lease record names it, and whether a named holder has died.

A holder is its host and pid and, where Linux's ``/proc`` tells, the machine's boot id, the pid
namespace and the process's start time. A holder on this host, in this boot and pid namespace, whose
pid no longer runs (or runs a process started at another time: the pid was reused, or is a zombie) has
died: its lease is free at once, so a re-run after a crash does not wait for the lease to expire.
Anything else (another host or container, no ``/proc``) counts as alive until its lease expires.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

PROC = Path("/proc")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def process_started(pid: int) -> str | None:
    """The start time (clock ticks after boot) of a running, non-zombie process ``pid``, else None."""
    stat = _read(PROC / str(pid) / "stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after the command name, which may hold spaces
    return None if fields[0] in {"Z", "X"} else fields[19]


def _machine() -> dict[str, str | None]:
    """This boot of this machine and this pid namespace (None where /proc does not tell)."""
    try:
        namespace: str | None = os.readlink(PROC / "self" / "ns" / "pid")
    except OSError:
        namespace = None
    return {"boot": _read(PROC / "sys" / "kernel" / "random" / "boot_id"), "pid_ns": namespace}


def this_process() -> dict[str, Any]:
    """This process as a lease record names its holder."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, **_machine(), "started": process_started(pid)}


def has_died(holder: dict[str, Any]) -> bool:
    """Whether ``holder`` is a process of this machine, boot and pid namespace that no longer runs."""
    here = {"host": socket.gethostname(), **_machine()}
    if any(here[k] is None or holder.get(k) != here[k] for k in here) or holder.get("started") is None:
        return False
    try:
        return process_started(int(holder["pid"])) != holder["started"]
    except (KeyError, TypeError, ValueError):
        return False
