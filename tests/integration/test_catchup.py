"""The catch-up rule on its own: a rebalance is keyed by its signal session and owed until executed."""

from __future__ import annotations

import pandas as pd

from momentum.run import is_executed, owed_rebalance
from momentum.store import VersionedStore

LAST_SESSION = "2022-12-28"  # the embedded data's last session: the daily run's as_of
OWED = "2022-11-30"  # the latest signal session before it (months 2, 5, 8, 11)


def test_owed_rebalance_is_keyed_by_its_signal_session(tmp_path):
    store = VersionedStore(str(tmp_path / "store"))
    assert owed_rebalance(store, LAST_SESSION) == OWED
    frame = pd.DataFrame({"client_order_id": ["x"], "pending": [False]})
    store.write("executions", "2022-08-31", frame)
    assert owed_rebalance(store, LAST_SESSION) == OWED and not is_executed(store, OWED)
    store.write("executions", OWED, frame.assign(pending=True), content_addressed=True)
    assert owed_rebalance(store, LAST_SESSION) == OWED  # an order still pending: the rebalance stays owed
    store.write("executions", OWED, frame, content_addressed=True)
    assert owed_rebalance(store, LAST_SESSION) is None and owed_rebalance(store, OWED) is None
    assert owed_rebalance(store, "2023-03-01") == "2023-02-28"
