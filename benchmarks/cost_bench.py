"""What one scheduled run costs on AWS: S3 requests (counted by an S3-compatible server, moto), bytes
stored and wall time, turned into a monthly bill at published us-east-1 prices.

Two runs of the ``daily`` deployment's flow (``only_on_schedule=True``) on a fresh S3 store, with the task
results in the same bucket (what a serverless run must do so a retried run reuses committed stages):

- rebalance day: the signal session itself, so the run also plans, executes and snapshots the account;
- ordinary day: the next session, nothing owed (ingest, validate, score; about 20 of 21 runs a month).

for the embedded data (20 real stocks) and for 500 synthetic symbols (an S&P 500-sized universe).
Requests are read from the S3 server's access log and priced by S3's two tiers. Run:

    python benchmarks/cost_bench.py            # a table; --json for one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Published prices, us-east-1 (S3 Standard; Fargate Linux/x86 on demand; ECR; CloudWatch Logs).
S3_GB_MONTH = 0.023
S3_TIER1_PER_1000 = 0.005  # PUT, COPY, POST, LIST
S3_TIER2_PER_1000 = 0.0004  # GET, HEAD (and every other request)
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445
ECR_GB_MONTH = 0.10
LOGS_GB_INGESTED = 0.50
PUBLIC_IPV4_HOUR = 0.005

# The serverless task (scripts/prefect.serverless.yaml) and the calendar.
TASK_VCPU, TASK_GB = 0.5, 2.0
RUNS_PER_MONTH = 252 / 12  # NYSE sessions a year / 12 (the flow runs Mon-Fri; holidays cost the same)
REBALANCES_PER_MONTH = 4 / 12
# Not measurable here (no container runtime): stated assumptions, see docs/deploy.md.
CONTAINER_OVERHEAD_S = 60.0  # image pull + Python start before the flow, and shutdown: Fargate bills it
IMAGE_GB = 0.6  # compressed image in ECR (python:3.11-slim + pandas, pyarrow, great-expectations, prefect)
LOG_BYTES_PER_RUN = 50_000

BUDGETS = {
    "ordinary_day": 50,
    "rebalance_day": 150,
}  # S3 requests of the store per run, 500 symbols (issue 13)
BUCKET = "momentum-bench"
SCENARIOS = {  # name: (flow parameters, signal session, the next session)
    "embedded-20": ({"provider": "embedded"}, "2022-11-30", "2022-12-01"),
    "synthetic-500": (
        {"provider": "synthetic", "overrides": {"synthetic_symbols": 500, "synthetic_sessions": 600}},
        "2024-11-29",
        "2024-12-02",
    ),
}
ACCESS = re.compile(r'"(GET|PUT|POST|HEAD|DELETE|COPY) (\S+) HTTP/[\d.]+" (\d{3})')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CountingS3:
    """moto's S3 server in a subprocess; every request of its access log, kept in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lines: list[tuple[str, str]] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto server did not start")

    def _read(self) -> None:
        for line in self.proc.stderr:
            found = ACCESS.search(line)
            if found:
                self.lines.append((found.group(1), found.group(2)))

    def mark(self) -> int:
        time.sleep(0.3)  # let the log reader catch up
        return len(self.lines)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def tier(method: str, target: str) -> str:
    """S3 pricing class of one request: tier1 (PUT/COPY/POST/LIST), tier2 (GET/HEAD), free (DELETE)."""
    path, _, query = target.partition("?")
    bucket_level = "/" not in path.strip("/")
    if method == "DELETE":
        return "free"
    if method in ("PUT", "POST", "COPY") or (method == "GET" and (bucket_level or "list-type" in query)):
        return "tier1"
    return "tier2"


def owner(target: str) -> str:
    """Who made a request: ``store:<dataset>`` (or ``store:-`` for a listing of the store's root) or
    ``results`` (Prefect's task results in the same bucket, and the bucket checks before their PUTs)."""
    path, _, query = target.partition("?")
    key = (
        unquote(path).split("/", 2)[-1]
        if path.count("/") > 1
        else unquote(parse_qs(query).get("prefix", [""])[0])
    )
    parts = key.split("/")
    if len(parts) > 2 and parts[1] == "store":
        return f"store:{parts[2] or '-'}"
    return "results"


def count(requests: list[tuple[str, str]]) -> dict:
    out = {"tier1": 0, "tier2": 0, "free": 0}
    detail: dict[str, int] = {}
    by_owner: dict[str, int] = {}
    for method, target in requests:
        kind = tier(method, target)
        out[kind] += 1
        label = "LIST" if kind == "tier1" and method == "GET" else method
        detail[label] = detail.get(label, 0) + 1
        who = owner(target)
        by_owner[who] = by_owner.get(who, 0) + 1
    store = sum(n for who, n in by_owner.items() if who.startswith("store:"))
    return {
        **out,
        **{f"n_{k}": v for k, v in sorted(detail.items())},
        "store_requests": store,
        "results_requests": by_owner.get("results", 0),
        "by_dataset": {who[6:]: n for who, n in sorted(by_owner.items()) if who.startswith("store:")},
    }


def stored_bytes(prefix: str) -> int:
    import boto3

    total = 0
    for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        total += sum(obj["Size"] for obj in page.get("Contents", []))
    return total


def run_scenario(name: str, s3: CountingS3) -> dict:
    from prefect.filesystems import RemoteFileSystem

    from flows.rebalance import rebalance

    params, signal, next_day = SCENARIOS[name]
    prefix = f"{name}-{uuid.uuid4().hex[:8]}"
    results = RemoteFileSystem(basepath=f"s3://{BUCKET}/{prefix}/prefect-results")
    results.save(prefix)  # as the serverless deployment's "remote-file-system/momentum-results" block
    flow = rebalance.with_options(result_storage=results, persist_result=True)
    out = {}
    for label, as_of in (("rebalance_day", signal), ("ordinary_day", next_day)):
        before_bytes, start = stored_bytes(prefix), s3.mark()
        t0 = time.perf_counter()
        summary = flow(
            as_of=as_of, store_url=f"s3://{BUCKET}/{prefix}/store", only_on_schedule=True, **params
        )
        wall = time.perf_counter() - t0
        requests = s3.lines[start : s3.mark()]
        out[label] = {
            "as_of": as_of,
            "wall_s": round(wall, 2),
            "executed": "orders" in summary,
            "orders": len(summary.get("orders", [])),
            **count(requests),
            "bytes_added": stored_bytes(prefix) - before_bytes,
        }
        assert out[label]["executed"] == (label == "rebalance_day"), (label, summary["rebalance"])
    return out


def monthly(runs: dict) -> dict:
    """A month: RUNS_PER_MONTH runs, REBALANCES_PER_MONTH of them rebalance days."""
    ordinary, rebal = runs["ordinary_day"], runs["rebalance_day"]
    per = {
        k: (RUNS_PER_MONTH - REBALANCES_PER_MONTH) * ordinary[k] + REBALANCES_PER_MONTH * rebal[k]
        for k in ("tier1", "tier2", "bytes_added", "wall_s")
    }
    s3_requests = per["tier1"] / 1000 * S3_TIER1_PER_1000 + per["tier2"] / 1000 * S3_TIER2_PER_1000
    gb_month_1 = per["bytes_added"] / 1e9
    storage_year = gb_month_1 * 12 * S3_GB_MONTH  # the 12th month's storage bill, keeping every version
    billed_s = per["wall_s"] + RUNS_PER_MONTH * CONTAINER_OVERHEAD_S
    fargate = billed_s / 3600 * (TASK_VCPU * FARGATE_VCPU_HOUR + TASK_GB * FARGATE_GB_HOUR)
    ecr = IMAGE_GB * ECR_GB_MONTH
    logs = RUNS_PER_MONTH * LOG_BYTES_PER_RUN / 1e9 * LOGS_GB_INGESTED
    ipv4 = billed_s / 3600 * PUBLIC_IPV4_HOUR
    total = s3_requests + storage_year + fargate + ecr + logs + ipv4
    return {
        "s3_tier1_requests": round(per["tier1"]),
        "s3_tier2_requests": round(per["tier2"]),
        "s3_requests_usd": round(s3_requests, 4),
        "bytes_added_per_month": round(per["bytes_added"]),
        "s3_storage_usd_after_12_months": round(storage_year, 4),
        "fargate_billed_s": round(billed_s),
        "fargate_usd": round(fargate, 4),
        "ecr_usd": round(ecr, 4),
        "logs_usd": round(logs, 4),
        "public_ipv4_usd": round(ipv4, 4),
        "total_usd": round(total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--scenario", choices=list(SCENARIOS), action="append", help="default: all")
    args = parser.parse_args()
    s3 = CountingS3()
    os.environ.update(
        AWS_ENDPOINT_URL=s3.url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="cost-bench-prefect-"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    import boto3
    from prefect.logging import disable_run_logger  # noqa: F401 - keeps prefect's import out of the timing
    from prefect.testing.utilities import prefect_test_harness

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    report: dict = {
        "prices": {
            "s3_gb_month": S3_GB_MONTH,
            "s3_tier1_per_1000": S3_TIER1_PER_1000,
            "s3_tier2_per_1000": S3_TIER2_PER_1000,
            "fargate_vcpu_hour": FARGATE_VCPU_HOUR,
            "fargate_gb_hour": FARGATE_GB_HOUR,
            "ecr_gb_month": ECR_GB_MONTH,
        },
        "assumptions": {
            "task_vcpu": TASK_VCPU,
            "task_gb": TASK_GB,
            "runs_per_month": RUNS_PER_MONTH,
            "rebalances_per_month": round(REBALANCES_PER_MONTH, 3),
            "container_overhead_s": CONTAINER_OVERHEAD_S,
            "image_gb": IMAGE_GB,
        },
        "scenarios": {},
    }
    try:
        with prefect_test_harness(server_startup_timeout=60):
            for name in args.scenario or list(SCENARIOS):
                runs = run_scenario(name, s3)
                report["scenarios"][name] = {"runs": runs, "month": monthly(runs)}
    finally:
        s3.stop()
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if args.json:
        print(json.dumps(report))
        return
    for name, result in report["scenarios"].items():
        print(f"\n{name}")
        for label, run in result["runs"].items():
            print(
                f"  {label:<14} as_of {run['as_of']}  wall {run['wall_s']:6.2f} s  "
                f"S3 tier1 {run['tier1']:4d}  "
                f"tier2 {run['tier2']:4d}  ("
                + ", ".join(f"{k[2:]} {v}" for k, v in run.items() if k.startswith("n_"))
                + f")  +{run['bytes_added'] / 1e3:,.1f} kB stored"
            )
            budget = (
                f" (budget {BUDGETS[label]}: "
                f"{'met' if run['store_requests'] <= BUDGETS[label] else 'MISSED'})"
                if name == "synthetic-500"
                else ""
            )
            print(
                f"    store requests {run['store_requests']}{budget}, "
                f"Prefect results {run['results_requests']}; "
                "by dataset: " + ", ".join(f"{k} {v}" for k, v in run["by_dataset"].items())
            )
        month = result["month"]
        print(
            f"  a month: {month['s3_tier1_requests']} tier1 + {month['s3_tier2_requests']} tier2 requests "
            f"${month['s3_requests_usd']:.4f}; +{month['bytes_added_per_month'] / 1e6:.2f} MB stored/month "
            f"(${month['s3_storage_usd_after_12_months']:.4f}/month after a year); Fargate "
            f"{month['fargate_billed_s']} s ${month['fargate_usd']:.4f}; ECR ${month['ecr_usd']:.2f}; logs "
            f"${month['logs_usd']:.4f}; public IPv4 ${month['public_ipv4_usd']:.4f}"
        )
        print(f"  total ~ ${month['total_usd']:.2f} a month (goal: well under $5)")
    print(f"\npeak RSS of this process (flow + Prefect test server client): {report['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
