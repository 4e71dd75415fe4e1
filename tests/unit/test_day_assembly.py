"""Day assembly: synchronous, no asyncio, no HTTP. Parts arrive in any order; days finish once."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from candlelake.klines import FULL_SCHEMA, OHLCV_SCHEMA
from candlelake.sources.assembly import DayAssembly
from candlelake.timeutil import MINUTE_MS, Window, day_window
from candlelake.validate.gaps import Explained

D1, D2 = dt.date(2024, 2, 1), dt.date(2024, 2, 2)
W1, W2 = day_window(D1), day_window(D2)


def _rows(start_ms: int, minutes: int) -> pa.Table:
    ts = [start_ms + i * MINUTE_MS for i in range(minutes)]
    values = [float(i) for i in range(minutes)]
    return pa.table({"timestamp": ts, **{c: values for c in OHLCV_SCHEMA.names[1:]}}, schema=OHLCV_SCHEMA)


def test_a_day_finishes_only_when_every_part_that_touches_it_has_arrived() -> None:
    assembly = DayAssembly({D1: W1, D2: W2}, full=False)
    # Two pages: the first ends inside D2, the second covers the rest of D2.
    split = W2.start_ms + 100 * MINUTE_MS
    assembly.expect("p1", [D1, D2])
    assembly.expect("p2", [D2])
    assert assembly.deliver("p2", _rows(split, 1340)) == []  # D2 still waits for p1
    finished = assembly.deliver("p1", _rows(W1.start_ms, 1440 + 100))
    assert [d.day for d in finished] == [D1, D2]
    day1, day2 = finished
    assert day1.table.num_rows == 1440 and day2.table.num_rows == 1440
    # Rows of one page are cut at the day boundary, each part goes to its own day.
    assert day1.table.column("timestamp")[-1].as_py() == W2.start_ms - MINUTE_MS
    assert sorted(day2.table.column("timestamp").to_pylist()) == list(
        range(W2.start_ms, W2.end_ms, MINUTE_MS)
    )
    assert assembly.unfinished() == []


def test_failures_and_provenance_are_kept_per_day() -> None:
    assembly = DayAssembly({D1: W1}, full=True)
    hole = Window(W1.start_ms + 60 * MINUTE_MS, W1.start_ms + 70 * MINUTE_MS)
    assembly.expect("file", [D1])
    assembly.expect("page", [D1])
    assert (
        assembly.deliver("file", {D1: FULL_SCHEMA.empty_table()}, source="archive:daily", archive_sha256="ab")
        == []
    )
    (day,) = assembly.deliver(
        "page", None, failure=Explained(hole, "failed after retries: HTTP 503"), source="rest"
    )
    assert day.source == "archive:daily+rest"
    assert day.archive_sha256 == "ab"
    assert day.failures == (Explained(hole, "failed after retries: HTTP 503"),)
    assert day.table.num_rows == 0 and day.table.schema == FULL_SCHEMA


def test_a_part_can_hand_its_days_over_to_other_parts() -> None:
    # A missing monthly file sends its days to daily files: expect those, then settle the month.
    assembly = DayAssembly({D1: W1, D2: W2}, full=False)
    assembly.expect("monthly", [D1, D2])
    assembly.expect("daily-1", [D1])
    assembly.expect("daily-2", [D2])
    assert assembly.deliver("monthly", source=None) == []
    assert [d.day for d in assembly.deliver("daily-2", _rows(W2.start_ms, 3), source="archive:daily")] == [D2]
    assert assembly.unfinished() == [D1]


def test_a_part_settled_twice_or_a_day_expected_after_it_finished_is_an_error() -> None:
    assembly = DayAssembly({D1: W1}, full=False)
    assembly.expect("p1", [D1])
    assert len(assembly.deliver("p1", _rows(W1.start_ms, 1))) == 1
    with pytest.raises(KeyError):
        assembly.deliver("p1", _rows(W1.start_ms, 1))
    with pytest.raises(KeyError):
        assembly.expect("p2", [D1])


def test_the_same_part_cannot_be_expected_twice_for_a_day() -> None:
    assembly = DayAssembly({D1: W1}, full=False)
    assembly.expect("p1", [D1])
    with pytest.raises(ValueError, match="already expected"):
        assembly.expect("p1", [D1])


def test_a_day_nobody_will_deliver_stays_unfinished_until_finished_idle() -> None:
    assembly = DayAssembly({D1: W1, D2: W2}, full=False)
    assembly.expect("p1", [D2])
    assert assembly.unfinished() == [D1, D2]
    (idle,) = assembly.finish_idle()
    assert idle.day == D1 and idle.table.num_rows == 0 and idle.source == "rest"
    assert assembly.unfinished() == [D2]
