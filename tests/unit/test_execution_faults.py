"""The live endpoint needs both the setting and the explicit opt-in; building the adapter sends nothing.
(The exactly-once scenarios against the local Alpaca server are in tests/integration.)"""

from __future__ import annotations

import pandas as pd
import pytest

from momentum.brokers import AlpacaCredentials, LiveTradingRefused, is_live_endpoint
from momentum.definitions import broker as make_broker
from momentum.settings import Settings

AS_OF = "2022-11-30"


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
