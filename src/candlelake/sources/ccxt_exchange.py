"""What one exchange reached through ccxt must say: hosts, markets, candle pages, limits.

Each exchange (sources/okx.py, sources/bybit.py, sources/binanceus.py) subclasses
`CcxtExchange`; the client (sources/ccxt_rest.py) does the rest the same way for all. Costs
come from ccxt's own definitions in the installed package (`rateLimit` and the endpoint's
`cost`, read from the exchange object at run time); docs/exchanges.md lists every fact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from candlelake.markets import Exchange, Market
from candlelake.plan.pages import EndpointCost, Page, RateLimit, WeightTier
from candlelake.timeutil import MINUTE_MS

Params = dict[str, str | int]


class CcxtExchange:
    """One exchange's facts. Subclasses set the class attributes and the request shapes."""

    exchange: ClassVar[Exchange]
    title: ClassVar[str]
    real_url: ClassVar[str]
    # Our market -> ccxt's `fetchMarkets` types to load (fewer requests than all of them).
    load_types: ClassVar[Mapping[Market, tuple[str, ...]]]
    candles_method: ClassVar[str]  # ccxt's implicit method, e.g. publicGetMarketHistoryCandles
    candles_api: ClassVar[tuple[str, str]]  # (api, path) of that method in ccxt's `api` table
    page_size: ClassVar[int]
    # The exchange's own counting window: ccxt's per-request pacing, summed over it.
    window_s: ClassVar[float]
    # Budget units per unit of ccxt cost, so that fractional costs (OKX 0.5) stay integers.
    cost_scale: ClassVar[int] = 10
    # Share of the budget to use. ccxt's pace is below OKX's and Bybit's own limits, so all of
    # it; where it equals the exchange's limit, keep room for requests crossing a window edge.
    headroom: ClassVar[float] = 1.0

    # -- hosts -----------------------------------------------------------------

    def aim(self, client: Any, base_url: str) -> None:
        """Point every REST URL of a ccxt instance at `base_url` (a simulator or a proxy)."""
        for key, value in list(client.urls["api"].items()):
            if isinstance(value, str):
                client.urls["api"][key] = self.rewrite(value, base_url)

    def rewrite(self, url: str, base_url: str) -> str:
        return re.sub(r"^https://[A-Za-z0-9.-]*\{hostname\}", base_url, url)

    # -- markets ---------------------------------------------------------------

    def wanted(self, entry: Mapping[str, Any], market: Market) -> bool:
        """Whether a ccxt market belongs to our `market` (upstream: swaps settled in USDT).

        Its `BASE_QUOTE` name is ccxt's unified base and quote: `BTC/USDT:USDT` -> `BTC_USDT`.
        """
        if market == "spot":
            return bool(entry.get("spot"))
        return (
            bool(entry.get("swap"))
            and bool(entry.get("linear"))
            and entry.get("settle") == entry.get("quote")
        )

    def listed_ms(self, info: Mapping[str, Any]) -> int | None:
        """The listing time the instrument list publishes, if any."""
        return None

    # -- candles ---------------------------------------------------------------

    def cost(self, client: Any) -> EndpointCost:
        api, path = self.candles_api
        config = client.api[api]["get"][path]
        weight = round(float(config.get("cost", 1)) * self.cost_scale)
        return EndpointCost((WeightTier(1, self.page_size, max(1, weight)),))

    def rate_limit(self, client: Any) -> RateLimit:
        """ccxt paces one cost unit per `rateLimit` ms; over our window that is this budget."""
        units = self.window_s * 1000.0 / float(client.rateLimit) * self.cost_scale
        return RateLimit(int(units), self.window_s)

    def page_params(self, market_id: str, page: Page) -> Params:
        raise NotImplementedError

    def probe_params(self, market_id: str, *, first: bool) -> Params:
        raise NotImplementedError

    def rows(self, response: Any) -> list[list[Any]] | None:
        """The raw candle rows of a response, or None if it is not a candle answer."""
        raise NotImplementedError

    def used_weight(self, headers: Mapping[str, str]) -> int | None:
        """Budget units used in the current window, from response headers the exchange sends."""
        return None

    def window_end(self, page: Page) -> int:
        return page.window.end_ms - MINUTE_MS
