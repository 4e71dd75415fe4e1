"""A scripted HTTP transport for REST unit tests: Binance's answers, no server.

The HTTP behaviour scripted here is Binance's (binance.md): 429 with Retry-After, 418 bans,
`{"code": -1121}` for an unknown symbol, weight headers on every answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from candlelake.sources.http import HttpResponse, Params

MINUTE = 60_000
T0 = 1_700_000_000_000 // MINUTE * MINUTE

Step = HttpResponse | Exception | Callable[[], HttpResponse]


def kline_row(open_ms: int) -> list[object]:
    return [open_ms, "1.0", "2.0", "0.5", "1.5", "10", open_ms + MINUTE - 1, "15", 3, "5", "7.5", "0"]


def ok_response(body: object, used: int = 1) -> HttpResponse:
    return HttpResponse(200, {"x-mbx-used-weight-1m": str(used)}, orjson.dumps(body))


def info_response(server_ms: int | None = None) -> HttpResponse:
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
    return ok_response(body)


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
