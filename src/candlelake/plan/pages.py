"""Request weight: an endpoint's weight tiers, the exchange's rate limit, and pages. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.timeutil import Window


@dataclass(frozen=True)
class WeightTier:
    """Requests with `min_limit <= limit <= max_limit` cost `weight`."""

    min_limit: int
    max_limit: int
    weight: int


@dataclass(frozen=True)
class EndpointCost:
    tiers: tuple[WeightTier, ...]
    # The longest time one request may span (endTime - startTime), where the endpoint has one.
    max_span_ms: int | None = None

    @property
    def max_limit(self) -> int:
        return max(t.max_limit for t in self.tiers)

    def weight(self, limit: int) -> int:
        for tier in self.tiers:
            if tier.min_limit <= limit <= tier.max_limit:
                return tier.weight
        raise ValueError(f"limit {limit} is outside every weight tier")

    def best_page_size(self) -> int:
        """The limit with the most candles per unit of weight (ties go to the larger page)."""
        return max((t.max_limit for t in self.tiers), key=lambda lim: (lim / self.weight(lim), lim))

    def limit_for(self, bars: int, page_size: int) -> int:
        """The limit to ask for when only `bars` candles remain: never above the page size."""
        return max(1, min(bars, page_size))


# Binance spot GET /api/v3/klines: weight 2 whatever the limit, max 1000.
SPOT_KLINES = EndpointCost((WeightTier(1, 1000, 2),))
# Binance USD-M GET /fapi/v1/klines: [1,100) -> 1, [100,500) -> 2, [500,1000] -> 5, >1000 -> 10.
_FUTURES_TIERS = (
    WeightTier(1, 99, 1),
    WeightTier(100, 499, 2),
    WeightTier(500, 1000, 5),
    WeightTier(1001, 1500, 10),
)
FUTURES_KLINES = EndpointCost(_FUTURES_TIERS)
# Binance COIN-M GET /dapi/v1/klines and its mark, index and premium-index klines: the USD-M
# tiers, and "the difference between startTime and endTime can only be up to 200 days" (the
# COIN-M kline pages of developers.binance.com), which 499 bars pass from 12h bars up.
COINM_KLINES = EndpointCost(_FUTURES_TIERS, max_span_ms=200 * 86_400_000)


@dataclass(frozen=True)
class RateLimit:
    """`limit` weight per `window_s` seconds."""

    limit: int
    window_s: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_s <= 0:
            raise ValueError(
                f"a rate limit needs a positive weight and window, got {self.limit}/{self.window_s}"
            )

    def header_suffix(self) -> str:
        """The `X-MBX-USED-WEIGHT-<n><unit>` suffix Binance uses for this window."""
        for unit_s, letter in ((86_400, "D"), (3_600, "H"), (60, "M"), (1, "S")):
            if self.window_s >= unit_s and self.window_s % unit_s == 0:
                return f"{int(self.window_s // unit_s)}{letter}"
        return f"{self.window_s:g}S"


@dataclass(frozen=True)
class Page:
    """One klines request: candles opening in `window`, asking for `limit` rows."""

    window: Window
    limit: int
    weight: int


def plan_pages(
    window: Window, cost: EndpointCost, page_size: int | None = None, grid: BarGrid = MINUTE_GRID
) -> list[Page]:
    """Split `window` into consecutive pages of at most `page_size` bars of `grid`.

    A page asks for the bars opening in its window. Windows need not start on the grid: a
    month partition of 1w bars starts on the 1st, and its first bar opens on a Monday.
    """
    size = page_size or cost.best_page_size()
    pages = []
    step = grid.step_ms
    if step is None:  # months: few enough to list
        opens = [int(t) for t in grid.opens(window)]
        lo = 0
        while lo < len(opens):
            hi = lo + 1  # one bar per page at least, whatever the span limit
            while hi < len(opens) and hi - lo < size and _fits(cost, opens[lo], grid.next_open(opens[hi])):
                hi += 1
            end = min(window.end_ms, grid.next_open(opens[hi - 1]))
            limit = cost.limit_for(hi - lo, size)
            pages.append(Page(Window(opens[lo], end), limit, cost.weight(limit)))
            lo = hi
        return pages
    if cost.max_span_ms is not None:
        size = max(1, min(size, cost.max_span_ms // step))
    start = grid.ceil(window.start_ms)
    while start < window.end_ms:
        bars = min(size, grid.count(Window(start, window.end_ms)))
        limit = cost.limit_for(bars, size)
        end = min(window.end_ms, start + bars * step)
        pages.append(Page(Window(start, end), limit, cost.weight(limit)))
        start = end
    return pages


def _fits(cost: EndpointCost, start_ms: int, end_ms: int) -> bool:
    """Whether one request may ask for the bars opening in [start_ms, end_ms)."""
    return cost.max_span_ms is None or end_ms - start_ms <= cost.max_span_ms
