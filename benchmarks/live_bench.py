"""Live data at S&P 500 size: the ``daily`` flow with ``--provider alpaca`` against the local Alpaca
Market Data server of the tests (tests/alpaca_data_server.py), a running Prefect server and an S3 (moto)
store. Prints wall time, peak RSS, data-API requests and S3 requests (counted by moto's access log).

Parts (``--part``, default all):

- ``daily``: 500+ symbols (the S&P 500 members plus SPY) x 273 sessions of synthetic closes, three runs
  of the daily flow (``only_on_schedule``) on one S3 store: the rebalance day (signal session
  2026-08-31: fetch, validate, score, plan, execute 25 paper orders), the next session, an ordinary
  day (fetch, validate, score; about 20 of 21 runs a month), and that day again (all committed: nothing
  fetched). Targets for a daily run: <= 10 s wall, <= 1 GB RSS, <= 20 data-API requests. The first run
  of the process also pays the imports (great-expectations ~3.4 s).

- ``backfill``: ``momentum ingest --provider alpaca`` (the ``ingest-history`` flow) of 500 synthetic
  symbols x 10 years into ``history`` on S3, with the server holding back the last session; then the next
  day (one new session); then the same ingest again with nothing new. Targets: backfill <= 60 s and
  <= 150 data-API requests; the rerun with nothing new <= 5 requests (data API + S3).

A part is a function ``(s3: CountingS3) -> dict`` in ``PARTS``, printed by its entry in ``PRINTERS``. Run::

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

from cost_bench import BUCKET, CountingS3, count  # noqa: E402

SIGNAL, ORDINARY = "2026-08-31", "2026-09-01"  # the last session of August (a signal session), the next one
SESSIONS = 273  # lookback 252 + skip 21
BACKFILL_SYMBOLS, BACKFILL_START, BACKFILL_END = 500, "2016-01-01", "2025-12-31"
BACKFILL_RUNS = ("backfill", "next_day", "again")


def rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def daily(s3: CountingS3) -> dict:
    """The rebalance day, the ordinary day after it, and that day again, on one store."""
    from flows.rebalance import rebalance
    from tests.support.alpaca_data_server import AlpacaDataServer, sp500_market

    market = sp500_market(ORDINARY, n_sessions=SESSIONS + 1)
    out = {"symbols": int(market["symbol"].nunique()), "sessions": SESSIONS, "bars_served": len(market)}
    with AlpacaDataServer(market) as server:
        os.environ.update(server.env())
        store = f"s3://{BUCKET}/live-{uuid.uuid4().hex[:8]}/store"
        for label, as_of in (("rebalance_day", SIGNAL), ("ordinary_day", ORDINARY), ("repeat_run", ORDINARY)):
            before_api, before_s3 = server.bar_requests, s3.mark()
            t0 = time.perf_counter()
            summary = rebalance(as_of=as_of, store_url=store, provider="alpaca", only_on_schedule=True)
            wall = time.perf_counter() - t0
            out[label] = {
                "as_of": as_of,
                "wall_s": round(wall, 2),
                "data_api_requests": server.bar_requests - before_api,
                "orders": len(summary.get("orders", [])),
                "quarantined": len(summary["validation"]["quarantined"]),
                "peak_rss_mb": rss_mb(),
                **count(s3.lines[before_s3 : s3.mark()]),
            }
    return out


def backfill_market():
    """500 synthetic symbols (late listings and delistings included) x 10 years, plus SPY: the served bars."""
    import pandas as pd

    from momentum.calendar import nyse_sessions
    from momentum.providers.synthetic import synthetic_panel

    sessions = len(nyse_sessions(BACKFILL_START, BACKFILL_END))
    bars = synthetic_panel(BACKFILL_SYMBOLS + 1, sessions, seed=3, end=pd.Timestamp(BACKFILL_END))
    bars.loc[bars["symbol"] == f"S{BACKFILL_SYMBOLS:04d}", "symbol"] = "SPY"
    return bars


def backfill(s3: CountingS3) -> dict:
    """The ingest flow three times on a fresh S3 store: the backfill, the next day, a rerun with
    nothing new."""
    import pandas as pd

    from flows.ingest import ingest
    from momentum.calendar import previous_session
    from tests.support.alpaca_data_server import AlpacaDataServer

    store = f"s3://{BUCKET}/backfill-{uuid.uuid4().hex[:8]}/store"
    universe = Path(tempfile.mkdtemp(prefix="live-bench-")) / "universe.txt"
    universe.write_text("\n".join(f"S{i:04d}" for i in range(BACKFILL_SYMBOLS)) + "\n")
    overrides = {"universe": "file", "universe_file": str(universe)}
    out: dict = {"symbols": BACKFILL_SYMBOLS + 1, "start": BACKFILL_START, "end": BACKFILL_END}
    with AlpacaDataServer(backfill_market()) as server:
        os.environ.update(server.env())
        for label in BACKFILL_RUNS:
            server.newest = previous_session(pd.Timestamp(BACKFILL_END)) if label == "backfill" else None
            before_api, before_s3, t0 = server.bar_requests, s3.mark(), time.perf_counter()
            summary = ingest(
                start=BACKFILL_START,
                end=BACKFILL_END,
                store_url=store,
                provider="alpaca",
                overrides=overrides,
            )
            requests = s3.lines[before_s3 : s3.mark()]
            out[label] = {
                "wall_s": round(time.perf_counter() - t0, 2),
                "data_api_requests": server.bar_requests - before_api,
                "s3_requests": len(requests),
                "sessions_fetched": summary["sessions_fetched"],
                "peak_rss_mb": rss_mb(),
                **count(requests),
            }
    return out


def print_backfill(name: str, result: dict) -> None:
    print(
        f"\n{name}: {result['symbols']} symbols x {result['start']}..{result['end']} -> history on S3 (moto)"
    )
    for label in BACKFILL_RUNS:
        run = result[label]
        print(
            f"  {label:<9} wall {run['wall_s']:6.2f} s  data-API requests {run['data_api_requests']:4d}  "
            f"S3 requests {run['s3_requests']:3d} (tier1 {run['tier1']}, tier2 {run['tier2']})  "
            f"sessions fetched {run['sessions_fetched']:5d}  peak RSS {run['peak_rss_mb']} MB"
        )


PARTS = {"daily": daily, "backfill": backfill}


def print_part(name: str, result: dict) -> None:
    print(
        f"\n{name}: {result.get('symbols')} symbols x {result.get('sessions')} sessions "
        f"({result.get('bars_served')} bars served)"
    )
    for label, run in result.items():
        if isinstance(run, dict):
            print(
                f"  {label:<13} {run['as_of']}  wall {run['wall_s']:6.2f} s  "
                f"data-API requests {run['data_api_requests']:3d}  "
                f"S3 tier1 {run['tier1']:4d} tier2 {run['tier2']:4d}  orders {run['orders']:3d}  "
                f"quarantined {run['quarantined']}  peak RSS {run['peak_rss_mb']} MB"
            )


PRINTERS = {"daily": print_part, "backfill": print_backfill}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--part", choices=list(PARTS), action="append", help="default: all")
    args = parser.parse_args()
    s3 = CountingS3()
    os.environ.update(
        AWS_ENDPOINT_URL=s3.url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="live-bench-prefect-"))
    import boto3
    from prefect.testing.utilities import prefect_test_harness

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    report: dict = {
        "targets": {
            "daily_wall_s": 10,
            "daily_rss_mb": 1024,
            "daily_data_api_requests": 20,
            "backfill_wall_s": 60,
            "backfill_data_api_requests": 150,
            "backfill_again_requests": 5,
        }
    }
    try:
        with prefect_test_harness(server_startup_timeout=60):
            for name in args.part or list(PARTS):
                report[name] = PARTS[name](s3)
    finally:
        s3.stop()
    report["peak_rss_mb"] = rss_mb()
    if args.json:
        print(json.dumps(report))
        return
    for name in args.part or list(PARTS):
        PRINTERS[name](name, report[name])
    print(
        f"\npeak RSS of this process (flow + data server thread + Prefect client): "
        f"{report['peak_rss_mb']} MB; "
        f"targets {report['targets']}"
    )


if __name__ == "__main__":
    main()
