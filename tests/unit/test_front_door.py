"""The front door's pure pieces: where a setting comes from, the nearest names, strict dates, the
history an as_of needs, the lines a run prints."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from momentum.calendar import InvalidAsOf, checked_as_of, nyse_sessions, parse_day
from momentum.execution import GuardError, KillSwitch
from momentum.settings import closest_settings, setting_sources, unknown_environment, unknown_settings
from momentum_cli.render import eligibility_line, warning_lines

LAST = pd.Timestamp("2022-12-28")


def test_sources_rank_flags_over_environment_over_defaults():
    sources = setting_sources(
        {"MOMENTUM_PROVIDER": "synthetic", "MOMENTUM_COST_BPS": "3"}, {"cost_bps": 7, "broker": None}
    )
    assert sources["cost_bps"] == "flag/--set"
    assert sources["provider"] == "environment MOMENTUM_PROVIDER"
    assert sources["broker"] == "default" and sources["lookback"] == "default"


def test_misspelt_names_find_the_nearest_settings():
    assert closest_settings("lookbak")[0] == "lookback"
    assert closest_settings("STORE_ULR")[0] == "store_url"
    assert closest_settings("zzzzzz") == []
    assert unknown_settings(["lookback", "lookbak"]) == ["lookbak"]


def test_unknown_environment_skips_settings_and_the_tools_own_variables():
    environ = {
        "MOMENTUM_LOOKBACK": "5",
        "MOMENTUM_DEBUG": "1",
        "MOMENTUM_HOME": "/x",
        "MOMENTUM_LOOKBAK": "5",
    }
    assert unknown_environment(environ) == ["MOMENTUM_LOOKBAK"]


@pytest.mark.parametrize("text", ["30/11/2022", "2022-11-31", "20221130", "2022-11-30T10:00", "Nov 30 2022"])
def test_dates_are_yyyy_mm_dd_only(text):
    with pytest.raises(InvalidAsOf, match="is not a date written YYYY-MM-DD, --end"):
        parse_day(text, "--end")


def test_a_date_written_yyyy_mm_dd_parses():
    assert parse_day(" 2022-11-30 ") == pd.Timestamp("2022-11-30")


def test_an_as_of_needs_its_history_inside_the_calendar():
    earliest = nyse_sessions("1990-01-02", "1992-01-02")[272]
    assert checked_as_of(f"{earliest:%Y-%m-%d}", LAST, history=273) == earliest
    with pytest.raises(InvalidAsOf) as refused:
        checked_as_of("1990-06-01", LAST, history=273)
    assert "too little history" in str(refused.value)
    assert f"the earliest possible as_of is {earliest:%Y-%m-%d}" in str(refused.value)
    assert checked_as_of("1990-06-01", LAST) == pd.Timestamp("1990-06-01")  # no history asked: any session


def test_the_kill_switch_refusal_names_which_switch_and_the_release():
    class Store:
        url = "s"

        def marker_exists(self, name: str) -> bool:
            return name == "KILL_SWITCH"

    with pytest.raises(GuardError, match="no order sent, the kill_switch setting .*set kill_switch to false"):
        KillSwitch(True).check()
    with pytest.raises(
        GuardError, match="no order sent, the KILL_SWITCH object at s/KILL_SWITCH .delete s/KILL"
    ):
        KillSwitch(False, Store()).check()


def test_eligibility_says_how_many_and_why_not():
    scores = pd.DataFrame(
        {
            "eligible": [True, True, False, False, False],
            "reason": ["", "", "too little history", "too little history", "no close at as_of"],
        }
    )
    assert eligibility_line(scores) == "2 of 5 symbols eligible (2 too little history, 1 no close at as_of)"
    assert eligibility_line(scores.assign(eligible=True)) == "5 of 5 symbols eligible"


def test_warnings_are_listed_with_their_messages():
    table = pd.DataFrame(
        {
            "check": ["sudden_move", "sudden_move", "schema"],
            "severity": ["warning", "warning", "error"],
            "status": ["failed", "failed", "passed"],
            "symbol": ["", "AAPL", ""],
            "message": ["1 symbol(s), first AAPL", "AAPL -51.8 %", ""],
        }
    )
    assert warning_lines(table) == ["  [sudden_move] 1 symbol(s), first AAPL"]


def test_a_stage_line_per_finished_task_in_the_summarys_words(capsys):
    from momentum_cli.progress import StageLines

    lines = StageLines()
    for task, message in (
        ("validate", "Finished in state Completed()"),
        ("score", "Finished in state Cached(type=COMPLETED)"),
        ("execute", "Finished in state Failed('Task run encountered an exception')"),
        ("execute", "Created task run 'execute-1'"),
        ("summarize", "Finished in state Completed()"),
    ):
        record = logging.LogRecord("prefect.task_runs", logging.INFO, "", 0, message, None, None)
        record.task_name = task
        lines.emit(record)
    shown = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert shown == ["validation: done", "ranking: reused (inputs unchanged)", "execution: failed"]
