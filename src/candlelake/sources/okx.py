"""OKX through ccxt: spot (`BTC-USDT`) and USDT-margined perpetual swaps (`BTC-USDT-SWAP`).

Candles come from `GET /api/v5/market/history-candles` (up to 300 per page, newest first),
paged by `after` (open times strictly before it) and `before` (strictly after it). OKX sends
no rate-limit headers, so the budget is ccxt's pacing alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from candlelake.markets import Market
from candlelake.plan.pages import Page
from candlelake.sources.ccxt_exchange import CcxtExchange, Params


class Okx(CcxtExchange):
    exchange = "okx"
    title = "OKX"
    real_url = "https://www.okx.com"
    load_types: ClassVar[Mapping[Market, tuple[str, ...]]] = {"spot": ("spot",), "futures": ("swap",)}
    candles_method = "publicGetMarketHistoryCandles"
    candles_api = ("public", "market/history-candles")
    page_size = 300
    window_s = 2.0  # OKX counts requests per 2 s

    def page_params(self, market_id: str, page: Page) -> Params:
        return {
            "instId": market_id,
            "bar": "1m",
            "after": page.window.end_ms,
            "before": page.window.start_ms - 1,
            "limit": page.limit,
        }

    def probe_params(self, market_id: str, *, first: bool) -> Params:
        # The first candle is the instrument's listTime; only the latest is asked for.
        return {"instId": market_id, "bar": "1m", "limit": 1}

    def rows(self, response: Any) -> list[list[Any]] | None:
        if not isinstance(response, dict) or not isinstance(response.get("data"), list):
            return None
        return list(response["data"])

    def listed_ms(self, info: Mapping[str, Any]) -> int | None:
        value = str(info.get("listTime") or "")
        return int(value) if value.isdigit() else None
