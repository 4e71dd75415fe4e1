"""The aiohttp application: Binance REST routes, the archive, and /_sim introspection."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from candlelake.simulator import funding
from candlelake.simulator.archive import Archive, parse_key
from candlelake.simulator.clock import Clock
from candlelake.simulator.coinm import COIN_MARKET, index_source
from candlelake.simulator.config import SimConfig
from candlelake.simulator.derivatives import binance_options
from candlelake.simulator.faults import Fault, FaultPlan, error_body
from candlelake.simulator.intervals import FUTURES_INTERVALS, SPOT_INTERVALS
from candlelake.simulator.klines import KlineService
from candlelake.simulator.market import Market
from candlelake.simulator.prices import INDEX, KINDS, PRICE_KINDS, TRADE_KLINES
from candlelake.simulator.ratelimit import RateLimiter, Verdict, futures_weight, spot_weight
from candlelake.simulator.requests import client as _client
from candlelake.simulator.requests import identity as _identity
from candlelake.simulator.requests import truncate as _truncate
from candlelake.simulator.stats import Stats
from candlelake.simulator.symbols import Symbol, bundled_exchange_info
from candlelake.simulator.venue_app import add_venue_routes

JSON = "application/json;charset=UTF-8"
_NUMBER = re.compile(r"^[0-9]{1,20}$")
# Binance.US serves Binance's spot API under its own prefix (one base URL for every venue).
API_PREFIXES = {
    "/api/v3/": "spot",
    "/fapi/v1/": "futures",
    "/dapi/v1/": "coin_futures",
    "/eapi/v1/": "options",
    "/binanceus/api/v3/": "binanceus",
}
# budget -> the symbol-table market whose symbols it serves
BUDGET_MARKET = {
    "spot": "spot",
    "futures": "futures",
    "coin_futures": "coin_futures",
    "binanceus": "binanceus:spot",
}
SPOT_API = ("spot", "binanceus")
MAX_LIMIT = {"spot": 1000, "futures": 1500, "coin_futures": 1500, "binanceus": 1000}
BINANCEUS_WEIGHTS = {"klines": 1, "exchangeInfo": 10}


class ApiError(Exception):
    """A Binance error answer: HTTP status + {"code", "msg"}."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


COINM_MAX_SPAN_MS = 200 * 86_400_000


def _mandatory(name: str) -> ApiError:
    return ApiError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _illegal(name: str) -> ApiError:
    return ApiError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
    )


def _invalid(name: str) -> ApiError:
    return ApiError(-1130, f"Data sent for parameter '{name}' is not valid.")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class SimState:
    """Everything one running simulator needs; built from a SimConfig, no globals."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.clock = Clock(cfg.clock)
        self.market = Market(cfg)
        self.klines = KlineService(self.market, cfg.rest_cache_mb << 20)
        # USD-M's mark, index and premium-index klines, each with its own smaller cache.
        self.price_klines = {
            kind: KlineService(self.market, cfg.rest_cache_mb << 18, kind) for kind in PRICE_KINDS
        }
        self.archive = Archive(self.market)
        self.limiter = RateLimiter(cfg)
        self.faults = FaultPlan(cfg)
        self.stats = Stats()

    def reset(self) -> None:
        self.limiter.reset()
        self.faults.reset()
        self.stats.reset()

    def stats_snapshot(self) -> dict[str, Any]:
        snap = self.stats.snapshot()
        snap["cache"] = {
            "rest_blocks": len(self.klines.cache),
            "rest_bytes": self.klines.cache.bytes,
            "rest_hits": self.klines.cache.hits,
            "rest_misses": self.klines.cache.misses,
            "archive_files": len(self.archive.cache),
            "archive_bytes": self.archive.cache.bytes,
        }
        return snap


def _params(request: web.Request) -> dict[str, str]:
    query = request.rel_url.query
    if len(set(query.keys())) != len(query):
        raise ApiError(-1101, "Duplicate values for a parameter detected.")
    return dict(query)


def _int_param(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not _NUMBER.match(raw):
        raise _illegal(name)
    return int(raw)


# --- API handlers -------------------------------------------------------------------------------


def _rate_limits(state: SimState, market: str) -> list[dict[str, Any]]:
    body = bundled_exchange_info("spot" if market in SPOT_API else "futures")
    limits = [dict(x) for x in body["rateLimits"]]
    w = state.cfg.window_seconds
    for item in limits:
        if item["rateLimitType"] == "REQUEST_WEIGHT":
            item["limit"] = state.limiter.limit(market)
            item["interval"], item["intervalNum"] = (
                ("MINUTE", int(w // 60)) if w % 60 == 0 else ("SECOND", int(w))
            )
    return limits


def exchange_info(state: SimState, market: str, params: dict[str, str]) -> dict[str, Any]:
    now = state.clock.now_ms()
    if market == "options":
        return binance_options(now)
    body = bundled_exchange_info("spot" if market in SPOT_API else "futures")
    body["serverTime"] = now
    body["rateLimits"] = _rate_limits(state, market)
    syms = [s for s in state.market.symbols.market_symbols(BUDGET_MARKET[market]) if s.is_visible(now)]
    wanted: list[str] | None = None
    if market in SPOT_API and "symbol" in params:
        wanted = [params["symbol"]]
    elif market in SPOT_API and "symbols" in params:
        try:
            wanted = [str(x) for x in orjson.loads(params["symbols"])]
        except orjson.JSONDecodeError as exc:
            raise _mandatory("symbols") from exc
    if wanted is not None:
        by_name = {s.symbol: s for s in syms}
        if any(w not in by_name for w in wanted):
            raise ApiError(-1121, "Invalid symbol.")
        syms = [by_name[w] for w in wanted]
    body["symbols"] = [state.market.symbols.exchange_entry(s, now) for s in syms]
    return body


def _span(params: dict[str, str]) -> tuple[int | None, int | None, int | None]:
    """startTime, endTime and limit, each None when not sent."""
    return _int_param(params, "startTime"), _int_param(params, "endTime"), _int_param(params, "limit")


def _visible(state: SimState, market: str, symbol: str, now: int) -> Symbol:
    sym = state.market.symbols.get(market, symbol)
    if sym is None or not sym.is_visible(now):
        raise ApiError(-1121, "Invalid symbol.")
    return sym


def klines_body(state: SimState, market: str, params: dict[str, str], endpoint: str = TRADE_KLINES) -> bytes:
    """Validate like Binance and answer the JSON body of a klines (or price klines) request."""
    service = state.price_klines.get(endpoint, state.klines)
    # indexPriceKlines names the underlying `pair`: a USD-M pair is its perpetual's id
    # (BTCUSDT), a COIN-M pair is shared by the pair's contracts (BTCUSD, never BTCUSD_PERP).
    name = "pair" if endpoint == INDEX else "symbol"
    symbol = params.get(name)
    if not symbol:
        raise _mandatory(name)
    if endpoint == INDEX and market == COIN_MARKET:
        if "_" in symbol:
            raise ApiError(-1121, "Invalid symbol.")
        symbol = index_source(market, symbol)
    interval = params.get("interval")
    if not interval:
        raise _mandatory("interval")
    start, end, limit = _span(params)
    if market in SPOT_API and params.get("timeZone", "0") not in ("0", "+0", "-0", "0:00", "+00:00", "00:00"):
        raise _invalid("timeZone")  # the simulator only builds UTC buckets
    now = state.clock.now_ms()
    sym = _visible(state, BUDGET_MARKET[market], symbol, now)
    if interval not in (SPOT_INTERVALS if market in SPOT_API else FUTURES_INTERVALS):
        raise ApiError(-1120, "Invalid interval.")
    if limit is None:
        limit = 500
    if limit < 1:
        raise _invalid("limit")
    if limit > MAX_LIMIT[market]:
        if state.cfg.limit_above_max == "error":
            raise _invalid("limit")
        limit = MAX_LIMIT[market]
    if start is not None and end is not None and start > end:
        if market in ("futures", "coin_futures"):
            raise ApiError(-1023, "Start time is greater than end time.")
        return b"[]"
    if start is not None and start >= 10**15:  # µs accepted since 2024-12-17
        start //= 1000
    if end is not None and end >= 10**15:
        end //= 1000
    if market == COIN_MARKET and start is not None and end is not None and end - start > COINM_MAX_SPAN_MS:
        # COIN-M klines of every kind: "the difference between startTime and endTime can only
        # be up to 200 days".
        raise ApiError(-1127, "Lookup interval is too big.")
    body, _ = service.select(sym, interval, start, end, limit, now)
    return body


def funding_body(state: SimState, market: str, params: dict[str, str]) -> list[dict[str, object]]:
    """`GET /fapi/v1/fundingRate` or `/dapi/v1/fundingRate`: startTime and endTime inclusive,
    limit default 100, max 1000; `[]` for a COIN-M delivery contract (funding.settlements)."""
    symbol = params.get("symbol")
    if not symbol:
        raise _mandatory("symbol")
    start, end, limit = _span(params)
    limit = 100 if limit is None else limit
    if limit < 1:
        raise _invalid("limit")
    limit = min(limit, 1000)
    now = state.clock.now_ms()
    sym = _visible(state, market, symbol, now)
    hi = now if end is None else min(end, now)
    if start is not None and start > hi:
        return []
    # Without startTime: the newest `limit`; settlements are at most 8 h apart.
    lo = start if start is not None else hi - (limit + 1) * 8 * 3_600_000
    items = [f for f in funding.settlements(state.cfg, sym, lo - 60_000, hi) if lo <= f.time_ms <= hi]
    items = items[:limit] if start is not None else items[-limit:]
    return funding.rest_rows(items, symbol)


# --- middleware-like pipeline -------------------------------------------------------------------


def _endpoint_weight(market: str, endpoint: str, params: dict[str, str]) -> int:
    if market == "binanceus":  # ccxt's costs for Binance.US (docs/exchanges.md)
        return BINANCEUS_WEIGHTS.get(endpoint, 1)
    if market in SPOT_API:
        return spot_weight(endpoint, 0)
    raw = params.get("limit", "500")
    limit = int(raw) if _NUMBER.match(raw) else 500
    return futures_weight(endpoint, limit)


def _limit_headers(market: str, used: int) -> dict[str, str]:
    headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
    if market in SPOT_API:
        headers["X-MBX-USED-WEIGHT"] = str(used)
    return headers


def _fault_response(request: web.Request, fault: Fault, archive: bool) -> web.Response:
    if archive:
        code = "SlowDown" if fault.status == 503 else "InternalError"
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code></Error>'
        return web.Response(status=fault.status, text=xml, content_type="application/xml")
    if fault.status == 502:
        return web.Response(
            status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"
        )
    return _json(error_body(fault.status, request.path), fault.status)


async def _apply_fault(
    request: web.Request, state: SimState, fault: Fault | None, archive: bool
) -> web.Response | None:
    """Returns an early response for error/reset faults; hangs in place for 'hang'."""
    if fault is None:
        return None
    if fault.kind == "error":
        return _fault_response(request, fault, archive)
    if fault.kind == "hang":
        await asyncio.sleep(state.cfg.hang_seconds)
    if fault.kind == "reset" and request.transport is not None:
        request.transport.abort()
        return web.Response(status=500)
    return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(state: SimState) -> web.Application:
    """The aiohttp application for one SimState."""
    app = web.Application()

    async def api(request: web.Request) -> web.StreamResponse:
        state.stats.arrived()
        path = request.path
        prefix = next((p for p in API_PREFIXES if path.startswith(p)), "")
        budget = API_PREFIXES.get(prefix, "spot")
        endpoint = path[len(prefix) :]
        client = _client(request)
        identity = _identity(request)
        attempt = state.faults.next_attempt(identity)
        delay = state.faults.delay_seconds(identity, attempt)
        if delay:
            await asyncio.sleep(delay)
        try:
            params = _params(request)
        except ApiError:
            params = {}
        weight = _endpoint_weight(budget, endpoint, params)
        verdict: Verdict = state.limiter.charge(client, budget, weight)
        headers = _limit_headers(budget, verdict.used)
        resp: web.StreamResponse
        if verdict.status == 429:
            msg = (
                f"Too much request weight used; current limit is {state.limiter.limit(budget)} request "
                f"weight per {state.limiter.window_text()}. Please use WebSocket Streams for live "
                "updates to avoid polling the API."
            )
            resp = _json({"code": -1003, "msg": msg}, 429)
            headers["Retry-After"] = str(verdict.retry_after)
        elif verdict.status == 418:
            msg = (
                f"Way too much request weight used; IP banned until {verdict.banned_until_ms}. "
                "Please use WebSocket Streams for live updates to avoid bans."
            )
            resp = _json({"code": -1003, "msg": msg}, 418)
            headers["Retry-After"] = str(verdict.retry_after)
        else:
            resp = await _dispatch(request, state, budget, endpoint, identity, attempt)
        resp.headers.update(headers)
        state.stats.record(path, client, weight, resp.status)
        return resp

    async def archive_file(request: web.Request) -> web.StreamResponse:
        key = request.path.lstrip("/")
        identity = _identity(request)
        attempt = state.faults.next_attempt(identity)
        delay = state.faults.delay_seconds(identity, attempt)
        if delay:
            await asyncio.sleep(delay)
        parsed = parse_key(key)
        now = state.clock.now_ms()
        resp: web.StreamResponse
        if parsed is None or not state.archive.exists(parsed[0], now):
            resp = _no_such_key(key)
        else:
            fault = state.faults.decide("archive", identity, attempt)
            early = await _apply_fault(request, state, fault, archive=True)
            if early is not None:
                resp = early
            else:
                zip_bytes, checksum = await asyncio.to_thread(state.archive.files, parsed[0])
                if parsed[1]:
                    resp = web.Response(body=checksum, content_type="text/plain")
                else:
                    resp = web.Response(body=zip_bytes, content_type="application/zip")
                if fault is not None and fault.kind == "truncate":
                    resp = _truncate(resp)
        state.stats.record("/data", _client(request), 0, resp.status)
        return resp

    async def listing(request: web.Request) -> web.StreamResponse:
        q = request.rel_url.query
        try:
            max_keys = min(int(q.get("max-keys", state.cfg.list_page_size)), state.cfg.list_page_size)
        except ValueError:
            max_keys = state.cfg.list_page_size
        xml = await asyncio.to_thread(
            state.archive.list_xml,
            q.get("prefix", ""),
            q.get("delimiter", ""),
            q.get("marker", ""),
            max_keys,
            state.clock.now_ms(),
        )
        state.stats.record("/?prefix", _client(request), 0, 200)
        return web.Response(text=xml, content_type="application/xml")

    async def sim_stats(request: web.Request) -> web.StreamResponse:
        return _json(state.stats_snapshot())

    async def sim_reset(request: web.Request) -> web.StreamResponse:
        state.reset()
        return _json({})

    async def sim_config(request: web.Request) -> web.StreamResponse:
        return _json(dataclasses.asdict(state.cfg))

    app.router.add_get("/_sim/stats", sim_stats)
    app.router.add_post("/_sim/reset", sim_reset)
    app.router.add_get("/_sim/config", sim_config)
    app.router.add_get("/data/{tail:.*}", archive_file)
    app.router.add_get("/", listing)
    app.router.add_get("/data.binance.vision", listing)
    for prefix in API_PREFIXES:
        app.router.add_route("*", prefix + "{tail:.*}", api)
    add_venue_routes(app, state)
    return app


def _no_such_key(key: str) -> web.Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
        f"<Message>The specified key does not exist.</Message><Key>{key}</Key></Error>"
    )
    return web.Response(status=404, text=xml, content_type="application/xml")


async def _dispatch(
    request: web.Request, state: SimState, budget: str, endpoint: str, identity: str, attempt: int
) -> web.StreamResponse:
    """Route an admitted API request, applying fault injection around the handler."""
    routes = {"ping", "time", "exchangeInfo", "klines"} if budget in BUDGET_MARKET else {"exchangeInfo"}
    if budget in ("futures", COIN_MARKET):
        routes |= {*PRICE_KINDS, "fundingRate"}
    if request.method != "GET" or endpoint not in routes:
        return web.Response(status=404)
    try:
        params = _params(request)
        if endpoint in KINDS:
            market = BUDGET_MARKET[budget]
            name = params.get("symbol") or params.get("pair", "")
            fixed = state.faults.fixed_failure(market, name, identity, attempt)
            if fixed is not None:
                return _fault_response(request, fixed, archive=False)
        fault = state.faults.decide(endpoint, identity, attempt)
        early = await _apply_fault(request, state, fault, archive=False)
        if early is not None:
            return early
        if endpoint == "ping":
            resp = _json({})
        elif endpoint == "time":
            resp = _json({"serverTime": state.clock.now_ms()})
        elif endpoint == "exchangeInfo":
            resp = _json(exchange_info(state, budget, params))
        elif endpoint == "fundingRate":
            resp = _json(funding_body(state, BUDGET_MARKET[budget], params))
        else:
            body = klines_body(state, budget, params, endpoint)
            resp = web.Response(body=body, content_type="application/json")
        if fault is not None and fault.kind == "truncate":
            resp = _truncate(resp)
        return resp
    except ApiError as err:
        return _json({"code": err.code, "msg": err.msg}, err.status)
