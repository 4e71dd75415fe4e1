"""Binance kline archives from data.binance.vision: download, verify, parse.

`ArchiveClient` is the async I/O edge: it downloads a zip and its `.CHECKSUM`
concurrently, verifies the sha256, and parses in a worker thread (archive_format.py
holds the pure parsing). Files can be missing (404), late, replaced, or incomplete:
404 is reported as "no table".
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import aiohttp
import pyarrow as pa
import tenacity

from candlelake.errors import ChecksumMismatch, TerminalError, TransientError
from candlelake.plan.archive import (
    ENV_ARCHIVE_URL,
    REAL_ARCHIVE_URL,
    ArchiveFile,
    ArchivePeriod,
    archive_url,
    as_daily_files,
    plan_archive_files,
)
from candlelake.sources.archive_format import (
    BadArchive,
    CorruptArchive,
    day_completeness,
    parse_checksum,
    parse_kline_csv,
    read_archive_zip,
    split_days,
    verify_and_parse,
)

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

_RETRY_STATUSES = frozenset({408, 425, 429})


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

    async def fetch(
        self, file: ArchiveFile, parse: Callable[[bytes], pa.Table] = parse_kline_csv
    ) -> FetchedArchive:
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
                        verify_and_parse, zip_bytes, checksum, file_name=file.file_name, parse=parse
                    )
                except BadArchive as exc:
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
