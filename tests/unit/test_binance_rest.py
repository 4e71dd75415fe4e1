"""BinanceRest's pacing, retries and error translation, with scripted HTTP responses.

A scripted transport stands in for the network only; every line of BinanceRest runs.
The HTTP behaviour scripted here is Binance's (binance.md): 429 with Retry-After,
418 bans, `{"code": -1121}` for an unknown symbol, weight headers on every answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson
import pytest

from candlelake.errors import IpBanned, TerminalError, TransientError, UsageError
from candlelake.plan.pages import FUTURES_KLINES, plan_pages
from candlelake.sources.binance_rest import BinanceRest
from candlelake.sources.http import HttpResponse, Params
from candlelake.sources.settings import RestSettings
from candlelake.timeutil import Window

MINUTE = 60_000
T0 = 1_700_000_000_000 // MINUTE * MINUTE

Step = HttpResponse | Exception | Callable[[], HttpResponse]


def _kline(open_ms: int) -> list[object]:
    return [open_ms, "1.0", "2.0", "0.5", "1.5", "10", open_ms + MINUTE - 1, "15", 3, "5", "7.5", "0"]


def _ok(body: object, used: int = 1) -> HttpResponse:
    return HttpResponse(200, {"x-mbx-used-weight-1m": str(used)}, orjson.dumps(body))


def _info(server_ms: int | None = None) -> HttpResponse:
    body = {
        "serverTime": server_ms if server_ms is not None else int(time.time() * 1000),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400}
        ],
        "symbols": [
            {
                "symbol": "BTCUSDT",
                "baseAsset": "BTC",
                "quoteAsset": "USDT",
                "status": "TRADING",
                "contractType": "PERPETUAL",
                "onboardDate": T0,
            },
            {
                "symbol": "BTCUSDT_241227",
                "baseAsset": "BTC",
                "quoteAsset": "USDT",
                "status": "TRADING",
                "contractType": "CURRENT_QUARTER",
            },
        ],
    }
    return _ok(body)


class Scripted:
    """Answers each GET with the next scripted step and records what was asked."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.calls: list[tuple[str, dict[str, str | int]]] = []
        self.closed = False

    async def get(self, url: str, params: Params) -> HttpResponse:
        self.calls.append((url, dict(params)))
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step() if callable(step) else step

    async def close(self) -> None:
        self.closed = True


def _run(transport: Scripted, attempts: int = 3, **kw: object) -> tuple[list[list[object]], BinanceRest]:
    settings = RestSettings(base_url="http://127.0.0.1:9", attempts=attempts, max_backoff_s=0.01, **kw)  # type: ignore[arg-type]

    async def go() -> tuple[list[list[object]], BinanceRest]:
        async with BinanceRest("futures", settings, transport) as rest:
            await rest.exchange_info()
            page = plan_pages(Window(T0, T0 + 3 * MINUTE), FUTURES_KLINES)[0]
            return await rest.klines("BTCUSDT", page), rest

    return asyncio.run(go())


ROWS = [_kline(T0 + i * MINUTE) for i in range(3)]


def test_request_names_the_endpoint_window_and_page_size_and_keeps_all_fields() -> None:
    transport = Scripted(_info(), _ok(ROWS))
    rows, _ = _run(transport)
    assert rows == ROWS
    url, params = transport.calls[1]
    assert url == "http://127.0.0.1:9/fapi/v1/klines"
    assert params["startTime"] == T0 and params["endTime"] == T0 + 3 * MINUTE - 1
    assert params["interval"] == "1m" and params["symbol"] == "BTCUSDT"
    assert transport.closed
    # dated contracts are not part of a BASE_QUOTE universe
    assert set(asyncio.run(_info_of(Scripted(_info())))) == {"BTCUSDT"}


async def _info_of(transport: Scripted) -> dict[str, object]:
    async with BinanceRest("futures", RestSettings(base_url="http://127.0.0.1:9"), transport) as rest:
        return dict(await rest.exchange_info())


def test_5xx_reset_and_truncated_body_are_retried_then_succeed() -> None:
    transport = Scripted(
        _info(),
        HttpResponse(503, {}, b'{"code":-1001,"msg":"Internal error; unable to process your request."}'),
        TransientError("connection reset for GET http://127.0.0.1:9/fapi/v1/klines"),
        HttpResponse(200, {}, orjson.dumps(ROWS)[:-7]),
        _ok(ROWS),
    )
    rows, rest = _run(transport, attempts=4)
    assert rows == ROWS
    assert rest.stats.retries == 3 and rest.stats.requests == 5


def test_transient_failures_give_up_after_the_attempts_with_the_cause() -> None:
    transport = Scripted(_info(), *[HttpResponse(502, {}, b"bad gateway")] * 3)
    with pytest.raises(TransientError, match="HTTP 502 for futures BTCUSDT"):
        _run(transport, attempts=3)
    assert len(transport.calls) == 4


def test_429_is_waited_out_and_never_uses_up_an_attempt() -> None:
    limited = HttpResponse(429, {"retry-after": "0.05"}, b'{"code":-1003,"msg":"Too many requests"}')
    transport = Scripted(_info(), limited, limited, limited, _ok(ROWS))
    started = time.monotonic()
    rows, rest = _run(transport, attempts=2)
    assert rows == ROWS
    assert rest.stats.rate_limited == 3
    assert time.monotonic() - started >= 0.15  # Retry-After was honoured three times


def test_418_bans_the_budget_so_no_other_request_is_sent() -> None:
    transport = Scripted(_info(), HttpResponse(418, {"retry-after": "120"}, b'{"code":-1003}'), _ok(ROWS))
    with pytest.raises(IpBanned, match="HTTP 418") as caught:
        _run(transport)
    assert caught.value.retry_after_s == 120
    assert len(transport.calls) == 2  # the scripted success was never requested


def test_unknown_symbol_is_a_usage_error_and_other_4xx_are_terminal_with_the_message() -> None:
    with pytest.raises(UsageError, match="unknown symbol 'BTCUSDT' on Binance futures"):
        _run(Scripted(_info(), HttpResponse(400, {}, b'{"code":-1121,"msg":"Invalid symbol."}')))
    with pytest.raises(TerminalError, match="HTTP 400 for futures BTCUSDT: Illegal characters"):
        _run(Scripted(_info(), HttpResponse(400, {}, b'{"code":-1100,"msg":"Illegal characters"}')))


def test_a_json_body_that_is_not_kline_rows_is_terminal_without_claiming_retries() -> None:
    with pytest.raises(TerminalError) as caught:
        _run(Scripted(_info(), _ok([[1, 2]])))
    assert "retries" not in str(caught.value)


def test_server_weight_header_is_taken_when_it_exceeds_our_own_count() -> None:
    # Another process on this IP spent the window: the budget must take the server's
    # count, so the next request waits for the next window instead of causing a 429.
    transport = Scripted(_info(), _ok(ROWS, used=2399))

    async def go() -> tuple[int, int]:
        async with BinanceRest("futures", RestSettings(base_url="http://127.0.0.1:9"), transport) as rest:
            await rest.exchange_info()
            page = plan_pages(Window(T0, T0 + 3 * MINUTE), FUTURES_KLINES)[0]
            await rest.klines("BTCUSDT", page)
            assert rest.budget is not None
            return rest.budget.used, rest.budget.rate.limit

    used, limit = asyncio.run(go())
    assert limit == 2400  # read from exchangeInfo's rateLimits
    assert used == 2399 or time.time() % 60 < 1  # unless the window rolled over meanwhile


@pytest.mark.parametrize(("skew_s", "follows_server"), [(5.0, True), (-20.0, True), (7200.0, False)])
def test_weight_windows_follow_a_real_clock_skew_but_not_a_frozen_simulator(
    skew_s: float, follows_server: bool
) -> None:
    server_ms = int((time.time() + skew_s) * 1000)
    transport = Scripted(_info(server_ms))

    async def go() -> tuple[float, int]:
        async with BinanceRest("futures", RestSettings(base_url="http://127.0.0.1:9"), transport) as rest:
            await rest.exchange_info()
            assert rest.budget is not None
            return rest.budget.now() - time.time(), rest.server_now_ms()

    offset, server_now = asyncio.run(go())
    assert abs(offset - (skew_s if follows_server else 0.0)) < 0.5
    assert abs(server_now - (time.time() + skew_s) * 1000) < 500  # the planner always sees the server clock
