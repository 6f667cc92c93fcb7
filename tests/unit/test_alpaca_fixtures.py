"""The Alpaca wire parser fed Alpaca's own SDK fixtures (tests/support/alpaca_py_fixtures.py): numbers as
strings or JSON numbers, a zero fill price. (Through the local server and a run: tests/integration.)"""

from __future__ import annotations

import pytest

from momentum.brokers.alpaca_wire import parse_order
from momentum.brokers.base import BrokerError
from tests.support.alpaca_py_fixtures import LISTED_ORDER


@pytest.mark.parametrize(
    "qty, filled_qty, price", [("3", "1.5", "101.25"), (3, 1.5, 101.25), ("3", 1.5, "101.25")]
)
def test_numbers_arrive_as_strings_or_json_numbers(qty, filled_qty, price):
    order = parse_order(
        {
            **LISTED_ORDER,
            "qty": qty,
            "filled_qty": filled_qty,
            "filled_avg_price": price,
            "status": "partially_filled",
        }
    )
    assert (order.qty, order.filled_qty, order.filled_avg_price) == (3.0, 1.5, 101.25)


def test_a_zero_fill_price_for_a_filled_quantity_is_still_malformed():
    with pytest.raises(BrokerError, match="'filled_avg_price' is not positive"):
        parse_order({**LISTED_ORDER, "filled_qty": "2", "filled_avg_price": 0})
