"""The gap ledger: per dataset, a small manifest of what each day file holds and lacks.

    <dataset root>/_ledger/currency_pair=BTC_USDT/2024-02.json

One JSON document per (symbol, month), the same grain as the partitions, mapping each day to
its footer (`DayMeta`: rows, covered window, gaps with reasons), the file's size and the
findings of the row checks made while the rows were in memory. QA and `candlelake ls` read
these instead of every file; a leading `_` hides the folder from readers.

Consistency. The day file is the truth and the ledger a cache of it:
- Every write replaces the whole month document atomically (temp file + rename, or one PUT),
  so a reader never sees a torn manifest, and recording the same day twice gives the same
  document (idempotent).
- Writers in one process serialise on a lock; on a local lake, writers in other processes
  too (`flock` on a hidden lock file).
- Two processes writing the same month on S3 can race, and the later PUT may drop the
  other's entry. QA never trusts an entry blindly: an entry whose size differs from the file
  it describes, or a file without entry, is read from the file itself. A lost update costs
  QA one footer read, never a wrong answer; `candlelake repair` records such files again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import posixpath
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import pyarrow as pa

from candlelake.bars import MINUTE_GRID, BarGrid
from candlelake.lake import layout
from candlelake.lake.durable import write_atomic
from candlelake.lake.guard import sweep_temp_files
from candlelake.lake.listing import list_names
from candlelake.lake.schema import DayMeta
from candlelake.lake.storage import FileSystem, is_local
from candlelake.validate.checks import Finding, check_rows

log = logging.getLogger(__name__)

LEDGER_DIR: Final = "_ledger"
LEDGER_FORMAT: Final = 1


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger knows of one day file."""

    meta: DayMeta
    size: int
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta": self.meta.to_dict(),
            "size": self.size,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LedgerEntry:
        return cls(
            DayMeta.from_json(json.dumps(data["meta"])),
            int(data["size"]),
            tuple(Finding.from_dict(f) for f in data.get("findings", ())),
        )


def entry_for(
    meta: DayMeta, table: pa.Table, size: int, *, validated: bool = False, grid: BarGrid = MINUTE_GRID
) -> LedgerEntry:
    """The entry of a day file just written: its footer, size and the row checks' findings
    on `grid` (`validated`: see `check_rows`)."""
    findings = check_rows(meta.symbol, meta.day.isoformat(), table, validated=validated, grid=grid)
    return LedgerEntry(meta, size, tuple(findings))


class Ledger:
    """Reads and updates the ledger of one dataset (filesystem + dataset root path)."""

    def __init__(self, fs: FileSystem, root: str) -> None:
        self._fs = fs
        self._root = root
        self._lock = threading.Lock()

    def month_path(self, symbol: str, year: int, month: int) -> str:
        return posixpath.join(
            self._root, LEDGER_DIR, layout.segment("currency_pair", symbol), f"{year:04d}-{month:02d}.json"
        )

    def record(self, meta: DayMeta, table: pa.Table, size: int) -> None:
        """Note a day file just written (its footer, size and row findings)."""
        self.record_entries([entry_for(meta, table, size)])

    def record_entry(self, entry: LedgerEntry) -> None:
        self.record_entries([entry])

    def record_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """Note several days at once: one read and one write per (symbol, month) manifest."""
        by_path: dict[str, list[LedgerEntry]] = {}
        for entry in entries:
            day = entry.meta.day
            by_path.setdefault(self.month_path(entry.meta.symbol, day.year, day.month), []).append(entry)
        with self._lock, self._process_lock():
            for path, month in by_path.items():
                days = self._read(path)
                days.update((e.meta.day.isoformat(), e.to_dict()) for e in month)
                self._write(path, days)

    def forget(self, symbol: str, day: dt.date) -> None:
        """Drop a day's entry (its file is gone)."""
        path = self.month_path(symbol, day.year, day.month)
        with self._lock, self._process_lock():
            days = self._read(path)
            if days.pop(day.isoformat(), None) is not None:
                self._write(path, days)

    def month(self, symbol: str, year: int, month: int) -> dict[dt.date, LedgerEntry]:
        """The entries of one (symbol, month); empty if there is no readable manifest."""
        entries = {}
        for key, value in self._read(self.month_path(symbol, year, month)).items():
            try:
                entries[dt.date.fromisoformat(key)] = LedgerEntry.from_dict(value)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("ignoring bad ledger entry %s %s: %s", symbol, key, exc)
        return entries

    def symbols(self) -> list[str]:
        """Symbols that have a ledger folder."""
        return sorted(s for s, _ in self._symbol_dirs())

    def months(self, symbol: str) -> list[tuple[int, int]]:
        """(year, month) of each manifest of `symbol`."""
        directory = posixpath.join(self._root, LEDGER_DIR, layout.segment("currency_pair", symbol))
        found = []
        for name in _names(self._fs, directory, "file"):
            stem = name.removesuffix(".json")
            with contextlib.suppress(ValueError):
                year, month = (int(p) for p in stem.split("-"))
                found.append((year, month))
        return sorted(found)

    def entries(
        self, symbol: str, months: Sequence[tuple[int, int]] | None = None
    ) -> dict[dt.date, LedgerEntry]:
        out: dict[dt.date, LedgerEntry] = {}
        for year, month in self.months(symbol) if months is None else months:
            out.update(self.month(symbol, year, month))
        return out

    def _symbol_dirs(self) -> Iterator[tuple[str, str]]:
        directory = posixpath.join(self._root, LEDGER_DIR)
        for name in _names(self._fs, directory, "directory"):
            symbol = layout.parse_segment(name, "currency_pair")
            if symbol:
                yield symbol, posixpath.join(directory, name)

    def _read(self, path: str) -> dict[str, Any]:
        try:
            data = json.loads(self._fs.cat_file(path))
        except FileNotFoundError:
            return {}
        except (ValueError, OSError) as exc:  # a foreign or damaged manifest: rebuilt on write
            log.warning("ignoring unreadable ledger %s: %s", path, exc)
            return {}
        days = data.get("days") if isinstance(data, dict) else None
        return dict(days) if isinstance(days, dict) else {}

    def _write(self, path: str, days: dict[str, Any]) -> None:
        body = {"format": LEDGER_FORMAT, "days": dict(sorted(days.items()))}
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        if is_local(self._fs):  # temp files a killed writer left here
            sweep_temp_files(posixpath.dirname(path))
        # Atomic but not fsynced: the ledger is a cache of the day files (see above), and two
        # fsyncs per recorded day, under the ledger's lock, capped the whole ingest.
        write_atomic(self._fs, path, data, temp_path=layout.temp_path_for(path), durable=False)

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        # Other processes on the same disk: an advisory lock on a hidden file. Object stores
        # have no lock; see the module docstring for why a lost update is harmless.
        if not is_local(self._fs):
            yield
            return
        import fcntl

        directory = posixpath.join(self._root, LEDGER_DIR)
        os.makedirs(directory, exist_ok=True)
        with open(posixpath.join(directory, ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _names(fs: FileSystem, directory: str, kind: Literal["file", "directory"]) -> list[str]:
    return [posixpath.basename(p) for p in list_names(fs, directory, kind)]
