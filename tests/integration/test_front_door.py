"""The front door (issue 20): commands that run no flow load neither Prefect nor great-expectations;
each refusal is one line naming what, where and the fix, before Prefect starts; a failure inside a
flow ends in that same one line, without Prefect's log lines or a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.test_cli import LAST, assert_no_prefect, assert_one_line_refusal, momentum

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEAVY = ("prefect", "great_expectations", "matplotlib")
PROBE = """
import sys
from momentum_cli.app import app
try:
    app({args!r}, prog_name="momentum")
except SystemExit:
    pass
print("LOADED=" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["store", "ls"],
        ["calendar"],
        ["universe"],
        ["config"],
        ["run", "--as-of", "x"],
        ["validate", "no.csv"],
    ],
)
def test_commands_that_run_no_flow_load_no_prefect_nor_great_expectations(tmp_path, args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr.strip().splitlines()[-1] == "LOADED=", done.stderr


@pytest.fixture
def int_dates(tmp_path):
    bars = pd.read_csv(EXAMPLES / "bars.csv")
    bars.assign(date=pd.to_datetime(bars["date"]).dt.strftime("%Y%m%d").astype("int64")).to_parquet(
        tmp_path / "int_dates.parquet"
    )
    future = bars.assign(date=pd.to_datetime(bars["date"]) + pd.DateOffset(years=30))
    future.to_csv(tmp_path / "future.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["run", "--provider", "files", "--set", "files_path=s3://momentum-no-credentials/bars"],
            ["no AWS credentials", "files_path s3://momentum-no-credentials/bars", "AWS_ACCESS_KEY_ID"],
        ),
        (
            ["store", "show", "orders", "--version", "v1", "--store", "store"],
            ["dataset 'orders' has no committed version named v1", "momentum store ls orders"],
        ),
        (["validate", "int_dates.parquet"], ["are not dates", "int_dates.parquet column date", "YYYY-MM-DD"]),
        (["validate", "future.csv"], ["dated in the future", "future.csv column date"]),
        (["run", "--as-of", "30/11/2022"], ["'30/11/2022' is not a date written YYYY-MM-DD", "--as-of"]),
        (["backtest", "--end", "30/11/2022"], ["'30/11/2022' is not a date written YYYY-MM-DD", "--end"]),
        (["run", "--set", "lookbak=10"], ["unknown setting 'lookbak'", "--set", "did you mean lookback"]),
        (
            ["run", "--as-of", "1990-06-01"],
            ["too little history", "--as-of", "the earliest possible as_of is 1991-01-29"],
        ),
        (["ingest", "--provider", "alpaca"], ["provider 'alpaca' needs API keys"]),
        (["backtest", "--provider", "alpaca"], ["provider 'alpaca' needs API keys"]),
        (["run", "--broker", "alpaca"], ["broker 'alpaca' needs API keys", "MOMENTUM_ALPACA_KEY_ID"]),
    ],
)
def test_each_refusal_is_one_line_with_where_and_fix_before_prefect(int_dates, args, expected):
    done = momentum(*args, cwd=int_dates)
    assert_one_line_refusal(done, *expected)
    assert_no_prefect(done, int_dates)


def test_config_shows_each_source_and_masks_secrets(tmp_path):
    env = {"MOMENTUM_PROVIDER": "synthetic", "MOMENTUM_ALPACA_SECRET_KEY": "s3cr3t", "MOMENTUM_LOOKBAK": "5"}
    done = momentum("config", "--json", "--set", "cost_bps=7", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    rows = {row["setting"]: row for row in out["settings"]}
    assert rows["provider"] == {
        "setting": "provider",
        "value": "synthetic",
        "source": "environment MOMENTUM_PROVIDER",
    }
    assert rows["cost_bps"]["value"] == 7 and rows["cost_bps"]["source"] == "flag/--set"
    assert rows["lookback"]["source"] == "default"
    assert rows["alpaca_secret_key"]["value"] == "***" and "s3cr3t" not in done.stdout + done.stderr
    assert out["unknown_environment"] == [{"variable": "MOMENTUM_LOOKBAK", "closest": ["lookback"]}]


def test_flow_failures_end_in_one_line_without_prefect_logs(tmp_path):
    """The kill switch inside the flow, and a paper account asked to go back in time: a progress line
    per stage, then the one line (which switch and how to release it; how to start another account)."""
    killed = momentum("run", "--store", "store", "--set", "kill_switch=true", cwd=tmp_path)
    lines = killed.stderr.strip().splitlines()
    assert killed.returncode == 1 and "Traceback" not in killed.stderr and " | " not in killed.stderr
    assert lines[-1] == (
        "error: kill switch engaged: no order sent, the kill_switch setting (MOMENTUM_KILL_SWITCH or --set "
        "kill_switch=true) (set kill_switch to false to trade again)"
    )
    assert all(line.startswith("[") for line in lines[:-1]) and any("execution: failed" in x for x in lines)
    first = momentum("run", "--store", "store", "--as-of", LAST, "--order-timing", "market", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (tmp_path / "store" / "KILL_SWITCH").write_text("")
    marker = momentum("run", "--store", "store", "--as-of", LAST, "--always", cwd=tmp_path)
    assert "the KILL_SWITCH object at store/KILL_SWITCH (delete store/KILL_SWITCH" in marker.stderr
    (tmp_path / "store" / "KILL_SWITCH").unlink()
    earlier = momentum("run", "--store", "store", "--as-of", "2022-11-30", cwd=tmp_path)
    last = earlier.stderr.strip().splitlines()[-1]
    assert earlier.returncode == 1 and "Traceback" not in earlier.stderr
    assert "cannot trade on earlier 2022-11-30" in last and "another --store" in last
    foreign = momentum("run", "--store", "store", "--provider", "synthetic", cwd=tmp_path)
    last = foreign.stderr.strip().splitlines()[-1]
    assert foreign.returncode == 1 and "Traceback" not in foreign.stderr
    assert "held by the account but not in the run's data" in last and "another --store" in last
