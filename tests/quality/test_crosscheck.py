"""Archive vs REST comparison, on a real recorded day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from candlelake.klines import OHLCV_SCHEMA, binance_rows_to_table
from candlelake.quality.crosscheck import ROW, FieldDifference, compare_days, pick_sample_days
from candlelake.sources.binance_archive import parse_kline_csv
from fixtures.simulator import REALDATA

SPOT = REALDATA / "spot_klines"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def archive_day() -> pa.Table:
    return parse_kline_csv((SPOT / "BTCUSDT-1m-2020-01-01.csv").read_bytes())


@pytest.fixture(scope="module")
def rest_day() -> pa.Table:
    # The same candles as REST would send them: 12-field rows with decimal strings.
    rows = [line.split(",") for line in (SPOT / "BTCUSDT-1m-2020-01-01.csv").read_text().splitlines()]
    return binance_rows_to_table(rows, full=True)


def _set(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    idx = table.schema.get_field_index(column)
    return table.set_column(idx, column, pa.array(values, type=table.schema.field(column).type))


def test_identical_sources_agree(archive_day: pa.Table, rest_day: pa.Table) -> None:
    assert compare_days(archive_day, rest_day) == []
    # Row order does not matter.
    assert compare_days(archive_day, rest_day.take(pa.array(range(1439, -1, -1)))) == []


def test_field_differences_are_reported_one_by_one(archive_day: pa.Table, rest_day: pa.Table) -> None:
    # Row 0 is 2020-01-01T00:00 with close 7186.68, trades 493 (first line of the file).
    rest = _set(rest_day, "close", 0, 7186.69)
    rest = _set(rest, "number_of_trades", 0, 494)
    rest = _set(rest, "quote_volume", 5, 1.0)
    ts5 = ms("2020-01-01T00:05:00")
    quote5 = float((SPOT / "BTCUSDT-1m-2020-01-01.csv").read_text().splitlines()[5].split(",")[7])
    assert compare_days(archive_day, rest) == [
        FieldDifference(ms("2020-01-01T00:00:00"), "close", 7186.68, 7186.69),
        FieldDifference(ms("2020-01-01T00:00:00"), "number_of_trades", 493, 494),
        FieldDifference(ts5, "quote_volume", quote5, 1.0),
    ]


def test_rows_on_one_side_only(archive_day: pa.Table, rest_day: pa.Table) -> None:
    ts = rest_day.column("timestamp")
    noon = ms("2020-01-01T12:00:00")
    rest = rest_day.filter(pc.not_equal(ts, noon))
    archive = archive_day.slice(0, 1439)  # loses 23:59
    diffs = compare_days(archive, rest)
    assert diffs == [
        FieldDifference(noon, ROW, noon, None),
        FieldDifference(ms("2020-01-01T23:59:00"), ROW, None, ms("2020-01-01T23:59:00")),
    ]
    assert "only in archive" in str(diffs[0]) and "only in REST" in str(diffs[1])


def test_tolerance_and_ohlcv_only_tables(archive_day: pa.Table, rest_day: pa.Table) -> None:
    rest = _set(rest_day, "open", 3, archive_day.column("open")[3].as_py() * (1 + 1e-12))
    assert len(compare_days(archive_day, rest)) == 1
    assert compare_days(archive_day, rest, rel_tol=1e-9) == []
    # A plain OHLCV table is compared on the columns both sides have.
    ohlcv = rest_day.select(OHLCV_SCHEMA.names)
    assert compare_days(archive_day, ohlcv) == []


def test_pick_sample_days_is_reproducible_subset() -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(100)]
    a = pick_sample_days(days, 7, seed=42)
    assert a == pick_sample_days(list(reversed(days)) + days[:3], 7, seed=42)
    assert len(a) == 7 and len(set(a)) == 7 and set(a) <= set(days) and a == sorted(a)
    assert any(pick_sample_days(days, 7, seed=s) != a for s in range(1, 5))
    assert pick_sample_days(days[:3], 10, seed=1) == days[:3]
    assert pick_sample_days(days, 0, seed=1) == []
    with pytest.raises(ValueError):
        pick_sample_days(days, -1, seed=1)
