"""Dataset signatures, schema v3: the ten dotted tokens that name a dataset.

A signature such as

    periodic_daily.airflow.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0

names the tokens in `TOKENS` order. The dataset lives under `<base>/v3/<token>/<token>/...`.
The universe token is the only one that can contain a dot (`v7.3`); since `.` separates the
tokens, it is written with underscores (`v7_3`) both in the dotted form and in the path. A
`DatasetSignature` stores the universe as its version label (`v7.3`) and accepts either spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

from candlelake.errors import UsageError
from candlelake.markets import DATA_TYPES, INTERVAL_ACTION_TAGS
from candlelake.universe import ALL_UNIVERSE, VENDOR_LISTS, list_versions, universe_label, universe_token

__all__ = ["ALLOWED_VALUES", "ALL_UNIVERSE", "TOKENS", "DatasetSignature", "universe_label", "universe_token"]

SCHEMA_VERSION: Final = "v3"
SEPARATOR: Final = "."

TOKENS: Final[tuple[str, ...]] = (
    "download_mode",
    "downloading_entity",
    "action_tag",
    "data_format",
    "data_type",
    "asset_type",
    "universe",
    "vendor",
    "exchange_id",
    "version",
)

# Upstream dataset_schema_v3.json at HEAD (Sep 2024): the names a dataset may carry, a
# superset of what candlelake downloads (markets.py), in upstream's order. The universe is
# absent on purpose: it is checked against the universe files that ship with the package.
ALLOWED_VALUES: Final[dict[str, tuple[str, ...]]] = {
    "download_mode": ("bulk", "periodic_daily", "periodic_10min", "realtime"),
    "downloading_entity": ("airflow", "manual"),
    "action_tag": (
        "downloaded_all",
        "downloaded_1sec",
        "resampled_1min",
        "downloaded_1min",
        "downloaded_250ms",
        "downloaded_200ms",
        "archived_1sec",
        "archived_1min",
        "archived_250ms",
        "archived_200ms",
        "resampled_10sec",
        # candlelake's tags for the other kline intervals (markets.INTERVAL_ACTION_TAGS).
        *(tag for tag in INTERVAL_ACTION_TAGS.values() if tag not in ("downloaded_1sec", "downloaded_1min")),
    ),
    "data_format": ("parquet", "csv", "postgres"),
    "data_type": DATA_TYPES,
    "asset_type": ("futures", "spot", "coin_futures"),
    "vendor": ("ccxt", "crypto_chassis", "binance"),
    "exchange_id": ("binance", "binanceus", "okx", "bybit", "kraken", "cryptocom"),
    "version": ("v1_0_0", "v2_0_0"),
}


@dataclass(frozen=True)
class DatasetSignature:
    """The ten schema-v3 tokens. Build it with keywords, or from text with `parse`."""

    download_mode: str
    downloading_entity: str
    action_tag: str
    data_format: str
    data_type: str
    asset_type: str
    universe: str
    vendor: str
    exchange_id: str
    version: str

    def __post_init__(self) -> None:
        # Store one spelling so that `v7_3` and `v7.3` give equal signatures.
        object.__setattr__(self, "universe", universe_label(self.universe))

    @classmethod
    def parse(cls, text: str) -> DatasetSignature:
        """Parse the dotted form and validate it; raise UsageError naming the bad token."""
        parts = text.strip().split(SEPARATOR)
        if len(parts) != len(TOKENS) or not all(parts):
            raise UsageError(
                f"malformed signature {text!r}: expected {len(TOKENS)} non-empty tokens "
                f"{SEPARATOR.join(TOKENS)}, got {len(parts)}"
            )
        sig = cls(**dict(zip(TOKENS, parts, strict=True)))
        sig.validate()
        return sig

    @classmethod
    def from_path(cls, path: str) -> DatasetSignature:
        """Parse the path form (`.../v3/periodic_daily/.../v1_0_0`, trailing `/` allowed)."""
        parts = [p for p in path.rstrip("/").split("/") if p]
        tail = parts[-(len(TOKENS) + 1) :]
        if len(tail) != len(TOKENS) + 1 or tail[0] != SCHEMA_VERSION:
            raise UsageError(
                f"not a dataset path {path!r}: expected it to end with {SCHEMA_VERSION}/{'/'.join(TOKENS)}"
            )
        return cls.parse(SEPARATOR.join(tail[1:]))

    def tokens(self) -> tuple[str, ...]:
        """The token values in signature order, universe spelled with underscores."""
        values = [getattr(self, f.name) for f in fields(self)]
        values[TOKENS.index("universe")] = universe_token(self.universe)
        return tuple(values)

    def validate(self) -> None:
        """Raise UsageError for the first token whose value is not allowed."""
        for name, value in zip(TOKENS, self.tokens(), strict=True):
            if name == "universe":
                continue
            allowed = ALLOWED_VALUES[name]
            if value not in allowed:
                raise UsageError(f"invalid {name} {value!r} in signature; allowed: {', '.join(allowed)}")
        if self.universe != ALL_UNIVERSE:
            known = list_versions(self.vendor) if self.vendor in VENDOR_LISTS else []
            if self.universe not in known:
                choices = ", ".join([*map(universe_token, known), ALL_UNIVERSE])
                raise UsageError(
                    f"invalid universe {universe_token(self.universe)!r} in signature "
                    f"for vendor {self.vendor}; allowed: {choices}"
                )

    def relative_path(self) -> str:
        """`v3/<download_mode>/.../<version>`, the dataset's place under a lake base."""
        return "/".join((SCHEMA_VERSION, *self.tokens()))

    def __str__(self) -> str:
        return SEPARATOR.join(self.tokens())
