"""AlpacaBroker's guards before any request: the live flag must match the endpoint. (The adapter against
a local Alpaca-compatible HTTP server: tests/integration.)"""

from __future__ import annotations

import pytest

from momentum.brokers.alpaca import AlpacaBroker


def test_live_flag_must_match_endpoint():
    with pytest.raises(ValueError, match="live"):
        AlpacaBroker("https://api.alpaca.markets", "k", "s", live=False)
    with pytest.raises(ValueError, match="paper"):
        AlpacaBroker("https://paper-api.alpaca.markets", "k", "s", live=True)
    with pytest.raises(ValueError, match="http"):
        AlpacaBroker("http://paper-api.alpaca.markets", "k", "s", live=False)
    assert AlpacaBroker("https://paper-api.alpaca.markets", "k", "s", live=False).live is False
    assert AlpacaBroker("https://api.alpaca.markets", "k", "s", live=True).live is True
