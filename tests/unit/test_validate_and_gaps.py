import pyarrow as pa

from candlelake.sources.binance_rows import binance_rows_to_table
from candlelake.timeutil import MINUTE_MS, Window
from candlelake.validate.gaps import EXCHANGE_GAP, Explained, Lifecycle, find_gaps
from candlelake.validate.rules import validate_days, validate_klines

T0 = 1_577_836_800_000  # 2020-01-01


def row(i, o="10", h="12", lo="9", c="11", v="1.5"):
    t = T0 + i * MINUTE_MS
    return [t, o, h, lo, c, v, t + MINUTE_MS - 1, "15.0", 3, "0.5", "5.0", "0"]


def test_decimal_strings_become_the_exact_float():
    table = binance_rows_to_table([row(0, o="7195.24000000")], full=True)
    assert table.column("open")[0].as_py() == float("7195.24000000")
    assert table.column("number_of_trades").type == pa.int64()


def test_validation_drops_identical_duplicates_and_reports_broken_rows():
    rows = [row(0), row(0), row(1, h="10.5"), row(2, v="-1"), row(3), row(4, lo="11.5")]
    window = Window(T0, T0 + 10 * MINUTE_MS)
    checked = validate_klines(binance_rows_to_table(rows, full=True), window)
    assert checked.duplicates_dropped == 1
    kept = checked.table.column("timestamp").to_pylist()
    assert kept == [T0, T0 + 3 * MINUTE_MS]
    reasons = {p.timestamp: p.reason for p in checked.problems}
    assert reasons[T0 + MINUTE_MS] == "high below open or close"
    assert reasons[T0 + 2 * MINUTE_MS] == "negative volume"
    assert reasons[T0 + 4 * MINUTE_MS] == "low above open or close"


def test_conflicting_duplicates_are_both_rejected_and_rows_outside_the_window_too():
    rows = [row(0), row(0, c="11.5"), row(20)]
    checked = validate_klines(binance_rows_to_table(rows, full=False), Window(T0, T0 + 10 * MINUTE_MS))
    assert checked.table.num_rows == 0
    assert {p.reason for p in checked.problems} == {
        "conflicting duplicate rows",
        "open time outside the requested window",
    }


def test_every_missing_minute_gets_exactly_one_reason():
    window = Window(T0, T0 + 100 * MINUTE_MS)
    present = [T0 + i * MINUTE_MS for i in range(10, 100) if not 40 <= i < 45 and not 60 <= i < 70]
    lifecycle = Lifecycle(listed_ms=T0 + 10 * MINUTE_MS, delisted_ms=T0 + 90 * MINUTE_MS)
    present = [t for t in present if t < lifecycle.delisted_ms]
    failure = Explained(Window(T0 + 60 * MINUTE_MS, T0 + 70 * MINUTE_MS), "failed after retries: HTTP 503")
    gaps = find_gaps(window, present, lifecycle, failures=[failure])
    covered = sum(g.minutes for g in gaps) + len(present)
    assert covered == window.minutes
    summary = [(g.start_ms, g.minutes, g.kind) for g in gaps]
    assert summary == [
        (T0, 10, "excluded"),
        (T0 + 40 * MINUTE_MS, 5, "missing"),
        (T0 + 60 * MINUTE_MS, 10, "missing"),
        (T0 + 90 * MINUTE_MS, 10, "excluded"),
    ]
    assert gaps[1].reason == EXCHANGE_GAP
    assert gaps[2].reason.startswith("failed after retries")


DAY_MINUTES = 1440


def _days_of(rows_by_day, windows):
    return [(binance_rows_to_table(rows, full=True), w) for rows, w in zip(rows_by_day, windows, strict=True)]


def _same(a, b):
    assert [v.table.to_pylist() for v in a] == [v.table.to_pylist() for v in b]
    assert [v.problems for v in a] == [v.problems for v in b]


def test_a_month_validated_in_one_pass_equals_each_day_validated_alone():
    # Three days; the first window starts at noon (rows before it are outside), the last ends
    # at 06:00; faults of every kind, and a day with no rows at all.
    def minute(day, m):
        return day * DAY_MINUTES + m

    day0 = [row(minute(0, m)) for m in range(600, 800)] + [row(minute(0, 900), h="1")]
    day1 = [row(minute(1, m)) for m in range(0, DAY_MINUTES)]
    day1[5:6] = [row(minute(1, 5)), row(minute(1, 5))]  # identical repeat: dropped
    day1[40:41] = [row(minute(1, 40)), row(minute(1, 40), c="11.5")]  # conflicting: both out
    day1[70] = row(minute(1, 70), v="-1")
    day2 = [row(minute(2, m)) for m in range(0, 400)]  # rows after 06:00 are outside
    day3: list[list] = []
    windows = [
        Window(T0 + minute(0, 720) * MINUTE_MS, T0 + minute(1, 0) * MINUTE_MS),
        Window(T0 + minute(1, 0) * MINUTE_MS, T0 + minute(2, 0) * MINUTE_MS),
        Window(T0 + minute(2, 0) * MINUTE_MS, T0 + minute(3, 0) * MINUTE_MS),
        Window(T0 + minute(3, 0) * MINUTE_MS, T0 + minute(3, 360) * MINUTE_MS),
    ]
    days = _days_of([day0, day1, day2, day3], windows)
    one_pass = validate_days(days)
    alone = [validate_klines(t, w) for t, w in days]
    _same(one_pass, alone)
    assert sum(len(v.problems) for v in alone) > 3  # the faults were seen, not lost


def test_days_that_cannot_be_joined_are_validated_alone():
    # A day's table holding a row of the next day, and windows with a hole between them.
    stray = _days_of([[row(0), row(DAY_MINUTES + 3)], [row(DAY_MINUTES + 1)]],
                     [Window(T0, T0 + DAY_MINUTES * MINUTE_MS),
                      Window(T0 + DAY_MINUTES * MINUTE_MS, T0 + 2 * DAY_MINUTES * MINUTE_MS)])  # fmt: skip
    _same(validate_days(stray), [validate_klines(t, w) for t, w in stray])
    assert validate_days(stray)[0].problems  # the stray row is outside day 0's window
    day2 = Window(T0 + 2 * DAY_MINUTES * MINUTE_MS, T0 + 3 * DAY_MINUTES * MINUTE_MS)
    holed = _days_of([[row(0)], [row(2 * DAY_MINUTES)]], [Window(T0, T0 + MINUTE_MS), day2])
    _same(validate_days(holed), [validate_klines(t, w) for t, w in holed])
