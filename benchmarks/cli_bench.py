"""Benchmark the front door: what each command a newcomer types costs in wall time and memory.

Five runs each (median and max wall, peak RSS of the process tree) of ``momentum --help``,
``--version``, ``store ls``, ``calendar``, ``run`` (embedded data, a fresh store each time) and a re-run of
the same as_of (every stage cached). With no Prefect server (``PREFECT_API_URL`` unset: each run starts
what it needs), and, when ``PREFECT_API_URL`` is set (e.g. to a ``momentum serve``), against that server.

Targets (issue 20, this 2-core machine): the four light commands at most 0.6 s; ``run`` at most 12 s
with no server and 8 s with one; the re-run at most 8 s with no server and 4 s with one.
Run: ``python benchmarks/cli_bench.py [--repeat 5]`` (the project on ``PYTHONPATH`` or installed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2022-12-28"
LIGHT = {
    "--help": ["--help"],
    "--version": ["--version"],
    "store ls": ["store", "ls"],
    "calendar": ["calendar"],
}
TARGETS = {  # (no server, with a server), seconds
    "--help": (0.6, 0.6),
    "--version": (0.6, 0.6),
    "store ls": (0.6, 0.6),
    "calendar": (0.6, 0.6),
    "run (fresh store)": (12.0, 8.0),
    "re-run (cached)": (8.0, 4.0),
}


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB (the child and the descendants it waited for) and exit status."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "momentum_cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def measure(name: str, runs: list[tuple[float, float, int]]) -> dict:
    walls = [w for w, _, _ in runs]
    return {
        "command": name,
        "median": statistics.median(walls),
        "max": max(walls),
        "rss": max(r for _, r, _ in runs),
        "failed": sum(1 for _, _, code in runs if code != 0),
    }


def bench(env: dict[str, str], repeat: int, work: Path) -> list[dict]:
    rows = []
    for name, args in LIGHT.items():
        rows.append(measure(name, [timed(args, work, env) for _ in range(repeat)]))
    fresh = [
        timed(["run", "--as-of", AS_OF, "--store", str(work / f"fresh-{i}")], work, env)
        for i in range(repeat)
    ]
    rows.append(measure("run (fresh store)", fresh))
    again = ["run", "--as-of", AS_OF, "--store", str(work / "fresh-0")]
    rows.append(measure("re-run (cached)", [timed(again, work, env) for _ in range(repeat)]))
    return rows


def print_table(title: str, rows: list[dict], server: bool) -> None:
    print(f"\n{title}")
    print(f"{'command':<20} {'median s':>9} {'max s':>7} {'peak RSS MB':>12} {'target s':>9}  verdict")
    for row in rows:
        target = TARGETS[row["command"]][1 if server else 0]
        verdict = "ok" if row["max"] <= target else "over"
        verdict += f" ({row['failed']} failed)" if row["failed"] else ""
        print(
            f"{row['command']:<20} {row['median']:>9.2f} {row['max']:>7.2f} {row['rss']:>12.0f} "
            f"{target:>9.1f}  {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    base = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTUM_")}
    server_url = base.pop("PREFECT_API_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{repeat} runs each, python {sys.version.split()[0]}, {os.cpu_count()} cores, as_of {AS_OF}")
        (Path(tmp) / "none").mkdir()
        print_table("no Prefect server", bench(base, repeat, Path(tmp) / "none"), server=False)
        if server_url:
            (Path(tmp) / "server").mkdir()
            rows = bench({**base, "PREFECT_API_URL": server_url}, repeat, Path(tmp) / "server")
            print_table(f"with the server at {server_url}", rows, server=True)
        else:
            print("\n(PREFECT_API_URL unset: no figures against a running server)")
    print("\nmax wall over the target is 'over'; the run figures include Prefect's start-up.")


if __name__ == "__main__":
    main()
