"""Markets and symbol spellings.

The lake and the universe files spell a symbol `BTC_USDT`; ccxt spells it
`BTC/USDT` (spot) or `BTC/USDT:USDT` (USD-M perpetual); Binance's own API and
archive spell it `BTCUSDT`.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from candlelake.errors import UsageError

Market = Literal["spot", "futures"]
MARKETS: tuple[str, ...] = get_args(Market)

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,20}_[A-Z0-9]{1,20}$")


def parse_market(value: str) -> Market:
    if value not in MARKETS:
        raise UsageError(f"unknown market {value!r}; allowed: {', '.join(MARKETS)}")
    return value  # type: ignore[return-value]


def check_symbol(symbol: str) -> str:
    """Return `symbol` if it is a well-formed `BASE_QUOTE` name, else raise UsageError."""
    if not _SYMBOL_RE.fullmatch(symbol):
        raise UsageError(f"bad symbol {symbol!r}; expected BASE_QUOTE in upper case, e.g. BTC_USDT")
    return symbol


def to_ccxt(symbol: str, market: Market) -> str:
    base, quote = check_symbol(symbol).split("_")
    return f"{base}/{quote}" if market == "spot" else f"{base}/{quote}:{quote}"


def from_ccxt(ccxt_symbol: str) -> str:
    pair = ccxt_symbol.split(":", 1)[0]
    base, quote = pair.split("/")
    return f"{base}_{quote}"


def to_exchange_id(symbol: str) -> str:
    """`BTC_USDT` -> `BTCUSDT`, the id Binance's REST API and archive use."""
    return check_symbol(symbol).replace("_", "")
