"""Binance spot and USD-M klines over REST, through ccxt's async clients.

This is the only module that imports ccxt. It uses ccxt's raw endpoint methods
(`public_get_klines`, `fapipublic_get_klines`) rather than `fetch_ohlcv`, because
`fetch_ohlcv` drops six of the twelve kline fields, caps the page at 1000 even
where a cheaper page exists, and hides the response headers we pace by.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt_async
import tenacity

from candlelake.errors import (
    IpBanned,
    RateLimited,
    TerminalError,
    TransientError,
    UsageError,
)
from candlelake.markets import Market
from candlelake.plan.pages import FUTURES_KLINES, SPOT_KLINES, EndpointCost, Page
from candlelake.settings import RestSettings
from candlelake.sources.budget import RateLimit, WeightBudget

log = logging.getLogger(__name__)

REAL_SPOT_URL = "https://api.binance.com"
REAL_FUTURES_URL = "https://fapi.binance.com"
DEFAULT_LIMITS = {"spot": RateLimit(6000, 60.0), "futures": RateLimit(2400, 60.0)}
MAX_CLOCK_SKEW_S = 30.0


@dataclass(frozen=True)
class SymbolInfo:
    """What exchangeInfo says about one symbol."""

    exchange_symbol: str  # BTCUSDT
    symbol: str  # BTC_USDT
    status: str
    listed_ms: int | None  # futures onboardDate; spot does not publish it
    delivery_ms: int | None  # futures deliveryDate for dated contracts
    contract_type: str | None

    @property
    def trading(self) -> bool:
        return self.status == "TRADING"


@dataclass
class _Exchange:
    info: dict[str, SymbolInfo]
    server_time_ms: int
    fetched_at: float
    rate_limit: RateLimit


@dataclass
class RestStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    failures: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


@dataclass
class _Response:
    """Status and headers of the response to the request made in this context."""

    sent_at: float = 0.0
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


_current: contextvars.ContextVar[_Response | None] = contextvars.ContextVar("response", default=None)


class BinanceRest:
    """One market's REST client; use as `async with BinanceRest("futures", settings) as rest`."""

    def __init__(self, market: Market, settings: RestSettings) -> None:
        self.market = market
        self.settings = settings
        self.cost: EndpointCost = SPOT_KLINES if market == "spot" else FUTURES_KLINES
        self.stats = RestStats()
        self._client: Any = None
        self._exchange: _Exchange | None = None
        self.budget: WeightBudget | None = None

    async def __aenter__(self) -> BinanceRest:
        cls = ccxt_async.binance if self.market == "spot" else ccxt_async.binanceusdm
        # enableRateLimit=False: ccxt's static throttle would hold futures at about
        # half of the weight budget; WeightBudget paces by the real counters instead.
        client = cls({"enableRateLimit": False, "timeout": int(self.settings.timeout_s * 1000)})
        if self.settings.base_url:
            base = self.settings.base_url.rstrip("/")
            api = client.urls["api"]
            for key, url in list(api.items()):
                if isinstance(url, str):
                    api[key] = url.replace(REAL_SPOT_URL, base).replace(REAL_FUTURES_URL, base)
        client.on_rest_response = self._on_response
        self._client = client
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()

    def _on_response(
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        response_headers: Mapping[str, str],
        response_body: str,
        request_headers: Any,
        request_body: Any,
    ) -> str:
        # ccxt calls this hook inside the coroutine that made the request, so the
        # context variable tells us which request this response belongs to.
        holder = _current.get()
        if holder is not None:
            holder.status = code
            holder.headers = {k.lower(): v for k, v in response_headers.items()}
        self.stats.by_status[code] = self.stats.by_status.get(code, 0) + 1
        return response_body.strip()

    # -- exchange metadata -------------------------------------------------

    async def exchange_info(self) -> dict[str, SymbolInfo]:
        if self._exchange is None:
            self._exchange = await self._load_exchange_info()
        return self._exchange.info

    def server_now_ms(self) -> int:
        """The exchange's clock, extrapolated from exchangeInfo's serverTime."""
        assert self._exchange is not None, "call exchange_info() first"
        elapsed = time.time() - self._exchange.fetched_at
        return self._exchange.server_time_ms + int(elapsed * 1000)

    async def _load_exchange_info(self) -> _Exchange:
        method = "public_get_exchangeinfo" if self.market == "spot" else "fapipublic_get_exchangeinfo"
        weight = 20 if self.market == "spot" else 1
        budget = WeightBudget(self.settings.rate_limit or DEFAULT_LIMITS[self.market])
        self.budget = budget
        body = await self._call(method, {}, weight)
        if not isinstance(body, dict) or "symbols" not in body:
            raise TerminalError(f"exchangeInfo from {self.market} REST is malformed")
        rate = self.settings.rate_limit or _request_weight_limit(body) or DEFAULT_LIMITS[self.market]
        server_ms = int(body.get("serverTime") or time.time() * 1000)
        skew_s = server_ms / 1000 - time.time()
        # Binance's weight windows follow its own clock. A small skew is a real clock
        # difference, so count windows on the server's clock; a large one means the server
        # clock is not wall time (a simulator with a frozen clock), so keep ours.
        if rate != budget.rate or (skew_s and abs(skew_s) <= MAX_CLOCK_SKEW_S):
            offset = skew_s if abs(skew_s) <= MAX_CLOCK_SKEW_S else 0.0
            self.budget = WeightBudget(rate, clock=lambda: time.time() + offset)
            self.budget.observe(budget.used, self.budget.now())
        info = {}
        for entry in body["symbols"]:
            parsed = _symbol_info(entry, self.market)
            if parsed is not None:
                info[parsed.exchange_symbol] = parsed
        return _Exchange(info, server_ms, time.time(), rate)

    # -- klines ------------------------------------------------------------

    async def klines(self, exchange_symbol: str, page: Page) -> list[list[Any]]:
        """Fetch the candles opening in `page.window`, retrying transient failures."""
        params = {
            "symbol": exchange_symbol,
            "interval": "1m",
            "startTime": page.window.start_ms,
            "endTime": page.window.end_ms - 1,
            "limit": page.limit,
        }
        method = "public_get_klines" if self.market == "spot" else "fapipublic_get_klines"
        body = await self._call(method, params, page.weight)
        if not isinstance(body, list) or not all(isinstance(r, list) and len(r) >= 11 for r in body):
            raise TerminalError(f"malformed klines body for {exchange_symbol} after retries")
        return body

    async def probe(self, exchange_symbol: str, *, first: bool) -> int | None:
        """Open time of the symbol's first (or latest) candle, or None if it has none."""
        params: dict[str, Any] = {"symbol": exchange_symbol, "interval": "1m", "limit": 1}
        if first:
            params["startTime"] = 0
        method = "public_get_klines" if self.market == "spot" else "fapipublic_get_klines"
        body = await self._call(method, params, self.cost.weight(1))
        if isinstance(body, list) and body and isinstance(body[0], list):
            return int(body[0][0])
        return None

    async def _call(self, method: str, params: dict[str, Any], weight: int) -> Any:
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.settings.attempts),
            wait=tenacity.wait_exponential_jitter(multiplier=0.2, max=self.settings.max_backoff_s),
            retry=tenacity.retry_if_exception_type(TransientError),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    self.stats.retries += 1
                return await self._call_once(method, params, weight)
        raise AssertionError("unreachable")

    async def _call_once(self, method: str, params: dict[str, Any], weight: int) -> Any:
        assert self.budget is not None or method.endswith("exchangeinfo")
        budget = self.budget
        assert budget is not None
        sent_at = await budget.acquire(weight)
        holder = _Response(sent_at=sent_at)
        token = _current.set(holder)
        self.stats.requests += 1
        try:
            body = await getattr(self._client, method)(params)
        except ccxt_async.BaseError as exc:
            raise self._translate(exc, holder, params) from None
        finally:
            _current.reset(token)
            budget.release(weight)
            self._observe(holder)
        if isinstance(body, str):
            # ccxt hands back the raw text when the JSON did not parse (a cut body).
            raise TransientError(f"malformed JSON from {method}")
        return body

    def _observe(self, holder: _Response) -> None:
        assert self.budget is not None
        suffix = self.budget.rate.header_suffix().lower()
        value = holder.headers.get(f"x-mbx-used-weight-{suffix}") or holder.headers.get(
            "x-mbx-used-weight-1m"
        )
        if value is not None and value.strip().isdigit():
            self.budget.observe(int(value), holder.sent_at)

    def _translate(self, exc: Exception, holder: _Response, params: Mapping[str, Any]) -> Exception:
        assert self.budget is not None
        status = holder.status
        retry_after = _retry_after(holder.headers)
        what = f"{self.market} {params.get('symbol', '')}".strip()
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
            self.budget.pause(retry_after)
            return RateLimited(f"HTTP 429 for {what}; waiting {retry_after:.1f} s", retry_after)
        if isinstance(exc, ccxt_async.BadSymbol):
            return UsageError(f"unknown symbol {params.get('symbol')!r} on Binance {self.market}")
        if status is None or status >= 500 or status == 408 or isinstance(exc, ccxt_async.NetworkError):
            return TransientError(f"{type(exc).__name__} (HTTP {status}) for {what}")
        self.stats.failures += 1
        return TerminalError(f"HTTP {status} for {what}: {_short(str(exc))}")


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
        # Dated contracts (BTCUSDT_241227) are not part of a `BASE_QUOTE` universe.
        return None
    onboard = entry.get("onboardDate")
    delivery = entry.get("deliveryDate")
    return SymbolInfo(
        exchange_symbol=exchange_symbol,
        symbol=f"{base}_{quote}",
        status=str(entry.get("status", "")),
        listed_ms=int(onboard) if onboard else None,
        delivery_ms=int(delivery) if delivery and int(delivery) < 4_000_000_000_000 else None,
        contract_type=entry.get("contractType"),
    )
