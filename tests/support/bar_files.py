"""The user's own bars as the ``files`` provider reads them, made from the embedded data: the tiers'
tests of that provider share them."""

from __future__ import annotations

import fsspec
import pandas as pd

from momentum.providers.embedded import EmbeddedProvider

AS_OF = "2022-11-30"


def embedded_as_files(url: str) -> None:
    """The embedded bars up to AS_OF, one file per symbol (csv and parquet, nested), plus SPY = the index."""
    provider = EmbeddedProvider()
    bars = provider.bars(None, pd.Timestamp(AS_OF))
    level = provider.benchmark(None, pd.Timestamp(AS_OF))
    spy = pd.DataFrame({"date": level.index, "symbol": "SPY", "adj_close": level.to_numpy()})
    fs, root = fsspec.core.url_to_fs(url)
    fs.makedirs(f"{root}/csv", exist_ok=True)
    fs.makedirs(f"{root}/parquet", exist_ok=True)
    for i, (symbol, rows) in enumerate(pd.concat([bars, spy]).groupby("symbol")):
        if i % 2:
            with fs.open(f"{root}/parquet/{symbol}.parquet", "wb") as handle:
                rows.to_parquet(handle, index=False)
        else:
            fs.pipe_file(
                f"{root}/csv/{symbol}.csv",
                rows.assign(date=rows["date"].dt.strftime("%Y-%m-%d")).to_csv(index=False).encode(),
            )
    fs.pipe_file(f"{root}/README.txt", b"not bars: ignored")
