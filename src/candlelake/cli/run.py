"""Running one download job from the CLI: signals, the run report, the exit code."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import typer

from candlelake.errors import UsageError
from candlelake.job import DownloadJob
from candlelake.lake.storage import ensure_local_writable
from candlelake.progress import default_progress
from candlelake.quality.report import RunReport
from candlelake.timeutil import MINUTE_MS, fmt_ms

log = logging.getLogger("candlelake")

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def setup_logging(level: str) -> None:
    level = level.upper()
    if level not in LOG_LEVELS:
        raise UsageError(f"bad log level {level!r}; allowed: {', '.join(LOG_LEVELS)}")
    numeric = logging.DEBUG if level == "TRACE" else getattr(logging, level)
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # ccxt logs request URLs at DEBUG; keep it quieter unless asked for TRACE.
    logging.getLogger("ccxt").setLevel(logging.DEBUG if level == "TRACE" else logging.WARNING)


def run_job(job: DownloadJob, *, report_json: Path | None, assert_missing: bool) -> int:
    """Run a job, print the summary and return the process exit code.

    SIGINT and SIGTERM end the run early: one "interrupted" line, the summary and the JSON
    report of what was done, exit 130 or 143.
    """
    if report_json is not None:
        check_report_path(report_json)
    # Imported here: the engine pulls in pyarrow, which --help must not load.
    from candlelake.engine import download

    received: list[signal.Signals] = []

    async def interruptible() -> RunReport | None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def interrupt(sig: signal.Signals) -> None:
            received.append(sig)
            task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt, sig)
        try:
            return await download(job, progress=default_progress())
        except asyncio.CancelledError:
            if not received:
                raise
            return None  # interrupted before there was anything to report
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    report = asyncio.run(interruptible())
    if received:
        typer.echo(f"interrupted by {received[0].name}; the lake keeps every day finished so far", err=True)
        if report is not None:
            _finish(report, report_json)
        return 128 + int(received[0])
    assert report is not None
    if not any(error.startswith("storage unreachable") for error in report.errors):
        report.foreign = _foreign_files(job, report)
    _finish(report, report_json)
    if report.failed:
        log.error("some data could not be downloaded; see the errors above")
        return 1
    if assert_missing and report.clamped:
        # Decided (docs/airflow.md, "The window"): a window the exchange has not closed yet
        # fails, retriably, instead of landing a partial day that looks complete.
        log.error(
            "the window ends at %s but the exchange's last closed minute is %s: "
            "the window is not closed yet; run again after it closes",
            fmt_ms(report.requested_end_ms - MINUTE_MS),
            fmt_ms(report.window.end_ms - MINUTE_MS),
        )
        return 1
    missing = report.symbols_with_missing()
    if assert_missing and missing:
        lines = [f"{s.symbol}: " + ", ".join(str(g) for g in s.missing) for s in missing]
        log.error("missing data for %d symbol(s):\n  %s", len(missing), "\n  ".join(lines))
        return 1
    return 0


def check_report_path(path: Path) -> None:
    """A report path that cannot be written is a usage error before any download."""
    if path.is_dir():
        raise UsageError(f"cannot write the report to {path}: it is a directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write the report to {path}: permission denied")
    try:
        ensure_local_writable(str(path.parent))
    except UsageError as exc:
        raise UsageError(f"cannot write the report to {path}: {exc}") from None


def _foreign_files(job: DownloadJob, report: RunReport) -> list[str]:
    """Upstream files in the month partitions this run touched (they would repeat minutes)."""
    from candlelake.lake.foreign import foreign_files
    from candlelake.lake.storage import DatasetLocation, unreachable, url_of
    from candlelake.timeutil import from_ms

    if not report.symbols or job.data_type == "funding_rate":  # month files, not day files
        return []
    location = DatasetLocation(report.dataset, aws_profile=job.aws_profile, endpoint_url=job.s3_endpoint_url)
    fs, root = location.filesystem()
    first = from_ms(report.window.start_ms).date()
    last = from_ms(max(report.window.start_ms, report.requested_end_ms - MINUTE_MS)).date()
    try:
        found = foreign_files(fs, root, [s.symbol for s in report.symbols], first, last)
    except Exception as exc:
        down = unreachable(location, exc)
        if down is None:
            raise
        log.warning("could not look for upstream files: %s", down)
        return []
    return [url_of(fs, path) for path in found]


def _finish(report: RunReport, report_json: Path | None) -> None:
    for line in report.summary_lines():
        typer.echo(line)
    if report_json is not None:
        report_json.parent.mkdir(parents=True, exist_ok=True)
        report_json.write_text(report.to_json())
