"""The closed vocabularies, defined once: vendors, exchanges, markets, data types, archive periods.

Each is a `Literal` whose allowed values come from `get_args`, so the CLI, the DAG factory,
the job model and the planner check against the same tuple. The market has one name in code,
`Market`; upstream's flag `--contract_type`, the signature token `asset_type` and the Airflow
job's `contract` field all carry a `Market` value under their historical names.

Symbols are spelled `BTC_USDT` in the lake and the universe files; Binance's own API and
archive spell them `BTCUSDT`.
"""

from __future__ import annotations

import re
from typing import Literal, TypeVar, get_args

from candlelake.errors import UsageError

Market = Literal["spot", "futures"]
MARKETS: tuple[Market, ...] = get_args(Market)

# `ccxt` keeps upstream's OHLCV columns; `binance` keeps all of Binance's kline fields and
# reads its data.binance.vision archive first.
Vendor = Literal["ccxt", "binance"]
VENDORS: tuple[Vendor, ...] = get_args(Vendor)

Exchange = Literal["binance", "okx", "bybit", "binanceus"]
EXCHANGES: tuple[Exchange, ...] = get_args(Exchange)
# The markets each exchange is downloaded for: `futures` is the USDT-margined perpetuals
# (Binance USD-M, OKX `-SWAP`, Bybit linear); Binance.US has spot only.
EXCHANGE_MARKETS: dict[Exchange, tuple[Market, ...]] = {
    "binance": ("spot", "futures"),
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
SUPPORTED_DATA_TYPES: tuple[DataType, ...] = KLINE_DATA_TYPES
# Markets with a mark price and funding: every market but spot (USD-M today; any
# derivatives market added to `Market` gets them too).
DERIVATIVE_MARKETS: tuple[Market, ...] = tuple(m for m in MARKETS if m != "spot")

ArchivePeriod = Literal["daily", "monthly"]
ARCHIVE_PERIODS: tuple[ArchivePeriod, ...] = get_args(ArchivePeriod)

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,20}_[A-Z0-9]{1,20}$")

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
    if vendor == "binance" and exchange != "binance":
        raise UsageError(
            f"vendor 'binance' (Binance's own archive) is for exchange binance only, not {exchange!r}; "
            "use --vendor ccxt"
        )


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


def parse_period(value: str | None) -> ArchivePeriod | None:
    """`--download_period`: None (the planner decides), daily or monthly."""
    if value is not None and value not in ARCHIVE_PERIODS:
        raise UsageError(f"bad download period {value!r}; allowed: {', '.join(ARCHIVE_PERIODS)}")
    return value  # type: ignore[return-value]


def check_symbol(symbol: str) -> str:
    """Return `symbol` if it is a well-formed `BASE_QUOTE` name, else raise UsageError."""
    if not _SYMBOL_RE.fullmatch(symbol):
        raise UsageError(f"bad symbol {symbol!r}; expected BASE_QUOTE in upper case, e.g. BTC_USDT")
    return symbol


def to_exchange_id(symbol: str) -> str:
    """`BTC_USDT` -> `BTCUSDT`, the id Binance's REST API and archive use."""
    return check_symbol(symbol).replace("_", "")
