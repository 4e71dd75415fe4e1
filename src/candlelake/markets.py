"""The closed vocabularies, defined once: vendors, exchanges, markets, data types, intervals, periods.

Each is a `Literal` whose allowed values come from `get_args`, so the CLI, the DAG factory,
the job model and the planner check against the same tuple. The market has one name in code,
`Market`; upstream's flag `--contract_type`, the signature token `asset_type` and the Airflow
job's `contract` field all carry a `Market` value under their historical names.

Symbols are spelled `BTC_USDT` in the lake and the universe files; Binance's own API and
archive spell them `BTCUSDT`. `coin_futures` is Binance COIN-M (`/dapi/v1`, `data/futures/cm`):
its contracts are `BTC_USD_PERP` (perpetual) and `BTC_USD_250627` (delivers 2025-06-27), which
Binance spells `BTCUSD_PERP` and `BTCUSD_250627` (only the first `_` is dropped).
"""

from __future__ import annotations

import re
from typing import Literal, TypeVar, get_args

from candlelake.errors import UsageError

# `futures` is USD-M (upstream's `--contract_type futures`); `coin_futures` is COIN-M, the
# same token in the signature's `asset_type`.
Market = Literal["spot", "futures", "coin_futures"]
MARKETS: tuple[Market, ...] = get_args(Market)

# `ccxt` keeps upstream's OHLCV columns; `binance` keeps all of Binance's kline fields and
# reads its data.binance.vision archive first.
Vendor = Literal["ccxt", "binance"]
VENDORS: tuple[Vendor, ...] = get_args(Vendor)

Exchange = Literal["binance", "okx", "bybit", "binanceus"]
EXCHANGES: tuple[Exchange, ...] = get_args(Exchange)
# The markets each exchange is downloaded for: `futures` is the USDT-margined perpetuals
# (Binance USD-M, OKX `-SWAP`, Bybit linear); `coin_futures` (COIN-M) is Binance's own
# klines only (vendor binance); Binance.US has spot only.
EXCHANGE_MARKETS: dict[Exchange, tuple[Market, ...]] = {
    "binance": ("spot", "futures", "coin_futures"),
    "okx": ("spot", "futures"),
    "bybit": ("spot", "futures"),
    "binanceus": ("spot",),
}

# Upstream's data types (`ohlcv`, `bid_ask`, `trades`) and Binance's derivative series:
# the mark, index and premium-index price klines and the funding rate history.
DataType = Literal["ohlcv", "bid_ask", "trades", "mark_price", "index_price", "premium_index", "funding_rate"]
DATA_TYPES: tuple[DataType, ...] = get_args(DataType)
# Klines-shaped series of a derivatives market: one bar per interval, volume fields unused.
PRICE_KLINE_TYPES: tuple[DataType, ...] = ("mark_price", "index_price", "premium_index")
# Every data type stored one row per bar (the kline path of the engine).
KLINE_DATA_TYPES: tuple[DataType, ...] = ("ohlcv", *PRICE_KLINE_TYPES)
# What the engine downloads; a kind joins once its sources and storage are in.
SUPPORTED_DATA_TYPES: tuple[DataType, ...] = (*KLINE_DATA_TYPES, "funding_rate")
# Markets whose mark, index and premium-index klines and funding are downloaded: USD-M
# (`/fapi/v1`, `data/futures/um`) and COIN-M (`/dapi/v1`, `data/futures/cm`).
DERIVATIVE_MARKETS: tuple[Market, ...] = ("futures", "coin_futures")
# Markets downloaded by Binance's own client and archive only (`--vendor binance`).
BINANCE_ONLY_MARKETS: tuple[Market, ...] = ("coin_futures",)

# Every kline interval Binance serves (REST `interval`, case-sensitive: `1m` minute, `1M` month).
Interval = Literal[
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"
]  # fmt: skip
INTERVALS: tuple[Interval, ...] = get_args(Interval)
# Binance serves 1s klines for spot only (binance.md §2.1: futures lack `1s`).
MARKET_INTERVALS: dict[Market, tuple[Interval, ...]] = {
    market: INTERVALS if market == "spot" else tuple(i for i in INTERVALS if i != "1s") for market in MARKETS
}
# Bars longer than a day are stored one file per (symbol, month) instead of per (symbol, day).
MONTHLY_PARTITIONED: tuple[Interval, ...] = ("3d", "1w", "1M")
# The signature's `action_tag` for each interval, in upstream's style (`downloaded_1min`,
# `downloaded_1sec`); docs/lake.md lists them.
INTERVAL_ACTION_TAGS: dict[Interval, str] = {
    "1s": "downloaded_1sec",
    "1m": "downloaded_1min",
    "3m": "downloaded_3min",
    "5m": "downloaded_5min",
    "15m": "downloaded_15min",
    "30m": "downloaded_30min",
    "1h": "downloaded_1hour",
    "2h": "downloaded_2hour",
    "4h": "downloaded_4hour",
    "6h": "downloaded_6hour",
    "8h": "downloaded_8hour",
    "12h": "downloaded_12hour",
    "1d": "downloaded_1day",
    "3d": "downloaded_3day",
    "1w": "downloaded_1week",
    "1M": "downloaded_1month",
}

ArchivePeriod = Literal["daily", "monthly"]
ARCHIVE_PERIODS: tuple[ArchivePeriod, ...] = get_args(ArchivePeriod)

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,20}_[A-Z0-9]{1,20}$")
# A COIN-M contract: BASE_QUOTE_PERP or BASE_QUOTE_YYMMDD (its delivery day).
_CONTRACT_RE = re.compile(r"^[A-Z0-9]{1,20}_[A-Z0-9]{1,20}_(PERP|[0-9]{6})$")

_T = TypeVar("_T", bound=str)


def one_of(value: str, allowed: tuple[_T, ...], what: str, verb: str = "allowed") -> _T:
    """`value` if it is in `allowed`, else UsageError naming the value and the choices."""
    if value not in allowed:
        raise UsageError(f"unknown {what} {value!r}; {verb}: {', '.join(allowed)}")
    return value  # type: ignore[return-value]


def parse_market(value: str) -> Market:
    return one_of(value, MARKETS, "market")


def parse_vendor(value: str) -> Vendor:
    return one_of(value, VENDORS, "vendor", "supported")


def parse_exchange(value: str) -> Exchange:
    return one_of(value, EXCHANGES, "exchange", "supported")


def check_exchange_market(exchange: Exchange, market: Market, vendor: Vendor = "ccxt") -> None:
    """A usage error unless `exchange` is downloaded for `market` by `vendor`."""
    allowed = EXCHANGE_MARKETS[exchange]
    if market not in allowed:
        raise UsageError(f"exchange {exchange!r} has no market {market!r}; supported: {', '.join(allowed)}")
    if market in BINANCE_ONLY_MARKETS and vendor != "binance":
        raise UsageError(f"market {market!r} is downloaded with --vendor binance only, not {vendor!r}")
    if vendor == "binance" and exchange != "binance":
        raise UsageError(
            f"vendor 'binance' (Binance's own archive) is for exchange binance only, not {exchange!r}; "
            "use --vendor ccxt"
        )


def parse_interval(value: str) -> Interval:
    """`--interval`: one of Binance's kline intervals, spelled as Binance spells them."""
    return one_of(value, INTERVALS, "interval")


def check_market_interval(market: Market, interval: Interval, exchange: Exchange = "binance") -> None:
    """A usage error unless `market` has klines of `interval` (1s is spot only).

    Intervals other than 1m are downloaded from Binance only (its own REST client and archive).
    """
    allowed = MARKET_INTERVALS[market]
    if interval not in allowed:
        raise UsageError(
            f"interval {interval!r} is not served for market {market!r}; allowed: {', '.join(allowed)}"
        )
    if interval != "1m" and exchange != "binance":
        raise UsageError(
            f"--interval {interval!r} is downloaded from exchange binance only, not {exchange!r}"
        )


def interval_of_tag(action_tag: str) -> Interval | None:
    """The interval an action tag names (`downloaded_1hour` -> `1h`), or None for other tags."""
    return next((i for i, tag in INTERVAL_ACTION_TAGS.items() if tag == action_tag), None)


def check_action_tag(action_tag: str, interval: Interval) -> None:
    """The signature's action tag must name the interval downloaded.

    For 1m, upstream's other 1-minute tags stay allowed (as before); for any other
    interval the tag is exactly `INTERVAL_ACTION_TAGS[interval]`, so a dataset's name
    always says what its bars are.
    """
    expected = INTERVAL_ACTION_TAGS[interval]
    interval_tags = set(INTERVAL_ACTION_TAGS.values())
    if action_tag == expected or (interval == "1m" and action_tag not in interval_tags):
        return
    raise UsageError(f"--action_tag {action_tag!r} does not match --interval {interval}; use {expected}")


def data_type_markets(data_type: DataType) -> tuple[Market, ...]:
    """The markets `data_type` is downloaded for: OHLCV everywhere, the rest on derivatives."""
    return MARKETS if data_type == "ohlcv" else DERIVATIVE_MARKETS


def parse_data_type(value: str) -> DataType:
    """`--data_type`: a data type candlelake downloads, else a UsageError naming it."""
    if value in DATA_TYPES and value not in SUPPORTED_DATA_TYPES:
        supported = ", ".join(SUPPORTED_DATA_TYPES)
        raise UsageError(f"--data_type {value!r} is not supported yet; supported: {supported}")
    return one_of(value, DATA_TYPES, "--data_type")


def check_data_type_market(data_type: DataType, market: Market, exchange: Exchange) -> None:
    """A usage error unless `exchange` publishes `data_type` for `market`."""
    markets = data_type_markets(data_type)
    if market not in markets:
        served = ", ".join(t for t in SUPPORTED_DATA_TYPES if market in data_type_markets(t))
        raise UsageError(
            f"--data_type {data_type!r} exists for {', '.join(markets)} only, not {market!r}; "
            f"{market} has: {served}"
        )
    if data_type != "ohlcv" and exchange != "binance":
        raise UsageError(
            f"--data_type {data_type!r} is downloaded from exchange binance only, not {exchange!r}"
        )


def check_data_type_symbol(data_type: DataType, symbol: str) -> None:
    """A usage error for funding on a delivery contract: only perpetuals settle funding, and
    Binance answers an empty list for delivery symbols (COIN-M Get Funding Rate History)."""
    if data_type == "funding_rate" and is_delivery_contract(symbol):
        perpetual = symbol.rsplit("_", 1)[0] + "_PERP"
        raise UsageError(
            f"--data_type 'funding_rate' is for perpetuals only: {symbol} is a delivery contract, "
            f"which settles no funding; use {perpetual}"
        )


def parse_period(value: str | None) -> ArchivePeriod | None:
    """`--download_period`: None (the planner decides), daily or monthly."""
    if value is not None and value not in ARCHIVE_PERIODS:
        raise UsageError(f"bad download period {value!r}; allowed: {', '.join(ARCHIVE_PERIODS)}")
    return value  # type: ignore[return-value]


def check_symbol(symbol: str, market: Market | None = None) -> str:
    """Return `symbol` if it is well-formed for `market` (any market when None), else UsageError.

    Spot and USD-M symbols are `BASE_QUOTE`; COIN-M contracts are `BASE_QUOTE_PERP` or
    `BASE_QUOTE_YYMMDD`.
    """
    plain = _SYMBOL_RE.fullmatch(symbol) is not None
    contract = _CONTRACT_RE.fullmatch(symbol) is not None
    if market == "coin_futures" and not contract:
        raise UsageError(
            f"bad symbol {symbol!r}; coin_futures expects BASE_QUOTE_PERP or BASE_QUOTE_YYMMDD, "
            "e.g. BTC_USD_PERP"
        )
    if (market is not None and market != "coin_futures" and not plain) or not (plain or contract):
        raise UsageError(f"bad symbol {symbol!r}; expected BASE_QUOTE in upper case, e.g. BTC_USDT")
    return symbol


def is_delivery_contract(symbol: str) -> bool:
    """`BTC_USD_250627`: a COIN-M contract that delivers on a date (no funding, unlike `_PERP`)."""
    match = _CONTRACT_RE.fullmatch(symbol)
    return match is not None and match.group(1) != "PERP"


def to_pair_id(symbol: str) -> str:
    """The pair Binance keys index prices by: `BTC_USD_PERP` and `BTC_USD_250627` -> `BTCUSD`,
    `BTC_USDT` -> `BTCUSDT`. A contract's id is its pair, `_`, and PERP or the delivery day."""
    return to_exchange_id(symbol).split("_", 1)[0]


def to_exchange_id(symbol: str) -> str:
    """`BTC_USDT` -> `BTCUSDT`, `BTC_USD_PERP` -> `BTCUSD_PERP`: the id Binance's REST API and
    archive use (only the first `_` is dropped)."""
    return check_symbol(symbol).replace("_", "", 1)
