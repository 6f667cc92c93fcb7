"""Reply bodies copied from Alpaca's own SDK tests, used as data to check our wire parsing.

Source: github.com/alpacahq/alpaca-py at commit bd1fa9e, files
``tests/trading/trading_client/test_order_routes.py`` (``test_get_orders``, ``test_get_order_by_client_id``)
and ``tests/trading/trading_client/test_account_routes.py`` (``test_get_account``); copied verbatim (the
SDK's symbol ``"AAPL`"`` typo included), only the JSON payloads.
"""

from __future__ import annotations

import json

# test_get_orders: an order listed before any fill, numbers as JSON numbers and filled_avg_price 0
LISTED_ORDER = json.loads("""
{
    "id": "0b11f089-722d-4ced-9beb-e2eeed3637dc",
    "client_order_id": "string",
    "created_at": "2019-08-24T14:15:22Z",
    "updated_at": "2019-08-24T14:15:22Z",
    "submitted_at": "2019-08-24T14:15:22Z",
    "filled_at": "2019-08-24T14:15:22Z",
    "expired_at": "2019-08-24T14:15:22Z",
    "canceled_at": "2019-08-24T14:15:22Z",
    "failed_at": "2019-08-24T14:15:22Z",
    "replaced_at": "2019-08-24T14:15:22Z",
    "replaced_by": "0b11f089-722d-4ced-9beb-e2eeed3637dc",
    "replaces": "9f7d75bc-a9a2-40b0-9082-0fc0a09817ff",
    "asset_id": "b4695157-0d1d-4da0-8f9e-5c53149389e4",
    "symbol": "SPY",
    "asset_class": "us_equity",
    "notional": null,
    "qty": 1,
    "filled_qty": 0,
    "filled_avg_price": 0,
    "order_class": "simple",
    "order_type": "market",
    "type": "stop",
    "side": "buy",
    "time_in_force": "day",
    "limit_price": null,
    "stop_price": null,
    "status": "new",
    "extended_hours": true,
    "trail_percent": null,
    "trail_price": null,
    "hwm": "string"
}
""")

# test_get_order_by_client_id: an accepted order, qty a JSON number, filled_qty a string, no fill price
ORDER_BY_CLIENT_ID = json.loads("""
{
    "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
    "client_order_id": "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4",
    "created_at": "2021-03-16T18:38:01.942282Z",
    "updated_at": "2021-03-16T18:38:01.942282Z",
    "submitted_at": "2021-03-16T18:38:01.937734Z",
    "filled_at": null,
    "expired_at": null,
    "canceled_at": null,
    "failed_at": null,
    "replaced_at": null,
    "replaced_by": null,
    "replaces": null,
    "asset_id": "904837e3-3b76-47ec-b432-046db621571b",
    "symbol": "AAPL`",
    "asset_class": "us_equity",
    "notional": null,
    "qty": 1,
    "filled_qty": "0",
    "filled_avg_price": null,
    "order_class": "simple",
    "order_type": "market",
    "type": "market",
    "side": "buy",
    "time_in_force": "day",
    "limit_price": null,
    "stop_price": null,
    "status": "accepted",
    "extended_hours": false,
    "legs": null,
    "trail_percent": null,
    "trail_price": null,
    "hwm": null,
    "position_intent": "buy_to_open",
    "commission": 1.25
}
""")

# test_get_account: an ACTIVE, unblocked margin account (cash negative: margin in use)
ACCOUNT = json.loads("""
{
  "account_blocked": false,
  "accrued_fees": "0",
  "account_number": "010203ABCD",
  "buying_power": "262113.632",
  "cash": "-23140.2",
  "created_at": "2019-06-12T22:47:07.99658Z",
  "currency": "USD",
  "daytrade_count": 0,
  "daytrading_buying_power": "262113.632",
  "equity": "103820.56",
  "id": "e6fe16f3-64a4-4921-8928-cadf02f92f98",
  "initial_margin": "63480.38",
  "last_equity": "103529.24",
  "last_maintenance_margin": "38000.832",
  "non_marginable_buying_power": "98945.02",
  "long_market_value": "126960.76",
  "maintenance_margin": "38088.228",
  "multiplier": "4",
  "pattern_day_trader": false,
  "portfolio_value": "103820.56",
  "regt_buying_power": "80680.36",
  "short_market_value": "0",
  "shorting_enabled": true,
  "sma": "0",
  "status": "ACTIVE",
  "trade_suspended_by_user": false,
  "trading_blocked": false,
  "transfers_blocked": false,
  "options_buying_power": "262113.632",
  "options_approved_level": "1",
  "options_trading_level": "1"
}
""")
