"""Loading one ccxt exchange class imports that exchange only, and ccxt stays whole for others."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from candlelake.sources.ccxt_loader import exchange_class
okx = exchange_class("okx")
loaded = sorted(m for m in sys.modules if m.startswith(("ccxt.async_support.", "ccxt.")) and
                m.count(".") == 1 + m.startswith("ccxt.async_support.") and "base" not in m)
print(okx.__module__, loaded)
assert okx().id == "okx"
assert "ccxt.binance" not in sys.modules and "ccxt.async_support.bybit" not in sys.modules
import ccxt, ccxt.async_support
assert len(ccxt.exchanges) > 100 and ccxt.binance().id == "binance"
assert ccxt.async_support.bybit().id == "bybit"
from ccxt import RateLimitExceeded
print("ok")
"""


def test_one_exchange_is_imported_and_the_rest_on_demand():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    first, last = result.stdout.strip().splitlines()
    assert first.startswith("ccxt.async_support.okx")
    # Only okx's modules among the exchanges (ccxt.abstract.okx, ccxt.async_support.okx).
    assert "bybit" not in first and "binance" not in first
    assert last == "ok"
