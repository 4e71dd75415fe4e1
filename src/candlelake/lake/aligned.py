"""One call for a perpetual's backtest inputs: candles, mark price and funding, on one time axis.

    candlelake.read_aligned("s3://bucket", ["BTC_USDT"], "2026-04-01", "2026-04-30")

reads the `ohlcv`, `mark_price` and `funding_rate` datasets of a lake base (picked by their
`data_type` token, plus any other tokens given, e.g. `universe="v7"`) and returns the candle
rows with, per minute:

* `mark_open`, `mark_high`, `mark_low`, `mark_close`: the mark-price candle of the same open
  time (null where the mark-price dataset has none);
* `funding_rate`, `funding_timestamp`, `funding_interval_hours`: the latest settlement whose
  minute is at or before the candle's open time — forward-filled, so the settlement's own
  minute is the first to carry it; `funding_timestamp` is its published time, so rows where
  it falls in the candle's minute are the settlements themselves.

Rows are the candles': a minute without a candle is not invented.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd
import pyarrow as pa

from candlelake.lake.catalog import resolve
from candlelake.lake.reader import TimeLike, read

MARK_COLUMNS = ("open", "high", "low", "close")
FUNDING_COLUMNS = ("funding_rate", "funding_timestamp", "funding_interval_hours")
_MINUTE_MS = 60_000


def read_aligned(
    lake: str,
    symbols: Sequence[str],
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    *,
    market: str = "futures",
    as_: Literal["pandas", "arrow"] = "pandas",
    aws_profile: str | None = None,
    endpoint_url: str | None = None,
    **tokens: str | None,
) -> pd.DataFrame | pa.Table:
    """Candles of `symbols` in `[start, end]` with their mark price and funding (see above)."""

    def kind(data_type: str, since: TimeLike | None, columns: Sequence[str] | None = None) -> pa.Table:
        picked = {**tokens, "data_type": data_type, "market": market}
        location = resolve(lake, aws_profile=aws_profile, endpoint_url=endpoint_url, **picked)
        return read(location, symbols, since, end, columns=columns, as_="arrow")

    candles = kind("ohlcv", start).to_pandas()
    marks = kind("mark_price", start, MARK_COLUMNS)
    # Funding from the dataset's start, so the first minutes get the settlement in force.
    funding = kind("funding_rate", None).to_pandas()
    marks_frame = marks.select(["currency_pair", "timestamp", *MARK_COLUMNS]).to_pandas()
    marks_frame = marks_frame.rename(columns={c: f"mark_{c}" for c in MARK_COLUMNS})
    frame = candles.merge(marks_frame, on=["currency_pair", "timestamp"], how="left")
    settlements = pd.DataFrame(
        {
            "currency_pair": funding["currency_pair"].astype(str),
            "minute": funding["timestamp"] - funding["timestamp"] % _MINUTE_MS,
            "funding_rate": funding["funding_rate"],
            "funding_timestamp": funding["timestamp"],
            "funding_interval_hours": funding["funding_interval_hours"],
        }
    ).sort_values("minute")
    frame["currency_pair"] = frame["currency_pair"].astype(str)
    frame = pd.merge_asof(
        frame.sort_values("timestamp"),
        settlements,
        left_on="timestamp",
        right_on="minute",
        by="currency_pair",
        direction="backward",
    ).drop(columns="minute")
    frame = frame.sort_values(["currency_pair", "timestamp"], kind="stable").reset_index(drop=True)
    if as_ == "arrow":
        return pa.Table.from_pandas(frame, preserve_index=False)
    index = pd.to_datetime(frame["timestamp"].to_numpy(), unit="ms", utc=True).as_unit("ns")
    frame.index = pd.DatetimeIndex(index, name="timestamp")
    return frame
