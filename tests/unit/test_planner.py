"""The pure planner: days, sources and refreshes from the window, the lake's days and the clock."""

from __future__ import annotations

import datetime as dt

from candlelake.lake import DayMeta
from candlelake.plan.archive import ArchiveFile
from candlelake.plan.days import (
    PlanOptions,
    changed_days,
    clamp_window,
    contiguous,
    plan_symbol,
    refresh_checks,
)
from candlelake.timeutil import DAY_MS, MINUTE_MS, Window, day_window
from candlelake.validate.gaps import Gap

D1, D2, D3 = dt.date(2024, 2, 1), dt.date(2024, 2, 2), dt.date(2024, 2, 3)
TODAY = dt.date(2024, 6, 1)
SPOT = PlanOptions("spot")
ARCHIVE = PlanOptions("spot", use_archive=True, archive_url="http://127.0.0.1:1")


def _meta(day: dt.date, window: Window, *, complete: bool = True, **kw: object) -> DayMeta:
    return DayMeta(
        symbol="BTC_USDT",
        day=day,
        window_start_ms=window.start_ms,
        window_end_ms=window.end_ms,
        rows=window.minutes,
        complete=complete,
        source=str(kw.pop("source", "rest")),
        **kw,  # type: ignore[arg-type]
    )


def test_an_empty_lake_plans_every_day_and_one_rest_span_for_the_window() -> None:
    start = day_window(D1).start_ms + 600 * MINUTE_MS  # 10:00 on the first day
    end = day_window(D3).start_ms + 60 * MINUTE_MS  # 01:00 on the third
    plan = plan_symbol("BTC_USDT", Window(start, end), {}, today=TODAY, options=SPOT)
    assert plan.days == [D1, D2, D3]
    assert plan.windows[D1] == Window(start, day_window(D2).start_ms)
    assert plan.windows[D2] == day_window(D2)
    assert plan.windows[D3] == Window(day_window(D3).start_ms, end)
    # One span, so pages are cut across day boundaries (cheaper than day by day).
    assert plan.rest_spans == (Window(start, end),)
    assert plan.archive_files == () and plan.skipped == () and dict(plan.stored) == {}


def test_complete_stored_days_are_skipped_with_their_recorded_gaps_clipped_to_the_window() -> None:
    window = Window(day_window(D1).start_ms, day_window(D3).end_ms)
    gap = Gap(day_window(D2).start_ms, day_window(D2).start_ms + 5 * MINUTE_MS, "missing", "outage")
    stored = {D2: _meta(D2, day_window(D2), gaps=(gap.to_dict(),))}
    plan = plan_symbol("BTC_USDT", window, stored, today=TODAY, options=SPOT)
    assert plan.skipped == (D2,)
    assert plan.skipped_gaps == (gap,)
    assert plan.days == [D1, D3]
    assert plan.rest_spans == (day_window(D1), day_window(D3))  # two spans: D2 is not fetched


def test_force_refetches_complete_days_and_keeps_the_stored_file_for_the_merge() -> None:
    stored = {D1: _meta(D1, day_window(D1))}
    plan = plan_symbol(
        "BTC_USDT", day_window(D1), stored, today=TODAY, options=PlanOptions("spot", force=True)
    )
    assert plan.days == [D1] and plan.skipped == ()
    assert plan.stored == stored


def test_a_partial_stored_day_is_fetched_over_the_union_of_both_windows() -> None:
    morning = Window(day_window(D1).start_ms, day_window(D1).start_ms + 6 * 60 * MINUTE_MS)
    evening = Window(day_window(D1).start_ms + 18 * 60 * MINUTE_MS, day_window(D1).end_ms)
    stored = {D1: _meta(D1, morning)}
    plan = plan_symbol("BTC_USDT", evening, stored, today=TODAY, options=SPOT)
    assert plan.windows[D1] == Window(morning.start_ms, evening.end_ms)
    assert plan.stored == stored


def test_incomplete_stored_days_are_fetched_again() -> None:
    stored = {D1: _meta(D1, day_window(D1), complete=False)}
    plan = plan_symbol("BTC_USDT", day_window(D1), stored, today=TODAY, options=SPOT)
    assert plan.days == [D1] and plan.skipped == ()


def test_archive_takes_whole_old_months_and_rest_the_partial_and_recent_days() -> None:
    january = Window(day_window(dt.date(2024, 1, 1)).start_ms, day_window(dt.date(2024, 2, 1)).start_ms)
    partial = Window(day_window(D1).start_ms, day_window(D1).start_ms + 30 * MINUTE_MS)
    window = Window(january.start_ms, partial.end_ms)
    plan = plan_symbol("BTC_USDT", window, {}, today=dt.date(2024, 2, 20), options=ARCHIVE)
    (monthly,) = plan.archive_files
    assert (monthly.period, monthly.label, len(monthly.days)) == ("monthly", "2024-01", 31)
    assert monthly.url == "http://127.0.0.1:1/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip"
    assert plan.rest_spans == (partial,)


def test_archive_never_plans_today_and_each_planned_day_has_exactly_one_source() -> None:
    window = Window(day_window(D1).start_ms, day_window(D3).end_ms)
    plan = plan_symbol("BTC_USDT", window, {}, today=D3, options=ARCHIVE)
    archived = [d for f in plan.archive_files for d in f.days]
    assert archived == [D1, D2]  # daily files: the month is not over yet
    assert plan.rest_spans == (day_window(D3),)
    from_rest = {d for span in plan.rest_spans for d in span.days()}
    assert sorted([*archived, *from_rest]) == plan.days


def test_changed_archive_days_are_fetched_as_if_absent() -> None:
    stored = {
        D1: _meta(D1, day_window(D1), source="archive:daily", archive_sha256="a" * 64),
        D2: _meta(D2, day_window(D2), source="archive:daily", archive_sha256="b" * 64),
        D3: _meta(D3, day_window(D3), source="rest"),
    }
    checks = refresh_checks("BTC_USDT", stored, options=ARCHIVE)
    assert [f.label for f in checks] == ["2024-02-01", "2024-02-02"]  # REST days have no file
    published = {f: ("c" * 64 if f.label == "2024-02-02" else "a" * 64) for f in checks}
    changed = changed_days(checks, published)
    assert changed == [D2]
    window = Window(day_window(D1).start_ms, day_window(D3).end_ms)
    plan = plan_symbol("BTC_USDT", window, stored, today=TODAY, options=ARCHIVE, changed=changed)
    assert plan.skipped == (D1, D3)
    assert [f.days for f in plan.archive_files] == [(D2,)]
    assert D2 not in plan.stored  # replaced, not merged


def test_an_unpublished_checksum_changes_nothing() -> None:
    file = ArchiveFile("spot", "BTC_USDT", "daily", "2024-02-01", (), "http://127.0.0.1:1/x.zip")
    assert changed_days({file: [(D1, "a" * 64)]}, {file: None}) == []


def test_clamp_keeps_closed_candles_only() -> None:
    start = day_window(D1).start_ms
    now = start + 90 * MINUTE_MS + 30_000  # 01:30:30: the 01:30 candle is still open
    assert clamp_window(Window(start, start + DAY_MS), now) == Window(start, start + 90 * MINUTE_MS)
    assert clamp_window(Window(start, start + DAY_MS), start - DAY_MS).minutes == 0


def test_contiguous_joins_only_touching_windows() -> None:
    a, b, c = Window(0, 60_000), Window(60_000, 120_000), Window(180_000, 240_000)
    assert contiguous([a, b, c]) == [Window(0, 120_000), c]
