"""The only code that knows lake paths: how to build them and how to read them back.

    <lake base>/v3/<signature tokens...>/                  dataset root (see candlelake.signature)
        currency_pair=BTC_USDT/year=2024/month=2/           hive partitions, month not zero-padded
            2024-02-19.parquet                              one file per (symbol, UTC day)
            2024-02.parquet                                 or per (symbol, month): 3d, 1w, 1M bars

Upstream readers see the same hive partitions they wrote. Names starting with `.` or `_` are
hidden: temporary files use them, and pyarrow's dataset discovery and our reader skip them.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
import socket
import uuid
from typing import Final

from candlelake.lake.storage import DatasetLocation, join_url, normalize_url
from candlelake.markets import check_symbol
from candlelake.signature import DatasetSignature

PARTITION_COLUMNS: Final[tuple[str, ...]] = ("currency_pair", "year", "month")
HIDDEN_PREFIXES: Final[tuple[str, ...]] = (".", "_")
DAY_FILE_SUFFIX: Final = ".parquet"

_INT_RE = re.compile(r"^(0|[1-9]\d*)$")  # canonical ints only: `month=2`, never `month=02`
_DAY_FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")
_MONTH_FILE_RE = re.compile(r"^(\d{4})-(\d{2})\.parquet$")
_TEMP_RE = re.compile(r"^\..+\.([A-Za-z0-9-]+)-(\d+)\.[0-9a-f]{32}\.tmp$")


def this_host() -> str:
    """The host name as temp file names spell it (letters, digits and `-` only)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def dataset_url(base_url: str, signature: DatasetSignature) -> str:
    """`<base>/v3/<tokens...>` for a lake base URL or local path."""
    return join_url(normalize_url(base_url), signature.relative_path())


def open_dataset(
    base_url: str,
    signature: DatasetSignature,
    *,
    aws_profile: str | None = None,
    endpoint_url: str | None = None,
) -> DatasetLocation:
    """The location of `signature`'s dataset under the lake `base_url` (nothing is created)."""
    return DatasetLocation(
        dataset_url(base_url, signature), aws_profile=aws_profile, endpoint_url=endpoint_url
    )


def segment(key: str, value: str | int) -> str:
    return f"{key}={value}"


def parse_segment(name: str, key: str) -> str | None:
    """The value of a `key=value` directory name, or None if `name` is not one for `key`."""
    prefix = f"{key}="
    return name[len(prefix) :] if name.startswith(prefix) and len(name) > len(prefix) else None


def partition_dir(symbol: str, year: int, month: int) -> str:
    """`currency_pair=BTC_USDT/year=2024/month=2`, relative to the dataset root."""
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range: {month}")
    return "/".join(
        (
            segment("currency_pair", check_symbol(symbol)),
            segment("year", year),
            segment("month", month),
        )
    )


def day_file_name(day: dt.date, *, monthly: bool = False) -> str:
    """`2024-02-19.parquet`, or `2024-02.parquet` for a month partition (key: its first day)."""
    if monthly:
        return f"{day.year:04d}-{day.month:02d}{DAY_FILE_SUFFIX}"
    return f"{day.isoformat()}{DAY_FILE_SUFFIX}"


def day_file(symbol: str, day: dt.date, *, monthly: bool = False) -> str:
    """`currency_pair=BTC_USDT/year=2024/month=2/2024-02-19.parquet`, relative to the root."""
    return f"{partition_dir(symbol, day.year, day.month)}/{day_file_name(day, monthly=monthly)}"


def parse_partition_dir(relative: str) -> tuple[str, int, int]:
    """Inverse of `partition_dir`; raises ValueError for anything it would not produce."""
    parts = relative.strip("/").split("/")
    if len(parts) != 3:
        raise ValueError(f"not a partition directory: {relative!r}")
    symbol = parse_segment(parts[0], "currency_pair")
    year = parse_segment(parts[1], "year")
    month = parse_segment(parts[2], "month")
    if symbol is None or year is None or month is None:
        raise ValueError(f"not a partition directory: {relative!r}")
    if not (_INT_RE.fullmatch(year) and _INT_RE.fullmatch(month)):
        raise ValueError(f"year and month must be plain integers: {relative!r}")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"month out of range: {relative!r}")
    return check_symbol(symbol), int(year), int(month)


def parse_day_file_name(name: str) -> dt.date | None:
    """The partition key of a file's base name: the day of `2024-02-19.parquet`, the first
    day of `2024-02.parquet` (a month file), or None for other files."""
    span = file_days(name)
    return None if span is None else span[0]


def file_days(name: str) -> tuple[dt.date, dt.date] | None:
    """The first and last UTC day whose bars a day or month file holds, or None."""
    month = _MONTH_FILE_RE.fullmatch(name)
    if month:
        year, number = int(month[1]), int(month[2])
        if not 1 <= number <= 12:
            return None
        first = dt.date(year, number, 1)
        following = dt.date(year + number // 12, number % 12 + 1, 1)
        return first, following - dt.timedelta(days=1)
    match = _DAY_FILE_RE.fullmatch(name)
    if not match:
        return None
    try:
        day = dt.date.fromisoformat(match[1])
    except ValueError:
        return None
    return day, day


def parse_day_file(relative: str) -> tuple[str, dt.date]:
    """Inverse of `day_file`; raises ValueError when the name and its directories disagree."""
    directory, _, name = relative.strip("/").rpartition("/")
    symbol, year, month = parse_partition_dir(directory)
    day = parse_day_file_name(name)
    if day is None:
        raise ValueError(f"not a day file: {relative!r}")
    if (day.year, day.month) != (year, month):
        raise ValueError(f"day file in the wrong partition: {relative!r}")
    return symbol, day


def is_hidden(name: str) -> bool:
    """True for temporary and bookkeeping names, which readers must skip."""
    return posixpath.basename(name.rstrip("/")).startswith(HIDDEN_PREFIXES)


def temp_path_for(path: str) -> str:
    """A hidden, unique sibling of `path` to write before renaming it into place.

    The name carries the writer's host and process id, so that a later run on the same host
    can tell a temp file whose writer is dead (kill -9) from one being written right now.
    """
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}.{this_host()}-{os.getpid()}.{uuid.uuid4().hex}.tmp")


def temp_owner(name: str) -> tuple[str, int] | None:
    """(host, pid) of the writer of a temp file named by `temp_path_for`, if it says."""
    match = _TEMP_RE.fullmatch(posixpath.basename(name))
    return (match[1], int(match[2])) if match else None


def months_between(first: dt.date, last: dt.date) -> list[tuple[int, int]]:
    """The (year, month) partitions from `first` to `last`, both included."""
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
