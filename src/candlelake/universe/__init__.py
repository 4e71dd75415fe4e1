"""Versioned download universes: which symbols a dataset holds, in download order.

The files ship inside the package, one per version, in upstream's format and file naming:
`data/<vendor>/universe_<version>.json` holding `{"CCXT": {"<exchange_id>": ["BTC_USDT", ...]}}`.
The vendor `binance` (Binance's own archive) downloads the same symbols as `ccxt`, so both read
the `ccxt` files.

Shipped: `v7` (binance 27 symbols, binanceus 19) and `v7.3` (binance 25, binanceus 19, okx 18).
Upstream edits universe files in place; our `v7.3` is the February 2024 list (binance: v7 without
ETH_BUSD and BTC_BUSD; binance and okx still with WAVES_USDT), the one the tutorial DAG ran against.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

from candlelake.errors import UsageError
from candlelake.markets import VENDORS, check_symbol

# vendor -> data directory; the vendor `binance` downloads the symbols of the `ccxt` lists.
VENDOR_LISTS: Final[dict[str, str]] = {vendor: "ccxt" for vendor in VENDORS}

ALL_UNIVERSE: Final = "all"

# Only version-like labels (`v7_3`, `v10_12`) turn underscores back into dots; a name such
# as `top30_20220706` keeps its underscore.
_VERSION_WITH_UNDERSCORES = re.compile(r"^v\d+(?:_\d+)+$")


def universe_label(token: str) -> str:
    """`v7_3` -> `v7.3`; anything else unchanged."""
    if _VERSION_WITH_UNDERSCORES.fullmatch(token):
        return token.replace("_", ".")
    return token


def universe_token(label: str) -> str:
    """`v7.3` -> `v7_3`: the spelling used inside signatures and paths."""
    return label.replace(".", "_")


_FILE_RE = re.compile(r"^universe_(?P<version>.+)\.json$")
_NUMERIC_RE = re.compile(r"^v(\d+)(?:\.(\d+))*$")


def version_key(version: str) -> tuple[int, tuple[int, ...], str]:
    """Sort key: numeric versions by their integer parts (`v7.3` < `v7.10` < `v8`), then names.

    Parts are compared as integers, never as text, so `v7.10` is neither `v7.1` nor before `v7.2`.
    """
    if _NUMERIC_RE.fullmatch(version):
        return (0, tuple(int(part) for part in version[1:].split(".")), "")
    return (1, (), version)


def _vendor_dir(vendor: str) -> Traversable:
    if vendor not in VENDOR_LISTS:
        raise UsageError(
            f"no universes for vendor {vendor!r}; vendors with universes: {', '.join(VENDOR_LISTS)}"
        )
    return resources.files("candlelake.universe").joinpath("data", VENDOR_LISTS[vendor])


def _version_files(vendor: str) -> dict[str, Traversable]:
    files = {}
    for entry in _vendor_dir(vendor).iterdir():
        match = _FILE_RE.fullmatch(entry.name)
        if match and entry.is_file():
            files[match["version"]] = entry
    return files


def list_versions(vendor: str = "ccxt") -> list[str]:
    """The shipped universe versions of `vendor`, oldest first."""
    return sorted(_version_files(vendor), key=version_key)


def _load(version: str, vendor: str) -> dict[str, list[str]]:
    label = universe_label(version)
    if label == ALL_UNIVERSE:
        raise UsageError(
            "universe 'all' has no file: it is every trading symbol of the market, taken from the exchange"
        )
    files = _version_files(vendor)
    if label not in files:
        known = ", ".join(sorted(files, key=version_key))
        raise UsageError(f"unknown universe {version!r} for vendor {vendor}; available: {known}")
    raw = json.loads(files[label].read_text(encoding="utf-8"))
    # Upstream lower-cases the top-level keys on load ("CCXT" -> "ccxt").
    by_vendor = {key.lower(): value for key, value in raw.items()}
    lists = by_vendor[VENDOR_LISTS[vendor]]
    return {exchange: [check_symbol(s) for s in symbols] for exchange, symbols in lists.items()}


def list_exchanges(version: str, vendor: str = "ccxt") -> list[str]:
    """Exchanges that universe `version` has a symbol list for."""
    return sorted(_load(version, vendor))


def load_universe(version: str, exchange_id: str, vendor: str = "ccxt") -> list[str]:
    """The symbols (`BTC_USDT` spelling) of `version` for `exchange_id`, in download order.

    `version` may be spelled `v7.3` or `v7_3`. Raises UsageError naming what exists.
    """
    lists = _load(version, vendor)
    if exchange_id not in lists:
        raise UsageError(
            f"universe {universe_label(version)} has no exchange {exchange_id!r}; "
            f"available: {', '.join(sorted(lists))}"
        )
    return list(lists[exchange_id])


__all__ = [
    "ALL_UNIVERSE",
    "VENDOR_LISTS",
    "list_exchanges",
    "list_versions",
    "load_universe",
    "universe_label",
    "universe_token",
    "version_key",
]
