"""Typed simulator configuration, loadable from Python, a JSON/TOML file or CLI options.

Everything the simulator does is a function of one `SimConfig`; there is no global state.
Times in the config are ISO-8601 strings (UTC) so that config files stay readable.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MARKETS = ("spot", "futures", "okx:spot", "okx:swap", "bybit:spot", "bybit:linear", "binanceus:spot")


def parse_time_ms(value: str | int | float) -> int:
    """ISO-8601 (``2024-02-20T01:20:00Z`` or a bare date) or epoch ms -> epoch ms (UTC)."""
    if isinstance(value, int | float):
        return int(value)
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    text = text.replace("Z", "+00:00")
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


@dataclass(frozen=True)
class SymbolOverride:
    """Adds a symbol or changes one from the bundled table (unset fields keep the bundled value)."""

    market: str
    symbol: str
    base: str | None = None
    quote: str | None = None
    listed: str | None = None
    delisted: str | None = None
    tick_size: str | None = None
    step_size: str | None = None
    base_price: float | None = None
    volatility: float | None = None  # log-return std-dev of one 1m candle
    volume_quote_per_minute: float | None = None


@dataclass(frozen=True)
class Maintenance:
    """A window [start, end) without candles; market/symbol accept ``*``."""

    start: str
    end: str
    market: str = "*"
    symbol: str = "*"


@dataclass(frozen=True)
class SimConfig:
    """All simulator options; every one has a default (see docs/simulator.md)."""

    seed: int = 0
    clock: str = "real"  # real | frozen:<ISO> | offset:<seconds>
    host: str = "127.0.0.1"
    port: int = 0

    # --- data -------------------------------------------------------------------------
    replay_real_days: bool = True
    symbols: tuple[SymbolOverride, ...] = ()
    maintenance: tuple[Maintenance, ...] = ()
    limit_above_max: str = "clamp"  # clamp | error (-1130)

    # --- rate limits (fixed windows aligned to real epoch time) -------------------------
    rate_limits: bool = True
    window_seconds: float = 60.0
    spot_weight_limit: int = 6000
    futures_weight_limit: int = 2400
    delivery_weight_limit: int = 2400
    binanceus_weight_limit: int = 1200  # Binance.US REQUEST_WEIGHT per window
    okx_requests_per_2s: int = 20  # history-candles, instruments; candles twice, time half
    bybit_requests_per_5s: int = 600  # Bybit's IP limit over every public endpoint
    ban_after_429s: int = 10  # 429s answered in one window before the IP is banned (418)
    ban_scale: float | None = None  # None: window_seconds / 60 (2 min ban -> 12 s at 6 s windows)

    # --- latency and faults -------------------------------------------------------------
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0  # share of 500/502/503 answers
    error_statuses: tuple[int, ...] = (500, 502, 503)
    hang_rate: float = 0.0
    hang_seconds: float = 5.0
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    fault_max_attempts: int = 3  # attempt number (0-based) from which an identical request succeeds
    fault_targets: tuple[str, ...] = ("klines", "archive")
    fail_symbols: tuple[str, ...] = ()  # "futures:ETHUSDT": klines always 5xx

    # --- archive ------------------------------------------------------------------------
    archive_delay_hours: float = 8.0
    monthly_archive_delay_hours: float = 24.0
    futures_header_from: str = "2022-05-01"
    spot_microseconds_from: str = "2025-01-01"
    missing_archive_days: tuple[str, ...] = ()  # fnmatch patterns "market:SYMBOL:YYYY-MM[-DD]"
    corrupt_archive_files: tuple[str, ...] = ()
    bad_checksum_files: tuple[str, ...] = ()
    incomplete_archive_files: tuple[str, ...] = ()
    list_page_size: int = 1000

    # --- funding (USD-M perpetuals, simulator/funding.py) -----------------------------
    funding_4h_from: str = "2024-06-01T00:00:00Z"  # settlements every 8 h before, every 4 h from then
    missing_funding: tuple[str, ...] = ()  # fnmatch "MARKET:SYMBOL:YYYY-MM-DDTHH" settlements not published

    # --- caches -------------------------------------------------------------------------
    rest_cache_mb: int = 128
    archive_cache_mb: int = 256
    archive_cache_dir: str | None = None
    pregenerate: tuple[str, ...] = ()  # "market:SYMBOL:daily|monthly:date" patterns, 1m files

    def __post_init__(self) -> None:
        check_clock(self.clock)
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be > 0")
        if self.limit_above_max not in ("clamp", "error"):
            raise ValueError("limit_above_max must be 'clamp' or 'error'")
        for entry in self.fail_symbols:
            market, _, symbol = entry.rpartition(":")
            if market not in MARKETS or not symbol:
                raise ValueError(
                    f"fail_symbols entry {entry!r} must be MARKET:SYMBOL, MARKET one of {MARKETS}"
                )

    @property
    def effective_ban_scale(self) -> float:
        return self.ban_scale if self.ban_scale is not None else self.window_seconds / 60.0

    def replace(self, **changes: Any) -> SimConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimConfig:
        """Build from plain data (JSON/TOML); unknown keys are an error, lists become tuples."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown simulator option(s): {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key == "symbols":
                kwargs[key] = tuple(SymbolOverride(**item) for item in value)
            elif key == "maintenance":
                kwargs[key] = tuple(Maintenance(**item) for item in value)
            elif isinstance(value, list):
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = value
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str | Path) -> SimConfig:
        """Load a ``.json`` or ``.toml`` file (TOML: top-level keys, ``[[symbols]]`` tables)."""
        p = Path(path)
        raw = p.read_bytes()
        data = tomllib.loads(raw.decode()) if p.suffix == ".toml" else json.loads(raw)
        return cls.from_dict(data)


def check_clock(clock: str) -> None:
    if clock == "real":
        return
    kind, _, arg = clock.partition(":")
    if kind == "frozen":
        parse_time_ms(arg)
    elif kind == "offset":
        float(arg)
    else:
        raise ValueError(f"clock must be real, frozen:<ISO> or offset:<seconds>, got {clock!r}")


def field_names() -> list[str]:
    return [f.name for f in fields(SimConfig)]


DEFAULT_FIELDS: dict[str, Any] = {f.name: f.default for f in fields(SimConfig)}
