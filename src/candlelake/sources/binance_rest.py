"""Binance spot, USD-M and COIN-M klines and funding over REST, straight from the public endpoints.

Why not ccxt here: `fetch_ohlcv` drops six of the twelve kline fields, caps a page at
1000 where a cheaper page exists and hides the `X-MBX-USED-WEIGHT-*` headers we pace
by, and `import ccxt` loads every exchange it knows (about 5 s). The two kline
endpoints are a few lines of HTTP, so this module calls them through a `Transport`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from candlelake.errors import IpBanned, RateLimited, TerminalError, TransientError, UsageError
from candlelake.markets import DataType, Interval, Market, to_exchange_id
from candlelake.plan.archive import BINANCE_DATASETS
from candlelake.plan.pages import COINM_KLINES, FUTURES_KLINES, SPOT_KLINES, EndpointCost, Page
from candlelake.settings import RestSettings
from candlelake.sources.binance_rows import binance_rows_to_table
from candlelake.sources.budget import RateLimit, WeightBudget
from candlelake.sources.http import AiohttpTransport, HttpResponse, Params, Transport, redact
from candlelake.sources.retry import call_with_retries

log = logging.getLogger(__name__)

REAL_URLS: Mapping[Market, str] = {
    "spot": "https://api.binance.com",
    "futures": "https://fapi.binance.com",
    "coin_futures": "https://dapi.binance.com",
}
API_PREFIX: Mapping[Market, str] = {"spot": "/api/v3", "futures": "/fapi/v1", "coin_futures": "/dapi/v1"}
KLINE_COSTS: Mapping[Market, EndpointCost] = {
    "spot": SPOT_KLINES,
    "futures": FUTURES_KLINES,
    "coin_futures": COINM_KLINES,
}
# binance.md has no COIN-M weights: /dapi/v1 is taken to cost what /fapi/v1 costs (exchangeInfo
# 1, klines by the USD-M tiers up to limit 1500, 2400 per minute) until exchangeInfo says otherwise.
EXCHANGE_INFO_WEIGHT: Mapping[Market, int] = {"spot": 20, "futures": 1, "coin_futures": 1}
DEFAULT_LIMITS: Mapping[Market, RateLimit] = {
    "spot": RateLimit(6000, 60.0),
    "futures": RateLimit(2400, 60.0),
    "coin_futures": RateLimit(2400, 60.0),
}
# GET /fapi/v1/fundingRate has its own pool: 500 requests per 5 min per IP, shared with
# /fapi/v1/fundingInfo (binance.md §2.4); a page holds up to 1000 settlements.
FUNDING_LIMIT = RateLimit(500, 300.0)
FUNDING_PAGE = 1000
# GET /dapi/v1/fundingRate documents "Request Weight 1" and no pool of its own, so it is paced
# by the request-weight pool (developers.binance.com, coin-margined-futures/market-data/rest-api/
# Get-Funding-Rate-History-of-Perpetual-Futures); its items carry no markPrice.
OWN_FUNDING_POOL: Mapping[Market, bool] = {"spot": False, "futures": True, "coin_futures": False}
MAX_CLOCK_SKEW_S = 30.0
INVALID_SYMBOL = -1121


@dataclass(frozen=True)
class SymbolInfo:
    """What exchangeInfo says about one symbol."""

    exchange_symbol: str  # BTCUSDT
    symbol: str  # BTC_USDT
    status: str
    listed_ms: int | None  # futures onboardDate; spot does not publish it
    delivery_ms: int | None  # futures deliveryDate for dated contracts
    dated: bool = False  # a COIN-M delivery contract: it ends by delivery at delivery_ms

    @property
    def trading(self) -> bool:
        return self.status == "TRADING"


@dataclass
class _Exchange:
    info: dict[str, SymbolInfo]
    server_time_ms: int
    fetched_at: float


@dataclass
class RestStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0


class BinanceRest:
    """One market's REST client; use as `async with BinanceRest("futures", settings) as rest`."""

    def __init__(
        self,
        market: Market,
        settings: RestSettings,
        transport: Transport | None = None,
        data_type: DataType = "ohlcv",
        *,
        interval: Interval = "1m",
    ) -> None:
        self.market = market
        self.interval = interval
        self.settings = settings
        # markPriceKlines, indexPriceKlines and premiumIndexKlines share the klines' weight
        # tiers on /fapi/v1 (binance.md §2.5) and on /dapi/v1 (the COIN-M pages of
        # developers.binance.com: 1, 2, 5, 10 by limit, max 1500). indexPriceKlines names its
        # instrument `pair`: BTCUSDT on USD-M, BTCUSD for every COIN-M contract of BTC.
        self.cost: EndpointCost = KLINE_COSTS[market]
        self.endpoint = BINANCE_DATASETS[data_type]
        self.symbol_param = "pair" if data_type == "index_price" else "symbol"
        self.stats = RestStats()
        self.base_url = (settings.base_url or REAL_URLS[market]).rstrip("/") + API_PREFIX[market]
        self._transport = transport or AiohttpTransport(settings.timeout_s)
        self._exchange: _Exchange | None = None
        self.budget: WeightBudget | None = None
        self.funding_budget = WeightBudget(FUNDING_LIMIT)

    async def __aenter__(self) -> BinanceRest:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._transport.close()

    # -- exchange metadata -------------------------------------------------

    async def exchange_info(self) -> dict[str, SymbolInfo]:
        if self._exchange is None:
            self._exchange = await self._load_exchange_info()
        return self._exchange.info

    def lookup(self, symbol: str) -> SymbolInfo | None:
        """exchangeInfo's entry for `BTC_USDT`, if the market has it."""
        assert self._exchange is not None, "call exchange_info() first"
        return self._exchange.info.get(to_exchange_id(symbol))

    def to_table(self, rows: Sequence[Sequence[Any]], *, full: bool) -> pa.Table:
        return binance_rows_to_table(rows, full=full)

    def server_now_ms(self) -> int:
        """The exchange's clock, extrapolated from exchangeInfo's serverTime."""
        assert self._exchange is not None, "call exchange_info() first"
        elapsed = time.time() - self._exchange.fetched_at
        return self._exchange.server_time_ms + int(elapsed * 1000)

    async def _load_exchange_info(self) -> _Exchange:
        first = WeightBudget(self.settings.rate_limit or DEFAULT_LIMITS[self.market])
        self.budget = first
        body = await self._call("exchangeInfo", {}, EXCHANGE_INFO_WEIGHT[self.market])
        if not isinstance(body, dict) or "symbols" not in body:
            raise TerminalError(f"exchangeInfo from {redact(self.base_url)} has no symbol list")
        rate = self.settings.rate_limit or _request_weight_limit(body) or DEFAULT_LIMITS[self.market]
        server_ms = int(body.get("serverTime") or time.time() * 1000)
        skew_s = server_ms / 1000 - time.time()
        # Binance's weight windows follow its own clock. A small skew is a real clock
        # difference, so count windows on the server's clock; a large one means the server
        # clock is not wall time (a simulator with a frozen clock), so keep ours.
        if rate != first.rate or (skew_s and abs(skew_s) <= MAX_CLOCK_SKEW_S):
            offset = skew_s if abs(skew_s) <= MAX_CLOCK_SKEW_S else 0.0
            self.budget = WeightBudget(rate, clock=lambda: time.time() + offset)
            self.budget.observe(first.used, self.budget.now())
        info = {}
        for entry in body["symbols"]:
            parsed = _symbol_info(entry, self.market)
            if parsed is not None:
                info[parsed.exchange_symbol] = parsed
        return _Exchange(info, server_ms, time.time())

    # -- klines ------------------------------------------------------------

    async def klines(self, exchange_symbol: str, page: Page) -> list[list[Any]]:
        """Fetch the candles opening in `page.window`, retrying transient failures."""
        params: dict[str, str | int] = {
            self.symbol_param: self._instrument(exchange_symbol),
            "interval": self.interval,
            "startTime": page.window.start_ms,
            "endTime": page.window.end_ms - 1,
            "limit": page.limit,
        }
        body = await self._call(self.endpoint, params, page.weight)
        if not all(isinstance(row, list) and len(row) >= 11 for row in body):
            where = redact(self.base_url)
            raise TerminalError(f"klines for {exchange_symbol} from {where} are not kline rows")
        return list(body)

    async def probe(self, exchange_symbol: str, *, first: bool) -> int | None:
        """Open time of the symbol's first (or latest) candle, or None if it has none."""
        params: dict[str, str | int] = {
            self.symbol_param: self._instrument(exchange_symbol),
            "interval": self.interval,
            "limit": 1,
        }
        if first:
            params["startTime"] = 0
        body = await self._call(self.endpoint, params, self.cost.weight(1))
        if body and isinstance(body[0], list):
            return int(body[0][0])
        return None

    def _instrument(self, exchange_symbol: str) -> str:
        """The value of the instrument parameter: the symbol, or its pair for index klines."""
        return exchange_symbol.split("_", 1)[0] if self.symbol_param == "pair" else exchange_symbol

    async def funding_rates(self, exchange_symbol: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Every funding settlement with `start_ms <= fundingTime <= end_ms` (both inclusive, as
        Binance's), paged by 1000 through the funding pool (USD-M) or the weight pool (COIN-M)."""
        pool = self.funding_budget if OWN_FUNDING_POOL[self.market] else None
        rows: list[dict[str, Any]] = []
        cursor = start_ms
        while cursor <= end_ms:
            params: dict[str, str | int] = {
                "symbol": exchange_symbol,
                "startTime": cursor,
                "endTime": end_ms,
                "limit": FUNDING_PAGE,
            }
            body = await self._call("fundingRate", params, 1, pool)
            if not isinstance(body, list) or not all(
                isinstance(r, dict) and "fundingTime" in r for r in body
            ):
                raise TerminalError(
                    f"fundingRate for {exchange_symbol} from {redact(self.base_url)} is not a list"
                )
            rows += body
            if len(body) < FUNDING_PAGE:
                break
            cursor = int(body[-1]["fundingTime"]) + 1
        return rows

    async def _call(
        self, endpoint: str, params: Params, weight: int, budget: WeightBudget | None = None
    ) -> Any:
        return await call_with_retries(
            lambda: self._call_once(endpoint, params, weight, budget), self.settings, self.stats
        )

    async def _call_once(
        self, endpoint: str, params: Params, weight: int, pool: WeightBudget | None = None
    ) -> Any:
        budget = pool or self.budget
        assert budget is not None, "exchange_info() sets up the budget"
        url = f"{self.base_url}/{endpoint}"
        sent_at = await budget.acquire(weight)
        self.stats.requests += 1
        try:
            response = await self._transport.get(url, params)
        finally:
            budget.release(weight)
        if budget is self.budget:  # the headers count the request weight pool only
            self._observe(response, sent_at)
        symbol = str(params.get(self.symbol_param, "") or params.get("symbol", ""))
        what = f"{self.market} {symbol or endpoint}"
        if response.status != 200:
            raise self._translate(response, what, symbol, budget)
        try:
            body = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            raise TransientError(f"truncated or malformed JSON for {what} from {redact(url)}") from None
        if endpoint == self.endpoint and not isinstance(body, list):
            raise TransientError(f"klines for {what} from {redact(url)} is not a JSON list")
        return body

    def _observe(self, response: HttpResponse, sent_at: float) -> None:
        assert self.budget is not None
        suffix = self.budget.rate.header_suffix().lower()
        headers = response.headers
        value = headers.get(f"x-mbx-used-weight-{suffix}") or headers.get("x-mbx-used-weight-1m")
        if value is not None and value.strip().isdigit():
            self.budget.observe(int(value), sent_at)

    def _translate(self, response: HttpResponse, what: str, symbol: str, budget: WeightBudget) -> Exception:
        assert self.budget is not None
        status = response.status
        retry_after = _retry_after(response.headers)
        if status == 418:
            ban = IpBanned(
                f"Binance banned this IP (HTTP 418) for {retry_after:.0f} s while fetching {what}; "
                "stop all downloads from this IP until then",
                retry_after,
            )
            self.budget.ban(ban)
            return ban
        if status == 429:
            self.stats.rate_limited += 1
            budget.pause(retry_after)
            return RateLimited(f"HTTP 429 for {what}; waiting {retry_after:.1f} s", retry_after)
        code, message = _binance_error(response.body)
        if code == INVALID_SYMBOL:
            return UsageError(f"unknown symbol {symbol!r} on Binance {self.market}")
        if status >= 500 or status == 408:
            return TransientError(f"HTTP {status} for {what}")
        return TerminalError(f"HTTP {status} for {what}: {message}")


def _binance_error(body: bytes) -> tuple[int | None, str]:
    """Binance's `{"code": -1121, "msg": "..."}` error body, or the start of the raw text."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, _short(body.decode("utf-8", "replace"))
    if isinstance(parsed, dict) and isinstance(parsed.get("code"), int):
        return parsed["code"], _short(str(parsed.get("msg", "")))
    return None, _short(str(parsed))


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return max(0.0, float(headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _request_weight_limit(body: Mapping[str, Any]) -> RateLimit | None:
    seconds = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
    for item in body.get("rateLimits", []):
        if item.get("rateLimitType") == "REQUEST_WEIGHT" and item.get("interval") in seconds:
            window = seconds[item["interval"]] * int(item.get("intervalNum", 1))
            return RateLimit(int(item["limit"]), float(window))
    return None


def _symbol_info(entry: Mapping[str, Any], market: Market) -> SymbolInfo | None:
    base, quote = entry.get("baseAsset"), entry.get("quoteAsset")
    exchange_symbol = entry.get("symbol")
    if not (base and quote and exchange_symbol):
        return None
    if market == "futures" and entry.get("contractType") not in (None, "PERPETUAL"):
        # Dated USD-M contracts (BTCUSDT_241227) are not part of a `BASE_QUOTE` universe.
        return None
    onboard = entry.get("onboardDate")
    delivery = entry.get("deliveryDate")
    symbol = f"{base}_{quote}"
    if market == "coin_futures":
        # BTCUSD_PERP -> BTC_USD_PERP; COIN-M publishes `contractStatus`, not `status`.
        if not exchange_symbol.startswith(base) or "_" not in exchange_symbol:
            return None
        symbol = f"{base}_{exchange_symbol[len(base) :]}"
    status = entry.get("contractStatus" if market == "coin_futures" else "status", "")
    return SymbolInfo(
        exchange_symbol=exchange_symbol,
        symbol=symbol,
        status=str(status),
        listed_ms=int(onboard) if onboard else None,
        delivery_ms=int(delivery) if delivery and int(delivery) < 4_000_000_000_000 else None,
        dated=market == "coin_futures" and entry.get("contractType") != "PERPETUAL",
    )
