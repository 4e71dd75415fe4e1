"""Progress display: a rich bar on a terminal, plain log lines elsewhere (Airflow captures them)."""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console

log = logging.getLogger("candlelake")


class Progress(Protocol):
    def start(self, total_days: int) -> None: ...
    def day_done(self, symbol: str, rows: int, *, weight: int, retries: int) -> None: ...
    def heartbeat(self, elapsed_s: float) -> None:
        """Called every 30 s while the run is active, whether or not a day finished."""

    def close(self) -> None: ...


class LogProgress:
    """One line per finished symbol-day batch, at most every `every_s` seconds."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self.total = self.done = self.rows = 0
        self._last = 0.0

    def start(self, total_days: int) -> None:
        self.total = total_days
        log.info("downloading %d symbol-days", total_days)

    def day_done(self, symbol: str, rows: int, *, weight: int, retries: int) -> None:
        self.done += 1
        self.rows += rows
        now = time.monotonic()
        if now - self._last >= self.every_s or self.done == self.total:
            self._last = now
            log.info(
                "progress %d/%d symbol-days, %d rows, weight %d, %d retries (last: %s)",
                self.done,
                self.total,
                self.rows,
                weight,
                retries,
                symbol,
            )

    def heartbeat(self, elapsed_s: float) -> None:
        log.info(
            "still running after %.0f s: %d/%d symbol-days, %d rows",
            elapsed_s,
            self.done,
            self.total,
            self.rows,
        )

    def close(self) -> None:
        pass


class RichProgress:
    """A bar on a terminal, laid out to fit 80 columns with the largest figures it shows."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("days"),
            BarColumn(bar_width=14),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            transient=False,
            console=console or Console(stderr=True),
        )
        self._task = self._bar.add_task("download", total=0, info="")
        self.rows = 0
        self._started = False

    def start(self, total_days: int) -> None:
        self._bar.update(self._task, total=total_days)
        self._bar.start()
        self._started = True

    def day_done(self, symbol: str, rows: int, *, weight: int, retries: int) -> None:
        self.rows += rows
        info = f"{_short(self.rows)} rows · weight {_short(weight)} · {_short(retries)} retries"
        self._bar.update(self._task, advance=1, info=info)

    def heartbeat(self, elapsed_s: float) -> None:
        # The bar redraws itself once started; before that (planning), say we are alive.
        if not self._started:
            self._bar.console.print(f"still running after {elapsed_s:.0f} s: planning")

    def close(self) -> None:
        self._bar.stop()


def _short(n: int) -> str:
    """1234 -> 1234, 56_789 -> 56.8k, 13_140_000 -> 13.1M: at most 6 characters."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if n >= limit:
            return f"{n / (limit if suffix != 'k' else 1e3):.1f}{suffix}"
    return str(n)


def default_progress() -> Progress:
    return RichProgress() if sys.stderr.isatty() else LogProgress()
