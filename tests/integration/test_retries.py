"""One retry policy that works: a stage task is retried by Prefect on a TransientError (a storage error
that may pass becomes one at the task's boundary), never on a PermanentError."""

from __future__ import annotations

import errno

import pandas as pd
import pytest
from prefect import flow

from momentum import definitions
from momentum.errors import PermanentError, TransientError
from momentum.settings import Settings
from tasks.common import RETRIES, stage

pytestmark = pytest.mark.usefixtures("prefect_api")


def _failing(failure: BaseException, times: int) -> tuple[list[int], object]:
    """A stage task that raises ``failure`` on its first ``times`` attempts, then returns the attempt
    count; and the list counting the attempts."""
    attempts: list[int] = []

    @stage("flaky", cached=False)
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) <= times:
            raise failure
        return len(attempts)

    return attempts, flaky.with_options(retry_delay_seconds=0)


@pytest.mark.parametrize(
    "failure",
    [
        TransientError("the service is busy"),
        OSError(errno.EBUSY, "SlowDown: please reduce your request rate"),  # s3fs's 503
        TimeoutError("read timed out"),
    ],
    ids=["transient", "s3-throttled", "timeout"],
)
def test_a_transient_failure_is_retried_by_the_task(failure):
    attempts, flaky = _failing(failure, times=2)

    @flow
    def run() -> int:
        return flaky()

    assert run() == 3 and len(attempts) == 3


def test_a_transient_failure_is_retried_a_bounded_number_of_times():
    attempts, flaky = _failing(TransientError("still busy"), times=100)

    @flow
    def run() -> int:
        return flaky()

    with pytest.raises(TransientError, match="still busy"):
        run()
    assert len(attempts) == 1 + RETRIES


@pytest.mark.parametrize(
    "failure",
    [PermanentError("bad data", "bars", "fix the file"), FileNotFoundError(errno.ENOENT, "no such key")],
    ids=["permanent", "missing-object"],
)
def test_a_permanent_failure_is_not_retried(failure):
    attempts, flaky = _failing(failure, times=1)

    @flow
    def run() -> int:
        return flaky()

    with pytest.raises(type(failure)):
        run()
    assert len(attempts) == 1


def test_the_ingest_stage_gets_past_a_throttled_store(tmp_path, monkeypatch):
    """The real ``ingest`` task: the store answers its first look-up with S3's 503 (as s3fs raises it
    once its own retries are spent); the task is retried and commits the bars once."""
    from tasks.ingest import ingest

    settings = Settings(store_url=str(tmp_path / "store"))
    store = definitions.resources(settings).store
    lookup, calls = store.lookup, []

    def throttled(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.EBUSY, "SlowDown")
        return lookup(*args, **kwargs)

    monkeypatch.setattr(store, "lookup", throttled)

    @flow
    def run():
        return ingest.with_options(retry_delay_seconds=0)(settings, "2022-11-30")

    ref = run()
    assert len(calls) == 2 and ref.as_of == "2022-11-30"
    assert len(store.read(ref)) and pd.Timestamp(store.read(ref)["date"].max()) == pd.Timestamp("2022-11-30")
