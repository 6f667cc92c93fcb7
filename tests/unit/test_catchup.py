"""The catch-up rule on its own: a rebalance is keyed by its signal session and owed until executed."""

from __future__ import annotations

from momentum.run import latest_signal_session

LAST_SESSION = "2022-12-28"  # the embedded data's last session: the daily run's as_of
OWED = "2022-11-30"  # the latest signal session before it (months 2, 5, 8, 11)


def test_latest_signal_session():
    assert latest_signal_session(LAST_SESSION) == OWED
    assert latest_signal_session(OWED) == OWED
    assert latest_signal_session("2022-11-29") == "2022-08-31"
    assert latest_signal_session("2022-12-28", months=[12]) == "2021-12-31"
    assert latest_signal_session("1990-01-31", months=[2]) is None
