"""The image and a container run, measured: ``docker build`` cold (no layer cache) and warm (nothing
changed; one code file changed), the image size, and the daily deployment (scripts/prefect.serverless.yaml)
fired by a schedule on Prefect's docker work pool: wall time from its scheduled time to Completed, and
the container's peak memory (its cgroup's high-water mark), with 500 S&P 500 names on the Alpaca
stand-ins and an S3 store on moto. Then the monthly Fargate cost of 21 such runs at the deployment's
cpu/memory. Needs a Docker daemon and the local base (scripts/local-base-image.sh). Run::

    python benchmarks/image_bench.py            # a table; --json for one JSON object; --no-cold to skip
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TAG = "momentum:bench"
BASE = "momentum-base:bookworm"
OFFLINE = ["--network", "none", "--build-arg", f"BASE_IMAGE={BASE}", "--build-arg"]
PIP = "PIP_OPTIONS=--no-index --find-links /tmp/wheelhouse"
# us-east-1 Fargate list prices (Linux/x86): per vCPU-hour and per GB-hour; per-second billing, 1 min minimum.
VCPU_HOUR, GB_HOUR, RUNS_A_MONTH = 0.04048, 0.004445, 21


def build(context: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["docker", "build", *OFFLINE, PIP, *extra, "-t", TAG, str(context)], check=True, capture_output=True
    )
    return round(time.perf_counter() - started, 1)


def builds(cold: bool) -> dict:
    """Cold, warm, and warm after a code change (in a copy of the build context)."""
    subprocess.run(
        [str(ROOT / "scripts" / "build-image.sh"), "--offline", TAG], check=True, capture_output=True
    )
    out = {"cold_s": build(ROOT, "--no-cache") if cold else None, "warm_s": build(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(ROOT, context, ignore=shutil.ignore_patterns(".git", "momentum-store", "reports"))
        with (context / "flows" / "rebalance.py").open("a") as code:
            code.write(f"# bench {uuid.uuid4().hex}\n")
        out["code_change_s"] = build(context)
    build(ROOT)  # the tag back on the checkout's code
    out["size_mb"] = round(int(docker("image", "inspect", "-f", "{{.Size}}", TAG)) / 1e6)
    return out


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


class PeakMemory(threading.Thread):
    """Polls the cgroup (v1 or v2) of every running container of the image for its memory high-water mark."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.stopping = 0, threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.25):
            for cid in docker("ps", "-q", "--no-trunc", "--filter", f"ancestor={TAG}").split():
                for path in (
                    f"/sys/fs/cgroup/memory/docker/{cid}/memory.max_usage_in_bytes",
                    f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/memory.peak",
                ):
                    try:
                        self.peak = max(self.peak, int(Path(path).read_text()))
                    except (OSError, ValueError):
                        continue


def scheduled_run(home: Path) -> dict:
    """The daily deployment on the docker pool, fired by a schedule due in about a minute."""
    import pandas as pd
    from moto.server import ThreadedMotoServer

    from momentum.calendar import last_closed_session
    from tests.e2e.test_serverless import broker_for, run_env  # the tests' own stand-ins and environment
    from tests.support.alpaca_data_server import AlpacaDataServer, sp500_market
    from tests.support.docker_pool import DockerStack
    from tests.support.stack import api, wait_final

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    s3 = f"http://127.0.0.1:{moto._server.server_port}"
    import boto3

    boto3.client(
        "s3", endpoint_url=s3, aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    ).create_bucket(Bucket="momentum-bench")
    bars = sp500_market(last_closed_session(pd.Timestamp.now(tz="UTC")), n_sessions=273)
    keys = ("BENCHKEYID", "BENCHSECRET")
    market = AlpacaDataServer(bars, *keys).start()
    market.closes = bars[bars["date"] == bars["date"].max()].set_index("symbol")["adj_close"].to_dict()
    broker = broker_for(market, keys)
    store = "s3://momentum-bench/momentum"
    stack = DockerStack(
        home=home,
        store_url=store,
        worker_poll_seconds=1,
        inherit_momentum_env=False,
        deploy_env={"MOMENTUM_IMAGE": TAG, "MOMENTUM_STORE_URL": store, "MOMENTUM_TASK_ROLE_ARN": "arn:x"},
        run_env=run_env(s3, market, broker),
    )
    memory = PeakMemory()
    try:
        stack.start()
        stack.save_blocks(
            {"momentum-alpaca-key-id": keys[0], "momentum-alpaca-secret-key": keys[1]},
            "s3://momentum-bench/prefect-results",
        )
        due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=100)).replace(second=0, microsecond=0)
        cron = f"{due.minute} {due.hour} {due.day} {due.month} *"
        stack.prefect(
            "deployment", "schedule", "create", "rebalance/daily", "--cron", cron, "--timezone", "UTC"
        )
        memory.start()
        with api(stack) as client:
            while not (runs := [r for r in client.read_flow_runs() if r.expected_start_time == due]):
                time.sleep(1)
        run = wait_final(stack, str(runs[0].id), timeout=600)
        memory.stopping.set()
        return {
            "symbols": int(bars["symbol"].nunique()),
            "state": run.state.name,
            "scheduled_to_final_s": round((run.end_time - due).total_seconds(), 1),
            "flow_run_s": round(run.total_run_time.total_seconds(), 1),
            "peak_memory_mb": round(memory.peak / 1e6),
            "orders": len(broker.posts),
        }
    finally:
        memory.stopping.set()
        stack.stop()
        broker.stop()
        market.stop()
        moto.stop()


def fargate_month(seconds: float, cpu: int = 512, memory_mb: int = 2048) -> float:
    """21 runs a month billed per second (at least a minute each) at the deployment's cpu/memory."""
    hours = max(seconds, 60) / 3600 * RUNS_A_MONTH
    return round(hours * (cpu / 1024 * VCPU_HOUR + memory_mb / 1024 * GB_HOUR), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-cold", action="store_true", help="skip the build without layer cache")
    args = parser.parse_args()
    out = {"build": builds(cold=not args.no_cold)}
    with tempfile.TemporaryDirectory() as tmp:
        out["container_run"] = scheduled_run(Path(tmp) / "home")
    # Fargate bills from the image pull to the task's end: the measured wall time plus 60 s assumed for
    # pulling the image and starting Python (not measurable here).
    out["fargate_month_usd"] = fargate_month(out["container_run"]["scheduled_to_final_s"] + 60)
    if args.json:
        print(json.dumps(out))
        return
    b, r = out["build"], out["container_run"]
    cold = f"{b['cold_s']} s" if b["cold_s"] is not None else "skipped"
    print(f"image build: cold {cold}, warm {b['warm_s']} s, after a code change {b['code_change_s']} s")
    print(f"image size: {b['size_mb']} MB")
    print(
        f"daily deployment in a container ({r['symbols']} symbols): {r['state']} "
        f"{r['scheduled_to_final_s']} s after its scheduled time (flow run {r['flow_run_s']} s), "
        f"peak memory {r['peak_memory_mb']} MB, {r['orders']} orders"
    )
    print(f"Fargate, 21 runs a month at 0.5 vCPU / 2 GB: ${out['fargate_month_usd']}")


if __name__ == "__main__":
    main()
