"""The trade notification's message and fields (momentum.run.trade_notice), from run summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from momentum.run import trade_notice

GOLDEN_RUN = Path(__file__).resolve().parents[1] / "golden" / "run_embedded.json"
RUN_ID = "0b5c9a52-3f1e-4d7a-9a55-2f1c0e6d8a11"


def fill(symbol, side, qty, price, **row):
    """An executions row (``RunSummary.fills``) of an order filled in full unless ``row`` says otherwise
    (``status``, ``action``, ``filled_qty``, ``filled_this_run``: by default all of it)."""
    filled = row.pop("filled_qty", qty)
    row.setdefault("filled_this_run", float(filled))
    return {
        "client_order_id": f"mom-20221228-{symbol}-{side}",
        "symbol": symbol,
        "side": side,
        "qty": float(qty),
        "status": "filled",
        "filled_qty": float(filled),
        "filled_avg_price": price if filled else None,
        "broker_order_id": f"paper-{symbol}",
        "action": "submitted",
        "pending": False,
        "note": "sent",
    } | row


def summary(fills, **extra):
    """A run summary as ``RunSummary.to_json()`` gives it, with the keys the notice reads."""
    filled = sum(f["status"] == "filled" for f in fills)
    return {
        "as_of": "2022-12-28",
        "provider": "embedded",
        "store": "s3://momentum-bucket/prod",
        "broker": "paper",
        "rebalance": {"signal_session": "2022-11-30", "executed": True},
        "fills": fills,
        "execution": {
            "orders": len(fills),
            "filled": filled,
            "attention": len(fills) - filled,
            "pending": 0,
            "rejected": len(fills) - filled,
            "not_sent": 0,
            "canceled": 0,
            "headline": "",
        },
        "account": {
            "value": 100_250.5,
            "cash": 1_234.5,
            "positions": [
                {"symbol": "AAPL", "qty": 12.0, "market_value": 2270.76, "plan_difference": 0.0},
                {"symbol": "MSFT", "qty": 0.5, "market_value": 120.0, "plan_difference": 0.0},
            ],
            "plan_differences": [],
        },
        **extra,
    }


def lines(notice) -> list[str]:
    return [line.strip() for line in notice["message"].splitlines()]


def test_each_filled_order_is_a_line_with_side_quantity_symbol_and_fill_price():
    notice = trade_notice(
        summary(
            [
                fill("AAPL", "buy", 12, 189.23),
                fill("MSFT", "sell", 0.5, 240.0),
                fill("KO", "buy", 319, 62.609),
            ]
        ),
        RUN_ID,
        None,
    )
    assert {"BUY 12 AAPL @ 189.23", "SELL 0.5 MSFT @ 240.00", "BUY 319 KO @ 62.609"} <= set(lines(notice))
    assert notice["orders"] == [
        {"side": "buy", "symbol": "AAPL", "qty": 12.0, "price": 189.23},
        {"side": "sell", "symbol": "MSFT", "qty": 0.5, "price": 240.0},
        {"side": "buy", "symbol": "KO", "qty": 319.0, "price": 62.609},
    ]
    assert notice["subject"] == "momentum: rebalance of 2022-11-30 executed (2 buys, 1 sell, paper broker)"
    assert lines(notice)[0] == notice["subject"]


def test_orders_not_filled_are_left_out_and_counted_a_partial_fill_shows_what_filled():
    notice = trade_notice(
        summary(
            [
                fill("AAPL", "buy", 12, 189.23),
                fill("XOM", "buy", 10, None, status="rejected", action="refused", filled_qty=0),
                fill("MRK", "buy", 100, 109.5, status="partially_filled", filled_qty=40),
            ]
        ),
        RUN_ID,
        None,
    )
    assert [o["symbol"] for o in notice["orders"]] == ["AAPL", "MRK"]
    assert "BUY 40 MRK @ 109.50" in lines(notice)
    assert not any("XOM" in line for line in lines(notice))
    assert "2 of 3 orders not filled (2 rejected): see the failure notification" in lines(notice)


@pytest.mark.parametrize(
    "fills",
    [
        [],
        [fill("XOM", "buy", 10, None, status="rejected", action="refused", filled_qty=0)],
        [fill("AAPL", "buy", 12, 189.23, action="found_at_broker", filled_this_run=0.0)],  # a rerun
    ],
    ids=["no orders", "nothing filled", "filled before this run"],
)
def test_a_run_that_filled_nothing_itself_has_no_notice(fills):
    assert trade_notice(summary(fills), RUN_ID, "http://127.0.0.1:4200") is None


def test_a_run_that_did_not_rebalance_has_no_notice():
    plain = summary([])
    for key in ("fills", "execution", "account"):
        del plain[key]
    assert trade_notice(plain, RUN_ID, None) is None


def test_on_close_orders_queued_by_the_run_before_are_announced_by_the_run_that_finds_them_filled():
    queued = fill("AAPL", "buy", 12, 189.23, action="found_at_broker", time_in_force="cls")
    notice = trade_notice(summary([queued]), RUN_ID, None)
    assert notice is not None and "BUY 12 AAPL @ 189.23" in lines(notice)


def test_a_retry_announces_the_whole_rebalance_orders_found_at_the_broker_included():
    notice = trade_notice(
        summary(
            [
                fill("AAPL", "buy", 12, 189.23, action="found_at_broker", filled_this_run=0.0),
                fill("KO", "sell", 3, 62.5),
            ]
        ),
        RUN_ID,
        None,
    )
    assert {"BUY 12 AAPL @ 189.23", "SELL 3 KO @ 62.50"} <= set(lines(notice))


def test_the_new_portfolio_and_cash():
    notice = trade_notice(summary([fill("AAPL", "buy", 12, 189.23)]), RUN_ID, None)
    assert {"AAPL 12 shares, $2,270.76", "MSFT 0.5 shares, $120.00"} <= set(lines(notice))
    assert "cash $1,234.50, account value $100,250.50" in lines(notice)
    assert (notice["cash"], notice["value"]) == (1_234.5, 100_250.5)
    assert notice["positions"] == [
        {"symbol": "AAPL", "qty": 12.0, "market_value": 2270.76},
        {"symbol": "MSFT", "qty": 0.5, "market_value": 120.0},
    ]


@pytest.mark.parametrize(
    "shortfall, line",
    [
        (None, "shortfall: not known yet"),
        (
            {"bps": None, "dollars": None, "note": "reference price after the close of 2022-11-30"},
            "shortfall: not known yet (reference price after the close of 2022-11-30)",
        ),
        (
            {"bps": 3.14, "dollars": 12.4, "note": "vs the close"},
            "shortfall: +3.1 bps (+$12.40): vs the close",
        ),
        ({"bps": -2.0, "dollars": -1234.5, "note": ""}, "shortfall: -2.0 bps (-$1,234.50)"),
    ],
    ids=["absent", "not known yet", "a cost", "a gain"],
)
def test_the_shortfall_line(shortfall, line):
    extra = {} if shortfall is None else {"shortfall": shortfall}
    notice = trade_notice(summary([fill("AAPL", "buy", 12, 189.23)], **extra), RUN_ID, None)
    assert line in lines(notice)
    assert notice["shortfall"] == shortfall


@pytest.mark.parametrize(
    "ui_url, link",
    [
        ("http://127.0.0.1:4200/", f"http://127.0.0.1:4200/runs/flow-run/{RUN_ID}"),
        (
            "https://app.prefect.cloud/account/a/workspace/w",
            f"https://app.prefect.cloud/account/a/workspace/w/runs/flow-run/{RUN_ID}",
        ),
        (None, f"flow run {RUN_ID}"),
    ],
)
def test_the_last_line_links_the_flow_run(ui_url, link):
    notice = trade_notice(summary([fill("AAPL", "buy", 12, 189.23)]), RUN_ID, ui_url)
    assert lines(notice)[-1] == link and notice["link"] == link and notice["flow_run_id"] == RUN_ID


def test_the_store_address_stays_out_of_the_notice():
    notice = trade_notice(summary([fill("AAPL", "buy", 12, 189.23)]), RUN_ID, None)
    assert "momentum-bucket" not in json.dumps(notice)


def test_every_fill_of_the_embedded_run_is_announced():
    """The ``run --json`` contract's summary (tests/golden): one order line per fill, as filled."""
    golden = json.loads(GOLDEN_RUN.read_text())
    # the golden predates ``filled_this_run``: that first run of a fresh account filled every order
    golden["fills"] = [row | {"filled_this_run": row["filled_qty"]} for row in golden["fills"]]
    notice = trade_notice(golden, RUN_ID, None)
    for row in golden["fills"]:
        assert (
            notice["orders"].count(
                {
                    "side": row["side"],
                    "symbol": row["symbol"],
                    "qty": row["filled_qty"],
                    "price": row["filled_avg_price"],
                }
            )
            == 1
        )
    order_lines = lines(notice)[lines(notice).index("Orders:") + 1 : lines(notice).index("Portfolio:") - 1]
    assert len(order_lines) == len(golden["fills"])
    assert (
        f"cash ${golden['account']['cash']:,.2f}, account value ${golden['account']['value']:,.2f}"
        in lines(notice)
    )
