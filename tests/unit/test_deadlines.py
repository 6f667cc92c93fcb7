"""Deadlines and no orphans, the parts without a server: time budgets, the flows' timeout, the S3
client's bounds, and how a flow run's process is recognised as gone."""

from __future__ import annotations

import os

import pytest

from momentum.http_retry import Deadline, HttpPolicy
from momentum.settings import Settings, flow_timeout_seconds
from momentum.store._s3_limits import BOTOCORE_ATTEMPTS, READ_SECONDS, S3FS_ATTEMPTS, open_filesystem
from momentum_cli.prefect_api import PROCESS_TAG, process_alive, process_tags


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_deadline_counts_down_and_bounds_each_attempt():
    clock = Clock()
    deadline = Deadline(10, clock=clock)
    policy = HttpPolicy(attempt_seconds=3, operation_seconds=10)
    assert policy.attempt_budget(deadline) == 3 and not deadline.expired
    clock.now += 8.5
    assert policy.attempt_budget(deadline) == pytest.approx(1.5)  # what the operation has left
    clock.now += 2
    assert deadline.remaining() == 0 and deadline.expired


@pytest.mark.parametrize(
    "bad", [{"attempt_seconds": 0}, {"operation_seconds": -1}, {"timeout": 0}, {"max_retries": -1}]
)
def test_a_policy_refuses_budgets_that_cannot_work(bad):
    with pytest.raises(ValueError):
        HttpPolicy(**bad)


def test_the_default_deadline_per_request_is_at_most_60_seconds():
    assert Settings().http_deadline_seconds <= 60


def test_the_flows_timeout_comes_from_the_setting(monkeypatch):
    from flows.backtest import backtest
    from flows.ingest import ingest
    from flows.rebalance import rebalance

    assert {f.timeout_seconds for f in (rebalance, backtest, ingest)} == {flow_timeout_seconds()}
    monkeypatch.setenv("MOMENTUM_FLOW_TIMEOUT_SECONDS", "90")
    assert flow_timeout_seconds() == 90 == Settings().flow_timeout_seconds
    default = Settings.model_fields["flow_timeout_seconds"].default
    for bad in ("soon", "0", "-5"):
        monkeypatch.setenv("MOMENTUM_FLOW_TIMEOUT_SECONDS", bad)
        assert flow_timeout_seconds() == default


def test_an_s3_store_gets_bounded_timeouts_and_retries_a_folder_nothing(tmp_path):
    fs, root = open_filesystem("s3://some-bucket/prefix")
    assert root == "some-bucket/prefix" and fs.retries == S3FS_ATTEMPTS
    config = fs.config_kwargs
    assert config["read_timeout"] == READ_SECONDS and config["connect_timeout"] <= READ_SECONDS
    assert config["retries"] == {"total_max_attempts": BOTOCORE_ATTEMPTS, "mode": "standard"}
    mine, _ = open_filesystem("s3://some-bucket/prefix", {"config_kwargs": {"read_timeout": 3}})
    assert mine.config_kwargs["read_timeout"] == 3  # explicit options win
    local, path = open_filesystem(str(tmp_path))
    assert "file" in local.protocol and path == str(tmp_path)


def test_a_flow_runs_process_is_alive_only_while_that_very_process_runs():
    host, mine = process_tags()
    assert host.endswith(os.uname().nodename) and process_alive(mine)
    pid, started = mine.removeprefix(PROCESS_TAG).split("/")
    assert not process_alive(f"{PROCESS_TAG}{pid}/{int(started) + 1}")  # the pid, reused by another
    assert not process_alive(f"{PROCESS_TAG}999999999/1")  # no such process
    assert not process_alive(f"{PROCESS_TAG}garbage")
