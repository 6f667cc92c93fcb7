"""Point-in-time universe membership: S&P 500 history, user files, members_at."""

from __future__ import annotations

from pathlib import Path

import index_constitution as ic
import numpy as np
import pandas as pd
import pytest

from momentum.universe import (
    COVERAGE_START,
    UNKNOWN_OPT_IN,
    all_membership,
    file_membership,
    members_at,
    sp500_membership,
)

EMBEDDED = "AAPL AMD BAC BBY CVX GE HD JNJ JPM KO LLY MRK MSFT PEP PFE PG RRC UNH WMT XOM".split()
T = pd.Timestamp


def _days(*days: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([T(d) for d in days])


def test_left_before_t_and_joins_after_t_are_not_members() -> None:
    m = sp500_membership(["RRC", "BBY", "MSFT"], _days("1995-01-03", "2007-12-19", "2007-12-20", "2018-06-15",
                                                       "2018-06-18", "2020-01-02"))
    # RRC: opt-in 2007-12-20 inclusive, opt-out 2018-06-18 exclusive
    assert m["RRC"].tolist() == [False, False, True, True, False, False]
    assert m["BBY"].tolist() == [False, True, True, True, True, True]  # joins 1999-06-29
    assert m["MSFT"].tolist() == [True] * 6  # joined 1994-06-01


def test_amd_out_between_2013_09_20_and_2017_03_20() -> None:
    dates = pd.bdate_range("2013-09-20", "2017-03-17")
    assert not sp500_membership(["AMD"], dates)["AMD"].any()
    edges = sp500_membership(["AMD"], _days("2013-09-19", "2017-03-20"))["AMD"]
    assert edges.tolist() == [True, True]


def test_unknown_opt_in_placeholder_counts_only_from_coverage_start() -> None:
    dates = _days("2000-01-03", "2008-06-02", "2010-12-31", "2011-01-03")
    strict = sp500_membership(["AMD", "FSLR"], dates)
    assert strict["AMD"].tolist() == [False, False, False, True]
    assert strict["FSLR"].tolist() == [False, False, False, True]  # First Solar joined 2009, left 2017
    trusted = sp500_membership(["AMD", "FSLR"], dates, trust_unknown_opt_in=True)
    assert trusted.all().all()
    h = ic.history("sp500")
    placeholder = h[h["opt-in"] == UNKNOWN_OPT_IN]
    assert len(placeholder) > 200 and placeholder["opt-out"].notna().all()  # only removed names


def test_embedded_symbols_rule_is_sane() -> None:
    dates = pd.bdate_range("1990-01-02", "2022-12-28", freq="W-FRI")
    m = sp500_membership(EMBEDDED, dates)
    always = set(EMBEDDED) - {"AMD", "BBY", "MSFT", "RRC", "UNH"}
    assert m[sorted(always)].all().all()
    assert members_at(m, "1990-01-05") == always
    assert members_at(m, "2012-06-29") == set(EMBEDDED)
    assert members_at(m, "2015-06-30") == set(EMBEDDED) - {"AMD"}
    assert members_at(m, "2022-12-28") == set(EMBEDDED) - {"RRC"}


def test_matches_index_constitution_after_coverage_start_and_when_trusting_placeholders() -> None:
    symbols = sorted(set(ic.history("sp500")["symbol"]))
    after = pd.bdate_range(COVERAGE_START, "2026-06-30", freq="97D")
    strict = sp500_membership(symbols, after)
    everything = pd.bdate_range("1990-01-02", "2026-06-30", freq="173D")
    trusted = sp500_membership(symbols, everything, trust_unknown_opt_in=True)
    for frame in (strict, trusted):
        for day in frame.index:
            assert members_at(frame, day) == set(ic.constituents_at("sp500", day)["symbol"]), day


def test_unknown_symbols_ticker_aliases_and_share_classes() -> None:
    m = sp500_membership(["NOTATICKER", "FB", "META", "BRK-B", "BRK.B"], _days("2020-01-02", "2023-01-03"))
    assert not m["NOTATICKER"].any()
    assert m["FB"].tolist() == [True, False]  # FB -> META on 2022-06-09 (history files it as META)
    assert m["META"].tolist() == [True, True]
    assert m["BRK-B"].tolist() == m["BRK.B"].tolist() == [True, True]


def test_frame_shape_unsorted_dates_and_validation() -> None:
    dates = _days("2018-06-18", "2007-01-03", "2018-06-15")
    m = sp500_membership(["RRC", "AAPL"], dates)
    assert m.index.equals(dates) and list(m.columns) == ["RRC", "AAPL"]
    assert m.dtypes.eq(bool).all()
    assert m["RRC"].tolist() == [False, False, True]
    assert sp500_membership([], dates).shape == (3, 0)
    with pytest.raises(ValueError, match="unique"):
        sp500_membership(["AAPL", "AAPL"], dates)
    with pytest.raises(ValueError, match="tz-naive"):
        sp500_membership(["AAPL"], dates.tz_localize("UTC"))


def test_all_membership() -> None:
    m = all_membership(["A", "B"], _days("2020-01-02", "2020-01-03"))
    assert m.shape == (2, 2) and m.all().all()


def test_members_at_uses_last_row_at_or_before() -> None:
    m = pd.DataFrame({"A": [True, False], "B": [False, True]}, index=_days("2020-01-02", "2020-01-06"))
    assert members_at(m, "2020-01-01") == set()
    assert members_at(m, "2020-01-02") == {"A"}
    assert members_at(m, "2020-01-04") == {"A"}  # weekend: the Friday row, never a later one
    assert members_at(m, "2020-01-06") == {"B"}
    with pytest.raises(ValueError, match="sorted"):
        members_at(m.iloc[::-1], "2020-01-06")


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "universe.txt"
    path.write_text(text)
    return str(path)


def test_file_membership_plain_list(tmp_path: Path) -> None:
    path = _write(tmp_path, "# my universe\nAAPL\n  msft  # inline comment\n\n")
    m = file_membership(path, ["AAPL", "MSFT", "XOM"], _days("2020-01-02", "2020-01-03"))
    assert m["AAPL"].all() and m["MSFT"].all() and not m["XOM"].any()


def test_file_membership_csv_with_dates(tmp_path: Path) -> None:
    text = "symbol,start,end\nAAPL,2020-01-03,\nXOM,,2020-01-03\nXOM,2020-01-06,2020-01-07\nBRK.B,,\n"
    path = _write(tmp_path, text)
    m = file_membership(path, ["AAPL", "XOM", "BRK-B"], _days("2020-01-02", "2020-01-03", "2020-01-06",
                                                             "2020-01-07"))
    assert m["AAPL"].tolist() == [False, True, True, True]
    assert m["XOM"].tolist() == [True, False, True, False]
    assert m["BRK-B"].all()


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("AAPL\n\nMSFT\n", 2, "blank"),
        ("AAPL\nAA PL\n", 2, "malformed"),
        ("# c\nAAPL\nZZZZ\n", 3, "unknown"),
        ("AAPL\nMSFT,2020-01-01\n", 2, "fields"),
        ("symbol,start,end\nAAPL,2020-13-01,\n", 2, "bad date"),
        ("symbol,start,end\nAAPL,2020-01-02,2020-01-01\n", 2, "after start"),
        ("symbol,start,end\nAAPL,2020-01-01\n", 2, "fields"),
        ("symbol,begin\nAAPL,2020-01-01\n", 1, "header"),
        ("symbol\n,\n", 2, "fields"),
        ("symbol,start\n,2020-01-01\n", 2, "malformed"),
    ],
)
def test_file_errors_name_the_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    with pytest.raises(ValueError, match=rf"line {line}: .*{what}"):
        file_membership(_write(tmp_path, text), ["AAPL", "MSFT"], _days("2020-01-02"))


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no symbols"):
        file_membership(_write(tmp_path, "# nothing\n"), ["AAPL"], _days("2020-01-02"))


def test_membership_is_vectorised_and_fast() -> None:
    symbols = sorted(set(ic.history("sp500")["symbol"]))
    dates = pd.bdate_range("1990-01-02", "2026-06-30")
    m = sp500_membership(symbols, dates)
    assert m.shape == (len(dates), len(symbols))
    counts = m.sum(axis=1)
    assert counts.loc[COVERAGE_START:].between(480, 510).all()
    assert np.isfinite(counts).all()
