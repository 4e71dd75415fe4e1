"""A Binance-compatible exchange simulator for tests, benchmarks and offline demos.

It lives apart from the product code: it imports no other candlelake module, and product code
never imports it.
"""

from candlelake.simulator import truth
from candlelake.simulator.config import Maintenance, SimConfig, SymbolOverride
from candlelake.simulator.server import Simulator, SubprocessSimulator

__all__ = ["Maintenance", "SimConfig", "Simulator", "SubprocessSimulator", "SymbolOverride", "truth"]
