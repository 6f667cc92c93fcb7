"""The command line as a tool: every refusal is one line on stderr and exit status 1, checked before
Prefect starts where it can be; a run that leaves orders unfilled ends Failed and exits 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from momentum.store import VersionedStore
from momentum_cli.app import app

LAST = "2022-12-28"
OWED = "2022-11-30"


def momentum(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI in its own process, with its own (empty) PREFECT_HOME and no AWS credentials."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PREFECT_", "MOMENTUM_"))}
    base.update(
        PREFECT_HOME=str(cwd / "prefect-home"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(cwd / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(cwd / "no-aws-creds"),
    )
    return subprocess.run(
        [sys.executable, "-m", "momentum_cli", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_refusal(done: subprocess.CompletedProcess, *expected: str) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and all(text in lines[0] for text in expected), lines[0]
    return lines[0]


def assert_no_prefect(done: subprocess.CompletedProcess, cwd: Path) -> None:
    """Refused before Prefect started: no temporary server, no Prefect database created."""
    assert "temporary server" not in done.stderr
    assert not list((cwd / "prefect-home").glob("*.db"))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "broken.csv").write_text('date,symbol,adj_close\n"2022-12-28,AAPL,1\n')
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    return tmp_path


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["run", "--as-of", "2022-12-26"],
            ["as_of 2022-12-26 is not an NYSE session", "--as-of", "2022-12-23"],
        ),
        (
            ["run", "--as-of", "2031-01-02"],
            ["as_of 2031-01-02 is not an NYSE session", "NYSE calendar covers"],
        ),
        (["run", "--as-of", "2022-12-29"], ["after the provider's last session 2022-12-28"]),
        (["run", "--as-of", "notadate"], ["'notadate' is not a date written YYYY-MM-DD", "--as-of"]),
        (
            ["run", "--set", "lookback=10", "--set", "skip=20"],
            ["skip (20) must be smaller than lookback (10)"],
        ),
        (["run", "--set", "no_such_setting=1"], ["unknown setting 'no_such_setting'", "--set"]),
        (
            ["run", "--set", "universe=file", "--set", "universe_file=missing.txt"],
            ["universe file", "missing.txt"],
        ),
        (["run", "--store", "s3://Not_A_Bucket/x"], ["not an S3 bucket name", "store s3://Not_A_Bucket/x"]),
        (["run", "--store", "gs://bucket/x"], ["unsupported store scheme gs://"]),
        (
            ["run", "--store", "s3://momentum-no-credentials/x"],
            ["no AWS credentials", "store s3://momentum-no-credentials/x", "AWS_ACCESS_KEY_ID"],
        ),
        (["run", "--no-such-flag"], ["No such option: --no-such-flag", "momentum run --help"]),
        (["backtest", "--start", "someday"], ["'someday' is not a date", "--start"]),
        (["backtest", "--sweep", "no_such_setting=1,2"], ["no_such_setting"]),
        (
            ["backtest", "--order-timing", "open"],
            ["order_timing 'open' fills at the trade session's open", "embedded data has closes only"],
        ),
        (["backtest", "--order-timing", "sideways"], ["order_timing", "'close', 'open' or 'market'"]),
        (["validate", "empty.csv"], ["the bars file is empty", "empty.csv"]),
        (["validate", "binary.csv"], ["not a text csv (binary content)", "binary.csv"]),
        (["validate", "broken.csv"], ["cannot be parsed", "broken.csv"]),
        (["validate", "broken.parquet"], ["cannot be parsed", "broken.parquet"]),
        (["validate", "missing.csv"], ["does not exist", "missing.csv"]),
    ],
)
def test_refusals_are_one_line_before_prefect_starts(files, args, expected):
    done = momentum(*args, cwd=files)
    assert_one_line_refusal(done, *expected)
    assert_no_prefect(done, files)


def test_store_without_its_bucket_names_the_store_and_the_fix(s3_server, tmp_path):
    env = {
        k: os.environ[k]
        for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    done = momentum("run", "--store", "s3://momentum-bucket-that-does-not-exist/x", cwd=tmp_path, env=env)
    assert_one_line_refusal(
        done, "the bucket does not exist", "store s3://momentum-bucket-that-does-not-exist/x"
    )
    assert_no_prefect(done, tmp_path)


def test_debug_shows_the_traceback_and_still_ends_with_the_line(tmp_path):
    for args, env in (
        (["--debug", "run", "--as-of", "notadate"], None),
        (["run", "--as-of", "notadate", "--debug"], None),
        (["run", "--as-of", "notadate"], {"MOMENTUM_DEBUG": "1"}),
    ):
        done = momentum(*args, cwd=tmp_path, env=env)
        assert done.returncode == 1 and "Traceback" in done.stderr
        assert (
            done.stderr.strip().splitlines()[-1]
            == "error: 'notadate' is not a date written YYYY-MM-DD, --as-of (e.g. 2022-11-30)"
        )


def test_version_and_plain_help(tmp_path):
    from momentum import __version__

    assert momentum("--version", cwd=tmp_path).stdout.strip() == f"momentum {__version__}"
    shown = momentum("run", "--help", cwd=tmp_path).stdout
    assert "<bool>" not in shown and "<str>" not in shown
    assert "(default: embedded, or MOMENTUM_PROVIDER)" in " ".join(shown.split())


def test_validate_prints_one_verdict_and_each_finding_once(tmp_path):
    from momentum.providers.embedded import EmbeddedProvider

    bars = EmbeddedProvider().bars(pd.Timestamp("2021-11-01"), pd.Timestamp(LAST))
    bars.loc[bars.index[100], "adj_close"] = float("nan")
    bars.to_csv(tmp_path / "one_nan.csv", index=False)
    done = momentum("validate", "one_nan.csv", cwd=tmp_path)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines[0].startswith("passed with quarantine: 20 symbols")
    (finding,) = [line for line in lines[1:] if "price_not_null" in line]
    assert (
        finding.count("price_not_null") == 1
        and finding.count(f"{bars.loc[bars.index[100], 'date']:%Y-%m-%d}") == 1
    )


@pytest.mark.usefixtures("prefect_api")
def test_every_order_rejected_commits_fails_the_flow_run_and_exits_1(tmp_path):
    from prefect.client.orchestration import get_client

    url = str(tmp_path / "store")
    runner = CliRunner()
    first = runner.invoke(app, ["run", "--store", url, "--order-timing", "market"])
    assert first.exit_code == 0, first.stderr
    earlier = runner.invoke(
        app, ["run", "--store", url, "--as-of", OWED, "--json", "--order-timing", "market"]
    )  # the paper book is past it
    assert earlier.exit_code == 1
    line = earlier.stderr.strip().splitlines()[-1]
    assert line.startswith(
        "error: 6 of 6 orders not filled (4 rejected, 2 not sent), rebalance of 2022-11-30"
    )
    assert "already traded on 2022-12-28" in line
    store = VersionedStore(url)
    summary = json.loads(earlier.stdout)
    assert summary["execution"]["rejected"] == 4 and summary["execution"]["not_sent"] == 2
    (executions,) = [r for r in store.refs("executions") if r.as_of == OWED]
    outcome = store.read(executions)
    assert (outcome["status"] != "filled").all() and len(outcome) == 6
    (account,) = [r for r in store.refs("account") if r.as_of == OWED]
    run_id = store.manifest(executions).flow_run_id
    assert store.manifest(account).flow_run_id == run_id
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).state.is_failed()
