"""One error policy: every error the bot raises on purpose is a TransientError or a PermanentError,
and a task retries only the transient ones."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import SimpleNamespace

import pytest

import momentum
import tasks
from momentum.brokers.base import BrokerError, BrokerUnavailable
from momentum.errors import MomentumError, PermanentError, TransientError
from tasks.common import only_transient


def _error_classes():
    for package in (momentum, tasks):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(info.name)
            for name, cls in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(cls, Exception)
                    and cls.__module__ == module.__name__
                    and not name.startswith("_")
                ):
                    yield cls


def test_every_error_class_is_transient_or_permanent_and_says_what_the_bot_does():
    classes = sorted(set(_error_classes()), key=lambda c: c.__qualname__)
    assert {"BrokerError", "GuardError", "LiveTradingRefused", "ValidationFailed", "StoreError"} <= {
        c.__name__ for c in classes
    }
    for cls in set(classes) - {MomentumError}:
        assert issubclass(cls, (TransientError, PermanentError)), cls
        assert (cls.__doc__ or "").strip(), cls


class _State:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def result(self):
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (TransientError("the service is busy"), True),
        (PermanentError("bad data"), False),
        (
            BrokerUnavailable("GET /v2/clock: gave up after 5 attempts"),
            False,
        ),  # the adapter already retried
        (BrokerError("POST /v2/orders -> 403: forbidden"), False),
        (ConnectionError("reset"), False),  # not ours: not known to be safe to retry
        (ValueError("bug"), False),
    ],
)
def test_a_task_retries_only_transient_errors(exc, retried):
    assert only_transient(SimpleNamespace(), SimpleNamespace(), _State(exc)) is retried


def test_the_message_reads_what_where_fix():
    assert (
        str(PermanentError("no closes on 2022-12-26", "the bars", "fetch them"))
        == "no closes on 2022-12-26, the bars (fetch them)"
    )
