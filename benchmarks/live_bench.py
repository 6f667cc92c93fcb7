"""Live data at scale, against the local Alpaca Market Data server from the tests and an S3 (moto) store.

Backfill: ``momentum ingest --provider alpaca`` (the ``ingest-history`` flow) of 500 symbols x 10 years of
daily bars into ``history`` on S3 (the server holding back the last session), then the next day (one new
session), then the same ingest again with nothing new. Printed per run: wall
time, peak RSS, data-API requests (counted by the data server) and S3 requests (moto's access log).
Targets (2 cores): backfill <= 60 s and <= 150 data requests; the second backfill <= 5 requests. Run:

    python benchmarks/live_bench.py            # a table; --json for one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BUCKET = "momentum-bench"
BACKFILL_SYMBOLS, BACKFILL_START, BACKFILL_END = 500, "2016-01-01", "2025-12-31"
RUNS = ("backfill", "next_day", "again")
BACKFILL_TARGETS = {"backfill_wall_s": 60.0, "backfill_data_requests": 150, "again_requests": 5}


def backfill_market():
    """500 synthetic symbols (late listings and delistings included) x 10 years, plus SPY: the served bars."""
    import pandas as pd

    from momentum.calendar import nyse_sessions
    from momentum.providers.synthetic import synthetic_panel

    sessions = len(nyse_sessions(BACKFILL_START, BACKFILL_END))
    bars = synthetic_panel(BACKFILL_SYMBOLS + 1, sessions, seed=3, end=pd.Timestamp(BACKFILL_END))
    spy = bars["symbol"] == f"S{BACKFILL_SYMBOLS:04d}"
    bars.loc[spy, "symbol"] = "SPY"
    return bars


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backfill_runs(s3, data) -> dict:
    """The ingest flow three times on a fresh S3 store: the backfill, the next day, a rerun with nothing new."""
    import pandas as pd

    from flows.ingest import ingest
    from momentum.calendar import previous_session

    prefix = f"s3://{BUCKET}/backfill-{uuid.uuid4().hex[:8]}"
    universe = Path(tempfile.mkdtemp(prefix="live-bench-")) / "universe.txt"
    universe.write_text("\n".join(f"S{i:04d}" for i in range(BACKFILL_SYMBOLS)) + "\n")
    overrides = {"universe": "file", "universe_file": str(universe)}
    out = {}
    for label in RUNS:
        data.newest = previous_session(pd.Timestamp(BACKFILL_END)) if label == "backfill" else None
        s3_start, data_start, t0 = s3.mark(), data.bar_requests, time.perf_counter()
        summary = ingest(start=BACKFILL_START, end=BACKFILL_END, store_url=f"{prefix}/store", provider="alpaca",
                         overrides=overrides)
        wall = time.perf_counter() - t0
        out[label] = {"wall_s": round(wall, 2), "data_requests": data.bar_requests - data_start,
                      "s3_requests": s3.mark() - s3_start, "symbols": summary["symbols"],
                      "sessions_fetched": summary["sessions_fetched"], "peak_rss_mb": round(_peak_rss_mb())}
    out["again"]["requests"] = out["again"]["data_requests"] + out["again"]["s3_requests"]
    return out


def backfill_report(runs: dict) -> dict:
    """The runs and whether each target is met."""
    checks = {"backfill_wall_s": runs["backfill"]["wall_s"], "backfill_data_requests": runs["backfill"]["data_requests"],
              "again_requests": runs["again"]["requests"]}
    return {**runs, "targets": {k: {"value": v, "target": BACKFILL_TARGETS[k], "met": v <= BACKFILL_TARGETS[k]}
                                for k, v in checks.items()}}


def backfill_text(report: dict) -> str:
    lines = [f"backfill: {BACKFILL_SYMBOLS} symbols x {BACKFILL_START}..{BACKFILL_END} -> history on S3 (moto)",
             f"{'run':<10}{'wall s':>8}{'data req':>10}{'S3 req':>8}{'sessions':>10}{'peak RSS MB':>13}"]
    for label in RUNS:
        r = report[label]
        lines.append(f"{label:<10}{r['wall_s']:>8}{r['data_requests']:>10}{r['s3_requests']:>8}"
                     f"{r['sessions_fetched']:>10}{r['peak_rss_mb']:>13}")
    lines += [f"  {k}: {t['value']} (target <= {t['target']}) {'met' if t['met'] else 'MISSED'}"
              for k, t in report["targets"].items()]
    return "\n".join(lines)


def backfill_bench() -> dict:
    """Start the data server and the counting S3 server, run the backfill twice, return the report."""
    from cost_bench import CountingS3
    from tests.alpaca_data_server import AlpacaDataServer

    s3 = CountingS3()
    os.environ.update(AWS_ENDPOINT_URL=s3.url, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    import boto3

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    try:
        with AlpacaDataServer(backfill_market()) as data:
            os.environ.update(data.env())
            return backfill_report(backfill_runs(s3, data))
    finally:
        s3.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="live-bench-prefect-"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        report = {"backfill": backfill_bench()}
    print(json.dumps(report, indent=1) if args.json else backfill_text(report["backfill"]))


if __name__ == "__main__":
    main()
