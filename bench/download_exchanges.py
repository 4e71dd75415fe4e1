"""Benchmark: OKX, Bybit and Binance.US downloads against their rate-limit-bound maximum.

The simulator runs in a subprocess with 50 ms latency (±5 ms) and each exchange's own limit
(OKX history-candles 20 requests / 2 s, Bybit 600 / 5 s; Binance.US 1200 weight / 60 s scaled
in time to 120 / 6 s like the Binance bench). The engine in this process paces by ccxt's own
definitions (`rateLimit` × endpoint cost), so the bound is ccxt's request rate × page size:

    uv run python bench/download_exchanges.py            # all three
    uv run python bench/download_exchanges.py okx        # one

Prints a markdown table; docs/benchmarks.md holds the numbers from this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import tempfile
import time
from dataclasses import dataclass

from candlelake.engine import download
from candlelake.job import DownloadJob
from candlelake.markets import Exchange, Market
from candlelake.plan.pages import RateLimit
from candlelake.progress import LogProgress
from candlelake.settings import RestSettings
from candlelake.signature import DatasetSignature
from candlelake.simulator import SimConfig, Simulator
from candlelake.sources.ccxt_rest import CcxtRest, exchange_for
from candlelake.timeutil import Window, day_window

SYMBOLS = ("BTC_USDT", "ETH_USDT", "SOL_USDT", "NEAR_USDT", "DOGE_USDT", "AVAX_USDT", "LINK_USDT", "DOT_USDT")


@dataclass(frozen=True)
class Case:
    exchange: Exchange
    market: Market
    days: int
    url_suffix: str = ""
    sim: dict[str, float] | None = None
    # Binance.US: the 60 s window scaled to 6 s, in the same units as ccxt's costs.
    rate_limit: RateLimit | None = None


CASES = {
    "okx": Case("okx", "futures", 6),
    "bybit": Case("bybit", "futures", 30),
    "binanceus": Case(
        "binanceus",
        "spot",
        60,
        "/binanceus",
        {"window_seconds": 6.0, "binanceus_weight_limit": 120},
        RateLimit(120, 6.0),
    ),
}


def bound(case: Case) -> tuple[float, int]:
    """ccxt's request rate for the candle endpoint (requests/s) and the page size."""
    rest = CcxtRest(exchange_for(case.exchange, case.market), case.market, RestSettings())
    try:
        cost = rest.cost.weight(rest.cost.max_limit) / rest.spec.cost_scale
        rate = 1000.0 / (float(rest.client.rateLimit) * cost)
        return rate, rest.cost.max_limit
    finally:
        asyncio.run(rest.client.close())


def run(name: str) -> list[str]:
    case = CASES[name]
    first = dt.date(2024, 1, 1)
    last = first + dt.timedelta(days=case.days - 1)
    window = Window(day_window(first).start_ms, day_window(last).end_ms)
    cfg = SimConfig(
        seed=1, clock="frozen:2024-06-01T00:00:00Z", latency_ms=50, jitter_ms=5, **(case.sim or {})
    )
    lake = tempfile.mkdtemp(prefix="candlelake-bench-")
    try:
        with Simulator.subprocess(cfg) as sim:
            job = DownloadJob(
                market=case.market,
                symbols=SYMBOLS,
                window=window,
                lake_url=lake,
                signature=DatasetSignature.parse(
                    f"bulk.manual.downloaded_1min.parquet.ohlcv.{case.market}.all.ccxt.{case.exchange}.v1_0_0"
                ),
                exchange_id=case.exchange,
                rest=RestSettings(base_url=sim.url + case.url_suffix, rate_limit=case.rate_limit),
                concurrency=8,
            )
            started = time.monotonic()
            report = asyncio.run(download(job, progress=LogProgress(every_s=30)))
            wall = time.monotonic() - started
            stats = sim.stats()
    finally:
        shutil.rmtree(lake, ignore_errors=True)
    rate, page = bound(case)
    candle_requests = report.requests
    achieved = candle_requests / report.elapsed_s
    refused = sum(v.get("429", 0) + v.get("403", 0) for v in stats["endpoints"].values())
    missing = sum(s.missing_minutes for s in report.symbols)
    return [
        f"| {case.exchange} {case.market} | {len(SYMBOLS)} × {case.days} d | {report.rows_written:,} "
        f"| {candle_requests:,} | {wall:.1f} s | {rate:.2f} req/s × {page} | {achieved:.2f} req/s "
        f"| **{achieved / rate:.0%}** | {refused} | {report.retries} | {missing} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("exchanges", nargs="*", help=f"some of: {', '.join(CASES)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.exchanges) - set(CASES)
    if unknown:
        parser.error(f"unknown exchange(s) {sorted(unknown)}; choose from {', '.join(CASES)}")
    lines = [
        "| exchange | range | rows | candle requests | wall | ccxt bound | achieved | of bound | 429/403 "
        "| retries | missing |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in args.exchanges or CASES:
        lines += run(name)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
