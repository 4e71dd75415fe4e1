"""Per-exchange facts of the ccxt sources, checked against the installed ccxt (no server)."""

from __future__ import annotations

import pytest

from candlelake.plan.pages import Page, RateLimit, plan_pages
from candlelake.sources.ccxt_loader import exchange_class
from candlelake.sources.ccxt_rest import exchange_for
from candlelake.timeutil import Window

DAY = 1708214400000
MINUTE = 60_000

# docs/exchanges.md: ccxt 4.5.90 rateLimit and candle endpoint cost, each exchange's window.
# OKX: 110 ms, history-candles cost 1, 2 s -> 181.8 units of 0.1 -> 181, 10 per request.
# Bybit: 20 ms, kline cost 5, 5 s -> 2500 units, 50 per request. Binance.US: 50 ms, cost 1, 60 s.
FACTS = [
    ("okx", "futures", RateLimit(181, 2.0), 10, 300),
    ("bybit", "futures", RateLimit(2500, 5.0), 50, 1000),
    ("binanceus", "spot", RateLimit(1200, 60.0), 1, 1000),
]


@pytest.mark.parametrize(("exchange", "market", "rate", "weight", "page"), FACTS)
def test_budget_and_pages_come_from_ccxts_definitions(exchange, market, rate, weight, page):
    spec = exchange_for(exchange, market)
    client = exchange_class(exchange)()
    assert spec.rate_limit(client) == rate
    cost = spec.cost(client)
    assert (cost.max_limit, cost.weight(cost.max_limit)) == (page, weight)
    # a day is cut into pages of at most the page size, each costing one request
    pages = plan_pages(Window(DAY, DAY + 1440 * MINUTE), cost)
    assert len(pages) == -(-1440 // page) and {p.weight for p in pages} == {weight}


def test_page_parameters_follow_each_exchanges_paging():
    page = Page(Window(DAY, DAY + 300 * MINUTE), 300, 10)
    okx = exchange_for("okx", "futures").page_params("BTC-USDT-SWAP", page)
    # OKX: open times strictly after `before` and strictly before `after`
    assert (okx["before"], okx["after"], okx["limit"]) == (DAY - 1, DAY + 300 * MINUTE, 300)
    bybit = exchange_for("bybit", "futures").page_params("BTCUSDT", page)
    # Bybit: start and end inclusive, category from the market
    assert (bybit["category"], bybit["start"], bybit["end"]) == ("linear", DAY, DAY + 299 * MINUTE)
    assert exchange_for("bybit", "spot").page_params("BTCUSDT", page)["category"] == "spot"
    us = exchange_for("binanceus", "spot").page_params("BTCUSDT", page)
    assert (us["startTime"], us["endTime"], us["interval"]) == (DAY, DAY + 299 * MINUTE, "1m")


def test_urls_are_aimed_at_one_base_url():
    for exchange, market, path in [("okx", "futures", "/api/v5"), ("bybit", "spot", "/v5")]:
        client = exchange_class(exchange)()
        exchange_for(exchange, market).aim(client, "http://127.0.0.1:1")
        assert all(v.startswith("http://127.0.0.1:1") for v in client.urls["api"].values()), path
    client = exchange_class("binanceus")()
    exchange_for("binanceus", "spot").aim(client, "http://127.0.0.1:1/binanceus")
    assert client.urls["api"]["public"] == "http://127.0.0.1:1/binanceus/api/v3"


def test_futures_are_usdt_margined_perpetuals_only():
    spec = exchange_for("okx", "futures")
    swap = {"swap": True, "linear": True, "settle": "USDT", "quote": "USDT"}
    assert spec.wanted(swap, "futures")
    assert not spec.wanted({**swap, "swap": False, "future": True}, "futures")  # dated
    assert not spec.wanted({**swap, "linear": False, "settle": "BTC", "quote": "USD"}, "futures")
    assert not spec.wanted(swap, "spot") and spec.wanted({"spot": True}, "spot")
