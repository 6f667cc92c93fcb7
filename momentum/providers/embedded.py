"""The embedded offline default: real daily adjusted closes of 20 S&P 500 stocks, 1990-01-02..2022-12-28.

Vendored from the skfolio 1.12.2 wheel (BSD-3, see ``momentum/data/LICENSE-skfolio.txt``). Closes are
split- and dividend-adjusted, three decimals; the benchmark is the S&P 500 index level.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import pandas as pd

from momentum.providers import only_symbols, wide_to_bars


@lru_cache(maxsize=2)
def _read(name: str) -> pd.DataFrame:
    with resources.files("momentum.data").joinpath(name).open("rb") as handle:
        frame = pd.read_csv(handle, index_col="Date", parse_dates=["Date"], compression="gzip")
    frame.index = frame.index.astype("datetime64[ns]")
    return frame


def _window(
    frame: pd.DataFrame | pd.Series, start: pd.Timestamp | None, end: pd.Timestamp
) -> pd.DataFrame | pd.Series:
    return frame.loc[(pd.Timestamp(start) if start is not None else frame.index[0]) : pd.Timestamp(end)]


class EmbeddedProvider:
    """Offline bars from package data; no network, no key."""

    name = "embedded"
    needs_symbols = False

    def lineage(self) -> dict[str, object]:
        return {}

    def bars(
        self, start: pd.Timestamp | None, end: pd.Timestamp, symbols: Sequence[str] | None = None
    ) -> pd.DataFrame:
        return only_symbols(wide_to_bars(_window(_read("sp500_dataset.csv.gz"), start, end)), symbols)

    def benchmark(self, start: pd.Timestamp | None, end: pd.Timestamp) -> pd.Series:
        return _window(_read("sp500_index.csv.gz")["SP500"], start, end).rename("benchmark")

    def last_session(self) -> pd.Timestamp:
        return pd.Timestamp(_read("sp500_dataset.csv.gz").index[-1])
