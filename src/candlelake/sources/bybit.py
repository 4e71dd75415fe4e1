"""Bybit through ccxt: spot and linear (USDT) perpetuals, both spelled `BTCUSDT`.

Candles come from `GET /v5/market/kline` (up to 1000 per page, newest first) with `start`
and `end` in ms, both inclusive. Bybit's `X-Bapi-Limit-Status` headers belong to private
endpoints; if a response carries them, the budget takes them into account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from candlelake.markets import Market
from candlelake.plan.pages import Page
from candlelake.sources.ccxt_exchange import CcxtExchange, Params


class Bybit(CcxtExchange):
    exchange = "bybit"
    title = "Bybit"
    real_url = "https://api.bybit.com"
    load_types: ClassVar[Mapping[Market, tuple[str, ...]]] = {"spot": ("spot",), "futures": ("linear",)}
    candles_method = "publicGetV5MarketKline"
    candles_api = ("public", "v5/market/kline")
    page_size = 1000
    window_s = 5.0  # Bybit counts its IP limit per 5 s

    def __init__(self, market: Market = "spot") -> None:
        self.category = "spot" if market == "spot" else "linear"

    def page_params(self, market_id: str, page: Page) -> Params:
        return {
            "category": self.category,
            "symbol": market_id,
            "interval": "1",
            "start": page.window.start_ms,
            "end": self.window_end(page),
            "limit": page.limit,
        }

    def probe_params(self, market_id: str, *, first: bool) -> Params:
        params: Params = {"category": self.category, "symbol": market_id, "interval": "1", "limit": 1}
        if first:
            params["start"] = 0
        return params

    def rows(self, response: Any) -> list[list[Any]] | None:
        result = response.get("result") if isinstance(response, dict) else None
        if not isinstance(result, dict) or not isinstance(result.get("list"), list):
            return None
        return list(result["list"])

    def listed_ms(self, info: Mapping[str, Any]) -> int | None:
        value = str(info.get("launchTime") or "")
        return int(value) if value.isdigit() else None

    def used_weight(self, headers: Mapping[str, str]) -> int | None:
        lowered = {k.lower(): v for k, v in headers.items()}
        limit, left = lowered.get("x-bapi-limit"), lowered.get("x-bapi-limit-status")
        if limit and left and limit.isdigit() and left.isdigit():
            return (int(limit) - int(left)) * self.cost_scale
        return None
