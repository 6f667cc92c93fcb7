"""``momentum run`` refuses a day that is not a session and bad settings in one line, before running.
(The rebalance flow end to end against a real Prefect API: tests/integration.)"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from momentum_cli.app import app


def test_cli_failure_is_one_line_and_nonzero(tmp_path):
    result = CliRunner().invoke(app, ["run", "--as-of", "2022-12-25", "--store", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: as_of 2022-12-25 is not an NYSE session, --as-of (the session before it is 2022-12-23)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--provider", "foo"],
            "error: invalid settings: provider: Input should be 'embedded', 'synthetic', 'alpaca' or 'files'",
        ),
        (["--set", "lookback=10", "--set", "skip=20"], "skip (20) must be smaller than lookback (10)"),
        (["--set", "alpaca_secret_key=abc"], "error: secrets (alpaca_secret_key) come from the environment"),
        (["--set", "nonsense=1"], "unknown setting 'nonsense', --set"),
    ],
)
def test_cli_refuses_bad_settings_before_running(args, message, tmp_path):
    result = CliRunner().invoke(app, ["run", "--store", str(tmp_path / "store"), *args])
    assert result.exit_code == 1 and message in result.stderr
    assert not (tmp_path / "store").exists()
