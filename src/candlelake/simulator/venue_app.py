"""Routes of OKX (`/api/v5/...`) and Bybit (`/v5/...`) on the simulator's one base URL.

Each request goes through the same stages as a Binance one: latency, the exchange's rate
limit, fault injection, then the answer, in the exchange's own envelope and error codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from aiohttp import web

from candlelake.simulator.clock import Clock
from candlelake.simulator.config import SimConfig
from candlelake.simulator.derivatives import bybit_futures, bybit_options, okx_instruments
from candlelake.simulator.faults import Fault, FaultPlan
from candlelake.simulator.klines import KlineService
from candlelake.simulator.ratelimit import RateLimiter
from candlelake.simulator.requests import client, identity, truncate
from candlelake.simulator.stats import Stats
from candlelake.simulator.symbols import Symbol
from candlelake.simulator.venues import (
    VenueError,
    bybit_envelope,
    bybit_instrument,
    bybit_rows,
    bybit_window,
    okx_envelope,
    okx_instrument,
    okx_rows,
    okx_window,
)

JSON = "application/json"
OKX_WINDOW_S = 2.0
BYBIT_WINDOW_S = 5.0
# OKX limits per endpoint, as multiples of `okx_requests_per_2s` (20 for history-candles).
OKX_LIMIT_FACTOR = {"market/candles": 2.0, "market/history-candles": 1.0, "public/instruments": 1.0}
OKX_TYPES = {"SPOT": "okx:spot", "SWAP": "okx:swap"}
BYBIT_CATEGORIES = {"spot": "bybit:spot", "linear": "bybit:linear"}


class State(Protocol):
    cfg: SimConfig
    clock: Clock
    klines: KlineService
    limiter: RateLimiter
    faults: FaultPlan
    stats: Stats


Answer = Callable[[dict[str, str], int], bytes]


def add_venue_routes(app: web.Application, state: State) -> None:
    app.router.add_route("*", "/api/v5/{tail:.*}", _okx_handler(state))
    app.router.add_route("*", "/v5/{tail:.*}", _bybit_handler(state))


def _okx_handler(state: State) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    symbols = state.klines.market.symbols

    def instruments(params: dict[str, str], now: int) -> bytes:
        market = OKX_TYPES.get(params.get("instType", ""))
        if "instType" not in params:
            raise VenueError(400, "50014", "Parameter instType can not be empty")
        if market is None:  # dated futures and options: listings only
            return okx_envelope(okx_instruments(params["instType"], now, params.get("uly")))
        syms = [s for s in symbols.market_symbols(market) if s.is_visible(now)]
        if "instId" in params:
            syms = [s for s in syms if s.symbol == params["instId"]]
        return okx_envelope([okx_instrument(s, now) for s in syms])

    def candles(params: dict[str, str], now: int) -> bytes:
        low, high, limit, interval = okx_window(params)
        sym = _okx_symbol(state, params["instId"], now)
        rows = _select(state, sym, interval, low, high, limit, now, oldest_first=False)
        return okx_envelope(okx_rows(sym, rows, now))

    routes: dict[str, tuple[Answer, str]] = {
        "public/instruments": (instruments, "exchangeInfo"),
        "public/time": (lambda p, now: okx_envelope([{"ts": str(now)}]), "time"),
        "market/candles": (candles, "klines"),
        "market/history-candles": (candles, "klines"),
    }

    def limit(endpoint: str) -> tuple[str, int, float]:
        factor = OKX_LIMIT_FACTOR.get(endpoint, 0.5)
        return f"okx:{endpoint}", max(1, int(state.cfg.okx_requests_per_2s * factor)), OKX_WINDOW_S

    def refused(status: int, code: str, msg: str) -> web.Response:
        return web.Response(body=okx_envelope([], code, msg), status=status, content_type=JSON)

    return _handler(state, "/api/v5/", routes, limit, refused, over_limit=(429, "50011", "Too Many Requests"))


def _bybit_handler(state: State) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    symbols = state.klines.market.symbols

    def instruments(params: dict[str, str], now: int) -> bytes:
        category = params.get("category", "")
        if category not in ("spot", "linear", "inverse", "option"):
            raise VenueError(200, "10001", "params error: category invalid")
        market = BYBIT_CATEGORIES.get(category)
        syms = [s for s in symbols.market_symbols(market) if s.is_visible(now)] if market else []
        items = [bybit_instrument(s, now) for s in syms]
        if category == "linear":
            items += bybit_futures(now)
        elif category == "option":
            items += bybit_options(now, params.get("baseCoin", ""))
        if "symbol" in params:
            items = [i for i in items if i["symbol"] == params["symbol"]]
        return bybit_envelope({"category": category, "list": items, "nextPageCursor": ""}, now)

    def kline(params: dict[str, str], now: int) -> bytes:
        start, end, limit, interval, oldest_first = bybit_window(params)
        market = BYBIT_CATEGORIES.get(params.get("category", "linear"))
        sym = symbols.get(market, params["symbol"]) if market else None
        if sym is None or not sym.is_visible(now):
            raise VenueError(200, "10001", "Not supported symbols")
        rows = _select(state, sym, interval, start, end, limit, now, oldest_first=oldest_first)
        result = {
            "symbol": sym.symbol,
            "category": params.get("category", "linear"),
            "list": bybit_rows(rows),
        }
        return bybit_envelope(result, now)

    def server_time(params: dict[str, str], now: int) -> bytes:
        return bybit_envelope({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}, now)

    routes: dict[str, tuple[Answer, str]] = {
        "market/instruments-info": (instruments, "exchangeInfo"),
        "market/time": (server_time, "time"),
        "market/kline": (kline, "klines"),
    }

    def limit(endpoint: str) -> tuple[str, int, float]:
        return "bybit", state.cfg.bybit_requests_per_5s, BYBIT_WINDOW_S

    def refused(status: int, code: str, msg: str) -> web.Response:
        if status == 403:  # Bybit's IP limit answers a bare 403 page
            return web.Response(text="403 Forbidden: access too frequent", status=403)
        if status >= 500:  # gateway errors come as a page, not in Bybit's envelope
            return web.Response(text=f"<html><body><h1>{status}</h1></body></html>", status=status)
        now = state.clock.now_ms()
        return web.Response(body=bybit_envelope({}, now, int(code), msg), status=status, content_type=JSON)

    return _handler(state, "/v5/", routes, limit, refused, over_limit=(403, "10018", "exceed ip rate limit"))


def _handler(
    state: State,
    prefix: str,
    routes: dict[str, tuple[Answer, str]],
    limit: Callable[[str], tuple[str, int, float]],
    refused: Callable[[int, str, str], web.Response],
    over_limit: tuple[int, str, str],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        state.stats.arrived()
        endpoint = request.path[len(prefix) :]
        who, what = client(request), identity(request)
        attempt = state.faults.next_attempt(what)
        delay = state.faults.delay_seconds(what, attempt)
        if delay:
            await asyncio.sleep(delay)
        resp = await _answer(request, state, endpoint, routes, limit, refused, over_limit, who, what, attempt)
        state.stats.record(request.path, who, 1, resp.status)
        return resp

    return handle


async def _answer(
    request: web.Request,
    state: State,
    endpoint: str,
    routes: dict[str, tuple[Answer, str]],
    limit: Callable[[str], tuple[str, int, float]],
    refused: Callable[[int, str, str], web.Response],
    over_limit: tuple[int, str, str],
    who: str,
    what: str,
    attempt: int,
) -> web.StreamResponse:
    route = routes.get(endpoint)
    if request.method != "GET" or route is None:
        return web.Response(status=404)
    answer, target = route
    budget, allowed, window_s = limit(endpoint)
    verdict = state.limiter.charge(who, budget, 1, limit=allowed, window_s=window_s)
    if verdict.status != 200:
        resp = refused(*over_limit)
        resp.headers["Retry-After"] = str(verdict.retry_after)
        return resp
    params = dict(request.rel_url.query)
    if target == "klines":
        market_symbol = (
            params.get("instId") or f"{params.get('category', 'linear')}:{params.get('symbol', '')}"
        )
        fixed = _fixed_failure(state, market_symbol, what, attempt)
        if fixed is not None:
            return refused(fixed.status, "50001", "Service temporarily unavailable, please try again later.")
    fault = state.faults.decide(target, what, attempt)
    if fault is not None and fault.kind == "error":
        return refused(fault.status, "50001", "Service temporarily unavailable, please try again later.")
    if fault is not None and fault.kind == "hang":
        await asyncio.sleep(state.cfg.hang_seconds)
    if fault is not None and fault.kind == "reset" and request.transport is not None:
        request.transport.abort()
        return web.Response(status=500)
    try:
        resp = web.Response(body=answer(params, state.clock.now_ms()), content_type=JSON)
    except VenueError as err:
        return refused(err.status, err.code, err.msg)
    return truncate(resp) if fault is not None and fault.kind == "truncate" else resp


def _fixed_failure(state: State, market_symbol: str, what: str, attempt: int) -> Fault | None:
    """`fail_symbols` entries `okx:swap:BTC-USDT-SWAP` or `bybit:linear:BTCUSDT`."""
    for entry in state.cfg.fail_symbols:
        market, _, symbol = entry.rpartition(":")
        venue = market.split(":")[0]
        if venue == "okx" and symbol == market_symbol:
            return state.faults.fixed_failure(market, symbol, what, attempt)
        if venue == "bybit" and f"{market.split(':')[-1]}:{symbol}" == market_symbol:
            return state.faults.fixed_failure(market, symbol, what, attempt)
    return None


def _okx_symbol(state: State, inst_id: str, now: int) -> Symbol:
    table = state.klines.market.symbols
    market = "okx:swap" if inst_id.endswith("-SWAP") else "okx:spot"
    sym = table.get(market, inst_id)
    if sym is None or not sym.is_visible(now):
        raise VenueError(400, "51001", "Instrument ID does not exist")
    return sym


def _select(
    state: State,
    sym: Symbol,
    interval: str,
    low: int | None,
    high: int | None,
    limit: int,
    now: int,
    *,
    oldest_first: bool,
) -> list[list[Any]]:
    """Binance-shaped rows with `low <= open <= high`: the oldest `limit` or the newest."""
    if oldest_first:
        body, _ = state.klines.select(sym, interval, low or 0, high, limit, now)
        rows: list[list[Any]] = orjson.loads(body)
        return rows
    body, _ = state.klines.select(sym, interval, None, high, limit, now)
    rows = orjson.loads(body)
    return [r for r in rows if low is None or int(r[0]) >= low]
