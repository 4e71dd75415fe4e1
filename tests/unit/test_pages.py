import itertools

from candlelake.plan.pages import FUTURES_KLINES, SPOT_KLINES, plan_pages
from candlelake.timeutil import MINUTE_MS, Window


def _candles_per_weight(cost, limit):
    return limit / cost.weight(limit)


def test_best_page_size_maximises_candles_per_weight_over_every_limit():
    for cost in (SPOT_KLINES, FUTURES_KLINES):
        best = cost.best_page_size()
        brute = max(range(1, cost.max_limit + 1), key=lambda n: (_candles_per_weight(cost, n), n))
        assert best == brute


def test_futures_weight_tiers_follow_binance_table():
    # Binance USD-M: [1,100) -> 1, [100,500) -> 2, [500,1000] -> 5, >1000 -> 10.
    assert [FUTURES_KLINES.weight(n) for n in (1, 99, 100, 499, 500, 1000, 1001, 1500)] == [
        1,
        1,
        2,
        2,
        5,
        5,
        10,
        10,
    ]
    assert FUTURES_KLINES.best_page_size() == 499
    assert SPOT_KLINES.best_page_size() == 1000


def test_pages_tile_the_window_exactly_and_price_each_page_by_its_limit():
    day = Window(1_708_300_800_000, 1_708_300_800_000 + 1440 * MINUTE_MS)
    pages = plan_pages(day, FUTURES_KLINES)
    assert [p.window.minutes for p in pages] == [499, 499, 442]
    assert pages[0].window.start_ms == day.start_ms and pages[-1].window.end_ms == day.end_ms
    assert all(a.window.end_ms == b.window.start_ms for a, b in itertools.pairwise(pages))
    assert [p.weight for p in pages] == [2, 2, 2]
    tail = plan_pages(Window(0, 50 * MINUTE_MS), FUTURES_KLINES)
    assert [(p.limit, p.weight) for p in tail] == [(50, 1)]


def test_coinm_pages_never_span_more_than_200_days():
    from candlelake.bars import grid_of
    from candlelake.plan.pages import COINM_KLINES

    # 2023-01-01 .. 2025-01-01: two years, where 499 bars of 12h, 1d, 1w or 1M exceed 200 days.
    window = Window(1_672_531_200_000, 1_735_689_600_000)
    limit_ms = 200 * 86_400_000
    for interval in ("4h", "12h", "1d", "3d", "1w", "1M"):
        grid = grid_of(interval)
        pages = plan_pages(window, COINM_KLINES, grid=grid)
        # Each request: startTime = first open, endTime = the page's end - 1 ms.
        assert all(p.window.end_ms - 1 - p.window.start_ms <= limit_ms for p in pages), interval
        opens = [int(t) for t in grid.opens(window)]
        paged = [int(t) for p in pages for t in grid.opens(p.window)]
        assert paged == opens, interval  # every bar in exactly one page
        assert all(p.limit == grid.count(p.window) for p in pages), interval
    # USD-M has no such limit: 499 daily bars in one page.
    assert plan_pages(window, FUTURES_KLINES, grid=grid_of("1d"))[0].limit == 499
