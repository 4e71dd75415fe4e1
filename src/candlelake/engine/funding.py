"""Funding-rate downloads: per symbol and UTC month, the archive's monthly file, else REST.

A month that has ended is read from `data/futures/{um,cm}/monthly/fundingRate/SYM/
SYM-fundingRate-YYYY-MM.zip` (checksum-verified); a month not published (404), the current
month, and every month with `--no_archive` or vendor `ccxt` come from `/fapi/v1/fundingRate`
(USD-M) or `/dapi/v1/fundingRate` (COIN-M perpetuals). Every settlement due in the window is
stored once (lake/funding.py) or reported missing with its reason (validate/funding.py).
Months are few, so symbols and months run in order; USD-M's funding pool (500 requests per
5 min) or COIN-M's request weight (1 per request) paces REST. A COIN-M delivery contract
settles no funding: its window is excluded with that reason.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

from candlelake.engine.run import NOT_ON_EXCHANGE, job_symbols
from candlelake.errors import CandlelakeError
from candlelake.job import DownloadJob
from candlelake.lake.funding import FundingWriter
from candlelake.lake.layout import months_between, open_dataset
from candlelake.markets import Market, to_exchange_id
from candlelake.plan.archive import REAL_ARCHIVE_URL, ArchiveFile, funding_archive_url
from candlelake.plan.days import clamp_window
from candlelake.progress import LogProgress, Progress
from candlelake.quality.report import RunReport, SymbolReport
from candlelake.sources.binance_archive import ArchiveClient
from candlelake.sources.binance_rest import BinanceRest
from candlelake.sources.funding_format import parse_funding_csv, rest_funding_table
from candlelake.timeutil import Window, from_ms, month_window
from candlelake.validate.funding import HOUR_MS, missing_settlements, settlements, to_table
from candlelake.validate.gaps import Gap

NO_FUNDING = "delivery contract: only perpetuals settle funding"
# REST asks this far before the window so that the first settlement has a predecessor
# (its interval is the distance to it) and a missing first settlement is seen.
CONTEXT_MS = 24 * HOUR_MS


def month_windows(window: Window) -> list[Window]:
    """`window` cut at UTC month starts."""
    if window.minutes == 0:
        return []
    last = from_ms(window.end_ms - 1).date()
    out = []
    for year, month in months_between(from_ms(window.start_ms).date(), last):
        part = window.intersect(month_window(year, month))
        if part is not None:
            out.append(part)
    return out


def funding_file(base_url: str, market: Market, symbol: str, label: str) -> ArchiveFile:
    """The archive's monthly funding file of `symbol` for the month `label` (YYYY-MM)."""
    url = funding_archive_url(base_url, market, symbol, label)
    return ArchiveFile(market, symbol, "monthly", label, (), url, dataset="fundingRate")


async def download_funding(job: DownloadJob, progress: Progress | None = None) -> RunReport:
    """Download the funding settlements of `job` and report every one stored or missing."""
    progress = progress or LogProgress()
    started = time.monotonic()
    location = open_dataset(
        job.lake_url, job.signature, aws_profile=job.aws_profile, endpoint_url=job.s3_endpoint_url
    )
    writer = FundingWriter(location)
    await asyncio.to_thread(writer.check_writable)
    use_archive = job.vendor == "binance" and job.use_archive
    base_url = job.archive_url or REAL_ARCHIVE_URL
    async with AsyncExitStack() as stack:
        rest = await stack.enter_async_context(BinanceRest(job.market, job.rest, data_type="funding_rate"))
        archive = (
            await stack.enter_async_context(ArchiveClient(concurrency=job.concurrency))
            if use_archive
            else None
        )
        info = await rest.exchange_info()
        now_ms = rest.server_now_ms()
        window = clamp_window(job.window, now_ms)
        report = RunReport(location.url, job.market, window, job.window.end_ms)
        months = month_windows(window)
        symbols = job_symbols(job, info)
        progress.start(len(symbols) * len(months))
        report.symbols = [SymbolReport(symbol) for symbol in symbols]
        # Symbols run concurrently (months of one symbol in order); the funding pool or the weight
        # pool paces REST.
        slots = asyncio.Semaphore(job.concurrency)

        async def one_symbol(symbol_report: SymbolReport) -> None:
            symbol = symbol_report.symbol
            entry = info.get(to_exchange_id(symbol))
            if entry is None:
                symbol_report.gaps.append(Gap(window.start_ms, window.end_ms, "missing", NOT_ON_EXCHANGE))
                return
            symbol_report.listed_ms = entry.listed_ms
            if entry.dated:  # `--universe all` lists delivery contracts too
                symbol_report.gaps.append(Gap(window.start_ms, window.end_ms, "excluded", NO_FUNDING))
                for _ in months:
                    progress.day_done(symbol, 0, weight=_weight(rest), retries=0)
                return
            async with slots:
                for part in months:
                    before = symbol_report.rows_written
                    await _month(job, rest, archive, base_url, writer, symbol, part, now_ms, symbol_report)
                    rows = symbol_report.rows_written - before
                    progress.day_done(symbol, rows, weight=_weight(rest), retries=0)

        try:
            await asyncio.gather(*(one_symbol(r) for r in report.symbols))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or not task.cancelling():
                raise
            # The CLI cancels on SIGINT/SIGTERM: every month not finished is explained.
            task.uncancel()
            report.interrupted = True
            for symbol_report in report.symbols:
                entry = info.get(to_exchange_id(symbol_report.symbol))
                if entry is None or entry.dated:
                    continue
                for part in months:
                    if from_ms(part.start_ms).date().replace(day=1) not in symbol_report.sources:
                        reason = "not finished: run interrupted"
                        symbol_report.gaps.append(Gap(part.start_ms, part.end_ms, "missing", reason))
        finally:
            progress.close()
            report.requests, report.retries = rest.stats.requests, rest.stats.retries
            report.rate_limited = rest.stats.rate_limited
            report.weight = _weight(rest)
            if archive is not None:
                report.archive_files = archive.stats.files
            report.elapsed_s = time.monotonic() - started
    return report


def _weight(rest: BinanceRest) -> int:
    return (rest.budget.total_weight if rest.budget else 0) + rest.funding_budget.total_weight


async def _month(
    job: DownloadJob,
    rest: BinanceRest,
    archive: ArchiveClient | None,
    base_url: str,
    writer: FundingWriter,
    symbol: str,
    part: Window,
    now_ms: int,
    symbol_report: SymbolReport,
) -> None:
    first = from_ms(part.start_ms).date().replace(day=1)
    label = first.strftime("%Y-%m")
    ended = month_window(first.year, first.month).end_ms <= now_ms
    try:
        table, source = None, "rest"
        if archive is not None and ended:
            file = funding_file(base_url, job.market, symbol, label)
            fetched = await archive.fetch(file, parse=parse_funding_csv)
            if fetched.table is not None:
                table, source = fetched.table, "archive:monthly"
        if table is None:
            rows = await rest.funding_rates(
                to_exchange_id(symbol), part.start_ms - CONTEXT_MS, part.end_ms - 1
            )
            table = rest_funding_table(rows)
    except CandlelakeError as exc:
        symbol_report.errors.append(f"{label}: {exc}")
        symbol_report.gaps.append(Gap(part.start_ms, part.end_ms, "missing", f"failed: {exc}"))
        return
    items = settlements(table)
    gaps = missing_settlements(items, part, symbol_report.listed_ms)
    inside = to_table([s for s in items if part.start_ms <= s.nominal_ms < part.end_ms])
    if inside.num_rows:
        try:
            await asyncio.to_thread(
                writer.write_month,
                symbol,
                first.year,
                first.month,
                inside,
                source=source,
                gaps=gaps,
                exchange_id=job.exchange_id,
                window=part,
                replace=job.force,
            )
        except OSError as exc:  # a month that cannot be written is reported, never hidden
            symbol_report.errors.append(f"{label}: not written: {exc}")
            symbol_report.gaps.append(Gap(part.start_ms, part.end_ms, "missing", f"not written: {exc}"))
            return
        symbol_report.rows_written += inside.num_rows
        symbol_report.days_written += 1
        symbol_report.files.append(f"{symbol} {label}")
    # Recorded once the month is written: an interrupted run reports the others.
    symbol_report.gaps.extend(gaps)
    symbol_report.sources[first] = source
