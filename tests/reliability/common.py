"""Helpers shared by the reliability suite: the CLI in-process, the lake against the truth."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa

import candlelake
from candlelake.cli.main import main
from candlelake.simulator import SimConfig, truth
from candlelake.timeutil import day_window

FROZEN = "frozen:2024-02-20T01:20:30Z"
DAYS = ("2024-02-18", "2024-02-19")


def download(lake: Path, sim_url: str, *extra: str, symbols: str = "BTC_USDT", market: str = "futures",
             start: str = DAYS[0], end: str = DAYS[1]) -> int:  # fmt: skip
    """`candlelake download` in this process; returns the exit code."""
    return main([
        "download", "--market", market, "--start", start, "--end", end, "--lake", str(lake),
        "--symbols", symbols, "--rest-url", sim_url, "-v", "WARNING", *extra,
    ])  # fmt: skip


def dataset_root(lake: Path) -> Path:
    roots = list(lake.glob("v3/*/*/*/*/*/*/*/*/*/*"))
    assert len(roots) == 1, roots
    return roots[0]


def day_files(lake: Path) -> list[Path]:
    return sorted(p for p in lake.rglob("*") if p.is_file())


def lake_rows(lake: Path, symbol: str = "BTC_USDT") -> list[tuple]:
    table: pa.Table = candlelake.read(str(dataset_root(lake)), [symbol], as_="arrow")
    cols = [table.column(c).to_pylist() for c in ("timestamp", "open", "high", "low", "close", "volume")]
    return list(zip(*cols, strict=True))


def truth_rows(cfg: SimConfig, symbol: str = "BTCUSDT", market: str = "futures",
               days: tuple[str, ...] = DAYS) -> list[tuple]:  # fmt: skip
    start = day_window(dt.date.fromisoformat(days[0])).start_ms
    end = day_window(dt.date.fromisoformat(days[-1])).end_ms
    rows = truth.klines(cfg, market=market, symbol=symbol, start_ms=start, end_ms=end - 1)
    return [(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5])) for r in rows]


def load_report(path: Path) -> dict:
    return json.loads(path.read_text())
