"""Today's universe: S&P 500 members at a date, the membership data's age, the symbols a live run fetches."""

from __future__ import annotations

import index_constitution as ic
import pandas as pd
import pytest

from momentum.errors import PermanentError
from momentum.universe import (
    MAX_STALE_DAYS,
    MembershipTooOld,
    UniverseSpec,
    membership_data_end,
    membership_freshness,
    run_symbols,
    sp500_members,
    universe_at,
)


def test_sp500_members_at_a_date_with_the_start_of_their_spell():
    members = sp500_members(pd.Timestamp("2018-06-15"))
    assert list(members.columns) == ["symbol", "since"] and members["symbol"].is_monotonic_increasing
    assert 490 <= len(members) <= 510 and members["symbol"].is_unique
    rrc = members.set_index("symbol").loc["RRC", "since"]
    assert rrc == pd.Timestamp("2007-12-21")  # RRC's spell 2007-12-21 (the vendored spells) .. 2018-06-18
    assert "RRC" not in set(sp500_members(pd.Timestamp("2018-06-18"))["symbol"])  # the exit day is outside
    assert "BRK.B" in set(members["symbol"]) and (members["since"] <= pd.Timestamp("2018-06-15")).all()


def test_membership_data_end_is_the_last_date_the_package_knows():
    end = membership_data_end()
    history, events = ic.history("sp500"), ic.events(index="sp500")
    known = (
        set(pd.to_datetime(history["opt-in"]))
        | set(pd.to_datetime(history["opt-out"]).dropna())
        | set(pd.to_datetime(events["event_date"]))
    )
    assert end in known and all(d <= end for d in known)


def test_after_the_data_end_the_latest_membership_is_used_and_said_so():
    end = pd.Timestamp("2026-10-06")
    assert membership_freshness(pd.Timestamp("2026-10-01"), end).warning is None
    fresh = membership_freshness(pd.Timestamp("2026-11-30"), end)
    assert fresh.membership_as_of == "2026-10-06"
    assert fresh.warning.startswith(
        "S&P 500 membership as of 2026-10-06 (the data's last date, 55 days before as_of)"
    )
    assert membership_freshness(end + pd.Timedelta(days=MAX_STALE_DAYS), end).warning is not None


def test_more_than_120_days_after_the_data_end_the_run_refuses_naming_the_date_and_the_fix():
    end = pd.Timestamp("2026-10-06")
    with pytest.raises(MembershipTooOld) as caught:
        membership_freshness(end + pd.Timedelta(days=MAX_STALE_DAYS + 1), end)
    text = str(caught.value)
    assert "membership data ends 2026-10-06, 121 days before as_of 2027-02-04" in text
    assert "pip install -U index-constitution" in text and "universe=file" in text and "\n" not in text


def test_live_symbols_are_the_universe_plus_held_positions_in_alpaca_spelling(tmp_path):
    path = tmp_path / "universe.csv"
    path.write_text("symbol,start,end\nAAPL,,\nBRK-B,2020-01-01,\nGONE,2010-01-01,2015-01-01\n")
    spec = UniverseSpec(provider="alpaca", universe="file", universe_file=str(path))
    assert universe_at(spec, pd.Timestamp("2022-11-30")) == ["AAPL", "BRK.B"]
    assert run_symbols(["AAPL", "BRK.B"], ["brk/b", "TSLA"]) == ["AAPL", "BRK.B", "TSLA"]
    assert UniverseSpec(provider="alpaca").kind == "sp500"
    assert UniverseSpec(provider="synthetic").kind == "all"
    with pytest.raises(PermanentError, match="universe .all. names no symbols for provider 'alpaca'"):
        universe_at(UniverseSpec(provider="alpaca", universe="all"), pd.Timestamp("2022-11-30"))
