"""Klines over REST as a `Source`: span paging, error translation, day assembly.

The client is Binance's own (`BinanceRest`) or ccxt's for the other exchanges (`CcxtRest`);
both answer the `KlineRest` protocol below.

Pages are cut from contiguous spans rather than day by day: a day-sized request would
cost up to 39 % more weight on spot. Each page's rows go into the symbol's `DayAssembly`,
which hands back the days every overlapping page has settled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.errors import CandlelakeError, IpBanned, TransientError
from candlelake.plan.days import SymbolPlan
from candlelake.plan.pages import EndpointCost, Page, plan_pages
from candlelake.sources.assembly import AssembledDay, DayAssembly
from candlelake.sources.binance_rest import SymbolInfo
from candlelake.sources.protocol import Dispatcher, FinishedDay, Outbox
from candlelake.timeutil import Window
from candlelake.validate.gaps import Explained, Lifecycle

log = logging.getLogger(__name__)


class KlineRest(Protocol):
    """A market's REST client as the source uses it."""

    cost: EndpointCost

    def lookup(self, symbol: str) -> SymbolInfo | None: ...

    async def klines(self, exchange_symbol: str, page: Page) -> list[list[Any]]: ...

    async def probe(self, exchange_symbol: str, *, first: bool) -> int | None: ...

    def to_table(self, rows: Sequence[Sequence[Any]], *, full: bool) -> pa.Table: ...


class BinanceRestSource:
    """One market's klines over REST; `info` is exchangeInfo by exchange symbol (`BTCUSDT`)."""

    def __init__(
        self,
        rest: KlineRest,
        info: Mapping[str, SymbolInfo],
        dispatcher: Dispatcher,
        *,
        full: bool,
        grid: BarGrid = MINUTE_GRID,
    ) -> None:
        self.rest = rest
        self.grid = grid
        self.info = info
        self.dispatcher = dispatcher
        self.full = full

    def open(self, plan: SymbolPlan, outbox: Outbox) -> SymbolFeed:
        """The per-symbol state that a composite source shares with this one."""
        info = self.rest.lookup(plan.symbol)
        if info is None:
            raise KeyError(f"{plan.symbol} is not on the exchange")
        return SymbolFeed(self, plan, info, outbox)

    async def submit(self, plan: SymbolPlan, outbox: Outbox) -> None:
        feed = self.open(plan, outbox)
        await feed.send(feed.expect_spans(plan.rest_spans))

    async def fetch_day(self, symbol: str, day: dt.date) -> pa.Table:
        """Every field of one whole day, page by page, outside any plan (for cross-checks)."""
        info = self.rest.lookup(symbol)
        if info is None:
            raise KeyError(f"{symbol} is not on the exchange")
        rows = []
        for page in plan_pages(self.grid.partition_window(day), self.rest.cost, grid=self.grid):
            rows.extend(await self.rest.klines(info.exchange_symbol, page))
        return self.rest.to_table(rows, full=True)


class SymbolFeed:
    """One symbol in flight: its day assembly, its pages, its listing bounds."""

    def __init__(self, source: BinanceRestSource, plan: SymbolPlan, info: SymbolInfo, outbox: Outbox) -> None:
        self.source = source
        self.symbol = plan.symbol
        self.info = info
        self.outbox = outbox
        self.assembly = DayAssembly(plan.windows, full=source.full, grid=source.grid)
        self._parts = itertools.count()
        self._lifecycle: Lifecycle | None = None
        self._lock = asyncio.Lock()

    # -- pages -----------------------------------------------------------------

    def expect_spans(self, spans: Iterable[Window]) -> list[tuple[int, Page]]:
        """Cut `spans` into pages and announce each to the days it covers."""
        pages = []
        for span in spans:
            for page in plan_pages(span, self.source.rest.cost, grid=self.source.grid):
                part = next(self._parts)
                self.assembly.expect(part, self.source.grid.partitions(page.window))
                pages.append((part, page))
        return pages

    async def send(self, pages: Sequence[tuple[int, Page]]) -> None:
        """Start each page once a request slot is free; after a stop, explain it instead."""
        dispatcher = self.source.dispatcher
        for part, page in pages:
            if await dispatcher.acquire():
                dispatcher.spawn(self._fetch(part, page))
            else:
                # Nothing more is sent after a ban, but every planned minute is accounted for.
                reason = f"not fetched: run stopped ({dispatcher.stopped})"
                await self.settle(part, failure=Explained(page.window, reason))

    async def _fetch(self, part: int, page: Page) -> None:
        table: pa.Table | None = None
        failure: Explained | None = None
        try:
            rows = await self.source.rest.klines(self.info.exchange_symbol, page)
            table = self.source.rest.to_table(rows, full=self.source.full)
        except IpBanned as exc:
            self.source.dispatcher.stop(exc)
            failure = Explained(page.window, f"not fetched: {exc}")
        except TransientError as exc:
            failure = self._failed(page, f"failed after retries: {exc}", exc)
        except CandlelakeError as exc:
            failure = self._failed(page, f"failed: {exc}", exc)
        except ValueError as exc:  # a row that cannot be converted; no retry was made
            failure = self._failed(page, f"malformed klines: {exc}", exc)
        finally:
            self.source.dispatcher.release()
        await self.settle(part, table, failure=failure)

    def _failed(self, page: Page, reason: str, exc: Exception) -> Explained:
        self.outbox.error(self.symbol, f"{page.window}: {exc}")
        log.error("%s %s: %s", self.symbol, page.window, exc)
        return Explained(page.window, reason)

    async def settle(
        self,
        part: object,
        rows: pa.Table | Mapping[dt.date, pa.Table] | None = None,
        *,
        failure: Explained | None = None,
        source: str | None = "rest",
        archive_sha256: str | None = None,
    ) -> None:
        """Deliver a part to the assembly and pass on the days it finished."""
        finished = self.assembly.deliver(
            part, rows, failure=failure, source=source, archive_sha256=archive_sha256
        )
        if finished:
            await self.outbox.deliver_days([self._finished(day) for day in finished])

    def _finished(self, day: AssembledDay) -> FinishedDay:
        return FinishedDay(
            self.symbol,
            day.day,
            day.window,
            day.table,
            day.failures,
            day.source,
            day.archive_sha256,
            self.lifecycle,
        )

    # -- listing bounds --------------------------------------------------------

    async def lifecycle(self) -> Lifecycle:
        """Listing and delisting bounds, probed once and only when a gap needs explaining."""
        async with self._lock:
            if self._lifecycle is None:
                try:
                    self._lifecycle = await self._probe()
                except CandlelakeError as exc:
                    # Without the bounds every gap reads as missing: the conservative reading.
                    log.warning("%s: cannot probe listing dates (%s)", self.symbol, exc)
                    self._lifecycle = Lifecycle(self.info.listed_ms, None)
                self.outbox.listing(self.symbol, self._lifecycle)
            return self._lifecycle

    async def _probe(self) -> Lifecycle:
        rest, info, grid = self.source.rest, self.info, self.source.grid
        listed = info.listed_ms
        if listed is None:
            listed = await rest.probe(info.exchange_symbol, first=True)
        delisted = None
        # A delivery contract ends at its deliveryDate, whatever its status says now.
        ended_by = "delivered" if info.dated and info.delivery_ms is not None else "delisted"
        if not info.trading and ended_by == "delisted":
            last = await rest.probe(info.exchange_symbol, first=False)
            delisted = grid.next_open(last) if last is not None else listed
        elif info.delivery_ms is not None:
            delisted = info.delivery_ms
        return Lifecycle(
            # The bar that holds the listing time has candles from then on.
            grid.floor(listed) if listed is not None else None,
            # Windows are whole bars; a delivery time inside a bar ends after it.
            grid.ceil(delisted) if delisted is not None else None,
            ended_by,
        )
