"""A Binance-compatible exchange simulator for tests, benchmarks and offline demos.

It lives apart from the product code: it imports no other candlelake module, and product code
never imports it. Names load on first use, so `candlelake sim --help` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from candlelake.simulator import truth
    from candlelake.simulator.config import Maintenance, SimConfig, SymbolOverride
    from candlelake.simulator.server import Simulator, SubprocessSimulator

_HOME = {
    "Maintenance": "config",
    "SimConfig": "config",
    "SymbolOverride": "config",
    "Simulator": "server",
    "SubprocessSimulator": "server",
}

__all__ = ["Maintenance", "SimConfig", "Simulator", "SubprocessSimulator", "SymbolOverride", "truth"]


def __getattr__(name: str) -> Any:
    if name == "truth":
        return importlib.import_module("candlelake.simulator.truth")
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'candlelake.simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(f"candlelake.simulator.{module}"), name)
