"""The validation gate: a corpus of bad bars, each caught with check, symbol and date; judgement cases;
the embedded real data.

Test bars live on real NYSE sessions (exchange_calendars XNYS) ending at AS_OF = 2022-12-28. Every
bad input is a small mutation of the same clean synthetic frame (5 symbols x 300 sessions, OHLCV,
raw close == adj_close), so a caught defect cannot come from anything else.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import exchange_calendars as xc
import numpy as np
import pandas as pd
import pytest

from momentum import validation
from momentum.validation import (
    FetchReport,
    GateLimits,
    ValidationResult,
    quarantined_symbols,
    render_html,
    validate_bars,
)

AS_OF = pd.Timestamp("2022-12-28")
SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE")
DATA = Path(__file__).resolve().parents[2] / "momentum" / "data" / "sp500_dataset.csv.gz"
COLUMNS = ["check", "level", "severity", "status", "symbol", "date", "failures", "message"]


@lru_cache(maxsize=1)
def _calendar():
    return xc.get_calendar("XNYS", start="1990-01-02", end="2030-12-31")


def nyse(start, end) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(_calendar().sessions_in_range(pd.Timestamp(start), pd.Timestamp(end)))


def last_sessions(n: int, end: pd.Timestamp = AS_OF) -> pd.DatetimeIndex:
    return nyse(end - pd.Timedelta(days=2 * n + 30), end)[-n:]


def make_bars(symbols=SYMBOLS, n_sessions: int = 300, *, ohlcv: bool = True, seed: int = 0) -> pd.DataFrame:
    """Clean bars: a 1 %-vol random walk per symbol, consistent OHLC, integer volume."""
    rng = np.random.default_rng(seed)
    dates = last_sessions(n_sessions)
    frames = []
    for i, symbol in enumerate(symbols):
        close = (20.0 + 10 * i) * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n_sessions)))
        frame = pd.DataFrame({"date": dates, "symbol": symbol, "adj_close": close})
        if ohlcv:
            open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.003, n_sessions))
            body_hi, body_lo = np.maximum(open_, close), np.minimum(open_, close)
            frame["open"] = open_
            frame["high"] = body_hi * (1 + rng.uniform(0, 0.01, n_sessions))
            frame["low"] = body_lo * (1 - rng.uniform(0, 0.01, n_sessions))
            frame["close"] = close
            frame["volume"] = rng.integers(100_000, 5_000_000, n_sessions)
        frames.append(frame)
    bars = pd.concat(frames, ignore_index=True)
    bars["date"] = bars["date"].astype("datetime64[ns]")
    return bars


FETCH_FIELDS = ("expected", "rejected", "benchmark_last")


def run(bars: pd.DataFrame, **kwargs) -> ValidationResult:
    """:func:`validate_bars` at AS_OF; keyword arguments are :class:`GateLimits` or :class:`FetchReport`
    fields."""
    start = bars["date"].min() if len(bars) else AS_OF
    start = min(pd.Timestamp(start), AS_OF) if not pd.isna(start) else AS_OF
    fetched = FetchReport(**{k: v for k, v in kwargs.items() if k in FETCH_FIELDS})
    limits = GateLimits(**{k: v for k, v in kwargs.items() if k not in FETCH_FIELDS})
    return validate_bars(bars, as_of=AS_OF, sessions=nyse(start, AS_OF), limits=limits, fetched=fetched)


def day(i: int) -> pd.Timestamp:
    """The i-th session of the clean frame (negative counts from as_of)."""
    return last_sessions(300)[i]


def at(bars: pd.DataFrame, symbol: str, date: pd.Timestamp) -> pd.Series:
    return (bars["symbol"] == symbol) & (bars["date"] == date)


def finding(result: ValidationResult, check: str, symbol: str, date) -> pd.Series:
    """The one (check, symbol) row; its date and message name the check, the symbol and the date."""
    t = result.table
    rows = t[(t["check"] == check) & (t["symbol"] == symbol)]
    assert len(rows) == 1, t[t["status"] != "passed"].to_string()
    row = rows.iloc[0]
    assert row["status"] == "failed"
    assert row["date"] == pd.Timestamp(date), (row["date"], date)
    text = f"{pd.Timestamp(date):%Y-%m-%d}"
    for part in (check, symbol, text):
        assert part in row["message"], (part, row["message"])
    summary = t[(t["check"] == check) & (t["symbol"] == "")].iloc[0]
    assert summary["status"] == "failed" and summary["message"].startswith(f"{check}: ")
    return row


def failed_checks(result: ValidationResult) -> set[str]:
    t = result.table
    return set(t.loc[(t["symbol"] == "") & (t["status"] != "passed"), "check"])


def assert_dataset_level(result: ValidationResult, check: str) -> None:
    assert result.passed is False
    assert result.summary.startswith("failed:") and check in result.summary
    row = result.table[(result.table["check"] == check) & (result.table["symbol"] == "")].iloc[0]
    assert row["level"] == "dataset" and row["severity"] == "error"


def assert_symbol_level(result: ValidationResult, check: str, symbol: str) -> None:
    assert result.passed is True, result.summary
    assert result.quarantined == (symbol,)
    assert f"{symbol}: {check}" in result.summary or f"{symbol}: " in result.summary
    row = result.table[(result.table["check"] == check) & (result.table["symbol"] == symbol)].iloc[0]
    assert row["level"] == "symbol" and row["severity"] == "error"
    assert quarantined_symbols(result.table) == [symbol]


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return make_bars()


# ------------------------------------------------------------------------------------------ clean data


def test_clean_synthetic_bars_pass_with_nothing_to_report(clean):
    result = run(clean)
    assert result.passed and result.quarantined == ()
    assert list(result.table.columns) == COLUMNS
    assert (result.table["status"] == "passed").all(), result.table[result.table["status"] != "passed"]
    assert (result.table["symbol"] == "").all()  # no findings, only one summary row per check
    assert result.table["check"].is_unique
    assert (
        str(result.table["date"].dtype) == "datetime64[ns]" and str(result.table["failures"].dtype) == "int64"
    )
    assert result.summary == "passed: 5 symbols, 300 sessions, 0 quarantined"
    for check in (
        "schema",
        "dtypes",
        "unique_date_symbol",
        "sorted",
        "calendar",
        "future_date",
        "freshness",
        "price_positive",
        "ohlc_consistency",
        "volume_nonnegative",
        "missing_session",
        "stale_run",
        "bad_tick",
        "split_adjustment",
        "sudden_move",
        "quarantine_limit",
    ):
        assert check in set(result.table["check"])


def test_input_is_not_modified_and_any_row_order_of_symbols_is_accepted(clean):
    bars = clean.sample(frac=1.0, random_state=3).sort_values("date", kind="stable")  # dates interleaved
    before = bars.copy()
    result = run(bars)
    assert result.passed and result.quarantined == ()
    pd.testing.assert_frame_equal(bars, before)


def test_pandas_str_object_and_nullable_dtypes_are_accepted(clean):
    bars = clean.copy()
    bars["symbol"] = bars["symbol"].astype(object)
    bars["volume"] = bars["volume"].astype("Int64")
    bars["date"] = bars["date"].astype("datetime64[us]")
    assert run(bars).passed


# ------------------------------------------------------------------------------------- corpus: symbol level


def test_nan_close_quarantines_the_symbol(clean):
    bars = clean.copy()
    bars.loc[at(bars, "CCC", day(100)), "adj_close"] = np.nan
    result = run(bars)
    finding(result, "price_not_null", "CCC", day(100))
    assert_symbol_level(result, "price_not_null", "CCC")


def test_nan_raw_close_is_only_a_warning(clean):
    bars = clean.copy()
    bars.loc[at(bars, "CCC", day(100)), "close"] = np.nan
    result = run(bars)
    row = finding(result, "raw_price_not_null", "CCC", day(100))
    assert row["severity"] == "warning" and result.passed and result.quarantined == ()


def test_zero_close_quarantines_the_symbol(clean):
    bars = clean.copy()
    bars.loc[at(bars, "BBB", day(120)), "adj_close"] = 0.0
    result = run(bars)
    finding(result, "price_positive", "BBB", day(120))
    assert_symbol_level(result, "price_positive", "BBB")


def test_negative_close_quarantines_the_symbol(clean):
    bars = clean.copy()
    bars.loc[at(bars, "DDD", day(130)), ["adj_close", "close"]] = -12.5
    result = run(bars)
    row = finding(result, "price_positive", "DDD", day(130))
    assert "adj_close <= 0" in row["message"]
    assert_symbol_level(result, "price_positive", "DDD")


def test_infinite_close_quarantines_the_symbol(clean):
    bars = clean.copy()
    bars.loc[at(bars, "EEE", day(90)), "adj_close"] = np.inf
    result = run(bars)
    finding(result, "price_positive", "EEE", day(90))
    assert_symbol_level(result, "price_positive", "EEE")
    assert failed_checks(result) == {"price_positive"}  # no move is computed from an infinite price


def test_missing_session_inside_the_range_quarantines_the_symbol(clean):
    bars = clean[~at(clean, "BBB", day(200))]
    result = run(bars)
    row = finding(result, "missing_session", "BBB", day(200))
    assert row["failures"] == 1
    assert_symbol_level(result, "missing_session", "BBB")


def test_symbol_listed_later_is_not_missing_sessions(clean):
    bars = clean[~((clean["symbol"] == "EEE") & (clean["date"] < day(150)))]  # an IPO: short, not holed
    result = run(bars)
    assert result.passed and result.quarantined == ()


def test_30_session_stale_run_quarantines_the_symbol(clean):
    bars = clean.copy()
    run_ = (bars["symbol"] == "AAA") & bars["date"].between(day(250), day(279))
    price = float(bars.loc[at(bars, "AAA", day(249)), "adj_close"].iloc[0]) * 1.01
    bars.loc[run_, ["adj_close", "open", "high", "low", "close"]] = price  # the feed repeats a whole bar
    result = run(bars)
    row = finding(result, "stale_run", "AAA", day(250))
    assert "for 30 sessions" in row["message"]
    assert_symbol_level(result, "stale_run", "AAA")
    # at exactly the limit nothing is reported
    assert run(bars, max_stale_sessions=30).passed and run(bars, max_stale_sessions=30).quarantined == ()


def test_stale_run_outside_the_recent_window_is_a_warning():
    bars = make_bars(n_sessions=600)
    dates = last_sessions(600)
    run_ = (bars["symbol"] == "AAA") & bars["date"].between(dates[10], dates[39])
    bars.loc[run_, ["adj_close", "open", "high", "low", "close"]] = 25.0
    result = run(bars)
    row = finding(result, "stale_run_history", "AAA", dates[10])
    assert row["severity"] == "warning" and row["level"] == "symbol"
    assert result.passed and result.quarantined == ()
    # a window that reaches back to it quarantines
    assert run(bars, recent_window=600).quarantined == ("AAA",)


def test_unadjusted_2_for_1_split_with_raw_close_is_a_missed_adjustment(clean):
    bars = clean.copy()
    after = (bars["symbol"] == "CCC") & (bars["date"] >= day(260))
    bars.loc[after, ["adj_close", "open", "high", "low", "close"]] /= 2  # adj_close moved with the raw close
    result = run(bars)
    row = finding(result, "split_adjustment", "CCC", day(260))
    assert "2-for-1" in row["message"] and "not adjusted" in row["message"]
    assert_symbol_level(result, "split_adjustment", "CCC")


def test_unadjusted_2_for_1_split_without_raw_close_is_suspected(clean):
    bars = clean[["date", "symbol", "adj_close"]].copy()
    after = (bars["symbol"] == "CCC") & (bars["date"] >= day(260))
    bars.loc[after, "adj_close"] /= 2
    result = run(bars)
    row = finding(result, "split_adjustment", "CCC", day(260))
    assert "suspected unadjusted split" in row["message"] and "2-for-1" in row["message"]
    assert_symbol_level(result, "split_adjustment", "CCC")


def test_unadjusted_reverse_split_is_caught(clean):
    bars = clean[["date", "symbol", "adj_close"]].copy()
    after = (bars["symbol"] == "EEE") & (bars["date"] >= day(280))
    bars.loc[after, "adj_close"] *= 10
    result = run(bars)
    row = finding(result, "split_adjustment", "EEE", day(280))
    assert "1-for-10" in row["message"]


def test_adjusted_split_is_only_a_corporate_action_warning(clean):
    bars = clean.copy()
    after = (bars["symbol"] == "CCC") & (bars["date"] >= day(240))
    bars.loc[after, ["open", "high", "low", "close"]] /= 2  # raw prices split, adj_close continuous
    result = run(bars)
    row = finding(result, "corporate_action", "CCC", day(240))
    assert row["severity"] == "warning"
    assert result.passed and result.quarantined == ()


def test_spike_that_reverts_next_session_is_a_bad_tick(clean):
    bars = clean.copy()
    bars.loc[at(bars, "BBB", day(265)), ["adj_close", "close", "high"]] *= 1.6
    result = run(bars)
    row = finding(result, "bad_tick", "BBB", day(265))
    assert "then -" in row["message"] and "reverted" in row["message"]
    assert_symbol_level(result, "bad_tick", "BBB")
    assert "sudden_move" not in failed_checks(result)  # the reverting leg is part of the tick


def test_real_crash_that_stays_down_is_only_a_warning(clean):
    bars = clean.copy()
    after = (bars["symbol"] == "BBB") & (bars["date"] >= day(270))
    bars.loc[after, ["adj_close", "open", "high", "low", "close"]] *= 0.6
    result = run(bars)
    row = finding(result, "sudden_move", "BBB", day(270))
    assert (
        row["severity"] == "warning" and "adj_close -3" in row["message"] and "not reverted" in row["message"]
    )
    assert result.passed and result.quarantined == ()
    assert "split_adjustment" not in failed_checks(result) and "bad_tick" not in failed_checks(result)


def test_ohlc_inconsistency_quarantines_the_symbol(clean):
    bars = clean.copy()
    mask = at(bars, "DDD", day(150))
    bars.loc[mask, "high"] = bars.loc[mask, ["open", "close"]].min(axis=1) * 0.98
    result = run(bars)
    row = finding(result, "ohlc_consistency", "DDD", day(150))
    assert "high < max(open, close)" in row["message"]
    assert_symbol_level(result, "ohlc_consistency", "DDD")


def test_negative_volume_quarantines_the_symbol(clean):
    bars = clean.copy()
    bars.loc[at(bars, "EEE", day(20)), "volume"] = -100
    result = run(bars)
    finding(result, "volume_nonnegative", "EEE", day(20))
    assert_symbol_level(result, "volume_nonnegative", "EEE")


def test_too_many_quarantined_symbols_fail_the_run(clean):
    bars = clean.copy()
    bars.loc[at(bars, "AAA", day(50)), "adj_close"] = np.nan
    bars.loc[at(bars, "BBB", day(60)), "adj_close"] = -1.0
    result = run(bars)  # 2 of 5 = 40 % > 20 %
    assert_dataset_level(result, "quarantine_limit")
    assert result.quarantined == ("AAA", "BBB")
    row = result.table[(result.table["check"] == "quarantine_limit")].iloc[0]
    assert row["status"] == "failed" and "2 of 5 symbols quarantined" in row["message"]
    assert run(bars, max_quarantine_fraction=0.4).passed


# ------------------------------------------------------------------------------------ corpus: dataset level


def test_duplicated_rows_fail_the_run(clean):
    bars = pd.concat([clean, clean[at(clean, "BBB", day(50))]]).sort_values(["symbol", "date"], kind="stable")
    result = run(bars)
    row = finding(result, "unique_date_symbol", "BBB", day(50))
    assert row["failures"] == 2
    assert_dataset_level(result, "unique_date_symbol")
    assert "sorted" not in failed_checks(result)


def test_unsorted_rows_fail_the_run(clean):
    bars = clean.copy()
    i, j = bars.index[at(bars, "DDD", day(120))][0], bars.index[at(bars, "DDD", day(121))][0]
    order = list(bars.index)
    order[i], order[j] = order[j], order[i]
    bars = bars.loc[order]
    result = run(bars)
    finding(result, "sorted", "DDD", day(120))  # the 120th session comes after the 121st
    assert_dataset_level(result, "sorted")


def test_weekend_row_fails_the_run(clean):
    saturday = pd.Timestamp("2022-10-15")
    assert saturday.dayofweek == 5 and day(0) < saturday < AS_OF
    extra = clean[at(clean, "EEE", pd.Timestamp("2022-10-14"))].assign(date=saturday)
    bars = pd.concat([clean, extra]).sort_values(["symbol", "date"], kind="stable")
    result = run(bars)
    finding(result, "calendar", "EEE", saturday)
    assert_dataset_level(result, "calendar")


def test_holiday_row_fails_the_run(clean):
    christmas = pd.Timestamp("2022-12-26")  # observed Christmas: NYSE closed
    extra = clean[at(clean, "AAA", pd.Timestamp("2022-12-23"))].assign(date=christmas)
    bars = pd.concat([clean, extra]).sort_values(["symbol", "date"], kind="stable")
    result = run(bars)
    finding(result, "calendar", "AAA", christmas)
    assert_dataset_level(result, "calendar")


def test_future_date_fails_the_run(clean):
    tomorrow = nyse(AS_OF + pd.Timedelta(days=1), AS_OF + pd.Timedelta(days=7))[0]
    extra = clean[at(clean, "EEE", AS_OF)].assign(date=tomorrow)
    bars = pd.concat([clean, extra]).sort_values(["symbol", "date"], kind="stable")
    result = run(bars)
    finding(result, "future_date", "EEE", tomorrow)
    assert_dataset_level(result, "future_date")
    assert "calendar" not in failed_checks(result)  # a future session is reported once, as future


def test_wrong_dtypes_fail_the_run(clean):
    bars = clean.copy()
    bars["adj_close"] = bars["adj_close"].map(lambda x: f"{x:.2f}")
    result = run(bars)
    row = finding(result, "dtypes", "AAA", day(0))
    assert "adj_close" in row["message"]
    assert_dataset_level(result, "dtypes")
    assert set(result.table["check"]) == {"not_empty", "schema", "dtypes"}  # stops after the structure stage


def test_mixed_object_prices_name_the_first_bad_value(clean):
    bars = clean.copy()
    bars["adj_close"] = bars["adj_close"].astype(object)
    bars.loc[at(bars, "CCC", day(77)), "adj_close"] = "n/a"
    result = run(bars)
    row = finding(result, "dtypes", "CCC", day(77))
    assert "'n/a'" in row["message"]
    assert_dataset_level(result, "dtypes")


def test_tz_aware_dates_fail_the_run(clean):
    bars = clean.assign(date=clean["date"].dt.tz_localize("America/New_York"))
    result = validate_bars(bars, as_of=AS_OF, sessions=nyse(day(0), AS_OF))
    assert_dataset_level(result, "dtypes")
    assert "date has dtype" in result.summary


def test_missing_column_fails_the_run(clean):
    result = run(clean.drop(columns=["adj_close"]))
    assert_dataset_level(result, "schema")
    assert "missing required column 'adj_close'" in result.summary


def test_empty_frame_fails_the_run(clean):
    result = run(clean.iloc[0:0])
    assert_dataset_level(result, "not_empty")
    assert f"no rows (as_of {AS_OF:%Y-%m-%d})" in result.summary
    assert result.quarantined == ()


def test_one_symbol_only_fails_the_run(clean):
    result = run(clean[clean["symbol"] == "AAA"])
    finding(result, "enough_symbols", "AAA", AS_OF)
    assert_dataset_level(result, "enough_symbols")


def test_stale_feed_fails_freshness(clean):
    result = run(clean[clean["date"] < AS_OF])
    assert_dataset_level(result, "freshness")
    assert result.summary == (
        "failed: freshness (newest session 2022-12-27 (5 of 5 symbols have it), expected as_of "
        "2022-12-28: the data has not caught up)"
    )


def test_stale_guard_needs_most_of_the_universe_at_as_of(clean):
    behind = clean[~(clean["symbol"].isin(["AAA", "BBB"]) & (clean["date"] == AS_OF))]
    result = run(behind, expected=list(SYMBOLS))
    assert_dataset_level(result, "freshness")
    assert (
        "only 3 of 5 symbols (60%) have a bar on as_of 2022-12-28, need 80% (newest session 2022-12-28, "
        "3 symbol(s) have it)"
    ) in result.summary
    assert run(behind, expected=list(SYMBOLS), max_quarantine_fraction=0.4).passed


def test_stale_symbol_of_the_universe_is_quarantined_and_a_missing_one_reported(clean):
    behind = clean[~((clean["symbol"] == "CCC") & (clean["date"] >= day(-2)))]
    result = run(
        behind,
        expected=[*SYMBOLS, "ZZZ", "BAD"],
        rejected={"BAD": "rejected by the data API (HTTP 400)"},
        max_quarantine_fraction=0.5,
    )
    assert_symbol_level(result, "stale_symbol", "CCC")
    row = finding(result, "stale_symbol", "CCC", day(-3))
    assert "last bar 2022-12-23, older than as_of 2022-12-28 (stale: quarantined)" in row["message"]
    t = result.table
    missing = t[(t["check"] == "missing_symbol") & (t["symbol"] != "")].set_index("symbol")["message"]
    assert missing["BAD"].endswith("rejected by the data API (HTTP 400)")
    assert "absent from its reply" in missing["ZZZ"]
    assert run(behind).quarantined == ()  # without a list of expected symbols a short series is not stale


def test_stale_benchmark_fails_freshness(clean):
    result = run(clean, benchmark_last=day(-2))
    assert_dataset_level(result, "freshness")
    assert "the benchmark's last bar is 2022-12-27, not as_of 2022-12-28" in result.summary
    assert run(clean, benchmark_last=AS_OF).passed


def test_as_of_must_be_the_last_expected_session(clean):
    result = validate_bars(clean, as_of=AS_OF, sessions=nyse(day(0), "2022-12-30"))
    assert_dataset_level(result, "freshness")
    assert "not the last expected session" in result.summary


def test_short_history_fails_the_run(clean):
    result = run(clean[clean["date"] >= day(200)])
    assert_dataset_level(result, "enough_history")
    assert "100 session(s)" in result.summary and "need at least 253" in result.summary


def test_null_symbol_and_null_date_fail_the_run(clean):
    bars = clean.copy()
    bars["symbol"] = bars["symbol"].astype(object)
    bars.loc[at(bars, "BBB", day(10)), "symbol"] = None
    result = run(bars)
    assert_dataset_level(result, "symbol_not_null")
    bars = clean.copy()
    bars.loc[at(bars, "CCC", day(11)), "date"] = pd.NaT
    result = run(bars)
    assert_dataset_level(result, "date_not_null")
    assert result.table.query("check == 'date_not_null' and symbol == 'CCC'")["failures"].iloc[0] == 1


# ------------------------------------------------------------------------------------------ GX errors, output


def test_raising_expectation_is_an_error_status_not_a_failure(clean, monkeypatch):
    original = validation._symbols._symbol_specs

    def with_broken(check: str):
        """The symbol checks plus ``check`` again, on a column that does not exist (it raises)."""

        def specs(summary, as_of, max_stale):
            make = validation._gx._spec_factory("broken")
            return [
                *original(summary, as_of, max_stale),
                make(
                    check,
                    "ExpectColumnValuesToBeBetween",
                    lambda r, o: None,
                    column="no_such_column",
                    max_value=0,
                ),
            ]

        return specs

    monkeypatch.setattr(validation._symbols, "_symbol_specs", with_broken("sudden_move"))
    result = run(clean)
    row = result.table[(result.table["check"] == "sudden_move") & (result.table["symbol"] == "")].iloc[0]
    assert row["status"] == "error" and "raised" in row["message"]
    assert result.passed  # a warning check that raises does not block

    monkeypatch.setattr(validation._symbols, "_symbol_specs", with_broken("missing_session"))
    result = run(clean)
    assert result.passed is False and "missing_session" in result.summary and "raised" in result.summary
    assert result.table.query("check == 'missing_session' and symbol == ''")["status"].iloc[0] == "error"


def test_stored_table_round_trips_and_gives_the_quarantine(clean, tmp_path):
    bars = clean.copy()
    bars.loc[at(bars, "CCC", day(100)), "adj_close"] = np.nan
    result = run(bars)
    path = tmp_path / "validation.parquet"
    result.table.to_parquet(path)
    assert quarantined_symbols(pd.read_parquet(path)) == ["CCC"] == list(result.quarantined)


def test_render_html_is_self_contained(clean):
    bars = clean.copy()
    bars.loc[at(bars, "CCC", day(100)), "adj_close"] = np.nan
    result = run(bars)
    page = render_html(result, title="Validation <bars> & co")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "Validation &lt;bars&gt; &amp; co" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    assert "price_not_null" in page and "CCC" in page and "PASSED" in page
    failed = render_html(run(clean[clean["symbol"] == "AAA"]), title="t")
    assert "FAILED" in failed and "enough_symbols" in failed


def test_render_html_marks_failed_checks_only(clean):
    import re

    bars = clean.copy()
    bars.loc[at(bars, "CCC", day(100)), "adj_close"] = np.nan
    page = render_html(run(bars), title="t")
    rows = re.findall(r'<tr class="([^"]+)">(.*?)</tr>', page, flags=re.S)
    statuses = [
        (cls.split(), re.search(r'<td class="status">(\w+)</td>', cells).group(1)) for cls, cells in rows
    ]
    assert {status for _, status in statuses} >= {"passed", "failed"}
    assert any(
        "severity-error" in cls and status == "passed" for cls, status in statuses
    )  # the old pink rows
    shaded = [
        rule
        for rule in re.findall(r"([^{}]+)\{background:[^}]+\}", page.split("</style>")[0])
        if rule.strip().startswith("tr")
    ]
    assert shaded and all(
        sel.strip().split()[0].startswith(("tr.status-failed", "tr.status-error"))
        for rule in shaded
        for sel in rule.split(",")
    )
    for cls, status in statuses:  # a row is marked by its status, whatever its severity
        assert f"status-{status}" in cls


# --------------------------------------------------------------------------------------- embedded real data


@pytest.fixture(scope="module")
def real_bars() -> pd.DataFrame:
    wide = pd.read_csv(DATA, index_col=0, parse_dates=True)
    bars = (
        wide.rename_axis("date")
        .reset_index()
        .melt(id_vars="date", var_name="symbol", value_name="adj_close")
        .sort_values(["symbol", "date"], kind="stable")
        .reset_index(drop=True)
    )
    bars["date"] = bars["date"].astype("datetime64[ns]")
    return bars


def test_embedded_data_passes_with_rrc_history_reported_as_warnings(real_bars):
    sessions = nyse(real_bars["date"].min(), AS_OF)
    assert len(sessions) == 8313
    result = validate_bars(real_bars, as_of=AS_OF, sessions=sessions)
    assert result.passed and result.quarantined == ()
    assert result.summary.startswith("passed: 20 symbols, 8313 sessions, 0 quarantined")
    # RRC 1990-92: 8 runs of unchanged closes (longest 69 sessions from 1990-01-02): stale data, but
    # 30 years before as_of, outside the 253-session window the strategy scores on -> warning only.
    row = finding(result, "stale_run_history", "RRC", "1990-01-02")
    assert row["severity"] == "warning" and row["failures"] == 8 and "for 69 sessions" in row["message"]
    # ... and inside that stale stretch a -66.7 % (exactly 1/3) one-day drop that never reverts: a
    # suspected 3-for-1 split left unadjusted (or a bad print), again only history.
    row = finding(result, "split_adjustment_history", "RRC", "1990-04-10")
    assert "3-for-1" in row["message"]
    # Real crashes and jumps are warnings: e.g. AAPL -51.8 % on 2000-09-29.
    row = finding(result, "sudden_move", "AAPL", "2000-09-29")
    assert "-51.8%" in row["message"] and row["severity"] == "warning"
    sudden = result.table[(result.table["check"] == "sudden_move") & (result.table["symbol"] != "")]
    assert set(sudden["symbol"]) == {"AAPL", "AMD", "BBY", "RRC"} and sudden["failures"].sum() == 7
    assert failed_checks(result) == {"stale_run_history", "split_adjustment_history", "sudden_move"}


def test_embedded_data_with_a_whole_history_window_quarantines_rrc(real_bars):
    result = validate_bars(
        real_bars,
        as_of=AS_OF,
        sessions=nyse(real_bars["date"].min(), AS_OF),
        limits=GateLimits(recent_window=10_000),
    )
    assert result.passed and result.quarantined == ("RRC",)  # 1 of 20 = 5 % <= 20 %
    assert "RRC: stale_run+split_adjustment" in result.summary
    finding(result, "stale_run", "RRC", "1990-01-02")
