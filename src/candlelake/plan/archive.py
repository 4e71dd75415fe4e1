"""Which data.binance.vision kline files cover a set of UTC days. Pure: no I/O, no clock.

Layout (binance.md §4.1)::

    {base}/data/{spot|futures/um|futures/cm}/{daily|monthly}/{dataset}/{SYM}/{interval}/{SYM}-{interval}-{label}.zip

(the interval `1M` is spelled `1mo` there)

where `dataset` is `klines`, or for futures `markPriceKlines`, `indexPriceKlines`,
`premiumIndexKlines` (`BINANCE_DATASETS`). Index prices belong to a pair, so the index folder
and file are named by the pair: `BTCUSDT` on USD-M (its perpetual's own id), `BTCUSD` for every
COIN-M contract of BTC (`futures/cm/daily/indexPriceKlines/BTCUSD/1m/BTCUSD-1m-2025-06-01.zip`,
as REST's `/dapi/v1/indexPriceKlines?pair=BTCUSD`).

Publication (binance.md §4.4): a daily file appears some hours after its day ends, a
monthly file days (up to about two weeks) after its month ends. A day that cannot have
a file yet is not planned at all; the caller fills it from REST.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby

from candlelake.markets import (
    MONTHLY_PARTITIONED,
    ArchivePeriod,
    DataType,
    Market,
    to_exchange_id,
    to_pair_id,
)

REAL_ARCHIVE_URL = "https://data.binance.vision"
ENV_ARCHIVE_URL = "CANDLELAKE_BINANCE_ARCHIVE_URL"

# Day D is planned from a daily file iff today - D >= this. With 1, yesterday is
# tried (usually published ~8 h after midnight; a 404 just sends it to REST).
DAILY_MIN_AGE_DAYS = 1
# A month is planned from its monthly file iff it ended at least this many days
# ago; maintainers say "before mid of the new month" (binance.md §4.4). Younger
# months use daily files, which cover the same candles.
MONTHLY_MIN_AGE_DAYS = 15

_MARKET_PATH: dict[Market, str] = {"spot": "spot", "futures": "futures/um", "coin_futures": "futures/cm"}
# The archive spells the month interval `1mo` (binance.md §4.1); REST spells it `1M`.
_ARCHIVE_INTERVAL: dict[str, str] = {"1M": "1mo"}
# Intervals with daily files (binance.md §4.1); 3d, 1w and 1mo have monthly files only.
DAILY_FILE_INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")

# Binance's name of each data type: its archive folder, and its REST endpoint under /fapi/v1
# and /dapi/v1.
BINANCE_DATASETS: dict[DataType, str] = {
    "ohlcv": "klines",
    "mark_price": "markPriceKlines",
    "index_price": "indexPriceKlines",
    "premium_index": "premiumIndexKlines",
    "funding_rate": "fundingRate",
}
INDEX_DATASET = BINANCE_DATASETS["index_price"]


@dataclass(frozen=True)
class ArchiveFile:
    """One archive zip and the requested days it is used for (a subset of the file's days)."""

    market: Market
    symbol: str  # BASE_QUOTE
    period: ArchivePeriod
    label: str  # "2024-01" (monthly) or "2024-01-05" (daily)
    days: tuple[date, ...]
    url: str  # the .zip URL; the checksum is at url + ".CHECKSUM"
    interval: str = "1m"
    dataset: str = "klines"  # BINANCE_DATASETS: klines, markPriceKlines, ...

    @property
    def checksum_url(self) -> str:
        return self.url + ".CHECKSUM"

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def archive_url(
    base_url: str,
    market: Market,
    period: ArchivePeriod,
    symbol: str,
    label: str,
    interval: str = "1m",
    dataset: str = "klines",
) -> str:
    """The .zip URL of one kline archive file; `symbol` is a lake name (`BTC_USDT`, `BTC_USD_PERP`)."""
    if market not in _MARKET_PATH:
        raise ValueError(f"unknown market {market!r}")
    if period not in ("daily", "monthly"):
        raise ValueError(f"unknown archive period {period!r}")
    sym = to_pair_id(symbol) if dataset == INDEX_DATASET else to_exchange_id(symbol)
    root = base_url.rstrip("/")
    name = _ARCHIVE_INTERVAL.get(interval, interval)
    return f"{root}/data/{_MARKET_PATH[market]}/{period}/{dataset}/{sym}/{name}/{sym}-{name}-{label}.zip"


def funding_archive_url(base_url: str, market: Market, symbol: str, label: str) -> str:
    """The monthly funding file: `.../monthly/fundingRate/SYM/SYM-fundingRate-YYYY-MM.zip`
    (no interval folder; the archive has no daily funding files)."""
    sym = to_exchange_id(symbol)
    root = base_url.rstrip("/")
    return f"{root}/data/{_MARKET_PATH[market]}/monthly/fundingRate/{sym}/{sym}-fundingRate-{label}.zip"


def plan_archive_files(
    base_url: str,
    market: Market,
    symbol: str,
    days: Sequence[date],
    *,
    today: date,
    download_period: ArchivePeriod | None = None,
    daily_min_age_days: int = DAILY_MIN_AGE_DAYS,
    monthly_min_age_days: int = MONTHLY_MIN_AGE_DAYS,
    interval: str = "1m",
    dataset: str = "klines",
) -> list[ArchiveFile]:
    """Plan the archive files for `days` (any order, duplicates ignored), sorted by first day.

    Default: a calendar month whose every day is requested, and which ended at least
    `monthly_min_age_days` ago, comes from its monthly file; other days come from daily
    files. Days younger than `daily_min_age_days` (today included) are not planned.

    `download_period="daily"` uses daily files only. `download_period="monthly"` uses a
    monthly file for every month that has ended, even partly requested ones (the file's
    `days` are just the requested days of it); a month that has not ended has no monthly
    file, so its ended days still come from daily files rather than all going to REST.

    Intervals stored by month (3d, 1w, 1M) pass the first day of each month: every ended
    month comes from its monthly file, the only file these intervals have.
    """
    wanted = sorted(set(days))
    files: list[ArchiveFile] = []
    if interval in MONTHLY_PARTITIONED:
        for first in wanted:
            if today >= _first_of_next_month(first.year, first.month):
                label = f"{first.year:04d}-{first.month:02d}"
                url = archive_url(base_url, market, "monthly", symbol, label, interval, dataset=dataset)
                files.append(ArchiveFile(market, symbol, "monthly", label, (first,), url, interval, dataset))
        return files
    for (year, month), group in groupby(wanted, key=lambda d: (d.year, d.month)):
        month_days = list(group)
        next_month = _first_of_next_month(year, month)
        whole = len(month_days) == calendar.monthrange(year, month)[1]
        if download_period == "monthly":
            use_monthly = today >= next_month
        elif download_period == "daily":
            use_monthly = False
        elif download_period is None:
            use_monthly = whole and (today - next_month).days >= monthly_min_age_days
        else:
            raise ValueError(f"unknown download period {download_period!r}")
        if use_monthly:
            label = f"{year:04d}-{month:02d}"
            url = archive_url(base_url, market, "monthly", symbol, label, interval, dataset=dataset)
            files.append(
                ArchiveFile(market, symbol, "monthly", label, tuple(month_days), url, interval, dataset)
            )
            continue
        for day in month_days:
            if (today - day).days < daily_min_age_days:
                continue
            label = day.isoformat()
            url = archive_url(base_url, market, "daily", symbol, label, interval, dataset=dataset)
            files.append(ArchiveFile(market, symbol, "daily", label, (day,), url, interval, dataset))
    return files


def as_daily_files(file: ArchiveFile, *, base_url: str) -> list[ArchiveFile]:
    """The daily files for the days of `file`: the fallback for a missing or incomplete monthly file.

    None for an interval that has monthly files only."""
    if file.period == "daily":
        return [file]
    if file.interval not in DAILY_FILE_INTERVALS:
        return []
    return [
        ArchiveFile(
            file.market,
            file.symbol,
            "daily",
            day.isoformat(),
            (day,),
            archive_url(
                base_url,
                file.market,
                "daily",
                file.symbol,
                day.isoformat(),
                file.interval,
                dataset=file.dataset,
            ),
            file.interval,
            file.dataset,
        )
        for day in file.days
    ]


def _first_of_next_month(year: int, month: int) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last) + timedelta(days=1)
