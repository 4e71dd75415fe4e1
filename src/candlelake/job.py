"""What a download is asked to do: one typed object, built by the CLI, Airflow or Python callers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from candlelake.errors import UsageError
from candlelake.markets import (
    ArchivePeriod,
    DataType,
    Exchange,
    Interval,
    Market,
    Vendor,
    check_data_type_symbol,
    check_market_interval,
    check_symbol,
    parse_interval,
)
from candlelake.settings import RestSettings
from candlelake.signature import DatasetSignature
from candlelake.timeutil import Window


@dataclass(frozen=True)
class DownloadJob:
    """Everything one download needs; built by the CLI or by Python callers."""

    market: Market
    symbols: tuple[str, ...]
    window: Window
    lake_url: str
    signature: DatasetSignature
    vendor: Vendor = "ccxt"
    exchange_id: Exchange = "binance"
    explicit_symbols: bool = False  # True: an unknown symbol is a usage error
    all_symbols: bool = False  # `--universe all`: every trading symbol in exchangeInfo
    universe_part: tuple[int, int] | None = None  # applied to the `all` list once it is known
    rest: RestSettings = field(default_factory=RestSettings)
    aws_profile: str | None = None
    s3_endpoint_url: str | None = None
    concurrency: int = 8
    force: bool = False
    # Vendor `binance` only: the data.binance.vision archive.
    archive_url: str | None = None  # None: the real archive
    use_archive: bool = True
    download_period: ArchivePeriod | None = None
    refresh_changed: bool = False
    verify_sample: int = 0
    interval: Interval = "1m"

    def __post_init__(self) -> None:
        check_market_interval(self.market, parse_interval(self.interval), self.exchange_id)
        for symbol in self.symbols:
            check_data_type_symbol(self.data_type, symbol)

    @property
    def data_type(self) -> DataType:
        """The kind of data downloaded: the signature's `data_type` token (checked when built)."""
        return self.signature.data_type  # type: ignore[return-value]

    @property
    def full_klines(self) -> bool:
        # Vendor `binance` keeps all twelve kline fields; `ccxt` keeps upstream's OHLCV.
        return self.vendor == "binance"


def unique(symbols: Sequence[str]) -> tuple[str, ...]:
    """Drop repeated symbols, keeping the first occurrence's order."""
    return tuple(dict.fromkeys(symbols))


def check_part(part: tuple[int, int]) -> tuple[int, int]:
    size, index = part
    if size < 1 or index < 1:
        raise UsageError(f"bad --universe_part {size} {index}; both must be positive integers")
    return size, index


def symbols_for(
    universe_symbols: Sequence[str], part: tuple[int, int] | None, check: Callable[[str], str] = check_symbol
) -> tuple[str, ...]:
    """Apply `--universe_part SIZE PART` (1-based) to a universe's ordered symbol list."""
    symbols = list(unique([check(s) for s in universe_symbols]))
    if part is None:
        return tuple(symbols)
    size, index = check_part(part)
    lo = (index - 1) * size
    if lo >= len(symbols):
        raise UsageError(
            f"--universe_part {size} {index} starts at symbol {lo + 1}, "
            f"but the universe has only {len(symbols)} symbols"
        )
    return tuple(symbols[lo : lo + size])
