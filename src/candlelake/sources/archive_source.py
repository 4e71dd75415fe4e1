"""The data.binance.vision archive as a reader of days: each file's days, and the holes in them."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pyarrow as pa

from candlelake.bars import grid_of
from candlelake.errors import ChecksumMismatch, TerminalError, TransientError
from candlelake.plan.archive import ArchiveFile, as_daily_files
from candlelake.sources.binance_archive import ArchiveClient, day_completeness, split_days
from candlelake.timeutil import Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveDay:
    """One requested day of a file: its rows and the runs of minutes the file lacks."""

    day: dt.date
    table: pa.Table
    holes: tuple[Window, ...]


@dataclass(frozen=True)
class ArchiveRead:
    """What reading one file gave. Exactly one of `days`, `instead` or `unavailable` applies.

    `instead`: daily files to try for a monthly file that is not published.
    `unavailable`: why the file's days must come from elsewhere; `error` is set when that
    must also fail the run (a file that does not match its checksum).
    """

    file: ArchiveFile
    days: tuple[ArchiveDay, ...] = ()
    sha256: str | None = None
    instead: tuple[ArchiveFile, ...] = ()
    unavailable: str | None = None
    error: str | None = None

    @property
    def source(self) -> str:
        return f"archive:{self.file.period}"


class BinanceArchiveSource:
    """Reads archive files through an open `ArchiveClient`."""

    def __init__(self, client: ArchiveClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url

    async def read(self, file: ArchiveFile) -> ArchiveRead:
        try:
            fetched = await self.client.fetch(file)
        except ChecksumMismatch as exc:
            # Loud: the run fails and names the file, but the days are still filled elsewhere.
            message = f"{exc} ({exc.url}); its days were filled from REST"
            log.error("%s: %s", file.symbol, exc)
            return ArchiveRead(file, unavailable=str(exc), error=message)
        except (TransientError, TerminalError) as exc:
            log.warning("%s: archive %s unavailable (%s); using REST", file.symbol, file.url, exc)
            return ArchiveRead(file, unavailable=str(exc))
        if fetched.table is None:
            daily = as_daily_files(file, base_url=self.base_url)
            if file.period == "monthly" and daily:
                # A missing monthly file: try the month's daily files before spending weight.
                return ArchiveRead(file, instead=tuple(daily))
            return ArchiveRead(file, unavailable=fetched.missing_reason or "not published")
        grid = grid_of(file.interval)
        days = tuple(
            ArchiveDay(day, part, tuple(day_completeness(part, day, grid)[1]))
            for day, part in split_days(fetched.table, file.days, grid).items()
        )
        return ArchiveRead(file, days, fetched.sha256)
