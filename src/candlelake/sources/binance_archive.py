"""Binance kline archives from data.binance.vision: download, verify, parse.

The pure parts (planning, CSV and CHECKSUM parsing, splitting and completeness per
day) have no I/O. `ArchiveClient` is the async I/O edge: it downloads a zip and its
`.CHECKSUM` concurrently, verifies the sha256, and parses in a worker thread.

Archive quirks handled here (binance.md §4, anchors.md §2):
- spot CSVs have no header; futures CSVs have one on newer files only, so a header
  is sniffed (first field not numeric);
- spot timestamps are in microseconds from 2025-01-01, so each open and close time
  is normalised to ms by magnitude, value by value;
- files can be missing (404), late, replaced, or incomplete: 404 is reported as
  "no table", and `day_completeness` lets the caller spot a short file.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import random
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Literal

import aiohttp
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import tenacity

from candlelake.errors import ChecksumMismatch, TerminalError, TransientError
from candlelake.klines import FULL_SCHEMA
from candlelake.plan.archive import (
    ENV_ARCHIVE_URL,
    REAL_ARCHIVE_URL,
    ArchiveFile,
    ArchivePeriod,
    archive_url,
    as_daily_files,
    plan_archive_files,
)
from candlelake.timeutil import DAY_MS, MINUTE_MS, Window, day_window

__all__ = [
    "ENV_ARCHIVE_URL",
    "REAL_ARCHIVE_URL",
    "ArchiveClient",
    "ArchiveFile",
    "ArchivePeriod",
    "ArchiveStats",
    "CorruptArchive",
    "FetchedArchive",
    "archive_url",
    "as_daily_files",
    "day_completeness",
    "parse_checksum",
    "parse_kline_csv",
    "plan_archive_files",
    "read_archive_zip",
    "split_days",
]

log = logging.getLogger(__name__)

# ms timestamps stay below 1e14 until the year 5138; µs timestamps are above it
# since 1973. So one threshold tells them apart value by value (binance.md §4.3).
MICROSECOND_THRESHOLD = 10**14

# Lake column for each CSV column, in file order; the 12th ("ignore") is dropped.
_CSV_COLUMNS = (*FULL_SCHEMA.names, "ignore")
_COLUMN_TYPES = {field.name: field.type for field in FULL_SCHEMA}
_TIME_COLUMNS = ("timestamp", "close_time")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_RETRY_STATUSES = frozenset({408, 425, 429})
_HEADER_RE = re.compile(rb"[A-Za-z_ ]+(,[A-Za-z_ ]+){10,11}")


class CorruptArchive(ChecksumMismatch):
    """An archive zip that cannot be unzipped or parsed, even after one re-download."""


@dataclass(frozen=True)
class FetchedArchive:
    """The result of fetching one archive file.

    `table` is None when the file (or its .CHECKSUM) is not published: the caller
    falls back to REST for its days; `missing_reason` says why.
    """

    file: ArchiveFile
    table: pa.Table | None
    sha256: str | None
    missing_reason: str | None = None


@dataclass
class ArchiveStats:
    """Counters of one client, for progress lines and the run summary."""

    retries: int = 0
    bytes: int = 0
    files: int = 0
    redownloads: int = 0


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
            read_options=pacsv.ReadOptions(
                column_names=list(_CSV_COLUMNS[:width]),
                skip_rows=skip_rows,
                block_size=1 << 22,
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


class _BadArchive(Exception):
    """Internal: the bytes fetched are not a good copy.

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
        return _read_archive(zip_bytes, checksum, file_name=file_name)
    except _BadArchive as exc:
        cls = CorruptArchive if exc.fault == "corrupt" else ChecksumMismatch
        raise cls(str(exc), file_name) from None


def _read_archive(zip_bytes: bytes, checksum: str | bytes, *, file_name: str) -> tuple[pa.Table, str]:
    try:
        expected, listed_name = parse_checksum(checksum)
    except ValueError as exc:
        raise _BadArchive(str(exc), fault="truncated") from None
    if listed_name != file_name:
        raise _BadArchive(f".CHECKSUM names {listed_name!r}, not {file_name!r}", fault="checksum")
    actual = hashlib.sha256(zip_bytes).hexdigest()
    if actual != expected:
        whole = zipfile.is_zipfile(io.BytesIO(zip_bytes))
        raise _BadArchive(
            f"sha256 {actual} of {len(zip_bytes)} bytes does not match .CHECKSUM {expected}"
            + ("" if whole else " (cut-off zip)"),
            fault="checksum" if whole else "truncated",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            csv_bytes = archive.read(_csv_member(archive, file_name))
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError) as exc:
        raise _BadArchive(f"corrupt zip: {exc}", fault="corrupt") from None
    try:
        table = parse_kline_csv(csv_bytes)
    except ValueError as exc:
        raise _BadArchive(str(exc), fault="corrupt") from None
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


def split_days(table: pa.Table, days: Sequence[date]) -> dict[date, pa.Table]:
    """Rows of `table` grouped by the UTC day of `timestamp`, sorted, for each of `days`.

    Every requested day gets an entry (possibly empty); rows on other days are dropped.
    """
    wanted = sorted(set(days))
    table = table.sort_by("timestamp") if table.num_rows else table
    day_index = table.column("timestamp").to_numpy() // DAY_MS
    epoch = date(1970, 1, 1)
    out: dict[date, pa.Table] = {}
    for day in wanted:
        idx = (day - epoch).days
        lo = int(np.searchsorted(day_index, idx, side="left"))
        hi = int(np.searchsorted(day_index, idx, side="right"))
        out[day] = table.slice(lo, hi - lo)
    return out


def day_completeness(table_for_day: pa.Table, day: date) -> tuple[int, list[Window]]:
    """(minutes of `day` that have a candle, runs of minutes that have none).

    Counts distinct on-minute open times inside the day, so the count plus the
    missing minutes is always 1440. Rows outside the day are ignored.
    """
    window = day_window(day)
    ts = table_for_day.column("timestamp").to_numpy()
    inside = ts[(ts >= window.start_ms) & (ts < window.end_ms) & (ts % MINUTE_MS == 0)]
    present = np.zeros(window.minutes, dtype=bool)
    present[(inside - window.start_ms) // MINUTE_MS] = True
    edges = np.diff(np.concatenate(([1], present.astype(np.int8), [1])))
    starts = np.flatnonzero(edges == -1)
    ends = np.flatnonzero(edges == 1)
    missing = [
        Window(window.start_ms + int(s) * MINUTE_MS, window.start_ms + int(e) * MINUTE_MS)
        for s, e in zip(starts, ends, strict=True)
    ]
    return int(present.sum()), missing


# --------------------------------------------------------------------------- I/O edge


class ArchiveClient:
    """Downloads and verifies archive files; use as `async with ArchiveClient() as client`.

    At most `concurrency` files are in flight (download through parse), so memory
    stays bounded by concurrency, not by the range requested.
    """

    def __init__(
        self,
        *,
        concurrency: int = 8,
        timeout_s: float = 30,
        retries: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self._retries = retries
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._slots = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self.stats = ArchiveStats()

    async def __aenter__(self) -> ArchiveClient:
        # Two connections per file in flight: the zip and its .CHECKSUM.
        connector = aiohttp.TCPConnector(limit=2 * self._concurrency)
        timeout = aiohttp.ClientTimeout(total=self._timeout_s)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, file: ArchiveFile) -> FetchedArchive:
        """Download, verify and parse one file; `table` is None if it is not published.

        A checksum mismatch or a corrupt zip is re-downloaded once (the file may have
        been replaced between the two GETs), then raises ChecksumMismatch (or its
        subclass CorruptArchive) naming the URL. Transient HTTP failures (5xx, 408,
        429, timeouts, resets) are retried with bounded backoff and jitter; when they
        persist, TransientError. A cut-off body is retried the same way and, if it
        persists, raises ChecksumMismatch.
        """
        async with self._slots:
            redownloaded = False
            truncations = 0
            while True:
                zip_bytes, checksum = await self._get_pair(file.url, file.checksum_url)
                if zip_bytes is None or checksum is None:
                    what = "archive file" if zip_bytes is None else ".CHECKSUM"
                    return FetchedArchive(file, None, None, f"{what} not published (HTTP 404)")
                try:
                    table, sha = await asyncio.to_thread(
                        _read_archive, zip_bytes, checksum, file_name=file.file_name
                    )
                except _BadArchive as exc:
                    if exc.fault == "truncated" and truncations < self._retries:
                        truncations += 1
                        self.stats.retries += 1
                        log.info("cut-off download of %s, retrying: %s", file.url, exc)
                        await asyncio.sleep(self._backoff(truncations))
                        continue
                    if not redownloaded and exc.fault != "truncated":
                        redownloaded = True
                        self.stats.redownloads += 1
                        log.warning("re-downloading %s: %s", file.url, exc)
                        continue
                    cls = CorruptArchive if exc.fault == "corrupt" else ChecksumMismatch
                    again = "after one re-download" if redownloaded else f"after {truncations} retries"
                    raise cls(f"{file.url}: {exc} ({again})", file.url) from None
                self.stats.files += 1
                return FetchedArchive(file, table, sha)

    async def fetch_checksum(self, file: ArchiveFile) -> str | None:
        """The sha256 the archive publishes for `file` now, or None if it has none (404)."""
        async with self._slots:
            text = await self._get(file.checksum_url)
        if text is None:
            return None
        try:
            return parse_checksum(text)[0]
        except ValueError as exc:
            raise ChecksumMismatch(f"{file.checksum_url}: {exc}", file.url) from None

    async def _get_pair(self, first: str, second: str) -> tuple[bytes | None, bytes | None]:
        # return_exceptions: let both finish (each is bounded by its retries) so no
        # orphaned request outlives this call, then surface the first failure.
        a, b = await asyncio.gather(self._get(first), self._get(second), return_exceptions=True)
        for result in (a, b):
            if isinstance(result, BaseException):
                raise result
        assert not isinstance(a, BaseException) and not isinstance(b, BaseException)
        return a, b

    async def _get(self, url: str) -> bytes | None:
        """GET `url`: the body, or None on 404. Transient failures are retried."""
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self._retries + 1),
            wait=tenacity.wait_random_exponential(multiplier=self._backoff_s, max=self._max_backoff_s),
            retry=tenacity.retry_if_exception_type(TransientError),
            before_sleep=self._on_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._get_once(url)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _get_once(self, url: str) -> bytes | None:
        if self._session is None:
            raise RuntimeError("ArchiveClient used outside `async with`")
        try:
            async with self._session.get(url) as resp:
                if resp.status == 404:
                    return None
                if resp.status >= 500 or resp.status in _RETRY_STATUSES:
                    raise TransientError(f"HTTP {resp.status} from {url}")
                if resp.status != 200:
                    raise TerminalError(f"HTTP {resp.status} from {url}")
                body = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Resets, truncated bodies (ClientPayloadError) and timeouts are all worth a retry.
            raise TransientError(f"{type(exc).__name__} fetching {url}: {exc}") from exc
        self.stats.bytes += len(body)
        return body

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff, as tenacity's wait_random_exponential."""
        return random.uniform(0, min(self._max_backoff_s, self._backoff_s * 2**attempt))

    def _on_retry(self, state: tenacity.RetryCallState) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.info("retrying archive GET (attempt %d): %s", state.attempt_number + 1, error)
