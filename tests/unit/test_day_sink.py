"""The day sink on a real local lake: validate, explain every missing minute, merge, write."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from candlelake.engine.sink import DaySink
from candlelake.lake import LakeWriter, open_dataset
from candlelake.plan.days import PlanOptions, plan_symbol
from candlelake.progress import LogProgress
from candlelake.quality.report import SymbolReport
from candlelake.signature import DatasetSignature
from candlelake.sources.protocol import FinishedDay
from candlelake.timeutil import MINUTE_MS, Window, day_window
from candlelake.validate.gaps import EXCHANGE_GAP, Explained, Lifecycle

DAY = dt.date(2024, 2, 19)
W = day_window(DAY)
SIGNATURE = DatasetSignature.parse("bulk.manual.downloaded_1min.parquet.ohlcv.spot.v7.ccxt.binance.v1_0_0")
COLUMNS = ("open", "high", "low", "close", "volume")


def _rows(minutes: range, price: float) -> pa.Table:
    ts = [W.start_ms + m * MINUTE_MS for m in minutes]
    return pa.table({"timestamp": pa.array(ts, pa.int64()), **{c: [price] * len(ts) for c in COLUMNS}})


def _sink(tmp_path: Path) -> tuple[DaySink, LakeWriter]:
    writer = LakeWriter(open_dataset(str(tmp_path), SIGNATURE))
    return DaySink(writer, exchange_id="binance", progress=LogProgress(), counters=lambda: (0, 0)), writer


def _deliver(sink: DaySink, writer: LakeWriter, day: FinishedDay) -> SymbolReport:
    plan = plan_symbol(
        "BTC_USDT",
        day.window,
        writer.existing_days("BTC_USDT", [DAY]),
        today=DAY,
        options=PlanOptions("spot", force=True),
    )
    report = SymbolReport("BTC_USDT")
    sink.open(plan, report)
    asyncio.run(sink.deliver(day))
    assert sink.unfinished() == []
    return report


async def _listed_at_minute_10() -> Lifecycle:
    return Lifecycle(W.start_ms + 10 * MINUTE_MS, None)


def test_missing_minutes_are_explained_by_failure_listing_or_the_exchange(tmp_path: Path) -> None:
    sink, writer = _sink(tmp_path)
    failed = Window(W.start_ms + 100 * MINUTE_MS, W.start_ms + 200 * MINUTE_MS)
    table = pa.concat_tables(
        [_rows(range(10, 100), 1.0), _rows(range(200, 1000), 1.0), _rows(range(1001, 1440), 1.0)]
    )
    day = FinishedDay(
        "BTC_USDT",
        DAY,
        W,
        table,
        (Explained(failed, "failed after retries: HTTP 503"),),
        lifecycle=_listed_at_minute_10,
    )
    report = _deliver(sink, writer, day)
    assert [(g.minutes, g.kind, g.reason) for g in report.gaps] == [
        (10, "excluded", "not listed yet (first candle 2024-02-19T00:10:00Z)"),
        (100, "missing", "failed after retries: HTTP 503"),
        (1, "missing", EXCHANGE_GAP),
    ]
    assert report.rows_written == 1440 - 111 and report.days_written == 1
    meta = writer.read_meta("BTC_USDT", DAY)
    assert meta is not None and not meta.complete and len(meta.gaps) == 3


def test_rows_the_lake_holds_are_kept_where_a_request_failed(tmp_path: Path) -> None:
    sink, writer = _sink(tmp_path)
    _deliver(sink, writer, FinishedDay("BTC_USDT", DAY, W, _rows(range(1440), 1.0)))
    # A forced re-run: new prices, but the afternoon's request failed.
    failed = Window(W.start_ms + 720 * MINUTE_MS, W.end_ms)
    day = FinishedDay("BTC_USDT", DAY, W, _rows(range(720), 2.0), (Explained(failed, "failed: HTTP 400"),))
    report = _deliver(sink, writer, day)
    stored = writer.read_day("BTC_USDT", DAY)
    assert stored.column("open").to_pylist() == [2.0] * 720 + [1.0] * 720
    assert report.gaps == [] and report.rows_written == 1440


def test_rows_outside_the_window_are_rejected_explained_and_fail_the_run(tmp_path: Path) -> None:
    sink, writer = _sink(tmp_path)
    outside = _rows(range(3), 1.0).set_column(
        0, "timestamp", pa.array([W.end_ms, W.end_ms + MINUTE_MS, 5], pa.int64())
    )
    day = FinishedDay("BTC_USDT", DAY, Window(W.start_ms, W.start_ms + 3 * MINUTE_MS), outside)
    report = _deliver(sink, writer, day)
    # Rows outside the day's window are invalid rows: rejected, explained, and the run fails.
    assert report.rows_written == 0 and writer.read_meta("BTC_USDT", DAY) is None
    assert sum(g.minutes for g in report.gaps if g.kind == "missing") == 3
    assert {g.reason for g in report.gaps} == {EXCHANGE_GAP}  # no row was ever in the window
    assert len(report.errors) == 3 and all(e.startswith("invalid row at ") for e in report.errors)


def test_a_planned_day_never_delivered_is_still_reported_when_the_sink_closes(tmp_path: Path) -> None:
    sink, _ = _sink(tmp_path)
    report = SymbolReport("BTC_USDT")
    sink.open(plan_symbol("BTC_USDT", W, {}, today=DAY, options=PlanOptions("spot")), report)
    sink.close()
    assert [(g.minutes, g.kind, g.reason) for g in report.gaps] == [
        (1440, "missing", "not finished (internal error)")
    ]
    assert report.errors == ["2024-02-19: not finished"]
    assert sink.unfinished() == []


class _HeldWriter(LakeWriter):
    """A real writer whose day writes wait for the test, so a cancel lands mid-write."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.started, self.release = threading.Event(), threading.Event()

    def write_days(self, *args: object, **kwargs: object) -> list[str | Exception]:
        self.started.set()
        assert self.release.wait(30)
        return super().write_days(*args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("when", ["before the write", "during the write"])
def test_an_interrupted_day_is_either_written_or_missing_never_neither(tmp_path: Path, when: str) -> None:
    writer = _HeldWriter(open_dataset(str(tmp_path), SIGNATURE))
    sink = DaySink(writer, exchange_id="binance", progress=LogProgress(), counters=lambda: (0, 0))
    report = SymbolReport("BTC_USDT")
    sink.open(plan_symbol("BTC_USDT", W, {}, today=DAY, options=PlanOptions("spot")), report)

    async def interrupt() -> None:
        task = asyncio.create_task(sink.deliver(FinishedDay("BTC_USDT", DAY, W, _rows(range(1440), 1.0))))
        if when == "during the write":
            await asyncio.to_thread(writer.started.wait, 30)
            task.cancel()
            await asyncio.sleep(0.05)
            task.cancel()  # the run cancels again while it stops
            writer.release.set()
        else:
            await asyncio.sleep(0)
            task.cancel()
            writer.release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        sink.close("not finished: run interrupted", fails=False)

    asyncio.run(interrupt())
    files = list(tmp_path.rglob("*.parquet"))
    missing = sum(g.minutes for g in report.gaps if g.kind == "missing")
    assert report.rows_written + missing == 1440
    assert report.days_written == len(files) == (1 if when == "during the write" else 0)
    if files:
        assert writer.read_day("BTC_USDT", DAY).num_rows == report.rows_written == 1440
