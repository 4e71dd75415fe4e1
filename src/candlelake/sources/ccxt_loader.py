"""Load one ccxt async exchange class without importing the 100+ exchanges ccxt ships.

`import ccxt.async_support.okx` first runs `ccxt/__init__.py` and
`ccxt/async_support/__init__.py`, which import every exchange module, sync and async: about
10 s on a small machine before the first request. Here each of those two package modules runs
only its prelude (version, base classes, errors); the exchange-import tail runs the first time
anything asks the package for a name it does not have yet (`ccxt.binance`, `ccxt.exchanges`),
so a later plain `import ccxt` user still sees the whole package. Measured with
`python -X importtime`: about 1 s instead of 10 s (docs/exchanges.md).

This leans on the layout of ccxt's package modules (checked for the pinned ccxt 4.5.90); if
the marker line is not found, the loader falls back to the ordinary, slow import.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

# The first exchange import of each package module: everything before it is the prelude.
_MARKERS = {
    "ccxt": "from ccxt.alpaca import",
    "ccxt.async_support": "from ccxt.async_support.alpaca import",
}


def exchange_class(ccxt_id: str) -> Any:
    """The async ccxt class `ccxt_id` (e.g. `okx`), importing as little of ccxt as possible."""
    if not all(_prelude_only(name, marker) for name, marker in _MARKERS.items()):
        log.debug("ccxt layout not recognised; importing ccxt.async_support in full")
    module = importlib.import_module(f"ccxt.async_support.{ccxt_id}")
    return getattr(module, ccxt_id)


def _prelude_only(name: str, marker: str) -> bool:
    """Put package `name` in sys.modules with only its prelude run; True if done or loaded."""
    if name in sys.modules:
        return True
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.loader is None:
        return False
    with open(spec.origin, encoding="utf-8") as handle:
        source = handle.read()
    cut = source.find(marker)
    if cut < 0:
        return False
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        exec(compile(source[:cut], spec.origin, "exec"), module.__dict__)  # noqa: S102 - ccxt's own code
    except BaseException:
        del sys.modules[name]
        raise
    module.__dict__["__getattr__"] = _completer(module, source[cut:], spec.origin)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return True


def _completer(module: ModuleType, rest: str, origin: str) -> Any:
    """A module `__getattr__` (PEP 562) that runs the package's remaining imports once."""

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        module.__dict__.pop("__getattr__", None)
        exec(compile(rest, origin, "exec"), module.__dict__)  # noqa: S102 - ccxt's own code
        try:
            return module.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}") from None

    return __getattr__
