"""The integration tier: fixtures its tests share."""

from __future__ import annotations

import logging

import pytest

from tests.support.leaks import Collect


@pytest.fixture
def all_logs():
    handler = Collect()
    names = [None, "prefect", "momentum", "tasks", "flows", "urllib3"]
    loggers = [logging.getLogger(n) for n in names] + [
        logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("prefect")
    ]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in saved:
        lg.removeHandler(handler)
        lg.setLevel(level)
