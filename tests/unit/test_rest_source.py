"""The REST source without a server: span paging, and how each failure becomes explained minutes.

A scripted transport plays Binance (scripted_http.py); the planner, the source, its day
assembly and the scheduler all run for real. Every planned minute must come back either as
a row or inside a failure window with a reason that says what happened.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import orjson
from scripted_http import MINUTE, Scripted, info_response, kline_row, ok_response

from candlelake.engine.scheduler import Scheduler
from candlelake.errors import IpBanned
from candlelake.markets import Market
from candlelake.plan.days import PlanOptions, clamp_window, plan_symbol
from candlelake.settings import RestSettings
from candlelake.sources.binance_rest import BinanceRest
from candlelake.sources.http import HttpResponse, Params
from candlelake.sources.protocol import FinishedDay
from candlelake.sources.rest_source import BinanceRestSource
from candlelake.timeutil import DAY_MS, Window, from_ms
from candlelake.validate.gaps import Lifecycle

MIDNIGHT = 1_700_006_400_000  # 2023-11-15 00:00 UTC
# 450 minutes each side of midnight: two days, one span.
WINDOW = Window(MIDNIGHT - 450 * MINUTE, MIDNIGHT + 450 * MINUTE)
CUT = HttpResponse(200, {}, orjson.dumps([kline_row(MIDNIGHT)])[:-9])


class FakeBinance(Scripted):
    """exchangeInfo, then klines for exactly the window asked; each fault answers one request first."""

    def __init__(self, *faults: HttpResponse | Exception, server_ms: int | None = None) -> None:
        super().__init__(*faults)
        self.server_ms = server_ms

    async def get(self, url: str, params: Params) -> HttpResponse:
        if url.endswith("/exchangeInfo"):
            return info_response(self.server_ms)
        if self.steps:
            return await super().get(url, params)
        self.calls.append((url, dict(params)))
        start, end, limit = int(params["startTime"]), int(params["endTime"]), int(params["limit"])
        return ok_response([kline_row(t) for t in range(start, end + 1, MINUTE)][:limit])

    @property
    def kline_requests(self) -> int:
        return sum(url.endswith("/klines") for url, _ in self.calls)


class Recorder:
    """The Outbox: what a source delivered."""

    def __init__(self) -> None:
        self.days: list[FinishedDay] = []
        self.errors: list[str] = []

    async def deliver(self, day: FinishedDay) -> None:
        self.days.append(day)

    async def deliver_days(self, days: Sequence[FinishedDay]) -> None:
        self.days.extend(days)

    def error(self, symbol: str, message: str) -> None:
        self.errors.append(message)

    def listing(self, symbol: str, lifecycle: Lifecycle) -> None:
        pass


def _run(
    transport: FakeBinance, market: Market = "futures", window: Window = WINDOW, attempts: int = 3
) -> tuple[Recorder, Scheduler, BinanceRest]:
    settings = RestSettings(base_url="http://127.0.0.1:9", attempts=attempts, max_backoff_s=0.01)

    async def go() -> tuple[Recorder, Scheduler, BinanceRest]:
        async with BinanceRest(market, settings, transport) as rest:
            info = await rest.exchange_info()
            clamped = clamp_window(window, rest.server_now_ms())
            today = from_ms(rest.server_now_ms()).date()
            plan = plan_symbol("BTC_USDT", clamped, {}, today=today, options=PlanOptions(market))
            scheduler = Scheduler(concurrency=1)  # one page at a time: answers follow page order
            outbox = Recorder()
            await BinanceRestSource(rest, info, scheduler, full=True).submit(plan, outbox)
            await scheduler.drain()
            return outbox, scheduler, rest

    return asyncio.run(go())


def _accounted(day: FinishedDay) -> int:
    """Minutes of the day that are a row or inside a failure window (each counted once)."""
    rows = set(day.table.column("timestamp").to_pylist())
    failed = {t for f in day.failures for t in range(f.window.start_ms, f.window.end_ms, MINUTE)}
    return len((rows | failed) & set(range(day.window.start_ms, day.window.end_ms, MINUTE)))


def test_spot_pages_a_span_across_midnight_with_one_request_and_both_days_arrive_whole() -> None:
    transport = FakeBinance()
    outbox, _, rest = _run(transport, market="spot")
    assert transport.kline_requests == 1  # day by day would be two requests, twice the weight
    assert [d.day for d in outbox.days] == [dt.date(2023, 11, 14), dt.date(2023, 11, 15)]
    for day in outbox.days:
        assert day.table.num_rows == 450 and day.failures == () and day.source == "rest"
        assert day.table.column("number_of_trades").to_pylist() == [3] * 450  # all 12 fields kept
    assert outbox.errors == [] and rest.stats.retries == 0


def test_429_is_waited_out_and_costs_no_minute() -> None:
    limited = HttpResponse(429, {"retry-after": "0.01"}, b'{"code":-1003,"msg":"Too many requests"}')
    outbox, _, rest = _run(FakeBinance(limited))
    assert [d.table.num_rows for d in outbox.days] == [450, 450]
    assert all(d.failures == () for d in outbox.days)
    assert rest.stats.rate_limited == 1 and outbox.errors == []


def test_418_stops_the_run_and_every_unsent_minute_is_explained_as_not_fetched() -> None:
    transport = FakeBinance(HttpResponse(418, {"retry-after": "120"}, b'{"code":-1003}'))
    outbox, scheduler, _ = _run(transport)
    assert isinstance(scheduler.stopped, IpBanned)
    assert transport.kline_requests == 1  # nothing is sent after the ban
    reasons = {f.reason for d in outbox.days for f in d.failures}
    assert any(r.startswith("not fetched: Binance banned this IP (HTTP 418) for 120 s") for r in reasons)
    assert any(r.startswith("not fetched: run stopped (Binance banned this IP") for r in reasons)
    assert [_accounted(d) for d in outbox.days] == [450, 450]
    assert outbox.errors == []  # the ban fails the run once, at run level


def test_5xx_that_outlasts_the_retries_is_a_failed_window_and_a_run_error() -> None:
    bad = HttpResponse(503, {}, b'{"code":-1001,"msg":"Internal error"}')
    outbox, _, _ = _run(FakeBinance(bad, bad), attempts=2)
    failures = [f for d in outbox.days for f in d.failures]
    assert {f.reason for f in failures} == {"failed after retries: HTTP 503 for futures BTCUSDT"}
    # The first page (499 minutes, futures' cheapest size) failed; the second arrived.
    assert sum(d.table.num_rows for d in outbox.days) == 900 - 499
    assert [_accounted(d) for d in outbox.days] == [450, 450]
    (error,) = outbox.errors
    assert "HTTP 503" in error and "2023-11-14T16:30:00Z" in error


def test_a_truncated_body_is_retried_and_a_persistent_one_is_explained() -> None:
    outbox, _, rest = _run(FakeBinance(CUT))
    assert [d.table.num_rows for d in outbox.days] == [450, 450] and rest.stats.retries == 1
    outbox, _, _ = _run(FakeBinance(CUT, CUT), attempts=2)
    (reason,) = {f.reason for d in outbox.days for f in d.failures}
    assert reason.startswith("failed after retries: truncated or malformed JSON for futures BTCUSDT")


def test_a_terminal_answer_is_not_reported_as_retried() -> None:
    illegal = HttpResponse(400, {}, b'{"code":-1100,"msg":"Illegal characters found in parameter"}')
    transport = FakeBinance(illegal)
    outbox, _, _ = _run(transport)
    (reason,) = {f.reason for d in outbox.days for f in d.failures}
    assert reason == "failed: HTTP 400 for futures BTCUSDT: Illegal characters found in parameter"
    assert transport.kline_requests == 2  # one per page: no retry was made


def test_rows_that_cannot_be_converted_are_malformed_not_failed_after_retries() -> None:
    row = kline_row(WINDOW.start_ms)
    row[1] = "not a number"
    transport = FakeBinance(ok_response([row]))
    outbox, _, _ = _run(transport)
    (reason,) = {f.reason for d in outbox.days for f in d.failures}
    assert reason.startswith("malformed klines: ") and "retries" not in reason
    assert transport.kline_requests == 2


def test_a_frozen_exchange_clock_decides_which_candles_are_closed() -> None:
    # The exchange's clock is a day behind ours, 30 s into a minute: only candles closed
    # on its clock are asked for, and none after it.
    server_ms = MIDNIGHT + 90 * MINUTE + 30_000
    transport = FakeBinance(server_ms=server_ms)
    outbox, _, _ = _run(transport, window=Window(MIDNIGHT, MIDNIGHT + DAY_MS))
    (day,) = outbox.days
    assert day.window == Window(MIDNIGHT, MIDNIGHT + 90 * MINUTE)
    assert day.table.num_rows == 90
    assert max(int(p["endTime"]) for _, p in transport.calls) < server_ms - 30_000
