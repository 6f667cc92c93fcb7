"""Validation gate for daily bars: a great-expectations (GX 1.x) suite that can block trading.

``validate_bars`` builds the suite in code, in a fresh ephemeral GX context per call (a context is
never shared across calls or threads), and runs it in three stages:

1. **structure** on the bars as given: required columns, dtypes, at least one row. A failure here
   stops validation (value checks on strings or a missing column mean nothing).
2. **rows** on the bars sorted by (symbol, date) plus precomputed columns (previous date in input
   order, session position, min of the raw prices, max/min of open and close): nulls, prices,
   volume, OHLC, uniqueness, order, calendar, future dates, freshness, symbol count, history.
3. **symbols** on a small per-symbol summary computed with numpy (missing sessions, stale runs,
   classified one-day moves, last bar): GX applies the thresholds to 1 row per symbol instead of
   scanning every bar again, which keeps 500 symbols x 273 sessions well under a second.

Checks (``level``: *dataset* failures set ``passed=False``; *symbol* errors quarantine the symbol;
``severity`` *warning* never blocks or quarantines):

=========================  =======  ========  ==================================================
check                      level    severity  rule (GX expectation on the frame of its stage)
=========================  =======  ========  ==================================================
schema                     dataset  error     date, symbol, adj_close exist (ExpectColumnToExist)
not_empty                  dataset  error     at least one row (ExpectTableRowCountToBeBetween)
dtypes                     dataset  error     date datetime64 tz-naive, symbol str, prices and
                                              volume numeric (ExpectColumnValuesToBeInTypeList)
date_not_null              dataset  error     no NaT date
symbol_not_null            dataset  error     no null symbol
unique_date_symbol         dataset  error     (date, symbol) unique (ExpectCompoundColumnsToBeUnique)
sorted                     dataset  error     dates increase within each symbol in input order
                                              (ExpectColumnPairValuesAToBeGreaterThanB vs the
                                              previous row of the symbol): consumers rely on it
calendar                   dataset  error     every date <= as_of is one of ``sessions`` (no
                                              weekend/holiday/intraday timestamps, none before
                                              ``sessions[0]``)
future_date                dataset  error     no date after as_of
freshness                  dataset  error     last session in the data == as_of == sessions[-1]
enough_symbols             dataset  error     >= min_symbols distinct symbols
enough_history             dataset  error     >= min_history distinct sessions overall (short
                                              symbols are not an error: they are ineligible later)
quarantine_limit           dataset  error     quarantined / symbols <= max_quarantine_fraction
price_not_null             symbol   error     adj_close not NaN
price_positive             symbol   error     adj_close > 0 and open/high/low/close > 0
volume_nonnegative         symbol   error     volume >= 0 (when the column exists)
ohlc_consistency           symbol   error     high >= max(open, close), low <= min(open, close)
missing_session            symbol   error     no session missing between the symbol's first and
                                              last bar
stale_run                  symbol   error     no run of more than max_stale_sessions bars with an
                                              identical adj_close that reaches into the last
                                              ``recent_window`` sessions
bad_tick                   symbol   error     a one-day move that reverts the next session (recent)
split_adjustment           symbol   error     adj_close jumps at a split ratio (recent): with raw
                                              close, together with it (adjustment missing) or
                                              without it (adjustment factor misdated); without raw
                                              close, a non-reverting move within 1% of a split
                                              ratio (suspected unadjusted split)
raw_price_not_null         symbol   warning   open/high/low/close not NaN (signals use adj_close)
stale_run_history          symbol   warning   stale_run, ending before the recent window
bad_tick_history           symbol   warning   bad_tick, before the recent window
split_adjustment_history   symbol   warning   split_adjustment, before the recent window
sudden_move                symbol   warning   a large move that is not a bad tick nor split-like:
                                              a real crash or jump must not quarantine a stock
corporate_action           symbol   warning   raw close jumps but adj_close does not (adjusted
                                              correctly; informational)
symbol_freshness           symbol   warning   the symbol has no bar on as_of (delisted or late)
=========================  =======  ========  ==================================================

Judgement calls:

* A *move* is a one-day log change of adj_close beyond ``log1p(max_daily_move)`` in either
  direction (+50 % up or -33 % down by default, symmetric in log terms), or within 1 % of a split
  ratio (2, 3, 4, 5, 10, 3/2 and their inverses). It *reverts* when the next bar undoes at least
  75 % of it (in log terms); a reverting move is a bad tick. A non-reverting move at a split ratio
  with no raw close to explain it is treated as an **error** (suspected unadjusted split): a missed
  split turns a stock's momentum into noise (a missed reverse split makes it a top "winner"), while
  a genuine crash of exactly -50 % +-1 % is rare and quarantining one symbol for one run is cheap.
* Time-series heuristics (stale_run, bad_tick, split_adjustment) quarantine only when the offending
  bar lies within the last ``recent_window`` sessions (253 by default, the 12-month lookback): an
  old defect cannot change today's score, so it is reported as a ``*_history`` warning instead.
  Unambiguous value defects (NaN or non-positive price, OHLC, volume, missing session) quarantine
  whatever their date: they are wrong data that should be repaired at the source.
* A symbol-level check that *raises* cannot name its symbols, so it blocks the run (fail closed);
  a raising warning check is reported with status ``error`` and does not block.

The embedded 20-stock S&P 500 sample (1990-01-02..2022-12-28) passes with no quarantine: RRC's 1990-92
stale runs (up to 69 bars) and its 1990-04-10 -66.7 % (1/3) drop are ``*_history`` warnings, and 7
large real moves (e.g. AAPL -51.8 % on 2000-09-29) are ``sudden_move`` warnings. With
``recent_window`` covering the whole history RRC is quarantined (stale_run, split_adjustment), 1 of 20.

``table`` has one summary row per check (``symbol == ''``; ``date`` = first offending session,
``failures`` = total) followed by one row per (check, symbol) finding (rows without a symbol are
named ``<null>``); ``level`` and ``severity`` are the check's, so a dataset check's findings still
name their symbols.
:func:`quarantined_symbols` recovers ``quarantined`` from a stored table.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CHECKS", "CheckInfo", "ValidationResult", "quarantined_symbols", "render_html", "validate_bars"]

REQUIRED = ("date", "symbol", "adj_close")
RAW_PRICES = ("open", "high", "low", "close")
NUMERIC = ("adj_close",) + RAW_PRICES + ("volume",)
TABLE_COLUMNS = ("check", "level", "severity", "status", "symbol", "date", "failures", "message")

_DATE_TYPES = ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]
_NUMBER_TYPES = ["float64", "float32", "float16", "int64", "int32", "int16", "int8",
                 "uint64", "uint32", "uint16", "uint8", "float", "int"]
# Split factors a missed adjustment would leave in a series: k-for-1 splits divide the price by k,
# 1-for-k reverse splits multiply it by k.
_SPLIT_FACTORS = {2.0: "2-for-1", 3.0: "3-for-1", 4.0: "4-for-1", 5.0: "5-for-1", 10.0: "10-for-1", 1.5: "3-for-2"}
_MAX_FLOAT = float(np.finfo("float64").max)  # upper bound that only +inf exceeds
NULL_SYMBOL = "<null>"  # how findings name rows whose symbol is null (never quarantined)
_SPLIT_TOLERANCE = math.log(1.01)  # "within ~1 %" of the ratio, in log terms
_REVERT_FRACTION = 0.25  # a move reverts when what is left after the next bar is <= 25 % of it


@dataclass(frozen=True)
class CheckInfo:
    level: str  # 'dataset' | 'symbol'
    severity: str  # 'error' | 'warning'
    description: str


CHECKS: dict[str, CheckInfo] = {
    "schema": CheckInfo("dataset", "error", "required columns date, symbol, adj_close exist"),
    "not_empty": CheckInfo("dataset", "error", "at least one row"),
    "dtypes": CheckInfo("dataset", "error", "date tz-naive datetime64, symbol str, prices/volume numeric"),
    "date_not_null": CheckInfo("dataset", "error", "no null date"),
    "symbol_not_null": CheckInfo("dataset", "error", "no null symbol"),
    "unique_date_symbol": CheckInfo("dataset", "error", "one row per (date, symbol)"),
    "sorted": CheckInfo("dataset", "error", "rows in date order within each symbol"),
    "calendar": CheckInfo("dataset", "error", "dates are exchange sessions"),
    "future_date": CheckInfo("dataset", "error", "no date after as_of"),
    "freshness": CheckInfo("dataset", "error", "last session in the data is as_of"),
    "enough_symbols": CheckInfo("dataset", "error", "at least min_symbols symbols"),
    "enough_history": CheckInfo("dataset", "error", "at least min_history sessions"),
    "price_not_null": CheckInfo("symbol", "error", "adj_close not NaN"),
    "price_positive": CheckInfo("symbol", "error", "prices > 0"),
    "volume_nonnegative": CheckInfo("symbol", "error", "volume >= 0"),
    "ohlc_consistency": CheckInfo("symbol", "error", "low <= open, close <= high"),
    "raw_price_not_null": CheckInfo("symbol", "warning", "open/high/low/close not NaN"),
    "missing_session": CheckInfo("symbol", "error", "no session missing inside the symbol's range"),
    "stale_run": CheckInfo("symbol", "error", "no recent run of unchanged adj_close over max_stale_sessions"),
    "stale_run_history": CheckInfo("symbol", "warning", "stale runs before the recent window"),
    "bad_tick": CheckInfo("symbol", "error", "no recent one-day spike that reverts at once"),
    "bad_tick_history": CheckInfo("symbol", "warning", "bad ticks before the recent window"),
    "split_adjustment": CheckInfo("symbol", "error", "no recent unadjusted split in adj_close"),
    "split_adjustment_history": CheckInfo("symbol", "warning", "split-like jumps before the recent window"),
    "sudden_move": CheckInfo("symbol", "warning", "large one-day moves (real crashes/jumps)"),
    "corporate_action": CheckInfo("symbol", "warning", "raw close jumps that adj_close absorbs"),
    "symbol_freshness": CheckInfo("symbol", "warning", "symbol has a bar on as_of"),
    "quarantine_limit": CheckInfo("dataset", "error", "quarantined fraction within max_quarantine_fraction"),
}


@dataclass(frozen=True)
class ValidationResult:
    passed: bool
    table: pd.DataFrame
    quarantined: tuple[str, ...]
    summary: str


# --------------------------------------------------------------------------------------------- helpers


def _day(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def _pct(log_move: float) -> str:
    return f"{math.expm1(log_move) * 100:+.1f}%"


def _split_name(log_move: float) -> str:
    factor = math.exp(-log_move) if log_move < 0 else math.exp(log_move)
    best = min(_SPLIT_FACTORS, key=lambda k: abs(math.log(k) - math.log(factor)))
    name = _SPLIT_FACTORS[best]
    if log_move > 0:  # the price went up: a reverse split, 1-for-k
        left, right = name.split("-for-")
        name = f"{right}-for-{left}"
    return name


def _split_like(x: np.ndarray) -> np.ndarray:
    logs = np.log(np.array(list(_SPLIT_FACTORS)))
    logs = np.concatenate([logs, -logs])
    with np.errstate(invalid="ignore"):
        dist = np.abs(x[:, None] - logs[None, :]).min(axis=1) if len(x) else np.zeros(0)
    return np.nan_to_num(dist, nan=np.inf) <= _SPLIT_TOLERANCE


def _timestamp(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError("as_of must be a date, not NaT")
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.as_unit("ns")


def _session_index(sessions: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(sessions)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    idx = idx[~idx.isna()].as_unit("ns").unique().sort_values()
    return pd.DatetimeIndex(idx.to_numpy(), name=None)


def _gx():
    import great_expectations as gx  # heavy (~4 s): imported on first validation, not with momentum

    return gx


def _gxe():
    from great_expectations import expectations as gxe

    return gxe


def _new_context():
    gx = _gx()
    context = gx.get_context(mode="ephemeral")  # mode= always: GX_CLOUD_* variables could pick a cloud context
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # pragma: no cover - cosmetic only
        pass
    return context


def _exception_message(result: Any) -> str | None:
    if result is None:
        return "expectation produced no result"
    info = getattr(result, "exception_info", None) or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "exception")
    return None


# --------------------------------------------------------------------------------------------- outcomes


@dataclass
class _Finding:
    symbol: str
    date: pd.Timestamp
    failures: int
    detail: str


@dataclass
class _Outcome:
    status: str = "passed"
    short: list[str] = field(default_factory=list)
    findings: dict[str, _Finding] = field(default_factory=dict)
    failures: int = 0
    date: pd.Timestamp = pd.NaT

    def fail(self, short: str = "", *, failures: int = 1, date: Any = pd.NaT, status: str = "failed") -> None:
        if status == "error" or self.status == "passed":
            self.status = status
        if short:
            self.short.append(short)
        self.failures += failures
        if not pd.isna(date) and (pd.isna(self.date) or date < self.date):
            self.date = pd.Timestamp(date)

    def add(self, symbol: str, date: Any, failures: int, detail: str) -> None:
        date = pd.NaT if date is None or pd.isna(date) else pd.Timestamp(date)
        old = self.findings.get(symbol)
        if old is None:
            self.findings[symbol] = _Finding(symbol, date, int(failures), detail)
            return
        dates = [x for x in (old.date, date) if not pd.isna(x)]
        details = old.detail if detail in old.detail else f"{old.detail}; {detail}"
        self.findings[symbol] = _Finding(symbol, min(dates) if dates else pd.NaT, old.failures + int(failures), details)


@dataclass
class _Spec:
    check: str
    expectation: Any
    locate: Callable[[Any, _Outcome], None]  # fills the outcome of a failed expectation


def _spec_factory(stage: str) -> Callable[..., _Spec]:
    counter = itertools.count()

    def make(check: str, kind: str, locate: Callable[[Any, _Outcome], None], **kwargs: Any) -> _Spec:
        info = CHECKS[check]
        cls = getattr(_gxe(), kind)
        key = f"{stage}:{check}:{next(counter)}"
        expectation = cls(meta={"key": key, "check": check}, severity=info.severity if info.severity == "warning" else "critical",
                          **kwargs)
        return _Spec(check, expectation, locate)

    return make


_RESULT_FORMAT = {"result_format": "COMPLETE", "exclude_unexpected_values": True,
                  "return_unexpected_index_query": False, "partial_unexpected_count": 0}


def _run(context: Any, stage: str, frame: pd.DataFrame, specs: Sequence[_Spec], outcomes: dict[str, _Outcome]) -> None:
    """Validate ``frame`` against the specs in one GX run; fold each result into ``outcomes``."""
    gx = _gx()
    batch = context.data_sources.add_pandas(stage).add_dataframe_asset(stage).add_batch_definition_whole_dataframe(stage)
    suite = context.suites.add(gx.ExpectationSuite(name=stage, expectations=[s.expectation for s in specs]))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=stage, data=batch, suite=suite))
    run = definition.run(batch_parameters={"dataframe": frame}, result_format=_RESULT_FORMAT)
    by_key = {r.expectation_config.meta.get("key"): r for r in run.results}
    for spec in specs:
        outcome = outcomes.setdefault(spec.check, _Outcome())
        result = by_key.get(spec.expectation.meta["key"])
        message = _exception_message(result)
        if message is not None:
            outcome.fail(f"expectation {type(spec.expectation).__name__} raised: {message.splitlines()[0][:200]}",
                         status="error")
        elif not result.success:
            spec.locate(result, outcome)


def _unexpected(result: Any) -> np.ndarray:
    return np.asarray((result.result or {}).get("unexpected_index_list") or [], dtype=np.int64)


def _rows_locator(frame: pd.DataFrame, detail: str, date_col: str = "date") -> Callable[[Any, _Outcome], None]:
    """Findings from a map expectation: offending rows grouped by symbol (count, first date)."""

    def locate(result: Any, outcome: _Outcome) -> None:
        idx = _unexpected(result)
        if not len(idx):
            outcome.fail(detail)
            return
        rows = pd.DataFrame({"symbol": frame["symbol"].to_numpy(dtype=object)[idx],
                             "date": frame[date_col].to_numpy()[idx]})
        rows["symbol"] = rows["symbol"].where(rows["symbol"].notna(), NULL_SYMBOL).astype(str)
        grouped = rows.groupby("symbol", sort=True)["date"].agg(["min", "size"])
        first = grouped["min"].min()
        for symbol, row in grouped.iterrows():
            outcome.add(symbol, row["min"], int(row["size"]), detail)
        top = grouped.sort_values("min").index[0] if grouped["min"].notna().any() else grouped.index[0]
        where = " ".join(x for x in (top, _day(grouped.loc[top, "min"])) if x)
        outcome.fail(f"{detail}: {len(idx)} row(s) in {len(grouped)} symbol(s), first {where}", failures=len(idx),
                     date=first)

    return locate


def _symbols_locator(summary: pd.DataFrame, name: str) -> Callable[[Any, _Outcome], None]:
    """Findings from the per-symbol frame: columns ``{name}_n``, ``{name}_date``, ``{name}_detail``."""

    def locate(result: Any, outcome: _Outcome) -> None:
        idx = _unexpected(result)
        part = summary.iloc[idx]
        for row in part.itertuples(index=False):
            outcome.add(row.symbol, getattr(row, f"{name}_date"), max(int(getattr(row, f"{name}_n")), 1),
                        getattr(row, f"{name}_detail") or "")
        if len(part):
            first = part.sort_values([f"{name}_date", "symbol"]).iloc[0]
            outcome.fail(f"{len(part)} symbol(s), first {first['symbol']} {_day(first[f'{name}_date'])}: "
                         f"{first[f'{name}_detail']}", failures=int(np.maximum(part[f"{name}_n"].to_numpy(), 1).sum()),
                         date=part[f"{name}_date"].min())
        else:
            outcome.fail("failed without naming symbols")

    return locate


# --------------------------------------------------------------------------------------------- stage 1


def _structure_frame(bars: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy GX can type-check: symbol as object (GX 1.24 does not know pandas 3's ``str``
    dtype), nullable/arrow numeric columns as float64 (NA -> NaN), default RangeIndex."""
    frame = bars.copy(deep=False).reset_index(drop=True)
    if "symbol" in frame and frame["symbol"].dtype != object and (
            pd.api.types.is_string_dtype(frame["symbol"]) or isinstance(frame["symbol"].dtype, pd.CategoricalDtype)):
        frame["symbol"] = frame["symbol"].astype(object)
    for col in NUMERIC:
        if col in frame:
            dtype = frame[col].dtype
            if (isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(dtype)
                    and not pd.api.types.is_bool_dtype(dtype)):
                frame[col] = frame[col].to_numpy(dtype="float64", na_value=np.nan)
    return frame


def _coerced_keys(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    if "symbol" in frame:
        sym = frame["symbol"].astype(object)
        symbols = np.where(sym.isna(), NULL_SYMBOL, sym.astype(str)).astype(object)
    else:
        symbols = np.full(n, NULL_SYMBOL, dtype=object)
    dates = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if "date" in frame:
        try:
            parsed = pd.to_datetime(frame["date"], errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_localize(None)
            dates = parsed.to_numpy(dtype="datetime64[ns]")
        except (TypeError, ValueError, AttributeError):
            pass
    return symbols, dates


def _dtype_locator(frame: pd.DataFrame, column: str, expected: str) -> Callable[[Any, _Outcome], None]:
    def locate(result: Any, outcome: _Outcome) -> None:
        col = frame[column]
        idx = _unexpected(result)
        if len(idx):  # object column: GX checked every value
            bad = col.iloc[idx[0]]
            detail = f"{column} holds values that are not {expected} (e.g. {bad!r} of type {type(bad).__name__})"
        else:  # the dtype itself is wrong: every non-null row is affected
            idx = np.flatnonzero(col.notna().to_numpy()) if len(col) else idx
            if not len(idx):
                idx = np.arange(len(col))
            detail = f"{column} has dtype {col.dtype}, expected {expected}"
        symbols, dates = _coerced_keys(frame)
        rows = pd.DataFrame({"symbol": symbols[idx], "date": dates[idx]})
        grouped = rows.groupby("symbol", sort=True)["date"].agg(["min", "size"])
        for symbol, row in grouped.iterrows():
            outcome.add(symbol, row["min"], int(row["size"]), detail)
        first = rows.sort_values("date", na_position="last").iloc[0] if len(rows) else None
        where = f", first {first['symbol']} {_day(first['date'])}" if first is not None else ""
        outcome.fail(f"{detail} ({len(idx)} row(s){where})", failures=max(len(idx), 1),
                     date=grouped["min"].min() if len(grouped) else pd.NaT)

    return locate


def _structure_specs(frame: pd.DataFrame, as_of: pd.Timestamp) -> list[_Spec]:
    make = _spec_factory("structure")

    def fixed(text: str) -> Callable[[Any, _Outcome], None]:
        return lambda result, outcome: outcome.fail(text)

    specs = [make("not_empty", "ExpectTableRowCountToBeBetween", fixed(f"no rows (as_of {_day(as_of)})"), min_value=1)]
    for column in REQUIRED:
        specs.append(make("schema", "ExpectColumnToExist", fixed(f"missing required column {column!r}"), column=column))
    expected = {"date": ("tz-naive datetime64", _DATE_TYPES), "symbol": ("str", ["str"])}
    expected.update({c: ("a float or int", _NUMBER_TYPES) for c in NUMERIC})
    for column, (label, types) in expected.items():
        if column in frame:
            specs.append(make("dtypes", "ExpectColumnValuesToBeInTypeList", _dtype_locator(frame, column, label),
                              column=column, type_list=types))
    return specs


# --------------------------------------------------------------------------------------------- stage 2


@dataclass
class _Prepared:
    rows: pd.DataFrame  # sorted by (symbol, date), RangeIndex, with precomputed columns
    codes: np.ndarray  # symbol code per sorted row (-1: null symbol)
    symbols: np.ndarray  # code -> symbol
    pos: np.ndarray  # session position per sorted row (-1: not a session)
    raw: list[str]  # raw price columns present


def _floats(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _prepare(frame: pd.DataFrame, sessions: pd.DatetimeIndex, as_of: pd.Timestamp) -> _Prepared:
    n = len(frame)
    dates = frame["date"].to_numpy(dtype="datetime64[ns]")
    codes, symbols = pd.factorize(frame["symbol"], sort=True)
    codes = codes.astype(np.int64)
    # previous date of the same symbol in *input* order (for the sort check)
    grouped = np.argsort(codes, kind="stable")
    gcodes = codes[grouped]
    same = np.r_[False, (gcodes[1:] == gcodes[:-1]) & (gcodes[1:] >= 0)]
    prev_in_group = np.r_[np.datetime64("NaT", "ns"), dates[grouped][:-1]]
    prev_in_group[~same] = np.datetime64("NaT")
    prev_input = np.empty(n, dtype="datetime64[ns]")
    prev_input[grouped] = prev_in_group

    order = np.lexsort((dates.view(np.int64), codes))
    d = dates[order]
    pos = sessions.get_indexer(pd.DatetimeIndex(d)) if n else np.zeros(0, dtype=np.int64)
    nat = np.isnat(d)
    session_date = np.where(pos >= 0, d, np.datetime64("NaT"))
    calendar_pos = np.where(nat | (d > as_of.to_datetime64()), np.nan, pos.astype("float64"))

    data: dict[str, Any] = {
        "date": d,
        "symbol": frame["symbol"].to_numpy(dtype=object)[order],
        "adj_close": _floats(frame["adj_close"])[order],
    }
    raw = [c for c in RAW_PRICES if c in frame]
    for c in raw + (["volume"] if "volume" in frame else []):
        data[c] = _floats(frame[c])[order]
    data["_prev_input_date"] = prev_input[order]
    data["_session_date"] = session_date
    data["_calendar_pos"] = calendar_pos
    if raw:
        stack = np.column_stack([data[c] for c in raw])
        # NaN if any raw price is NaN, -inf if any is infinite (so "> 0 and finite" is one bound)
        data["_raw_min"] = np.where(np.isinf(stack).any(axis=1), -np.inf, stack.min(axis=1))
    body = [c for c in ("open", "close") if c in frame]
    if body:
        stack = np.column_stack([data[c] for c in body])
        with np.errstate(invalid="ignore"):
            data["_oc_max"] = np.fmax.reduce(stack, axis=1)
            data["_oc_min"] = np.fmin.reduce(stack, axis=1)
    rows = pd.DataFrame(data)
    return _Prepared(rows, codes[order], np.asarray(symbols, dtype=object), pos, raw)


def _row_specs(p: _Prepared, as_of: pd.Timestamp, sessions: pd.DatetimeIndex, *, min_symbols: int,
               min_history: int) -> list[_Spec]:
    make = _spec_factory("rows")
    rows = p.rows
    loc = lambda detail, date_col="date": _rows_locator(rows, detail, date_col)  # noqa: E731
    specs = [
        make("date_not_null", "ExpectColumnValuesToNotBeNull", loc("date is null"), column="date"),
        make("symbol_not_null", "ExpectColumnValuesToNotBeNull", loc("symbol is null"), column="symbol"),
        make("unique_date_symbol", "ExpectCompoundColumnsToBeUnique", loc("rows share the same (date, symbol)"),
             column_list=["date", "symbol"]),
        make("sorted", "ExpectColumnPairValuesAToBeGreaterThanB",
             loc("row dated before the previous row of the symbol (rows not in date order)"),
             column_A="date", column_B="_prev_input_date", or_equal=True, ignore_row_if="either_value_is_missing"),
        make("calendar", "ExpectColumnValuesToBeBetween", loc("date is not an exchange session (weekend, holiday or time of day)"),
             column="_calendar_pos", min_value=0),
        make("future_date", "ExpectColumnValuesToBeBetween", loc(f"date is after as_of {_day(as_of)}"),
             column="date", max_value=as_of),
        make("price_not_null", "ExpectColumnValuesToNotBeNull", loc("adj_close is NaN"), column="adj_close"),
        make("price_positive", "ExpectColumnValuesToBeBetween", loc("adj_close <= 0 or infinite"),
             column="adj_close", min_value=0, strict_min=True, max_value=_MAX_FLOAT),
    ]
    if p.raw:
        names = "/".join(p.raw)
        specs += [
            make("price_positive", "ExpectColumnValuesToBeBetween", loc(f"a raw price ({names}) <= 0 or infinite"),
                 column="_raw_min", min_value=0, strict_min=True),
            make("raw_price_not_null", "ExpectColumnValuesToNotBeNull", loc(f"a raw price ({names}) is NaN"),
                 column="_raw_min"),
        ]
    if "volume" in rows:
        specs.append(make("volume_nonnegative", "ExpectColumnValuesToBeBetween", loc("volume < 0"), column="volume", min_value=0))
    body = "max(" + ", ".join(c for c in ("open", "close") if c in rows) + ")"
    if "high" in rows and "_oc_max" in rows:
        specs.append(make("ohlc_consistency", "ExpectColumnPairValuesAToBeGreaterThanB", loc(f"high < {body}"),
                          column_A="high", column_B="_oc_max", or_equal=True, ignore_row_if="either_value_is_missing"))
    if "low" in rows and "_oc_min" in rows:
        specs.append(make("ohlc_consistency", "ExpectColumnPairValuesAToBeGreaterThanB", loc(f"low > {body.replace('max', 'min')}"),
                          column_A="_oc_min", column_B="low", or_equal=True, ignore_row_if="either_value_is_missing"))
    if "high" in rows and "low" in rows and "_oc_max" not in rows:
        specs.append(make("ohlc_consistency", "ExpectColumnPairValuesAToBeGreaterThanB", loc("high < low"),
                          column_A="high", column_B="low", or_equal=True, ignore_row_if="either_value_is_missing"))

    last = rows["_session_date"].max()

    def freshness(result: Any, outcome: _Outcome) -> None:
        outcome.fail(f"last session {_day(last) or 'none'}, expected {_day(as_of)}", date=as_of)

    def history(result: Any, outcome: _Outcome) -> None:
        got = (result.result or {}).get("observed_value")
        span = f" ({_day(rows['_session_date'].min())}..{_day(last)})" if not pd.isna(last) else ""
        outcome.fail(f"{got} session(s) in the data{span}, need at least {min_history}")

    def symbols(result: Any, outcome: _Outcome) -> None:
        present = sorted({str(s) for s in rows["symbol"].dropna().unique()})
        for s in present:
            outcome.add(s, rows.loc[rows["symbol"] == s, "date"].max(), 1, f"only {len(present)} symbol(s) in the data")
        shown = ", ".join(present[:10]) + (" ..." if len(present) > 10 else "")
        outcome.fail(f"{len(present)} symbol(s) ({shown}), need at least {min_symbols}", date=as_of)

    specs += [
        make("freshness", "ExpectColumnMaxToBeBetween", freshness, column="_session_date", min_value=as_of, max_value=as_of),
        make("enough_symbols", "ExpectColumnUniqueValueCountToBeBetween", symbols, column="symbol", min_value=min_symbols),
        make("enough_history", "ExpectColumnUniqueValueCountToBeBetween", history, column="_session_date",
             min_value=min_history),
    ]
    return specs


# --------------------------------------------------------------------------------------------- stage 3


def _first_per_symbol(n_symbols: int, codes: np.ndarray, dates: np.ndarray, texts: Callable[[np.ndarray], list[str]],
                      name: str, out: dict[str, Any], counts: np.ndarray | None = None) -> None:
    """Per-symbol count, first date and detail of events (events sorted by code, then date)."""
    n = np.zeros(n_symbols, dtype=np.int64)
    first_date = np.full(n_symbols, np.datetime64("NaT"), dtype="datetime64[ns]")
    detail = np.full(n_symbols, "", dtype=object)
    if len(codes):
        n[:] = np.bincount(codes, weights=counts, minlength=n_symbols).astype(np.int64) if counts is not None \
            else np.bincount(codes, minlength=n_symbols)
        uniq, first = np.unique(codes, return_index=True)
        first_date[uniq] = dates[first]
        detail[uniq] = texts(first)
        total = np.bincount(codes, minlength=n_symbols)
        many = uniq[total[uniq] > 1]
        for c in many:
            detail[c] += f" (+{total[c] - 1} more)"
    out[f"{name}_n"], out[f"{name}_date"], out[f"{name}_detail"] = n, first_date, detail


def _symbol_summary(p: _Prepared, sessions: pd.DatetimeIndex, as_of: pd.Timestamp, *, max_stale_sessions: int,
                    max_daily_move: float, recent_window: int) -> pd.DataFrame:
    rows, codes, pos = p.rows, p.codes, p.pos
    n_sym = len(p.symbols)
    d = rows["date"].to_numpy()
    price = rows["adj_close"].to_numpy()
    valid = codes >= 0
    same = np.r_[False, (codes[1:] == codes[:-1]) & valid[1:]]
    window_start = sessions[max(0, len(sessions) - recent_window)] if len(sessions) else as_of
    recent_from = window_start.to_datetime64()
    out: dict[str, Any] = {"symbol": p.symbols.astype(str)}

    if n_sym:
        vc = codes[valid]
        out["first_date"] = pd.Series(d[valid]).groupby(vc).min().reindex(range(n_sym)).to_numpy(dtype="datetime64[ns]")
        out["last_date"] = pd.Series(d[valid]).groupby(vc).max().reindex(range(n_sym)).to_numpy(dtype="datetime64[ns]")
    else:
        out["first_date"] = out["last_date"] = np.zeros(0, dtype="datetime64[ns]")

    # --- missing sessions inside each symbol's [first, last] bar
    ok = np.flatnonzero((pos >= 0) & valid)
    pc, cc = pos[ok], codes[ok]
    gap = np.zeros(len(ok), dtype=np.int64)
    if len(ok) > 1:
        gap[1:] = np.where(cc[1:] == cc[:-1], pc[1:] - pc[:-1] - 1, 0)
    hole = np.flatnonzero(gap > 0)
    h_codes, h_first = cc[hole], sessions[pc[hole] - gap[hole]].to_numpy() if len(hole) else np.zeros(0, "datetime64[ns]")

    def missing_text(idx: np.ndarray) -> list[str]:
        return [f"{gap[hole[i]]} session(s) missing from {_day(h_first[i])} (next bar {_day(d[ok[hole[i]]])})" for i in idx]

    _first_per_symbol(n_sym, h_codes, h_first, missing_text, "missing", out, counts=gap[hole])

    # --- stale runs: maximal runs of bars with an identical adj_close
    with np.errstate(invalid="ignore"):
        eq = same & (price == np.r_[np.nan, price[:-1]])
    starts = np.flatnonzero(~eq)
    lengths = np.diff(np.r_[starts, len(price)])
    ends = starts + lengths - 1
    long = lengths > max_stale_sessions
    recent = d[ends] >= recent_from if len(ends) else np.zeros(0, dtype=bool)
    for name, mask in (("stale", recent), ("stale_hist", ~recent)):
        # GX applies the threshold to the longest run per symbol; details name the first long run
        sel = np.flatnonzero(mask & valid[starts]) if len(starts) else np.zeros(0, dtype=np.int64)
        longest = np.zeros(n_sym, dtype=np.int64)
        if len(sel):
            np.maximum.at(longest, codes[starts[sel]], lengths[sel])
        out[f"{name}_len"] = longest
        bad = sel[long[sel]]

        def stale_text(idx: np.ndarray, bad: np.ndarray = bad) -> list[str]:
            return [f"adj_close unchanged at {price[starts[bad[i]]]:g} for {lengths[bad[i]]} sessions "
                    f"({_day(d[starts[bad[i]]])}..{_day(d[ends[bad[i]]])})" for i in idx]

        _first_per_symbol(n_sym, codes[starts[bad]], d[starts[bad]], stale_text, name, out)

    # --- one-day moves
    thr = math.log1p(max_daily_move)
    prev = np.r_[np.nan, price[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (price > 0) & np.isfinite(price)
        r = np.where(same & usable & np.r_[False, usable[:-1]], np.log(price / prev), np.nan)
    r_next = np.r_[r[1:], np.nan]
    split_like = _split_like(r)
    with np.errstate(invalid="ignore"):
        candidate = (np.abs(r) > thr) | split_like
        reverts = candidate & (np.sign(r_next) == -np.sign(r)) & (np.abs(r + r_next) <= _REVERT_FRACTION * np.abs(r))
    candidate &= ~np.r_[False, reverts[:-1]]  # the leg that undoes a bad tick is part of it
    moving = candidate & ~reverts
    has_raw = "close" in rows
    if has_raw:
        close = rows["close"].to_numpy()
        cprev = np.r_[np.nan, close[:-1]]
        with np.errstate(invalid="ignore", divide="ignore"):
            usable_c = (close > 0) & np.isfinite(close)
            rc = np.where(same & usable_c & np.r_[False, usable_c[:-1]], np.log(close / cprev), np.nan)
            raw_known = ~np.isnan(rc)
            together = np.abs(r - rc) <= _SPLIT_TOLERANCE
            factor_jump = np.abs(r - rc) > thr
            corporate = raw_known & ((np.abs(rc) > thr) | _split_like(rc)) & ~candidate & ~np.r_[False, reverts[:-1]]
    else:
        rc = np.full(len(r), np.nan)
        raw_known = np.zeros(len(r), dtype=bool)
        together = factor_jump = corporate = raw_known
    split_err = moving & ((raw_known & together & split_like) | (raw_known & ~together & factor_jump)
                          | (~raw_known & split_like))
    sudden = moving & ~split_err
    in_window = d >= recent_from

    def move_text(kind: str, where: np.ndarray) -> Callable[[np.ndarray], list[str]]:
        def texts(idx: np.ndarray) -> list[str]:
            out_: list[str] = []
            for i in idx:
                j = where[i]
                if kind == "bad_tick":
                    out_.append(f"adj_close {_pct(r[j])} then {_pct(r_next[j])} the next session (reverted: bad tick)")
                elif kind == "split":
                    if raw_known[j] and together[j]:
                        out_.append(f"adj_close and close both {_pct(r[j])} ({_split_name(r[j])} ratio): split not adjusted")
                    elif raw_known[j]:
                        out_.append(f"adj_close {_pct(r[j])} while close {_pct(rc[j])}: adjustment factor jumped")
                    else:
                        out_.append(f"adj_close {_pct(r[j])} ({_split_name(r[j])} ratio within 1%), not reverted: "
                                    f"suspected unadjusted split")
                elif kind == "sudden":
                    extra = f", close {_pct(rc[j])}" if raw_known[j] else ""
                    out_.append(f"adj_close {_pct(r[j])} in one session{extra}, not reverted")
                else:
                    out_.append(f"close {_pct(rc[j])} while adj_close {_pct(r[j])}: corporate action adjusted")
            return out_
        return texts

    events = {
        "bad_tick": np.flatnonzero(reverts & in_window), "bad_tick_hist": np.flatnonzero(reverts & ~in_window),
        "split": np.flatnonzero(split_err & in_window), "split_hist": np.flatnonzero(split_err & ~in_window),
        "sudden": np.flatnonzero(sudden), "corporate": np.flatnonzero(corporate),
    }
    for name, idx in events.items():
        _first_per_symbol(n_sym, codes[idx], d[idx], move_text(name.removesuffix("_hist"), idx), name, out)

    # --- last bar per symbol
    out["fresh_n"] = (out["last_date"] < as_of.to_datetime64()).astype(np.int64) if n_sym else np.zeros(0, np.int64)
    out["fresh_date"] = out["last_date"]
    out["fresh_detail"] = np.array([f"last bar {_day(x)}, no bar on as_of {_day(as_of)}" for x in out["last_date"]],
                                   dtype=object)
    return pd.DataFrame(out)


def _symbol_specs(summary: pd.DataFrame, as_of: pd.Timestamp, max_stale_sessions: int) -> list[_Spec]:
    make = _spec_factory("symbols")
    loc = lambda name: _symbols_locator(summary, name)  # noqa: E731
    return [
        make("missing_session", "ExpectColumnValuesToBeBetween", loc("missing"), column="missing_n", max_value=0),
        make("stale_run", "ExpectColumnValuesToBeBetween", loc("stale"), column="stale_len", max_value=max_stale_sessions),
        make("stale_run_history", "ExpectColumnValuesToBeBetween", loc("stale_hist"), column="stale_hist_len",
             max_value=max_stale_sessions),
        make("bad_tick", "ExpectColumnValuesToBeBetween", loc("bad_tick"), column="bad_tick_n", max_value=0),
        make("bad_tick_history", "ExpectColumnValuesToBeBetween", loc("bad_tick_hist"), column="bad_tick_hist_n", max_value=0),
        make("split_adjustment", "ExpectColumnValuesToBeBetween", loc("split"), column="split_n", max_value=0),
        make("split_adjustment_history", "ExpectColumnValuesToBeBetween", loc("split_hist"), column="split_hist_n",
             max_value=0),
        make("sudden_move", "ExpectColumnValuesToBeBetween", loc("sudden"), column="sudden_n", max_value=0),
        make("corporate_action", "ExpectColumnValuesToBeBetween", loc("corporate"), column="corporate_n", max_value=0),
        make("symbol_freshness", "ExpectColumnValuesToBeBetween", loc("fresh"), column="last_date", min_value=as_of),
    ]


# --------------------------------------------------------------------------------------------- assembly


def _table(outcomes: dict[str, _Outcome]) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    for check, o in outcomes.items():
        info = CHECKS[check]
        text = "; ".join(dict.fromkeys(o.short)) if o.short else (
            f"passed ({info.description})" if o.status == "passed" else o.status)
        records.append({"check": check, "level": info.level, "severity": info.severity, "status": o.status,
                        "symbol": "", "date": o.date, "failures": int(o.failures), "message": f"{check}: {text}"})
        for symbol in sorted(o.findings):
            f = o.findings[symbol]
            where = " ".join(x for x in (f.symbol, _day(f.date)) if x)
            records.append({"check": check, "level": info.level, "severity": info.severity, "status": "failed",
                            "symbol": f.symbol, "date": f.date, "failures": f.failures,
                            "message": f"{check}: {where}: {f.detail}" if where else f"{check}: {f.detail}"})
    table = pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))
    table["date"] = pd.to_datetime(table["date"]).astype("datetime64[ns]")
    table["failures"] = table["failures"].astype("int64")
    for col in ("check", "level", "severity", "status", "symbol", "message"):
        table[col] = table[col].astype(str)
    return table


def quarantined_symbols(table: pd.DataFrame) -> list[str]:
    """The symbols a (possibly stored) validation table quarantines: failed symbol-level errors."""
    rows = table[(table["level"] == "symbol") & (table["severity"] == "error") & (table["status"] == "failed")
                 & (table["symbol"] != "") & (table["symbol"] != NULL_SYMBOL)]
    return sorted(set(rows["symbol"].astype(str)))


def _blocking(outcomes: dict[str, _Outcome]) -> list[str]:
    out = []
    for check, o in outcomes.items():
        info = CHECKS[check]
        if o.status == "passed" or info.severity != "error":
            continue
        if info.level == "dataset" or o.status == "error":
            out.append(check)
    return out


def _result(outcomes: dict[str, _Outcome], *, n_symbols: int, n_sessions: int) -> ValidationResult:
    table = _table(outcomes)
    blocking = _blocking(outcomes)
    quarantined = tuple(quarantined_symbols(table))
    if blocking:
        parts = [f"{c} ({'; '.join(dict.fromkeys(outcomes[c].short)) or outcomes[c].status})" for c in blocking]
        summary = "failed: " + "; ".join(parts[:4]) + (f"; +{len(parts) - 4} more" if len(parts) > 4 else "")
        return ValidationResult(False, table, quarantined, summary)
    reasons = {s: [c for c, o in outcomes.items() if s in o.findings and CHECKS[c].level == "symbol"
                   and CHECKS[c].severity == "error"] for s in quarantined}
    why = ", ".join(f"{s}: {'+'.join(reasons[s])}" for s in quarantined)
    warnings = sum(1 for c, o in outcomes.items() if CHECKS[c].severity == "warning" and o.status != "passed")
    summary = (f"passed: {n_symbols} symbols, {n_sessions} sessions, {len(quarantined)} quarantined"
               + (f" ({why})" if quarantined else "") + (f", {warnings} warning check(s)" if warnings else ""))
    return ValidationResult(True, table, quarantined, summary)


def validate_bars(bars: pd.DataFrame, *, as_of: pd.Timestamp, sessions: pd.DatetimeIndex, min_symbols: int = 2,
                  min_history: int = 253, max_stale_sessions: int = 20, max_quarantine_fraction: float = 0.2,
                  max_daily_move: float = 0.5, recent_window: int = 253) -> ValidationResult:
    """Validate long-format bars for trading at ``as_of`` (see the module docstring for the checks).

    ``sessions`` are the exchange sessions expected from the first bar date through ``as_of``;
    ``recent_window`` is how many of the last sessions the time-series heuristics may quarantine in.
    """
    if not isinstance(bars, pd.DataFrame):
        raise TypeError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    as_of = _timestamp(as_of)
    sessions = _session_index(sessions)
    context = _new_context()
    outcomes: dict[str, _Outcome] = {}

    frame = _structure_frame(bars)
    _run(context, "structure", frame, _structure_specs(frame, as_of), outcomes)
    if _blocking(outcomes):
        n_sym = int(frame["symbol"].nunique()) if "symbol" in frame else 0
        return _result(outcomes, n_symbols=n_sym, n_sessions=0)

    p = _prepare(frame, sessions, as_of)
    _run(context, "rows", p.rows, _row_specs(p, as_of, sessions, min_symbols=min_symbols, min_history=min_history),
         outcomes)
    if not len(sessions) or sessions[-1] != as_of:
        expected = _day(sessions[-1]) if len(sessions) else "none"
        outcomes["freshness"].fail(f"as_of {_day(as_of)} is not the last expected session (sessions end {expected})",
                                   date=as_of)

    summary = _symbol_summary(p, sessions, as_of, max_stale_sessions=max_stale_sessions,
                              max_daily_move=max_daily_move, recent_window=recent_window)
    _run(context, "symbols", summary, _symbol_specs(summary, as_of, max_stale_sessions), outcomes)

    n_symbols = len(p.symbols)
    quarantined = {s for c, o in outcomes.items() if CHECKS[c].level == "symbol" and CHECKS[c].severity == "error"
                   for s in o.findings if s and s != NULL_SYMBOL}
    limit = _Outcome()
    text = f"{len(quarantined)} of {n_symbols} symbols quarantined"
    if n_symbols and len(quarantined) / n_symbols > max_quarantine_fraction:
        limit.fail(f"{text} ({len(quarantined) / n_symbols:.0%} > {max_quarantine_fraction:.0%}): "
                   + ", ".join(sorted(quarantined)[:20]), failures=len(quarantined))
    else:
        limit.short.append(f"passed, {text} (limit {max_quarantine_fraction:.0%})")
    outcomes["quarantine_limit"] = limit
    n_sessions = int(p.rows["_session_date"].nunique())
    return _result(outcomes, n_symbols=n_symbols, n_sessions=n_sessions)


# --------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:0 0 .5rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;font-weight:600;color:#fff}
.pass{background:#1a7f37}.fail{background:#cf222e}
.summary{font-size:1rem;margin:.6rem 0}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.failed.error td{background:#ffebe9}tr.failed.warning td{background:#fff8c5}
tr.error.error td,tr.error.warning td{background:#ffd8d3}td.num{text-align:right}
.muted{color:#656d76}
"""


def render_html(result: ValidationResult, *, title: str) -> str:
    """A self-contained HTML report (inline CSS, no scripts, no external resources)."""
    esc = html.escape
    t = result.table

    def rows(frame: pd.DataFrame, with_symbol: bool) -> str:
        out = []
        for r in frame.itertuples(index=False):
            cells = [esc(r.check), esc(r.level), esc(r.severity), esc(r.status)]
            if with_symbol:
                cells.append(esc(r.symbol))
            cells += [esc(_day(r.date)), f'<td class="num">{int(r.failures)}</td>', esc(r.message)]
            tds = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells)
            out.append(f'<tr class="{esc(r.status)} {esc(r.severity)}">{tds}</tr>')
        return "\n".join(out)

    head = "<tr><th>check</th><th>level</th><th>severity</th><th>status</th>{}<th>date</th><th>failures</th><th>message</th></tr>"
    checks = t[t["symbol"] == ""]
    findings = t[t["symbol"] != ""].sort_values(["severity", "check", "symbol"])
    badge = '<span class="badge pass">PASSED</span>' if result.passed else '<span class="badge fail">FAILED</span>'
    quarantined = ", ".join(result.quarantined) or "none"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
<div>{badge}</div>
<p class="summary">{esc(result.summary)}</p>
<p>Quarantined symbols: <strong>{esc(quarantined)}</strong></p>
<h2>Checks ({len(checks)})</h2>
<table>{head.format("")}
{rows(checks, False)}
</table>
<h2>Findings ({len(findings)})</h2>
{'<p class="muted">none</p>' if findings.empty else f'<table>{head.format("<th>symbol</th>")}{rows(findings, True)}</table>'}
<p class="muted">Dataset-level failures stop the run; symbol-level errors quarantine the symbol; warnings never block.</p>
</body></html>
"""
