"""`download(job) -> RunReport`: plan, fetch, validate and write one market's candles.

The flow for each symbol:

    days of the window ─ days already complete in the lake ─► remaining days
    remaining days ─► contiguous windows ─► pages sized by the weight tiers
    pages ─► bounded concurrent fetches (WeightBudget paces them)
    page rows ─► per-day buffers ─► validate ─► explain every missing minute ─► one file per day

A day is written as soon as every page that overlaps it has finished, so memory
holds only the days that in-flight pages touch, whatever the length of the window.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from candlelake.errors import (
    CandlelakeError,
    ChecksumMismatch,
    IpBanned,
    TerminalError,
    TransientError,
    UsageError,
)
from candlelake.job import DownloadJob, symbols_for, unique
from candlelake.klines import binance_rows_to_table, empty_table
from candlelake.lake import DayMeta, LakeWriter, open_dataset
from candlelake.markets import to_exchange_id
from candlelake.plan.pages import Page, plan_pages
from candlelake.progress import LogProgress, Progress
from candlelake.quality.crosscheck import compare_days, pick_sample_days
from candlelake.quality.gaps import Explained, Gap, Lifecycle, find_gaps
from candlelake.quality.report import RunReport, SymbolReport
from candlelake.sources.archive_plan import (
    REAL_ARCHIVE_URL,
    ArchiveFile,
    ArchivePeriod,
    archive_url,
    as_daily_files,
    plan_archive_files,
)
from candlelake.sources.binance_archive import ArchiveClient, day_completeness, split_days
from candlelake.sources.binance_rest import BinanceRest, SymbolInfo
from candlelake.timeutil import MINUTE_MS, Window, day_window, floor_minute, from_ms
from candlelake.validate.rules import Validated, validate_klines

log = logging.getLogger(__name__)

NOT_ON_EXCHANGE = "not on the exchange (delisted or never listed)"


@dataclass
class _DayState:
    """A day being assembled: `pending` counts the pages and archive files still to come."""

    window: Window
    pending: int = 0
    tables: list[pa.Table] = field(default_factory=list)
    failures: list[Explained] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    archive_sha256: str | None = None
    stored: DayMeta | None = None  # the file already in the lake for this day, if any

    @property
    def source(self) -> str:
        return "+".join(dict.fromkeys(self.sources)) or "rest"


class _SymbolRun:
    """Per-symbol bookkeeping: which pages cover which day, and the lifecycle for gap reasons."""

    def __init__(self, symbol: str, info: SymbolInfo | None, rest: BinanceRest) -> None:
        self.symbol = symbol
        self.info = info
        self.rest = rest
        self.days: dict[dt.date, _DayState] = {}
        self.report = SymbolReport(symbol)
        self._lifecycle: Lifecycle | None = None
        self._lock = asyncio.Lock()

    async def lifecycle(self) -> Lifecycle:
        """Listing and delisting bounds, probed only when a gap needs explaining."""
        async with self._lock:
            if self._lifecycle is None:
                try:
                    self._lifecycle = await self._probe_lifecycle()
                except CandlelakeError as exc:
                    # Without the bounds every gap is reported as missing, which is the
                    # conservative reading; the run goes on.
                    log.warning("%s: cannot probe listing dates (%s)", self.symbol, exc)
                    self._lifecycle = Lifecycle(self.info.listed_ms if self.info else None, None)
                self.report.listed_ms = self._lifecycle.listed_ms
                self.report.delisted_ms = self._lifecycle.delisted_ms
            return self._lifecycle

    async def _probe_lifecycle(self) -> Lifecycle:
        info = self.info
        assert info is not None
        listed = info.listed_ms
        if listed is None:
            listed = await self.rest.probe(info.exchange_symbol, first=True)
        delisted = None
        if not info.trading:
            last = await self.rest.probe(info.exchange_symbol, first=False)
            delisted = last + MINUTE_MS if last is not None else listed
        elif info.delivery_ms is not None:
            delisted = info.delivery_ms
        return Lifecycle(
            floor_minute(listed) if listed is not None else None,
            # Windows are whole minutes; a delivery time inside a minute ends after it.
            -(-delisted // MINUTE_MS) * MINUTE_MS if delisted is not None else None,
        )


def clamp_window(window: Window, now_ms: int) -> Window:
    """Keep only closed candles: a candle opening at t is closed once t + 1 min <= now."""
    end = min(window.end_ms, floor_minute(now_ms))
    return Window(window.start_ms, max(window.start_ms, end))


async def download(job: DownloadJob, *, progress: Progress | None = None) -> RunReport:
    """Run one download job and report every row written and every minute not written."""
    progress = progress or LogProgress()
    started = time.monotonic()
    location = open_dataset(
        job.lake_url,
        job.signature,
        aws_profile=job.aws_profile,
        endpoint_url=job.s3_endpoint_url,
    )
    writer = LakeWriter(location)
    # Fail on an unwritable destination before spending any request weight.
    await asyncio.to_thread(writer.check_writable)
    archive = ArchiveClient(concurrency=job.concurrency) if _uses_archive(job) else None
    async with BinanceRest(job.market, job.rest) as rest:
        info = await rest.exchange_info()
        window = clamp_window(job.window, rest.server_now_ms())
        if window.minutes == 0:
            log.warning("nothing to download: the window starts after the last closed minute")
        report = RunReport(location.url, job.market, window, job.window.end_ms)
        symbols = job.symbols
        if job.all_symbols:
            trading = sorted(i.symbol for i in info.values() if i.trading)
            symbols = symbols_for(trading, job.universe_part)
        if job.explicit_symbols:
            unknown = [s for s in symbols if to_exchange_id(s) not in info]
            if unknown:
                raise UsageError(
                    f"unknown symbol(s) on Binance {job.market}: {', '.join(unknown)}; "
                    "see `candlelake universe show` or use --universe all"
                )
        runs = [_SymbolRun(s, info.get(to_exchange_id(s)), rest) for s in unique(symbols)]
        report.symbols = [r.report for r in runs]
        engine = _Engine(job, rest, archive, writer, window, progress)
        try:
            if archive is not None:
                async with archive:
                    await engine.run(runs)
                    if job.verify_sample:
                        report.crosscheck = await engine.verify_sample(runs, job.verify_sample)
            else:
                await engine.run(runs)
        finally:
            progress.close()
            stats = rest.stats
            report.requests, report.retries = stats.requests, stats.retries
            report.rate_limited = stats.rate_limited
            report.weight = rest.budget.total_weight if rest.budget else 0
            if archive is not None:
                report.archive_files = archive.stats.files
                report.retries += archive.stats.retries
            report.elapsed_s = time.monotonic() - started
        report.errors.extend(engine.errors)
    return report


def _uses_archive(job: DownloadJob) -> bool:
    return job.vendor == "binance" and job.use_archive


class _Engine:
    def __init__(
        self,
        job: DownloadJob,
        rest: BinanceRest,
        archive: ArchiveClient | None,
        writer: LakeWriter,
        window: Window,
        progress: Progress,
    ) -> None:
        self.job = job
        self.rest = rest
        self.archive = archive
        self.archive_base = job.archive_url or REAL_ARCHIVE_URL
        self.writer = writer
        self.window = window
        self.progress = progress
        self.errors: list[str] = []
        self.knowledge_time = dt.datetime.now(dt.UTC)
        self._slots = asyncio.Semaphore(job.concurrency)
        self._writes = asyncio.Semaphore(4)
        # An archive file is held from download until its days are written: this bounds
        # memory by concurrency even when fetching outpaces writing.
        self._archive_files = asyncio.Semaphore(job.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._fatal: IpBanned | None = None

    async def run(self, runs: Sequence[_SymbolRun]) -> None:
        # Planning lists what the lake already has: on S3 that is a round trip per symbol
        # and month, so plan a few symbols at a time.
        planning = asyncio.Semaphore(self.job.concurrency)

        async def plan(run: _SymbolRun) -> tuple[list[ArchiveFile], list[Page]]:
            async with planning:
                return await self._plan(run)

        plans = list(zip(runs, await asyncio.gather(*(plan(r) for r in runs)), strict=True))
        self.progress.start(sum(len(run.days) for run, _ in plans))
        for run, (files, pages) in plans:
            if run.info is None:
                self._explain_absent(run)
                continue
            for file in files:
                self._spawn(self._fetch_archive(run, file))
            for page in pages:
                await self._send(run, page)
        # Archive tasks can add REST pages for days their file lacks: wait until all settle.
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
        for run in runs:
            # Nothing should be left; if a bug left a day unfinished, it is still reported.
            for day, state in sorted(run.days.items()):
                w = state.window
                run.report.gaps.append(Gap(w.start_ms, w.end_ms, "missing", "not finished (internal error)"))
                run.report.errors.append(f"{day}: not finished")
            run.days.clear()
        if self._fatal is not None:
            self.errors.append(str(self._fatal))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guarded(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except Exception as exc:
            log.exception("internal error")
            self.errors.append(f"internal error: {exc}")

    async def _send(self, run: _SymbolRun, page: Page) -> None:
        """Start fetching `page` once a concurrency slot is free."""
        if self._fatal is None:
            await self._slots.acquire()
            if self._fatal is not None:
                self._slots.release()
        if self._fatal is not None:
            # After a ban nothing more is sent, but every planned minute is still
            # accounted for: the pages that were not fetched become explained gaps.
            reason = f"not fetched: run stopped ({self._fatal})"
            await self._page_done(run, page, None, Explained(page.window, reason))
            return
        self._spawn(self._fetch(run, page))

    # -- planning ------------------------------------------------------------

    async def _plan(self, run: _SymbolRun) -> tuple[list[ArchiveFile], list[Page]]:
        days = self.window.days()
        existing = await asyncio.to_thread(self.writer.existing_days, run.symbol, days)
        if existing and self.job.refresh_changed and self.archive is not None:
            for day in await self._changed_days(run.symbol, existing):
                del existing[day]
        remaining: list[Window] = []
        for day in days:
            covered = day_window(day).intersect(self.window)
            if covered is None:
                continue
            meta = existing.get(day)
            if meta is not None and _covers(meta, covered) and not self.job.force:
                run.report.days_skipped += 1
                run.report.gaps.extend(_clip(meta.gaps, covered))
                continue
            if meta is not None:
                # The day's file already holds another part of the day; the rewrite replaces
                # the whole file, so fetch the union to keep those rows.
                covered = Window(
                    min(meta.window_start_ms, covered.start_ms), max(meta.window_end_ms, covered.end_ms)
                )
            run.days[day] = _DayState(covered, stored=meta)
            remaining.append(covered)
        if run.info is None:
            return [], []
        files: list[ArchiveFile] = []
        if self.archive is not None:
            whole_days = [d for d, st in run.days.items() if st.window == day_window(d)]
            today = from_ms(self.rest.server_now_ms()).date()
            files = plan_archive_files(
                self.archive_base,
                self.job.market,
                run.symbol,
                whole_days,
                today=today,
                download_period=self.job.download_period,
            )
            for file in files:
                for day in file.days:
                    run.days[day].pending += 1
            archived = {d for f in files for d in f.days}
            remaining = [w for w in remaining if from_ms(w.start_ms).date() not in archived]
        pages = self._pages_for(run, _contiguous(remaining))
        return files, pages

    def _pages_for(self, run: _SymbolRun, spans: Iterable[Window]) -> list[Page]:
        """Pages covering `spans`; each day they touch waits for them."""
        pages: list[Page] = []
        for span in spans:
            pages.extend(plan_pages(span, self.rest.cost))
        for page in pages:
            for day in page.window.days():
                run.days[day].pending += 1
        return pages

    async def _changed_days(self, symbol: str, existing: dict[dt.date, DayMeta]) -> list[dt.date]:
        """Days whose archive file Binance has replaced since we ingested it (`--refresh-changed`)."""
        assert self.archive is not None
        by_file: dict[ArchiveFile, list[tuple[dt.date, str]]] = {}
        for day, meta in existing.items():
            if not meta.archive_sha256 or not meta.source.startswith("archive:"):
                continue
            period: ArchivePeriod = "monthly" if meta.source.startswith("archive:monthly") else "daily"
            label = day.strftime("%Y-%m") if period == "monthly" else day.isoformat()
            url = archive_url(self.archive_base, self.job.market, period, symbol, label)
            file = ArchiveFile(self.job.market, symbol, period, label, (), url)
            by_file.setdefault(file, []).append((day, meta.archive_sha256))
        checks = await asyncio.gather(*(self.archive.fetch_checksum(f) for f in by_file))
        changed = []
        for (file, entries), published in zip(by_file.items(), checks, strict=True):
            for day, recorded in entries:
                if published is not None and published != recorded:
                    log.warning("%s %s: archive file replaced (%s); re-ingesting", symbol, day, file.url)
                    changed.append(day)
        return changed

    def _explain_absent(self, run: _SymbolRun) -> None:
        run.report.status = NOT_ON_EXCHANGE
        for state in run.days.values():
            w = state.window
            run.report.gaps.append(Gap(w.start_ms, w.end_ms, "excluded", NOT_ON_EXCHANGE))
            self.progress.day_done(run.symbol, 0, weight=self._weight(), retries=0)
        run.days.clear()

    def _weight(self) -> int:
        return self.rest.budget.total_weight if self.rest.budget else 0

    # -- archive -------------------------------------------------------------

    async def _fetch_archive(self, run: _SymbolRun, file: ArchiveFile) -> None:
        async with self._archive_files:
            await self._ingest_archive(run, file)

    async def _ingest_archive(self, run: _SymbolRun, file: ArchiveFile) -> None:
        assert self.archive is not None
        try:
            fetched = await self.archive.fetch(file)
        except ChecksumMismatch as exc:
            # Loud: the run fails and names the file, but the days are still filled from REST.
            run.report.errors.append(f"{exc} ({exc.url}); its days were filled from REST")
            log.error("%s: %s", run.symbol, exc)
            await self._archive_to_rest(run, file.days)
            return
        except (TransientError, TerminalError) as exc:
            log.warning("%s: archive %s unavailable (%s); using REST", run.symbol, file.url, exc)
            await self._archive_to_rest(run, file.days)
            return
        if fetched.table is None:
            if file.period == "monthly":
                # A missing monthly file: try the month's daily files before spending weight.
                for daily in as_daily_files(file, base_url=self.archive_base):
                    self._spawn(self._fetch_archive(run, daily))
                return
            await self._archive_to_rest(run, file.days)
            return
        for day, part in split_days(fetched.table, file.days).items():
            await self._archive_day(run, day, part, file, fetched.sha256)

    async def _archive_day(
        self, run: _SymbolRun, day: dt.date, part: pa.Table, file: ArchiveFile, sha256: str | None
    ) -> None:
        state = run.days[day]
        state.tables.append(part)
        state.sources.append(f"archive:{file.period}")
        state.archive_sha256 = sha256
        _, holes = day_completeness(part, day)
        pages: list[Page] = []
        if holes:
            # The file lacks minutes. Those the exchange never had (before listing, after
            # delisting) are fine; the others are asked of REST, which also tells a
            # maintenance gap from an incomplete file.
            lifecycle = await run.lifecycle()
            residual = [w for w in (_trim(h, lifecycle) for h in holes) if w is not None]
            pages = self._pages_for(run, residual)
            if pages:
                state.sources.append("rest")
        state.pending -= 1
        if state.pending == 0:
            await self._finish_day(run, day, run.days.pop(day))
        for page in pages:
            await self._send(run, page)

    async def _archive_to_rest(self, run: _SymbolRun, days: Sequence[dt.date]) -> None:
        spans = _contiguous([run.days[d].window for d in sorted(days)])
        pages = self._pages_for(run, spans)
        for day in days:
            state = run.days[day]
            state.sources.append("rest")
            state.pending -= 1
        for page in pages:
            await self._send(run, page)

    # -- fetching ------------------------------------------------------------

    async def _fetch(self, run: _SymbolRun, page: Page) -> None:
        table: pa.Table | None = None
        failure: Explained | None = None
        try:
            assert run.info is not None
            rows = await self.rest.klines(run.info.exchange_symbol, page)
            table = binance_rows_to_table(rows, full=self.job.full_klines)
        except IpBanned as exc:
            if self._fatal is None:
                self._fatal = exc
                log.error("%s", exc)
            failure = Explained(page.window, f"not fetched: {exc}")
        except (TransientError, TerminalError, ValueError) as exc:
            reason = f"failed after retries: {exc}"
            failure = Explained(page.window, reason)
            run.report.errors.append(f"{page.window}: {exc}")
            log.error("%s %s: %s", run.symbol, page.window, exc)
        except CandlelakeError as exc:
            failure = Explained(page.window, f"failed: {exc}")
            run.report.errors.append(f"{page.window}: {exc}")
        finally:
            self._slots.release()
        await self._page_done(run, page, table, failure)

    async def _page_done(
        self,
        run: _SymbolRun,
        page: Page,
        table: pa.Table | None,
        failure: Explained | None,
    ) -> None:
        finished = []
        for day in page.window.days():
            state = run.days[day]
            if table is not None and table.num_rows:
                state.tables.append(_slice(table, day_window(day)))
            if failure is not None:
                state.failures.append(failure)
            state.pending -= 1
            if state.pending == 0:
                finished.append(day)
        for day in finished:
            await self._finish_day(run, day, run.days.pop(day))

    async def _finish_day(self, run: _SymbolRun, day: dt.date, state: _DayState) -> None:
        try:
            await self._finish_day_or_raise(run, day, state)
        except Exception as exc:
            # Last line of defence for the invariant: a day that cannot be finished is
            # still reported, as missing with the reason, and fails the run.
            log.exception("%s %s: could not finish the day", run.symbol, day)
            w = state.window
            run.report.gaps.append(Gap(w.start_ms, w.end_ms, "missing", f"not written: {exc}"))
            run.report.errors.append(f"{day}: not written: {exc}")

    async def _finish_day_or_raise(self, run: _SymbolRun, day: dt.date, state: _DayState) -> None:
        checked = await asyncio.to_thread(self._validate, run.symbol, day, state)
        for problem in checked.problems:
            run.report.errors.append(f"invalid row at {problem.timestamp}: {problem.reason}")
        present = checked.table.column("timestamp").to_numpy()
        gaps: list[Gap] = []
        if len(present) < state.window.minutes:
            lifecycle = await run.lifecycle()
            gaps = find_gaps(
                state.window,
                present,
                lifecycle,
                failures=state.failures,
                invalid=[(p.timestamp, p.reason) for p in checked.problems],
            )
        run.report.gaps.extend(gaps)
        if checked.table.num_rows:
            meta = DayMeta(
                symbol=run.symbol,
                day=day,
                window_start_ms=state.window.start_ms,
                window_end_ms=state.window.end_ms,
                rows=checked.table.num_rows,
                complete=not state.failures and not checked.problems,
                source=state.source,
                archive_sha256=state.archive_sha256,
                gaps=tuple(g.to_dict() for g in gaps),
            )
            async with self._writes:
                path = await asyncio.to_thread(self._write, run.symbol, day, checked.table, meta)
            run.report.files.append(path)
            run.report.rows_written += checked.table.num_rows
            run.report.days_written += 1
            run.report.sources[day] = state.source
        elif gaps:
            # No candle at all: no file, but the gap ledger keeps the reasons (lake/ledger.py).
            await asyncio.to_thread(self.writer.record_empty_day, run.symbol, day, state.window, gaps)
        self.progress.day_done(
            run.symbol, checked.table.num_rows, weight=self._weight(), retries=self.rest.stats.retries
        )

    def _validate(self, symbol: str, day: dt.date, state: _DayState) -> Validated:
        tables = [t for t in state.tables if t.num_rows]
        table = pa.concat_tables(tables) if tables else empty_table(self.job.full_klines)
        if state.failures and state.stored is not None and state.stored.rows:
            # Some pages failed: keep what the lake already had for those minutes rather
            # than replacing good rows with nothing.
            table = _with_stored_rows(table, self.writer.read_day(symbol, day), state.failures)
        return validate_klines(table, state.window)

    def _write(self, symbol: str, day: dt.date, table: pa.Table, meta: DayMeta) -> str:
        return self.writer.write_day(
            symbol,
            day,
            table,
            meta,
            exchange_id=self.job.exchange_id,
            knowledge_time=self.knowledge_time,
        )

    # -- cross-check -----------------------------------------------------------

    async def verify_sample(self, runs: Sequence[_SymbolRun], n: int) -> list[str]:
        """Compare `n` random archive-sourced days per symbol against REST, field by field."""
        differences: list[str] = []
        if self._fatal is not None:
            return differences
        for run in runs:
            assert run.info is not None or not run.report.sources
            archived = sorted(d for d, src in run.report.sources.items() if src.startswith("archive:"))
            for day in pick_sample_days(archived, n, seed=len(archived)):
                rows: list[list[Any]] = []
                assert run.info is not None
                try:
                    lake_table = await asyncio.to_thread(self.writer.read_day, run.symbol, day)
                    for page in plan_pages(day_window(day), self.rest.cost):
                        rows.extend(await self.rest.klines(run.info.exchange_symbol, page))
                except CandlelakeError as exc:
                    self.errors.append(f"verify {run.symbol} {day}: {exc}")
                    continue
                rest_table = binance_rows_to_table(rows, full=True)
                diffs = compare_days(lake_table.select(rest_table.column_names), rest_table)
                for diff in diffs:
                    differences.append(f"{run.symbol} {day}: {diff}")
                log.info("verify %s %s: %d differences", run.symbol, day, len(diffs))
        if differences:
            self.errors.append(f"archive and REST disagree in {len(differences)} places")
        return differences


def _with_stored_rows(new: pa.Table, stored: pa.Table, failures: Sequence[Explained]) -> pa.Table:
    """`new` plus the stored rows that fall in failed windows and are not in `new`."""
    import pyarrow.compute as pc

    ts = stored.column("timestamp")
    keep = pc.is_in(ts, value_set=new.column("timestamp"))
    mask = pc.invert(keep)
    in_failure = pc.less(ts, 0)  # all false
    for failure in failures:
        w = failure.window
        in_failure = pc.or_(in_failure, pc.and_(pc.greater_equal(ts, w.start_ms), pc.less(ts, w.end_ms)))
    rescued = stored.filter(pc.and_(mask, in_failure)).select(new.column_names).cast(new.schema)
    return pa.concat_tables([new, rescued]) if rescued.num_rows else new


def _trim(window: Window, lifecycle: Lifecycle) -> Window | None:
    """The part of `window` in which the symbol traded."""
    start, end = window.start_ms, window.end_ms
    if lifecycle.listed_ms is not None:
        start = max(start, lifecycle.listed_ms)
    if lifecycle.delisted_ms is not None:
        end = min(end, lifecycle.delisted_ms)
    return Window(start, end) if start < end else None


def _covers(meta: DayMeta, covered: Window) -> bool:
    return meta.complete and meta.window_start_ms <= covered.start_ms and meta.window_end_ms >= covered.end_ms


def _clip(gaps: Iterable[dict[str, object]], window: Window) -> list[Gap]:
    out = []
    for raw in gaps:
        gap = Gap.from_dict(raw)
        start, end = max(gap.start_ms, window.start_ms), min(gap.end_ms, window.end_ms)
        if start < end:
            out.append(Gap(start, end, gap.kind, gap.reason))
    return out


def _contiguous(windows: Sequence[Window]) -> list[Window]:
    spans: list[Window] = []
    for w in windows:
        if spans and spans[-1].end_ms == w.start_ms:
            spans[-1] = Window(spans[-1].start_ms, w.end_ms)
        else:
            spans.append(w)
    return spans


def _slice(table: pa.Table, window: Window) -> pa.Table:
    import pyarrow.compute as pc

    ts = table.column("timestamp")
    mask = pc.and_(pc.greater_equal(ts, window.start_ms), pc.less(ts, window.end_ms))
    return table.filter(mask)
