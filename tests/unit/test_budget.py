import asyncio

import pytest

from candlelake.errors import IpBanned
from candlelake.sources.budget import RateLimit, WeightBudget


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_budget_never_reserves_more_than_the_usable_limit_per_window(monkeypatch):
    clock = FakeClock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.t += seconds

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    budget = WeightBudget(RateLimit(100, 10.0), headroom=1.0, clock=clock)

    async def go():
        sent = []
        for _ in range(120):
            at = await budget.acquire(2)
            budget.release(2)
            sent.append(at)
        return sent

    sent = asyncio.run(go())
    per_window: dict[int, int] = {}
    for at in sent:
        per_window[int(at // 10)] = per_window.get(int(at // 10), 0) + 2
    assert max(per_window.values()) <= 100
    assert sum(per_window.values()) == 240
    assert len(per_window) == 3  # 50 requests fill a window exactly


def test_server_count_from_headers_is_respected(monkeypatch):
    clock = FakeClock()

    async def fake_sleep(seconds: float) -> None:
        clock.t += seconds

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    budget = WeightBudget(RateLimit(100, 10.0), headroom=1.0, clock=clock)

    async def go():
        at = await budget.acquire(2)
        budget.release(2)
        budget.observe(99, at)  # another process on this IP spent most of the window
        return await budget.acquire(2)

    second = asyncio.run(go())
    assert int(second // 10) == (1000 // 10) + 1


def test_ban_stops_every_later_request():
    budget = WeightBudget(RateLimit(100, 10.0))
    budget.ban(IpBanned("banned for 120 s", 120))

    with pytest.raises(IpBanned, match="120"):
        asyncio.run(budget.acquire(1))


def test_header_suffix_matches_binance_naming():
    assert RateLimit(2400, 60).header_suffix() == "1M"
    assert RateLimit(240, 6).header_suffix() == "6S"
