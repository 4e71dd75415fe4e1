"""Binance.US through ccxt: spot only, Binance's spot API on its own host (`BTCUSDT`).

Candles come from `GET /api/v3/klines` (up to 1000 per page, oldest first). The exchange
reports the weight used in `X-MBX-USED-WEIGHT-1M`, in the same units as ccxt's costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from candlelake.markets import Market
from candlelake.plan.pages import Page
from candlelake.sources.ccxt_exchange import CcxtExchange, Params


class BinanceUs(CcxtExchange):
    exchange = "binanceus"
    title = "Binance.US"
    real_url = "https://api.binance.us"
    load_types: ClassVar[Mapping[Market, tuple[str, ...]]] = {"spot": ("spot",)}
    candles_method = "publicGetKlines"
    candles_api = ("public", "klines")
    page_size = 1000
    window_s = 60.0  # REQUEST_WEIGHT per minute
    cost_scale = 1  # ccxt's costs are Binance.US's weights, as its headers count them
    headroom = 0.98  # ccxt's 1200 per minute is the exchange's own limit

    def rewrite(self, url: str, base_url: str) -> str:
        return url.replace(self.real_url, base_url)

    def page_params(self, market_id: str, page: Page) -> Params:
        return {
            "symbol": market_id,
            "interval": "1m",
            "startTime": page.window.start_ms,
            "endTime": self.window_end(page),
            "limit": page.limit,
        }

    def probe_params(self, market_id: str, *, first: bool) -> Params:
        params: Params = {"symbol": market_id, "interval": "1m", "limit": 1}
        if first:
            params["startTime"] = 0
        return params

    def rows(self, response: Any) -> list[list[Any]] | None:
        return list(response) if isinstance(response, list) else None

    def used_weight(self, headers: Mapping[str, str]) -> int | None:
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get("x-mbx-used-weight-1m")
        return int(value) if value is not None and value.strip().isdigit() else None
