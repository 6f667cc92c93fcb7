"""End-to-end tests of AlpacaBroker against a local Alpaca-compatible HTTP server."""

from __future__ import annotations

import pytest

from momentum.brokers.alpaca import AlpacaBroker

KEY_ID = "CANARY-KEY-ID-456"
SECRET = "CANARY-SECRET-123"
PRICES = {"AAPL": 200.0, "MSFT": 400.0, "SPY": 500.0}


# ---------------------------------------------------------------------- parsing


# ---------------------------------------------------------------------- idempotency


# ---------------------------------------------------------------------- malformed answers


# ---------------------------------------------------------------------- guards


def test_live_flag_must_match_endpoint():
    with pytest.raises(ValueError, match="live"):
        AlpacaBroker("https://api.alpaca.markets", "k", "s", live=False)
    with pytest.raises(ValueError, match="paper"):
        AlpacaBroker("https://paper-api.alpaca.markets", "k", "s", live=True)
    with pytest.raises(ValueError, match="http"):
        AlpacaBroker("http://paper-api.alpaca.markets", "k", "s", live=False)
    assert AlpacaBroker("https://paper-api.alpaca.markets", "k", "s", live=False).live is False
    assert AlpacaBroker("https://api.alpaca.markets", "k", "s", live=True).live is True


# ---------------------------------------------------------------------- secrets
