"""Find the datasets of a lake without knowing its layout, and pick one by a few tokens.

A lake base holds `v3/<ten signature tokens>/` folders; they are found by listing one level
at a time (a few requests on S3, never a listing of every file). A dataset is picked by any
of its tokens (`market="futures", universe="v7.3"`); the rest default when only one
dataset matches.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from candlelake.errors import UsageError
from candlelake.lake.funding import month_files, settlement_times
from candlelake.lake.ledger import Ledger
from candlelake.lake.listing import list_dir
from candlelake.lake.storage import DatasetLocation, FileSystem, join_url, normalize_url
from candlelake.signature import SCHEMA_VERSION, TOKENS, DatasetSignature, universe_token
from candlelake.timeutil import from_ms

# Friendlier names for the tokens people pick by.
ALIASES = {"market": "asset_type", "mode": "download_mode", "exchange": "exchange_id"}


def find_datasets(fs: FileSystem, base: str) -> list[DatasetSignature]:
    """Every valid signature under `<base>/v3`, sorted by its dotted form."""
    paths = [posixpath.join(base, SCHEMA_VERSION)]
    for _ in TOKENS:
        paths = [child for path in paths for child in _dirs(fs, path)]
    found = []
    for path in paths:
        try:
            found.append(DatasetSignature.from_path(path))
        except UsageError:
            continue  # a folder that is not a dataset (a typo, a foreign tool's)
    return sorted(found, key=str)


def is_dataset_root(fs: FileSystem, path: str) -> bool:
    """True if `path` holds partitions (`currency_pair=...`) or a ledger."""
    names = [posixpath.basename(p) for p in _dirs(fs, path, hidden=True)]
    return any(n.startswith("currency_pair=") or n == "_ledger" for n in names)


def pick(signatures: list[DatasetSignature], base_url: str, **tokens: str | None) -> DatasetSignature:
    """The one signature matching `tokens`; UsageError naming the candidates otherwise."""
    wanted = {}
    for key, value in tokens.items():
        if value is None:
            continue
        name = ALIASES.get(key, key)
        if name not in TOKENS:
            raise UsageError(f"unknown dataset token {key!r}; allowed: {', '.join([*TOKENS, *ALIASES])}")
        wanted[name] = universe_token(value) if name == "universe" else value
    matches = [
        s
        for s in signatures
        if all(dict(zip(TOKENS, s.tokens(), strict=True))[k] == v for k, v in wanted.items())
    ]
    if len(matches) == 1:
        return matches[0]
    if not signatures:
        raise UsageError(f"no dataset under {base_url}")
    shown = ", ".join(str(s) for s in (matches or signatures))
    if not matches:
        raise UsageError(f"no dataset under {base_url} matches {wanted}; datasets: {shown}")
    raise UsageError(f"{len(matches)} datasets under {base_url} match {wanted}; pick one of: {shown}")


def _matches(signature: DatasetSignature, wanted: dict[str, str]) -> bool:
    values = dict(zip(TOKENS, signature.tokens(), strict=True))
    return all(values[k] == v for k, v in wanted.items())


def resolve(
    url: str,
    *,
    aws_profile: str | None = None,
    endpoint_url: str | None = None,
    **tokens: str | None,
) -> DatasetLocation:
    """A dataset root given directly, or picked by `tokens` under a lake base."""
    location = DatasetLocation(normalize_url(url), aws_profile=aws_profile, endpoint_url=endpoint_url)
    fs, root = location.filesystem()
    picking = any(v is not None for v in tokens.values())
    if not picking and (is_dataset_root(fs, root) or not fs.isdir(posixpath.join(root, SCHEMA_VERSION))):
        return location  # a dataset root (or nothing: the reader says there is no dataset)
    signature = pick(find_datasets(fs, root), location.url, **tokens)
    return location.child(signature.relative_path())


@dataclass(frozen=True)
class DatasetSummary:
    """What a dataset holds: for candles from the gap ledger, for funding from its month files.

    `days` counts (symbol, UTC day) pairs with data; `months` counts the month files of a
    funding dataset (None for candles, whose files are days); `rows` of a funding dataset are
    its settlements.
    """

    signature: DatasetSignature
    url: str
    symbols: tuple[str, ...]
    first_day: dt.date | None
    last_day: dt.date | None
    rows: int
    days: int
    months: int | None = None

    @property
    def is_funding(self) -> bool:
        return self.signature.data_type == "funding_rate"

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": str(self.signature),
            "url": self.url,
            "symbols": list(self.symbols),
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "rows": self.rows,
            "days": self.days,
            "months": self.months,
        }


def summarize(location: DatasetLocation) -> list[DatasetSummary]:
    """One summary per dataset of the lake at `location`: from the ledgers, and for funding
    datasets (which have none) from their month files."""
    fs, base = location.filesystem()
    out = []
    for signature in find_datasets(fs, base):
        root = posixpath.join(base, signature.relative_path())
        url = join_url(location.url, signature.relative_path())
        if signature.data_type == "funding_rate":
            out.append(_funding_summary(fs, root, signature, url))
            continue
        ledger = Ledger(fs, root)
        days: list[dt.date] = []
        rows = 0
        symbols = ledger.symbols()
        for symbol in symbols:
            entries = ledger.entries(symbol)
            days += entries
            rows += sum(e.meta.rows for e in entries.values())
        out.append(
            DatasetSummary(
                signature,
                url,
                tuple(symbols),
                min(days) if days else None,
                max(days) if days else None,
                rows,
                len(days),
            )
        )
    return out


def _funding_summary(fs: FileSystem, root: str, signature: DatasetSignature, url: str) -> DatasetSummary:
    """A funding dataset has no ledger: its month files say what it holds (one small
    column each, read a few at a time since on S3 each is a request)."""
    files = month_files(fs, root)
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        times = list(pool.map(lambda f: settlement_times(fs, f[3]), files))
    days = {
        (symbol, from_ms(ms).date()) for (symbol, *_), month in zip(files, times, strict=True) for ms in month
    }
    covered = [day for _, day in days]
    return DatasetSummary(
        signature,
        url,
        tuple(sorted({symbol for symbol, *_ in files})),
        min(covered) if covered else None,
        max(covered) if covered else None,
        sum(map(len, times)),
        len(days),
        len(files),
    )


# Month files read at once by `ls` (each is one request on S3).
_READERS = 8


def _dirs(fs: FileSystem, path: str, *, hidden: bool = False) -> list[str]:
    return [p for p, _ in list_dir(fs, path, "directory", hidden=hidden)]
