"""The data.binance.vision kline file format: CHECKSUM, zip, CSV, and the days in a file. Pure.

Archive quirks handled here (binance.md §4, anchors.md §2):
- spot CSVs have no header; futures CSVs have one on newer files only, so a header
  is sniffed (first field not numeric);
- spot timestamps are in microseconds from 2025-01-01, so each open and close time
  is normalised to ms by magnitude, value by value;
- files can be incomplete: `day_completeness` lets the caller spot a short file.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from datetime import date
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.errors import ChecksumMismatch
from candlelake.klines import FULL_SCHEMA
from candlelake.sources.unzip import read_member
from candlelake.timeutil import Window

# ms timestamps stay below 1e14 until the year 5138; µs timestamps are above it
# since 1973. So one threshold tells them apart value by value (binance.md §4.3).
MICROSECOND_THRESHOLD = 10**14

# Lake column for each CSV column, in file order; the 12th ("ignore") is dropped.
_CSV_COLUMNS = (*FULL_SCHEMA.names, "ignore")
_COLUMN_TYPES = {field.name: field.type for field in FULL_SCHEMA}
_TIME_COLUMNS = ("timestamp", "close_time")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_HEADER_RE = re.compile(rb"[A-Za-z_ ]+(,[A-Za-z_ ]+){10,11}")


class CorruptArchive(ChecksumMismatch):
    """An archive zip that cannot be unzipped or parsed, even after one re-download."""


# --------------------------------------------------------------------------- pure parsing


def parse_kline_csv(data: bytes) -> pa.Table:
    """Parse one kline CSV (spot or futures, any vintage) into a FULL_SCHEMA table.

    Tolerates a header row, CRLF or LF, a missing or extra trailing newline, a BOM,
    and 11 or 12 columns. Open and close times come back in ms. Rows keep file order.
    Raises ValueError, naming the problem, on anything else.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data[:1] in (b"\n", b"\r"):  # leading blank lines would throw off skip_rows
        data = data.lstrip(b"\r\n")
    first, skip_rows = _first_line(data)
    if first is None:
        return FULL_SCHEMA.empty_table()
    if skip_rows:
        second, _ = _first_line(data, start=len(first))
        if second is None:
            return FULL_SCHEMA.empty_table()
        width = second.count(b",") + 1
    else:
        width = first.count(b",") + 1
    if width not in (11, 12):
        raise ValueError(f"malformed kline CSV: expected 11 or 12 columns, got {width}: {_show(first)}")
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            # One thread per file: parallelism comes from the files in flight, and Arrow's
            # own pool, shared by all of them, made a parse up to 10x slower on a busy
            # 2-core machine. 1 MiB blocks parse faster than 4 MiB ones (cache-sized).
            read_options=pacsv.ReadOptions(
                column_names=list(_CSV_COLUMNS[:width]),
                skip_rows=skip_rows,
                block_size=1 << 20,
                use_threads=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=_COLUMN_TYPES,
                include_columns=list(FULL_SCHEMA.names),
                # No value is ever empty or "NULL" in a real file: refuse rather than invent nulls.
                null_values=[],
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ValueError(f"malformed kline CSV: {exc}") from None
    for name in _TIME_COLUMNS:
        times = table.column(name)
        is_micro = pc.greater_equal(times, MICROSECOND_THRESHOLD)
        if pc.any(is_micro).as_py():
            normalised = pc.if_else(is_micro, pc.divide(times, 1000), times)
            table = table.set_column(table.schema.get_field_index(name), name, normalised)
    return table.cast(FULL_SCHEMA)


def _first_line(data: bytes, *, start: int = 0) -> tuple[bytes | None, int]:
    """The first non-empty line from `start` (with its line end) and 1 if it is a header."""
    pos = start
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end + 1
        line = data[pos:end]
        if line.strip():
            first_field = line.split(b",", 1)[0].strip()
            is_header = not first_field.lstrip(b"-").isdigit()
            if is_header and not _HEADER_RE.fullmatch(line.strip()):
                # A real header is 11 or 12 plain names; anything else with a
                # non-numeric open time is garbage, not a header to skip.
                raise ValueError(
                    f"malformed kline CSV: first line is neither a row nor a header: {_show(line)}"
                )
            return data[start:end], int(is_header)
        pos = end
    return None, 0


def _show(line: bytes) -> str:
    return repr(line[:120])


def parse_checksum(text: str | bytes) -> tuple[str, str]:
    """Parse a `.CHECKSUM` file (`sha256sum` format) into (sha256 lower-case hex, file name)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"malformed CHECKSUM: not text: {text[:80]!r}") from None
    parts = text.strip().split(None, 1)
    if len(parts) != 2 or not _SHA256_RE.fullmatch(parts[0]):
        raise ValueError(f"malformed CHECKSUM: expected '<64 hex>  <file name>', got {text[:120]!r}")
    name = parts[1].strip()
    if name.startswith("*"):  # sha256sum's binary-mode marker
        name = name[1:]
    return parts[0].lower(), name


_Fault = Literal["checksum", "corrupt", "truncated"]


class BadArchive(Exception):
    """The bytes fetched are not a good copy (`ArchiveClient` re-downloads before raising).

    `checksum`: a whole zip whose sha256 differs (stale CHECKSUM or replaced file);
    `corrupt`: the checksum matches but the content is unreadable; `truncated`: a
    cut-off transfer (no zip end record, or a cut-off CHECKSUM), which is transport
    trouble and is retried like a 5xx.
    """

    def __init__(self, message: str, *, fault: _Fault) -> None:
        super().__init__(message)
        self.fault = fault


def read_archive_zip(zip_bytes: bytes, checksum: str | bytes, *, file_name: str) -> tuple[pa.Table, str]:
    """Verify `zip_bytes` against its `.CHECKSUM` text, unzip it and parse its CSV. Pure.

    Returns (table, sha256). Raises ChecksumMismatch or CorruptArchive (url = file_name);
    `ArchiveClient` calls the internal variant so it can re-download once first.
    """
    try:
        return verify_and_parse(zip_bytes, checksum, file_name=file_name)
    except BadArchive as exc:
        cls = CorruptArchive if exc.fault == "corrupt" else ChecksumMismatch
        raise cls(str(exc), file_name) from None


def verify_and_parse(
    zip_bytes: bytes,
    checksum: str | bytes,
    *,
    file_name: str,
    parse: Callable[[bytes], pa.Table] = parse_kline_csv,
) -> tuple[pa.Table, str]:
    try:
        expected, listed_name = parse_checksum(checksum)
    except ValueError as exc:
        raise BadArchive(str(exc), fault="truncated") from None
    if listed_name != file_name:
        raise BadArchive(f".CHECKSUM names {listed_name!r}, not {file_name!r}", fault="checksum")
    actual = hashlib.sha256(zip_bytes).hexdigest()
    if actual != expected:
        whole = zipfile.is_zipfile(io.BytesIO(zip_bytes))
        raise BadArchive(
            f"sha256 {actual} of {len(zip_bytes)} bytes does not match .CHECKSUM {expected}"
            + ("" if whole else " (cut-off zip)"),
            fault="checksum" if whole else "truncated",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            csv_bytes = read_member(archive, zip_bytes, _csv_member(archive, file_name))
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError) as exc:
        raise BadArchive(f"corrupt zip: {exc}", fault="corrupt") from None
    try:
        table = parse(csv_bytes)
    except ValueError as exc:
        raise BadArchive(str(exc), fault="corrupt") from None
    return table, actual


def _csv_member(archive: zipfile.ZipFile, file_name: str) -> str:
    """The CSV inside: the one named like the zip, else the only member."""
    names = archive.namelist()
    wanted = file_name.removesuffix(".zip") + ".csv"
    if wanted in names:
        return wanted
    if len(names) == 1:
        return names[0]
    raise ValueError(f"expected one member {wanted!r}, found {names}")


# --------------------------------------------------------------------------- pure day helpers


def split_days(table: pa.Table, days: Sequence[date], grid: BarGrid = MINUTE_GRID) -> dict[date, pa.Table]:
    """Rows of `table` grouped by the partition of `timestamp` (UTC day, or month), sorted.

    Every requested partition gets an entry (possibly empty); rows of others are dropped.
    """
    wanted = sorted(set(days))
    ts = table.column("timestamp").to_numpy()
    if (np.diff(ts) < 0).any():  # archive files come sorted: a sort then only costs a copy
        table = table.sort_by("timestamp")
        ts = table.column("timestamp").to_numpy()
    out: dict[date, pa.Table] = {}
    for day in wanted:
        window = grid.partition_window(day)
        lo = int(np.searchsorted(ts, window.start_ms, side="left"))
        hi = int(np.searchsorted(ts, window.end_ms, side="left"))
        out[day] = table.slice(lo, hi - lo)
    return out


def day_completeness(
    table_for_day: pa.Table, day: date, grid: BarGrid = MINUTE_GRID
) -> tuple[int, list[Window]]:
    """(bars of the partition `day` that have a candle, runs of bars that have none).

    Counts distinct on-grid open times inside the partition, so the count plus the
    missing bars is always the partition's bar count. Rows outside it are ignored.
    """
    window = grid.partition_window(day)
    ts = np.asarray(table_for_day.column("timestamp").to_numpy(), dtype=np.int64)
    step = grid.step_ms
    expected = grid.count(window)
    if step is not None and len(ts) == expected and expected:
        # The usual whole day, in a few calls instead of a dozen: every bar once, in order.
        first = grid.ceil(window.start_ms)
        if ts[0] == first and (np.diff(ts) == step).all():
            return expected, []
    opens = grid.opens(window)
    if step is None:
        present = np.isin(opens, ts)
    else:  # index arithmetic: linear in the rows, on the warm-ingest path
        inside = ts[(ts >= window.start_ms) & (ts < window.end_ms) & grid.on_grid(ts)]
        present = np.zeros(len(opens), dtype=bool)
        present[(inside - int(opens[0])) // step] = True
    edges = np.diff(np.concatenate(([1], present.astype(np.int8), [1])))
    starts = np.flatnonzero(edges == -1)
    ends = np.flatnonzero(edges == 1)
    closes = grid.next_opens(opens)
    missing = [Window(int(opens[s]), int(closes[e - 1])) for s, e in zip(starts, ends, strict=True)]
    return int(present.sum()), missing
