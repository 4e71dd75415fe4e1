"""Helpers for running the real CLI in-process against the simulator and reading the lake back."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from candlelake.cli.main import main
from candlelake.simulator import SimConfig, truth
from candlelake.timeutil import DAY_MS, MINUTE_MS, day_window
from fixtures.simulator import REALDATA


def bulk_args(
    *,
    sim_url: str,
    market: str,
    universe: str = "v7",
    start: str,
    end: str,
    dst: str | None = None,
    s3: str | None = None,
    vendor: str = "ccxt",
    extra: list[str] | None = None,
) -> list[str]:
    args = [
        "download-bulk",
        "--download_mode", "periodic_daily",
        "--downloading_entity", "manual",
        "--action_tag", "downloaded_1min",
        "--vendor", vendor,
        "--exchange_id", "binance",
        "--universe", universe,
        "--data_type", "ohlcv",
        "--contract_type", market,
        "--data_format", "parquet",
        "--start_timestamp", start,
        "--end_timestamp", end,
        "--rest_url", sim_url,
        "-v", "WARNING",
    ]  # fmt: skip
    if dst is not None:
        args += ["--dst_dir", dst]
    if s3 is not None:
        args += ["--s3_path", s3]
    return args + (extra or [])


def run_cli(args: list[str]) -> int:
    return main(args)


def expected_rows(
    cfg: SimConfig, market: str, symbol: str, start_ms: int, end_ms: int, interval: str = "1m"
) -> list[list]:
    """Closed candles the exchange has for `[start_ms, end_ms)` (truth is end-inclusive)."""
    return truth.klines(
        cfg, market=market, symbol=symbol, start_ms=start_ms, end_ms=end_ms - 1, interval=interval
    )


def day_ms(day: str) -> tuple[int, int]:
    w = day_window(dt.date.fromisoformat(day))
    return w.start_ms, w.end_ms


def as_ohlcv(rows: list[list]) -> list[tuple]:
    return [(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5])) for r in rows]


def lake_ohlcv(table: pa.Table) -> list[tuple]:
    cols = [table.column(c).to_pylist() for c in ("timestamp", "open", "high", "low", "close", "volume")]
    return list(zip(*cols, strict=True))


__all__ = ["DAY_MS", "MINUTE_MS", "REALDATA"]
