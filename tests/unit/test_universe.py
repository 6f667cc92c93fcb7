"""Point-in-time universe membership: S&P 500 history, user files, members_at."""

from __future__ import annotations

import json
from pathlib import Path

import index_constitution as ic
import pandas as pd
import pytest

from momentum.calendar import nyse_sessions
from momentum.universe import (
    COMPLETE_FROM,
    SWITCH_DATE,
    UNKNOWN_OPT_IN,
    UniverseSpec,
    file_membership,
    members_at,
    sp500_members,
    sp500_membership,
    sp500_sources,
    universe_members,
)

EMBEDDED = "AAPL AMD BAC BBY CVX GE HD JNJ JPM KO LLY MRK MSFT PEP PFE PG RRC UNH WMT XOM".split()
SPELLS = Path(__file__).resolve().parents[2] / "momentum" / "data" / "sp500_ticker_start_end.csv"
T = pd.Timestamp


def _days(*days: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([T(d) for d in days])


def _month_ends(start: str, end: str) -> pd.DatetimeIndex:
    sessions = nyse_sessions(start, end)
    return pd.DatetimeIndex(sessions.to_series().groupby([sessions.year, sessions.month]).max())


def _members(day: str) -> dict[str, pd.Timestamp]:
    return dict(sp500_members(T(day)).itertuples(index=False))


def test_left_before_t_and_joins_after_t_are_not_members() -> None:
    m = sp500_membership(
        ["RRC", "BBY", "MSFT"],
        _days("1995-01-03", "2007-12-20", "2007-12-21", "2018-06-15", "2018-06-18", "2020-01-02"),
    )
    # RRC: start 2007-12-21 inclusive (the vendored spells), opt-out 2018-06-18 exclusive
    assert m["RRC"].tolist() == [False, False, True, True, False, False]
    assert m["BBY"].tolist() == [False, True, True, True, True, True]  # joins 1999-06-30
    assert m["MSFT"].tolist() == [True] * 6  # joined 1994-06-01


def test_amd_out_between_2013_09_20_and_2017_03_20() -> None:
    dates = pd.bdate_range("2013-09-20", "2017-03-17")
    assert not sp500_membership(["AMD"], dates)["AMD"].any()
    edges = sp500_membership(["AMD"], _days("2013-09-19", "2017-03-20"))["AMD"]
    assert edges.tolist() == [True, True]


def test_member_count_at_every_month_end_from_1996_01_to_2026_10() -> None:
    ends = _month_ends("1996-01-01", "2026-10-31")
    assert len(ends) == 370 and ends[0] == T("1996-01-31") and ends[-1] == T("2026-10-30")
    counts = pd.Series([len(sp500_members(day)) for day in ends], index=ends)
    assert counts.between(487, 505).all(), counts[~counts.between(487, 505)]
    # before the switch the count is the vendored file's, read here straight from the CSV
    raw = pd.read_csv(SPELLS, parse_dates=["start_date", "end_date"])
    for day in ends[ends < SWITCH_DATE]:
        covering = raw[(raw["start_date"] <= day) & ~(raw["end_date"] <= day)]
        assert counts[day] == covering["ticker"].nunique(), day


def test_from_the_switch_it_is_index_constitution_with_known_late_joins() -> None:
    symbols = sorted(set(ic.history("sp500")["symbol"]))
    frame = sp500_membership(symbols, pd.bdate_range(SWITCH_DATE, "2026-06-30", freq="97D"))
    for day in frame.index:
        ours, theirs = members_at(frame, day), set(ic.constituents_at("sp500", day)["symbol"])
        assert ours <= theirs, day
        # a placeholder join date is replaced by the vendored one when that is later than the switch
        assert theirs - ours <= {"UAA", "GAS"}, day
        assert len(sp500_members(day)) == len(ours), day


def test_amd_is_a_member_from_1996_until_its_2013_exit() -> None:
    ends = _month_ends("1996-01-01", "2013-08-31")
    assert sp500_membership(["AMD"], ends)["AMD"].all()
    assert _members("2008-11-28")["AMD"] == COMPLETE_FROM  # joined before 1996: the date is not known
    assert "AMD" not in _members("1995-12-29")  # index-constitution knows no join date for it
    assert _members("2020-01-02")["AMD"] == T("2017-03-20")  # since: the current spell, not the first


def test_first_solar_not_before_2009_10_16() -> None:
    sessions = nyse_sessions("1996-01-02", "2026-10-30")
    fslr = sp500_membership(["FSLR"], sessions)["FSLR"]
    assert not fslr.loc[:"2009-10-15"].any()
    assert fslr.loc["2009-10-16":"2017-03-17"].all() and not fslr.loc["2017-03-20":"2022-12-16"].any()
    assert fslr.loc["2022-12-19":].all()
    assert _members("2009-10-16")["FSLR"] == T("2009-10-16")


def test_under_armour_not_before_2014() -> None:
    sessions = nyse_sessions("1996-01-02", "2026-10-30")
    ua = sp500_membership(["UAA", "UA"], sessions)
    assert not ua.loc[:"2013-12-31"].any().any()
    assert not ua["UAA"].loc[:"2014-04-30"].any() and ua["UAA"].loc["2014-05-01":"2022-06-17"].all()
    assert not ua.loc["2022-06-21":].any().any()


def test_a_renamed_company_is_one_membership_across_its_change_date() -> None:
    before, after = _members("2022-06-08"), _members("2022-06-09")
    assert before["FB"] == after["META"] == T("2013-12-23")
    assert "META" not in before and "FB" not in after
    m = sp500_membership(["FB", "META"], _days("2022-06-08", "2022-06-09"))
    assert m["META"].tolist() == [True, True] and m["FB"].tolist() == [True, False]
    # across the switch of sources too: Harris (HRS in the vendored spells) is L3Harris (LHX) from 2019
    assert _members("2010-12-31")["HRS"] == _members("2020-01-02")["LHX"] == T("2008-09-22")
    assert _members("2023-01-03")["ELV"] == T("2002-07-25")  # ANTM -> ELV on 2022-06-28
    assert _members("2026-10-30")["AAPL"] == T("1982-11-30")  # one spell through both source switches


def test_before_1996_only_rows_with_a_known_join_date_count() -> None:
    h = ic.history("sp500")
    known = h[h["opt-in"] != UNKNOWN_OPT_IN]
    for day in (T("1991-01-02"), T("1995-12-29")):
        covering = known[(known["opt-in"] <= day) & ~(known["opt-out"] <= day)]
        frame = sp500_membership(sorted(set(h["symbol"])), pd.DatetimeIndex([day]))
        assert members_at(frame, day) == set(covering["symbol"]), day
        assert len(sp500_members(day)) == len(covering) < 487  # partial: a subset of the true index
    placeholder_only = set(h["symbol"]) - set(known["symbol"])
    early = sp500_membership(sorted(placeholder_only), nyse_sessions("1990-01-02", "1995-12-29"))
    assert not early.any().any()


def test_sp500_members_frame_and_its_errors() -> None:
    members = sp500_members(T("2015-06-30"))
    assert list(members.columns) == ["symbol", "since"] and members["symbol"].is_monotonic_increasing
    assert members["symbol"].is_unique and (members["since"] <= T("2015-06-30")).all()
    assert members["since"].dtype.kind == "M"
    assert sp500_members(T("1950-01-03")).empty
    with pytest.raises(ValueError, match="tz-naive"):
        sp500_members(T("2015-06-30", tz="UTC"))
    with pytest.raises(ValueError, match="tz-naive"):
        sp500_members(pd.NaT)
    with pytest.raises(ValueError, match="outside"):
        sp500_members(T("1001-01-01"))
    names = [s["name"] for s in sp500_sources()]
    assert names[0] == "fja05680/sp500" and names[1].startswith("index-constitution")


def test_embedded_symbols_rule_is_sane() -> None:
    dates = pd.bdate_range("1990-01-02", "2022-12-28", freq="W-FRI")
    m = sp500_membership(EMBEDDED, dates)
    always = set(EMBEDDED) - {"AMD", "BBY", "MSFT", "RRC", "UNH"}
    assert m[sorted(always)].all().all()
    assert members_at(m, "1990-01-05") == always
    assert members_at(m, "1996-01-05") == always | {"AMD", "MSFT", "UNH"}
    assert members_at(m, "2008-11-28") == set(EMBEDDED)
    assert members_at(m, "2015-06-30") == set(EMBEDDED) - {"AMD"}
    assert members_at(m, "2022-12-28") == set(EMBEDDED) - {"RRC"}


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


def test_universe_all_makes_every_symbol_a_member() -> None:
    spec = UniverseSpec(universe="all")
    assert universe_members(spec, ["A", "B"], pd.Timestamp("2020-01-02")) is None  # None: every symbol


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
    m = file_membership(
        path, ["AAPL", "XOM", "BRK-B"], _days("2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07")
    )
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
    assert counts.loc[SWITCH_DATE:].between(480, 510).all()
    # before 1996 only the members with a known join date (a partial list); the rows are per date
    assert counts.loc[: COMPLETE_FROM - pd.Timedelta(days=1)].max() < counts.loc[SWITCH_DATE:].min()


def _universe_cli(*args: str):
    from typer.testing import CliRunner

    from momentum_cli.app import app

    return CliRunner().invoke(app, ["universe", *args])


def test_cli_universe_json_lists_the_members_with_their_join_dates() -> None:
    out = _universe_cli("--as-of", "2008-11-28", "--json")
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert set(body) == {"as_of", "count", "members", "sources"} and body["as_of"] == "2008-11-28"
    assert body["count"] == len(body["members"]) == len(sp500_members(T("2008-11-28")))
    since = {m["symbol"]: m["since"] for m in body["members"]}
    assert since["AMD"] == "1996-01-02" and since["AAPL"] == "1982-11-30" and "FSLR" not in since
    assert [m["symbol"] for m in body["members"]] == sorted(since)
    assert [s["name"] for s in body["sources"]] == [s["name"] for s in sp500_sources()]
    assert out.stderr == ""
    text = _universe_cli("--as-of", "2008-11-28")
    assert text.exit_code == 0 and text.stdout.startswith(f"S&P 500 members on 2008-11-28: {body['count']}\n")
    assert "AMD 1996-01-02" in " ".join(text.stdout.split())


def test_cli_universe_before_1996_says_membership_is_partial() -> None:
    out = _universe_cli("--as-of", "1991-01-02", "--json")
    assert out.exit_code == 0, out.output
    assert out.stderr.count("\n") == 1 and "partial" in out.stderr and "1996-01-02" in out.stderr
    assert json.loads(out.stdout)["count"] == len(sp500_members(T("1991-01-02"))) > 0


@pytest.mark.parametrize("bad", ["2020-13-01", "2020", "yesterday", "2021-02-30", "0001-01-01", "9999-12-31"])
def test_cli_universe_bad_date_is_one_line_and_exit_1(bad: str) -> None:
    out = _universe_cli("--as-of", bad)
    assert out.exit_code == 1 and out.stdout == ""
    assert out.stderr.startswith("error: ") and "--as-of" in out.stderr and out.stderr.count("\n") == 1
