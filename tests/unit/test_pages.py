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
