"""Vendor `binance`: the archive first, then REST for whatever the archive does not hold."""

from __future__ import annotations

import asyncio

from candlelake.plan.archive import ArchiveFile
from candlelake.plan.days import SymbolPlan, contiguous
from candlelake.sources.archive_source import BinanceArchiveSource
from candlelake.sources.protocol import Outbox
from candlelake.sources.rest_source import BinanceRestSource, SymbolFeed
from candlelake.timeutil import Window
from candlelake.validate.gaps import Lifecycle


class BinanceSource:
    """A composite `Source`. Whole days come from archive files; REST fills the days no file
    covers, the files that are missing or bad, and the minutes a file lacks while the symbol
    traded (REST then tells a maintenance gap from an incomplete file)."""

    def __init__(self, rest: BinanceRestSource, archive: BinanceArchiveSource, *, concurrency: int) -> None:
        self.rest = rest
        self.archive = archive
        # A file is held from download until its days are delivered (written): this bounds
        # memory by concurrency even when fetching outpaces writing.
        self._files = asyncio.Semaphore(concurrency)

    async def submit(self, plan: SymbolPlan, outbox: Outbox) -> None:
        feed = self.rest.open(plan, outbox)
        for file in plan.archive_files:
            feed.assembly.expect(file.url, file.days)
        pages = feed.expect_spans(plan.rest_spans)
        for file in plan.archive_files:
            self.rest.dispatcher.spawn(self._file(feed, file))
        await feed.send(pages)

    async def _file(self, feed: SymbolFeed, file: ArchiveFile) -> None:
        async with self._files:
            read = await self.archive.read(file)
            if read.error:
                feed.outbox.error(feed.symbol, read.error)
            if read.instead:
                for daily in read.instead:
                    feed.assembly.expect(daily.url, daily.days)
                await feed.settle(file.url, source=None)
                for daily in read.instead:
                    self.rest.dispatcher.spawn(self._file(feed, daily))
                return
            if read.unavailable is not None:
                spans = contiguous([feed.assembly.window(d) for d in sorted(file.days)])
                pages = feed.expect_spans(spans)
                await feed.settle(file.url, source=None)
                await feed.send(pages)
                return
            pages = []
            for day in read.days:
                if day.holes:
                    lifecycle = await feed.lifecycle()
                    residual = [w for w in (_trim(h, lifecycle) for h in day.holes) if w is not None]
                    pages += feed.expect_spans(residual)
            rows = {day.day: day.table for day in read.days}
            await feed.settle(file.url, rows, source=read.source, archive_sha256=read.sha256)
        await feed.send(pages)


def _trim(window: Window, lifecycle: Lifecycle) -> Window | None:
    """The part of `window` in which the symbol traded."""
    start, end = window.start_ms, window.end_ms
    if lifecycle.listed_ms is not None:
        start = max(start, lifecycle.listed_ms)
    if lifecycle.delisted_ms is not None:
        end = min(end, lifecycle.delisted_ms)
    return Window(start, end) if start < end else None
