import pyarrow as pa

from candlelake.sources.binance_rows import binance_rows_to_table
from candlelake.timeutil import MINUTE_MS, Window
from candlelake.validate.gaps import EXCHANGE_GAP, Explained, Lifecycle, find_gaps
from candlelake.validate.rules import validate_klines

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
