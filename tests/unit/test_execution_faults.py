"""Exactly-once execution under faults: the real rebalance flow against a local Alpaca-compatible server.

Every scenario ends with the broker's positions equal to the plan's targets and every planned
client_order_id booked exactly once (and, where no fault hid the answer of a POST, posted once).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest
import requests

from momentum.brokers import AlpacaCredentials, LiveTradingRefused, is_live_endpoint
from momentum.definitions import broker as make_broker
from momentum.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2022-11-30"
KEY_ID, SECRET = "fault-test-key-id", "fault-test-secret"
# Adjusted closes of the embedded data on AS_OF: the server trades at these prices.
CLOSES = {
    "AAPL": 147.6,
    "AMD": 77.63,
    "BAC": 37.092,
    "BBY": 82.393,
    "CVX": 179.942,
    "GE": 66.935,
    "HD": 319.362,
    "JNJ": 175.405,
    "JPM": 135.17,
    "KO": 62.649,
    "LLY": 368.924,
    "MRK": 107.919,
    "MSFT": 253.947,
    "PEP": 181.852,
    "PFE": 48.601,
    "PG": 146.385,
    "RRC": 28.605,
    "UNH": 541.914,
    "WMT": 150.655,
    "XOM": 109.539,
}
# Held before the rebalance (not in the target, or below it): the plan sells AAPL and MSFT, then buys
# CVX, KO, PEP, UNH and tops XOM up; the buys need the sells' proceeds (cash is short on its own).
HOLDINGS = {"AAPL": 100.0, "MSFT": 50.0, "XOM": 50.0}
CASH = 1_000.0


@pytest.fixture
def url(tmp_path):
    return str(tmp_path / "store")


CHILD = textwrap.dedent(
    """
    import json, os, sys
    k, url, overrides = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    from momentum.brokers.alpaca import AlpacaBroker
    real_submit, done = AlpacaBroker.submit, [0]

    # the process dies after k submissions (before the next, or right after the k-th)
    def submit(self, order):
        if done[0] >= k:
            os._exit(137)
        result = real_submit(self, order)
        done[0] += 1
        if done[0] >= k:
            os._exit(137)
        return result

    AlpacaBroker.submit = submit
    from flows.rebalance import rebalance
    rebalance(as_of=%r, store_url=url, broker="alpaca", overrides=overrides)
    sys.exit(3)  # never reached: the plan has orders
"""
    % AS_OF
)


@pytest.fixture
def no_network(monkeypatch):
    """Any HTTP request through ``requests`` (the Alpaca adapter's client) fails the test."""
    calls = []

    def refuse(self, method, url, *args, **kwargs):
        calls.append((method, url))
        raise AssertionError(f"network call to {url}")

    monkeypatch.setattr(requests.Session, "request", refuse)
    return calls


@pytest.mark.parametrize(
    "url_variant",
    [
        "https://api.alpaca.markets",
        "https://API.alpaca.markets:443/",
        "https://api.alpaca.markets./v2",
        "https://my-proxy.example.com",
    ],
)
def test_live_endpoint_needs_both_the_setting_and_the_flag(url_variant, no_network, tmp_path):
    assert is_live_endpoint(url_variant)
    creds = AlpacaCredentials("k", "s")
    for live_trading, flag in [(False, False), (True, False), (False, True)]:
        settings = Settings(broker="alpaca", alpaca_base_url=url_variant, live_trading=live_trading)
        with pytest.raises(LiveTradingRefused, match="explicit opt-in is missing"):
            make_broker(settings, as_of=AS_OF, prices=pd.Series(dtype=float), live_opt_in=flag, keys=creds)
    settings = Settings(broker="alpaca", alpaca_base_url=url_variant, live_trading=True)
    broker = make_broker(settings, as_of=AS_OF, prices=pd.Series(dtype=float), live_opt_in=True, keys=creds)
    assert broker.live is True and no_network == []  # building the adapter sends nothing
    assert not is_live_endpoint("https://paper-api.alpaca.markets") and not is_live_endpoint(
        "http://127.0.0.1:8080"
    )
    assert Settings().alpaca_base_url == "https://paper-api.alpaca.markets" and Settings().broker == "paper"
