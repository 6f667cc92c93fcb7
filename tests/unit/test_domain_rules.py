"""The rules the Prefect tasks used to decide, now in the domain: the kill switch, the account snapshot,
the execution report, the plan's prices and fractional refusal, the scores' universe, each provider's
lineage, what a backtest records of the settings, and which storage failures are worth a retry."""

from __future__ import annotations

import errno
from types import SimpleNamespace

import pandas as pd
import pytest

from momentum.brokers.base import Account, Position
from momentum.errors import PermanentError, TransientError, is_transient_io
from momentum.execution import CASH, GuardError, KillSwitch, account_snapshot, execution_report, gaps_line
from momentum.portfolio import PlanParams, plan_orders, plan_rebalance, reference_prices
from momentum.providers import fetch_lineage
from momentum.providers.embedded import EmbeddedProvider
from momentum.providers.synthetic import SyntheticProvider
from momentum.settings import NOT_BACKTESTED, Settings
from momentum.universe import UniverseSpec, scored_members, universe_lineage

PRICES = pd.Series({"A": 10.0, "B": 20.0, "C": 50.0})


def test_the_kill_switch_stops_before_anything_once_engaged_and_stays_engaged():
    marker = SimpleNamespace(up=False, marker_exists=lambda name: marker.up)
    switch = KillSwitch(False, marker, every_seconds=0)
    switch.check()  # not engaged: nothing raised
    marker.up = True
    with pytest.raises(GuardError, match="kill switch engaged"):
        switch.check()
    marker.up = False
    assert switch.engaged()  # latched for the run
    assert not KillSwitch(False).engaged() and KillSwitch(True).engaged()


def test_the_account_snapshot_lists_held_and_planned_symbols_then_cash():
    plan = plan_orders(
        pd.Series({"A": 0.5, "B": 0.5}), pd.Series(dtype=float), 1_000.0, PRICES, rebalance_key="k"
    )
    held = [Position("A", 50.0, 500.0), Position("C", 2.0, 100.0)]
    frame = account_snapshot(plan, held, 25.0).set_index("symbol")
    assert list(frame.index) == ["A", "B", "C", CASH]
    assert (
        frame.loc["B", "qty"] == 0.0
        and frame.loc["B", "plan_difference"] == -plan.set_index("symbol").loc["B", "qty"]
    )
    assert frame.loc["A", "plan_difference"] == 0.0 and frame.loc["C", "market_value"] == 100.0
    assert frame.loc[CASH, "qty"] == frame.loc[CASH, "market_value"] == 25.0


def test_the_execution_report_names_what_needs_attention_and_the_gaps():
    outcomes = pd.DataFrame(
        {
            "client_order_id": ["a", "b"],
            "side": ["buy", "buy"],
            "symbol": ["A", "B|X"],
            "qty": [2.0, 3.5],
            "status": ["filled", "rejected"],
            "filled_qty": [2.0, 0.0],
            "filled_avg_price": [10.0, float("nan")],
            "action": ["submitted", "submitted"],
            "note": ["", "refused"],
        }
    )
    gaps = pd.DataFrame({"symbol": ["B"], "target_qty": [3.5], "broker_qty": [0.0], "difference": [-3.5]})
    text = execution_report(outcomes, gaps, "2022-11-30", "paper")
    assert text.startswith("**Execution of the 2022-11-30 rebalance (paper broker): 1 filled, 1 rejected**")
    assert "**1 order(s) need attention**" in text and "| b | buy | B/X | 3.5 | rejected | 0 |  |" in text
    assert text.endswith("| B | 3.5 | 0 | -3.5 |")
    assert gaps_line(gaps) == "positions differ from the plan: B 0 vs 3.5"
    assert gaps_line(gaps.iloc[0:0]) is None
    assert "all planned positions match." in execution_report(outcomes, gaps.iloc[0:0], "d", "paper")


def test_the_plan_uses_the_as_of_closes_and_refuses_fractional_orders_a_broker_cannot_send():
    bars = pd.DataFrame(
        {
            "date": pd.to_datetime(["2022-11-29", "2022-11-30", "2022-11-30"]),
            "symbol": ["A", "A", "B"],
            "adj_close": [9.0, 10.0, 20.0],
        }
    )
    assert reference_prices(bars, "2022-11-30").to_dict() == {"A": 10.0, "B": 20.0}
    scores = pd.DataFrame({"symbol": ["A", "B"], "weight": [0.5, 0.5]})
    broker = SimpleNamespace(
        name="whole", positions=lambda: [Position("B", 40.0, 800.0)], account=lambda: Account(200.0, 1_000.0)
    )
    plan = plan_rebalance(scores, broker, PRICES, "2022-11-30", PlanParams())
    assert set(plan["client_order_id"]) == {"mom-20221130-A-buy", "mom-20221130-B-sell"}
    with pytest.raises(PermanentError, match="does not support fractional orders"):
        plan_rebalance(scores, broker, PRICES, "2022-11-30", PlanParams(broker="whole", fractional=True))


def test_scores_keep_members_with_data_and_record_the_universe_they_used():
    spec = UniverseSpec(universe="all", provider="synthetic")
    assert scored_members(spec, ["A", "B"], ["C"], pd.Timestamp("2022-11-30")) is None
    assert universe_lineage(spec, pd.Timestamp("2022-11-30")) == {"universe": "all", "universe_file": None}
    sp500 = UniverseSpec(universe="auto", provider="alpaca")
    day = pd.Timestamp("2022-11-30")
    members = scored_members(sp500, ["AAPL", "MSFT", "NOTAMEMBER"], ["AMZN"], day)
    assert members == {"AAPL", "MSFT"}  # AMZN is a member but has no data
    assert universe_lineage(sp500, day) == {
        "universe": "auto",
        "universe_file": None,
        "membership_as_of": "2022-11-30",
    }


def test_each_provider_names_its_own_lineage():
    synthetic = SyntheticProvider(n_symbols=3, n_sessions=10, seed=1)
    assert fetch_lineage(synthetic, 273, None) == {
        "provider": "synthetic",
        "sessions": 273,
        "symbols": 3,
        "n_sessions": 10,
        "seed": 1,
    }
    assert fetch_lineage(EmbeddedProvider(), 5, ["A"]) == {
        "provider": "embedded",
        "sessions": 5,
        "requested_symbols": ["A"],
    }


def test_a_backtest_records_no_setting_a_simulation_never_reads():
    settings = Settings(broker="alpaca", kill_switch=True, store_url="elsewhere")
    recorded = settings.backtested()
    assert not NOT_BACKTESTED & recorded.keys() and "alpaca_key_id" not in recorded
    assert recorded == Settings(store_url="other").backtested()  # only where results go differs
    assert recorded["lookback"] == settings.lookback


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OSError(errno.EBUSY, "SlowDown"), True),  # s3fs: 503 SlowDown / ServiceUnavailable
        (OSError(errno.EREMOTEIO, "InternalError"), True),  # s3fs: 500
        (TimeoutError("RequestTimeout"), True),
        (ConnectionResetError("reset by peer"), True),
        (FileNotFoundError(errno.ENOENT, "no such key"), False),
        (PermissionError(errno.EACCES, "AccessDenied"), False),
        (ConnectionRefusedError("wrong endpoint"), False),
        (ValueError("bad"), False),
    ],
)
def test_which_storage_failures_are_worth_a_retry(exc, transient):
    assert is_transient_io(exc) is transient


def test_the_storage_boundary_turns_only_passing_failures_into_transient_errors():
    from tasks.common import storage_boundary

    def failing(exc):
        @storage_boundary
        def stage_body() -> None:
            raise exc

        return stage_body

    with pytest.raises(TransientError, match="storage unavailable"):
        failing(OSError(errno.EBUSY, "SlowDown"))()
    with pytest.raises(FileNotFoundError):
        failing(FileNotFoundError(errno.ENOENT, "gone"))()


def test_the_stage_cache_key_needs_the_settings_parameter():
    from tasks.common import stage_cache_key

    context = SimpleNamespace(
        task=SimpleNamespace(name="score", fn=test_the_stage_cache_key_needs_the_settings_parameter)
    )
    with pytest.raises(TypeError, match="needs a parameter 'settings'"):
        stage_cache_key(context, {"config": Settings()})


def test_a_fetch_window_counts_sessions_back_from_as_of():
    from momentum.calendar import window_start

    assert window_start("2022-11-30", 5) == pd.Timestamp("2022-11-23")  # Thanksgiving (24th) is no session
    with pytest.raises(ValueError, match="outside the NYSE calendar"):
        window_start("1990-06-01", 273)
