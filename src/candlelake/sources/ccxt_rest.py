"""Candles of OKX, Bybit and Binance.US through ccxt's async client, paced by our budget.

ccxt loads the markets (symbol names, listing state) and parses the candle rows, so the bars
are exactly what ccxt's `fetch_ohlcv` gives. We call the candle endpoint through ccxt's raw
method for the exact page we planned (`fetch_ohlcv` picks its own window), with ccxt's
throttle off: a shared `WeightBudget` paces every request by ccxt's own `rateLimit` and
endpoint cost, counted over the exchange's window, and takes in the exchange's headers.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from candlelake.errors import IpBanned, RateLimited, TerminalError, TransientError, UsageError
from candlelake.klines import OHLCV_SCHEMA
from candlelake.markets import Market, to_exchange_id
from candlelake.plan.pages import Page
from candlelake.settings import RestSettings
from candlelake.sources.binance_rest import RestStats, SymbolInfo
from candlelake.sources.budget import WeightBudget
from candlelake.sources.ccxt_exchange import CcxtExchange
from candlelake.sources.ccxt_loader import exchange_class
from candlelake.sources.http import redact
from candlelake.sources.retry import call_with_retries

log = logging.getLogger(__name__)


def exchange_for(exchange: str, market: Market) -> CcxtExchange:
    from candlelake.sources.binanceus import BinanceUs
    from candlelake.sources.bybit import Bybit
    from candlelake.sources.okx import Okx

    if exchange == "okx":
        return Okx()
    if exchange == "bybit":
        return Bybit(market)
    if exchange == "binanceus":
        return BinanceUs()
    raise ValueError(f"{exchange} is not reached through ccxt")


class CcxtRest:
    """One exchange market over ccxt; use as `async with CcxtRest(spec, "futures", settings)`."""

    def __init__(self, spec: CcxtExchange, market: Market, settings: RestSettings) -> None:
        self.spec = spec
        self.market = market
        self.settings = settings
        self.stats = RestStats()
        self.base_url = settings.base_url or spec.real_url
        options = {"fetchMarkets": {"types": list(spec.load_types[market])}, "fetchCurrencies": False}
        self.client = exchange_class(spec.exchange)(
            {"enableRateLimit": False, "timeout": int(settings.timeout_s * 1000), "options": options}
        )
        # Dict answers carry their own headers, so concurrent requests cannot mix them up.
        self.client.returnResponseHeaders = True
        spec.aim(self.client, self.base_url)
        self.cost = spec.cost(self.client)
        rate = settings.rate_limit or spec.rate_limit(self.client)
        self.budget: WeightBudget | None = WeightBudget(rate, headroom=spec.headroom)
        self._info: dict[str, SymbolInfo] | None = None
        self._server_ms = 0
        self._fetched_at = 0.0

    async def __aenter__(self) -> CcxtRest:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()

    # -- exchange metadata -------------------------------------------------

    async def exchange_info(self) -> dict[str, SymbolInfo]:
        """Every symbol of the market, keyed like `lookup` expects (`BTCUSDT`)."""
        if self._info is None:
            markets = await self._retried("markets", self.client.load_markets, True)
            self._server_ms = int(await self._retried("time", self.client.fetch_time) or time.time() * 1000)
            self._fetched_at = time.time()
            info = {}
            for entry in markets.values():
                if not self.spec.wanted(entry, self.market):
                    continue
                symbol = f"{entry['base']}_{entry['quote']}"
                info[to_exchange_id(symbol)] = SymbolInfo(
                    exchange_symbol=str(entry["id"]),
                    symbol=symbol,
                    status="TRADING" if entry.get("active") is not False else "CLOSED",
                    listed_ms=self.spec.listed_ms(entry.get("info") or {}),
                    delivery_ms=None,
                )
            self._info = info
        return self._info

    def lookup(self, symbol: str) -> SymbolInfo | None:
        assert self._info is not None, "call exchange_info() first"
        return self._info.get(to_exchange_id(symbol))

    def server_now_ms(self) -> int:
        return self._server_ms + int((time.time() - self._fetched_at) * 1000)

    # -- candles -----------------------------------------------------------

    async def klines(self, exchange_symbol: str, page: Page) -> list[list[Any]]:
        """Candles opening in `page.window`, oldest first, as ccxt parses them."""
        params = self.spec.page_params(exchange_symbol, page)
        rows = await self._candles(exchange_symbol, params, page.weight)
        start, end = page.window.start_ms, page.window.end_ms
        return sorted((r for r in rows if start <= r[0] < end), key=lambda r: r[0])

    async def probe(self, exchange_symbol: str, *, first: bool) -> int | None:
        params = self.spec.probe_params(exchange_symbol, first=first)
        rows = await self._candles(exchange_symbol, params, self.cost.weight(1))
        return int(rows[0][0]) if rows else None

    def to_table(self, rows: Sequence[Sequence[Any]], *, full: bool) -> pa.Table:
        if full:
            raise TerminalError(f"{self.spec.title} has only OHLCV candles; use --vendor ccxt")
        if not rows:
            return OHLCV_SCHEMA.empty_table()
        columns = list(zip(*rows, strict=True))
        arrays = [pa.array([int(v) for v in columns[0]], type=pa.int64())]
        arrays += [pa.array(col, type=pa.float64()) for col in columns[1:6]]
        return pa.Table.from_arrays(arrays, schema=OHLCV_SCHEMA)

    async def _candles(self, exchange_symbol: str, params: Mapping[str, Any], weight: int) -> list[list[Any]]:
        what = f"{self.spec.title} {self.market} {exchange_symbol}"

        async def once() -> list[list[Any]]:
            response = await self._request(what, params, weight)
            raw = self.spec.rows(response)
            if raw is None:
                raise TransientError(f"candles for {what} from {redact(self.base_url)} are not a candle list")
            market = self.client.markets_by_id[exchange_symbol][0]
            try:
                return [self.client.parse_ohlcv(row, market) for row in raw]
            except (TypeError, ValueError, IndexError) as exc:
                raise ValueError(f"malformed candle row: {exc}") from None

        result: list[list[Any]] = await call_with_retries(once, self.settings, self.stats)
        return result

    async def _request(self, what: str, params: Mapping[str, Any], weight: int) -> Any:
        budget = self.budget
        assert budget is not None
        sent_at = await budget.acquire(weight)
        self.stats.requests += 1
        try:
            method = getattr(self.client, self.spec.candles_method)
            response = await self._guarded(what, method, dict(params))
        finally:
            budget.release(weight)
        # Dict answers carry their own headers; a list answer (Binance.US klines) leaves them
        # in `last_response_headers`, possibly another request's of the same window: the budget
        # takes the larger count, so a stale header can only make it more careful.
        headers = response.pop("responseHeaders", None) if isinstance(response, dict) else None
        used = self.spec.used_weight(headers or self.client.last_response_headers or {})
        if used is not None:
            budget.observe(used, sent_at)
        return response

    async def _retried(self, what: str, call: Any, *args: Any) -> Any:
        return await call_with_retries(lambda: self._guarded(what, call, *args), self.settings, self.stats)

    async def _guarded(self, what: str, call: Any, *args: Any) -> Any:
        """Run a ccxt call, turning ccxt's exceptions into ours (retry, wait, or give up)."""
        # Not `import ccxt.base.errors`: a fully loaded ccxt shadows `ccxt.base` with a list.
        ccxt_errors = importlib.import_module("ccxt.base.errors")

        try:
            return await call(*args)
        except ccxt_errors.BadSymbol as exc:
            raise UsageError(f"unknown symbol on {self.spec.title} {self.market}: {_short(exc)}") from None
        except (ccxt_errors.RateLimitExceeded, ccxt_errors.DDoSProtection) as exc:
            if "banned" in str(exc).lower():
                retry_after = self._retry_after(self.spec.window_s)
                ban = IpBanned(
                    f"{self.spec.title} banned this IP for {retry_after:.0f} s ({what})", retry_after
                )
                assert self.budget is not None
                self.budget.ban(ban)
                raise ban from None
            self.stats.rate_limited += 1
            retry_after = self._retry_after(self.spec.window_s)
            assert self.budget is not None
            self.budget.pause(retry_after)
            raise RateLimited(f"rate limited on {what}; waiting {retry_after:.1f} s", retry_after) from None
        except (ccxt_errors.NetworkError, ccxt_errors.BadResponse, ccxt_errors.NullResponse) as exc:
            raise TransientError(f"{type(exc).__name__} for {what} from {redact(self.base_url)}") from None
        except ccxt_errors.BaseError as exc:
            raise TerminalError(f"{what} from {redact(self.base_url)}: {_short(exc)}") from None

    def _retry_after(self, default: float) -> float:
        headers = {k.lower(): v for k, v in (self.client.last_response_headers or {}).items()}
        try:
            return max(0.0, float(headers["retry-after"]))
        except (KeyError, ValueError):
            return default


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "…"
