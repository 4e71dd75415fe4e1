"""`download(job) -> RunReport`: plan each symbol, let its source fetch, sink every day.

    lake listing + exchange clock ─► plan (pure) ─► source ─► finished days ─► sink ─► lake
                                                     ▲  scheduler: request slots, stop on a ban

The run does the I/O the planner needs, then hands each symbol's plan to one source:
REST only for vendor `ccxt` (or `--no-archive`), the archive-then-REST composite for
vendor `binance`. A day is written as soon as every part of it has arrived, so memory
holds only the days that requests in flight touch, whatever the length of the window.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from candlelake.bars import grid_of
from candlelake.engine.scheduler import Scheduler
from candlelake.engine.sink import DaySink
from candlelake.errors import CandlelakeError, StorageUnreachable, UsageError
from candlelake.job import DownloadJob, symbols_for, unique
from candlelake.lake import LakeWriter, open_dataset
from candlelake.lake.storage import unreachable
from candlelake.markets import to_exchange_id
from candlelake.plan.archive import BINANCE_DATASETS, REAL_ARCHIVE_URL
from candlelake.plan.days import (
    PlanOptions,
    SymbolPlan,
    changed_days,
    clamp_window,
    plan_symbol,
    refresh_checks,
)
from candlelake.progress import LogProgress, Progress
from candlelake.quality.report import RunReport, SymbolReport
from candlelake.sources.binance_rest import SymbolInfo
from candlelake.sources.protocol import Source
from candlelake.sources.rest_client import TITLES, open_rest
from candlelake.sources.rest_source import BinanceRestSource, KlineRest
from candlelake.timeutil import Window, from_ms
from candlelake.validate.gaps import Gap

if TYPE_CHECKING:
    from candlelake.sources.binance_archive import ArchiveClient

log = logging.getLogger(__name__)

NOT_ON_EXCHANGE = "not on the exchange (delisted or never listed)"
HEARTBEAT_S = 30.0
HEARTBEAT_ENV = "CANDLELAKE_HEARTBEAT_S"  # tests shorten it


async def download(job: DownloadJob, *, progress: Progress | None = None) -> RunReport:
    """Run one download job and report every row written and every minute not written.

    Cancelling the task (SIGINT/SIGTERM in the CLI) ends it early with a report of what was
    done: `report.interrupted` is set and every day not finished is explained.
    """
    progress = progress or LogProgress()
    started = time.monotonic()
    location = open_dataset(
        job.lake_url, job.signature, aws_profile=job.aws_profile, endpoint_url=job.s3_endpoint_url
    )
    grid = grid_of(job.interval)
    writer = LakeWriter(location, grid)
    # Fail on an unwritable destination before spending any request weight.
    await asyncio.to_thread(writer.check_writable)
    uses_archive = job.vendor == "binance" and job.use_archive
    options = PlanOptions(
        job.market,
        job.force,
        uses_archive,
        job.archive_url or REAL_ARCHIVE_URL,
        job.download_period,
        dataset=BINANCE_DATASETS[job.data_type],
        interval=job.interval,
    )
    heartbeat = asyncio.create_task(_heartbeat(progress, started))
    async with AsyncExitStack() as stack:
        stack.callback(heartbeat.cancel)
        rest = open_rest(job.exchange_id, job.market, job.rest, job.data_type, job.interval)
        await stack.enter_async_context(rest)
        info = await rest.exchange_info()
        window = clamp_window(job.window, rest.server_now_ms(), grid)
        if grid.count(window) == 0:
            log.warning("nothing to download: the window holds no closed %s bar", job.interval)
        report = RunReport(location.url, job.market, window, job.window.end_ms, interval=job.interval)
        symbols = job_symbols(job, info)
        scheduler = Scheduler(job.concurrency)
        rest_source = BinanceRestSource(rest, info, scheduler, full=job.full_klines, grid=grid)
        source: Source = rest_source
        archive = None
        if uses_archive:
            # Imported here: a REST-only run (every ccxt-vendor task) need not load the archive
            # reader, its inflate library and Arrow's CSV reader (bench/startup.py).
            from candlelake.sources.archive_source import BinanceArchiveSource
            from candlelake.sources.binance import BinanceSource
            from candlelake.sources.binance_archive import ArchiveClient

            archive = await stack.enter_async_context(ArchiveClient(concurrency=job.concurrency))
            archive_source = BinanceArchiveSource(archive, options.archive_url)
            source = BinanceSource(rest_source, archive_source, concurrency=job.concurrency)
        sink = DaySink(
            writer,
            exchange_id=job.exchange_id,
            progress=progress,
            counters=lambda: (rest.budget.total_weight if rest.budget else 0, rest.stats.retries),
            stop=scheduler.stop,
            grid=grid,
        )
        try:
            today = from_ms(rest.server_now_ms()).date()
            try:
                plans = await _plan_all(symbols, window, writer, archive, options, today, job, rest)
            except StorageUnreachable as down:
                # The lake could not be listed: nothing is fetched, and every minute is still
                # reported, as missing with the reason, rather than the run ending unreported.
                scheduler.stop(down)
                report.symbols = [_not_planned(s, window, down, job.interval) for s in symbols]
            else:
                report.symbols = [SymbolReport(plan.symbol, interval=job.interval) for plan in plans]
                progress.start(sum(len(plan.windows) for plan in plans))
                for plan, symbol_report in zip(plans, report.symbols, strict=True):
                    sink.open(plan, symbol_report)
                    if to_exchange_id(plan.symbol) not in info:
                        sink.absent(plan, NOT_ON_EXCHANGE)
                        continue
                    await source.submit(plan, sink)
            await scheduler.drain()
            sink.close()
            if scheduler.stopped is not None:
                report.errors.append(str(scheduler.stopped))
            elif uses_archive and job.verify_sample:
                from candlelake.quality.verify import verify_sample  # archive runs only

                checked = await verify_sample(
                    {s.symbol: s.sources for s in report.symbols},
                    job.verify_sample,
                    read_lake=lambda symbol, day: asyncio.to_thread(writer.read_day, symbol, day),
                    fetch_rest=rest_source.fetch_day,
                )
                report.crosscheck = checked.differences
                report.errors.extend(checked.errors)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or not task.cancelling():
                raise
            # The CLI cancels on SIGINT/SIGTERM: stop everything, then account for it.
            task.uncancel()
            await scheduler.cancel()
            report.interrupted = True
            sink.close("not finished: run interrupted", fails=False)
        finally:
            progress.close()
            report.requests, report.retries = rest.stats.requests, rest.stats.retries
            report.rate_limited = rest.stats.rate_limited
            report.weight = rest.budget.total_weight if rest.budget else 0
            if archive is not None:
                report.archive_files = archive.stats.files
                report.retries += archive.stats.retries
            report.elapsed_s = time.monotonic() - started
        report.errors[:0] = scheduler.errors
    return report


async def _heartbeat(progress: Progress, started: float) -> None:
    """A progress line at least every HEARTBEAT_S, even while nothing finishes (a slow store)."""
    every = float(os.environ.get(HEARTBEAT_ENV) or HEARTBEAT_S)
    while True:
        await asyncio.sleep(every)
        progress.heartbeat(time.monotonic() - started)


def job_symbols(job: DownloadJob, info: Mapping[str, SymbolInfo]) -> tuple[str, ...]:
    """The job's symbols; `--universe all` is every trading symbol of exchangeInfo."""
    symbols = job.symbols
    if job.all_symbols:
        symbols = symbols_for(sorted(i.symbol for i in info.values() if i.trading), job.universe_part)
    if job.explicit_symbols:
        unknown = [s for s in symbols if to_exchange_id(s) not in info]
        if unknown:
            listed = sorted(i.symbol for i in info.values() if i.trading)
            shown = ", ".join(listed[:40]) + (f", … ({len(listed)} in all)" if len(listed) > 40 else "")
            raise UsageError(
                f"unknown symbol(s) on {TITLES[job.exchange_id]} {job.market}: {', '.join(unknown)}; "
                f"supported: {shown}"
            )
    return unique(symbols)


async def _plan_all(
    symbols: tuple[str, ...],
    window: Window,
    writer: LakeWriter,
    archive: ArchiveClient | None,
    options: PlanOptions,
    today: dt.date,
    job: DownloadJob,
    rest: KlineRest,
) -> list[SymbolPlan]:
    """Plan every symbol. Listing the lake is a round trip per symbol and month on S3, so a
    few symbols are planned at a time."""
    slots = asyncio.Semaphore(job.concurrency)
    days = options.grid.partitions(window)

    async def plan(symbol: str) -> SymbolPlan:
        async with slots:
            try:
                stored = await asyncio.to_thread(writer.existing_days, symbol, days)
            except Exception as exc:
                down = unreachable(writer.location, exc)
                if down is None:
                    raise
                raise down from None
            changed: list[dt.date] = []
            if stored and job.refresh_changed and archive is not None:
                checks = refresh_checks(symbol, stored, options=options)
                published = await asyncio.gather(*(archive.fetch_checksum(f) for f in checks))
                changed = changed_days(checks, dict(zip(checks, published, strict=True)))
                for day in changed:
                    log.warning("%s %s: archive file replaced; re-ingesting", symbol, day)
            listed = None
            if len(days) > 1 and len(days) > len(stored):
                listed = await _first_candle(rest, symbol)
            return plan_symbol(
                symbol, window, stored, today=today, options=options, changed=changed, listed_ms=listed
            )

    return list(await asyncio.gather(*(plan(s) for s in symbols)))


def _not_planned(symbol: str, window: Window, down: StorageUnreachable, interval: str) -> SymbolReport:
    report = SymbolReport(symbol, interval=interval)
    if window.end_ms > window.start_ms:
        report.gaps.append(Gap(window.start_ms, window.end_ms, "missing", f"not downloaded: {down}"))
    return report


async def _first_candle(rest: KlineRest, symbol: str) -> int | None:
    """The symbol's first candle, so that days before its listing cost no requests: one
    request (`startTime=0`, one candle). Not futures' `onboardDate`, which can be later than
    the first candle (BTCUSDT: 2019-09-25, candles from 2019-09-08). Only asked when several
    days are to be fetched; a failure only means the days are fetched page by page."""
    info = rest.lookup(symbol)
    if info is None:
        return None
    try:
        return await rest.probe(info.exchange_symbol, first=True)
    except CandlelakeError as exc:
        log.warning("%s: cannot find the first candle (%s)", symbol, exc)
        return None
