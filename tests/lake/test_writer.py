"""LakeWriter: one atomic, idempotent file per (symbol, day), and what it refuses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from candlelake.lake import DatasetLocation, DayMeta, LakeWriter, lake_schema
from candlelake.lake import writer as writer_module
from candlelake.lake.schema import META_KEY
from candlelake.timeutil import MINUTE_MS, day_window

MakeKlines = Callable[..., pa.Table]
MakeMeta = Callable[..., DayMeta]

KNOWLEDGE_TIME = dt.datetime(2024, 2, 20, 0, 5, tzinfo=dt.UTC)

DAY = dt.date(2024, 2, 19)
SYMBOL = "BTC_USDT"


@pytest.fixture
def writer(tmp_path: Path) -> LakeWriter:
    return LakeWriter(DatasetLocation(str(tmp_path / "ds")))


def visible_and_hidden(root: Path) -> tuple[list[str], list[str]]:
    """Day files and leftovers; the gap ledger (lake/ledger.py) is bookkeeping, not a leftover."""
    files = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] != "_ledger"
    )
    hidden = [f for f in files if any(part.startswith((".", "_")) for part in f.split("/"))]
    return [f for f in files if f not in hidden], hidden


def test_write_day_stores_the_lake_columns(
    writer: LakeWriter, tmp_path: Path, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    table = make_klines(DAY, range(1440))
    path = writer.write_day(
        SYMBOL,
        DAY,
        table,
        make_meta(SYMBOL, DAY, table),
        exchange_id="binance",
        knowledge_time=KNOWLEDGE_TIME,
    )
    expected = tmp_path / "ds/currency_pair=BTC_USDT/year=2024/month=2/2024-02-19.parquet"
    assert path == str(expected)
    stored = pq.read_table(expected)
    assert stored.schema.remove_metadata() == lake_schema(full=False)
    assert stored.column("timestamp").to_pylist()[:2] == [
        day_window(DAY).start_ms,
        day_window(DAY).start_ms + MINUTE_MS,
    ]
    assert stored.column("open").to_pylist() == [100.0 + m for m in range(1440)]
    assert set(stored.column("exchange_id").to_pylist()) == {"binance"}
    assert set(stored.column("knowledge_timestamp").to_pylist()) == {KNOWLEDGE_TIME}
    chunks = pq.ParquetFile(expected).metadata.row_group(0)
    by_name = {chunks.column(i).path_in_schema: chunks.column(i) for i in range(chunks.num_columns)}
    assert by_name["open"].compression == "ZSTD"
    assert "DELTA_BINARY_PACKED" in by_name["timestamp"].encodings
    assert by_name["knowledge_timestamp"].has_dictionary_page


def test_full_klines_keep_binance_columns(
    writer: LakeWriter, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    table = make_klines(DAY, range(3), full=True)
    path = writer.write_day(
        SYMBOL,
        DAY,
        table,
        make_meta(SYMBOL, DAY, table),
        exchange_id="binance",
        knowledge_time=KNOWLEDGE_TIME,
    )
    stored = pq.read_table(path)
    assert stored.schema.remove_metadata() == lake_schema(full=True)
    assert stored.column("number_of_trades").to_pylist() == [7, 8, 9]


def test_meta_round_trips_through_the_footer(
    writer: LakeWriter, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    table = make_klines(DAY, range(10, 20))
    gap = {"start_ms": day_window(DAY).start_ms, "end_ms": day_window(DAY).start_ms + 600_000,
           "reason": "not listed yet", "kind": "excluded"}  # fmt: skip
    meta = make_meta(
        SYMBOL,
        DAY,
        table,
        complete=False,
        source="archive:daily",
        archive_sha256="ab" * 32,
        gaps=[gap],
    )
    assert writer.read_meta(SYMBOL, DAY) is None
    writer.write_day(SYMBOL, DAY, table, meta, exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)
    back = writer.read_meta(SYMBOL, DAY)
    assert back == meta
    assert back is not None and back.gaps == (gap,)


def test_rewrite_replaces_the_same_file(
    writer: LakeWriter, tmp_path: Path, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    first = make_klines(DAY, range(0, 100))
    second = make_klines(DAY, range(0, 1440), base=200.0)
    for table in (first, second, second):
        writer.write_day(SYMBOL, DAY, table, make_meta(SYMBOL, DAY, table),
                         exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    visible, hidden = visible_and_hidden(tmp_path / "ds")
    assert visible == ["currency_pair=BTC_USDT/year=2024/month=2/2024-02-19.parquet"]
    assert hidden == []
    stored = pq.read_table(tmp_path / "ds" / visible[0])
    assert stored.num_rows == 1440
    assert stored.column("open")[0].as_py() == 200.0


def test_same_input_gives_identical_bytes(
    writer: LakeWriter, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    table = make_klines(DAY, range(1440))
    meta = make_meta(SYMBOL, DAY, table)
    kwargs = {"exchange_id": "binance", "knowledge_time": KNOWLEDGE_TIME}
    path = writer.write_day(SYMBOL, DAY, table, meta, **kwargs)  # type: ignore[arg-type]
    first = Path(path).read_bytes()
    writer.write_day(SYMBOL, DAY, table, meta, **kwargs)  # type: ignore[arg-type]
    assert Path(path).read_bytes() == first


def _rows_at(minutes: list[int]) -> pa.Table:
    start = day_window(DAY).start_ms
    n = len(minutes)
    return pa.table(
        {
            "timestamp": pa.array([start + m * MINUTE_MS for m in minutes], pa.int64()),
            **{c: pa.array([1.0] * n) for c in ("open", "high", "low", "close", "volume")},
        }
    )


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        ([0, 1, 1, 2], "duplicate timestamp 2024-02-19T00:01:00Z"),
        ([0, 2, 1], "not sorted by timestamp at 2024-02-19T00:01:00Z"),
        ([-1, 0], "rows outside the covered window"),
        ([1439, 1440], "rows outside the covered window"),
    ],
)
def test_bad_rows_are_refused_and_nothing_is_written(
    writer: LakeWriter, tmp_path: Path, make_meta: MakeMeta, minutes: list[int], message: str
) -> None:
    table = _rows_at(minutes)
    with pytest.raises(ValueError, match=message):
        writer.write_day(SYMBOL, DAY, table, make_meta(SYMBOL, DAY, table),
                         exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    assert not (tmp_path / "ds").exists()


def test_rows_after_a_partial_window_are_refused(writer: LakeWriter, make_meta: MakeMeta) -> None:
    table = _rows_at([0, 1, 2])
    start = day_window(DAY).start_ms
    meta = make_meta(SYMBOL, DAY, table, window_end_ms=start + 2 * MINUTE_MS, complete=False)
    with pytest.raises(ValueError, match="last 2024-02-19T00:02:00Z"):
        writer.write_day(SYMBOL, DAY, table, meta, exchange_id="binance",
                         knowledge_time=KNOWLEDGE_TIME)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rows": 5}, "meta says 5 rows, the table has 3"),
        ({"symbol": "ETH_USDT"}, "meta describes ETH_USDT"),
        ({"day": dt.date(2024, 2, 20)}, "meta describes BTC_USDT 2024-02-20"),
        ({"window_end_ms": day_window(DAY).end_ms + 1}, "is not inside 2024-02-19"),
    ],
)
def test_meta_must_describe_the_table(
    writer: LakeWriter, make_meta: MakeMeta, change: dict[str, object], message: str
) -> None:
    table = _rows_at([0, 1, 2])
    with pytest.raises(ValueError, match=message):
        meta = dataclasses.replace(make_meta(SYMBOL, DAY, table), **change)
        writer.write_day(SYMBOL, DAY, table, meta, exchange_id="binance",
                         knowledge_time=KNOWLEDGE_TIME)  # fmt: skip


def test_table_shape_errors(writer: LakeWriter, make_meta: MakeMeta, make_klines: MakeKlines) -> None:
    base = make_klines(DAY, range(3))
    cases: list[tuple[pa.Table, str]] = [
        (base.drop_columns(["volume"]), "missing columns: volume"),
        (base.append_column("vwap", pa.array([1.0, 2.0, 3.0])), "unexpected columns: vwap"),
        (base.append_column("close_time", pa.array([1, 2, 3])), "partial kline columns"),
        (base.set_column(1, "open", pa.array([1.0, None, 3.0])), "open has 1 null"),
        (base.set_column(1, "open", pa.array(["x", "y", "z"])), "open cannot be stored"),
    ]
    for table, message in cases:
        with pytest.raises(ValueError, match=message):
            writer.write_day(SYMBOL, DAY, table, make_meta(SYMBOL, DAY, table),
                             exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    with pytest.raises(ValueError, match="timezone-aware"):
        writer.write_day(SYMBOL, DAY, base, make_meta(SYMBOL, DAY, base), exchange_id="binance",
                         knowledge_time=dt.datetime(2024, 2, 20))  # fmt: skip


def test_partition_columns_from_the_caller_are_dropped(
    writer: LakeWriter, make_meta: MakeMeta, make_klines: MakeKlines
) -> None:
    table = make_klines(DAY, range(3)).append_column("currency_pair", pa.array(["BTC_USDT"] * 3))
    path = writer.write_day(SYMBOL, DAY, table, make_meta(SYMBOL, DAY, table),
                            exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    assert "currency_pair" not in pq.read_schema(path).names


def test_empty_day_is_recorded(writer: LakeWriter, make_meta: MakeMeta, make_klines: MakeKlines) -> None:
    # A delisted symbol's day: no rows, but the file records that the day was looked at.
    table = make_klines(DAY, [])
    meta = make_meta(SYMBOL, DAY, table, gaps=[{"start_ms": 0, "end_ms": 1, "reason": "delisted"}])
    writer.write_day(SYMBOL, DAY, table, meta, exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)
    assert writer.read_meta(SYMBOL, DAY) == meta


class Crash(Exception):
    pass


def _write_good(writer: LakeWriter, make_klines: MakeKlines, make_meta: MakeMeta) -> bytes:
    table = make_klines(DAY, range(1440))
    path = writer.write_day(SYMBOL, DAY, table, make_meta(SYMBOL, DAY, table),
                            exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    return Path(path).read_bytes()


def test_crash_inside_serialisation_leaves_the_previous_file(
    writer: LakeWriter,
    tmp_path: Path,
    make_klines: MakeKlines,
    make_meta: MakeMeta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _write_good(writer, make_klines, make_meta)
    real_write_table = pq.write_table

    def crash_half_way(table: pa.Table, where: object, **kwargs: object) -> None:
        real_write_table(table.slice(0, 10), where, **kwargs)  # some bytes are out already
        raise Crash

    monkeypatch.setattr(writer_module.pq, "write_table", crash_half_way)
    table = make_klines(DAY, range(5), base=500.0)
    with pytest.raises(Crash):
        writer.write_day(SYMBOL, DAY, table, make_meta(SYMBOL, DAY, table),
                         exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    visible, hidden = visible_and_hidden(tmp_path / "ds")
    assert hidden == []
    assert (tmp_path / "ds" / visible[0]).read_bytes() == before


def test_crash_while_writing_the_file_leaves_the_previous_file(
    writer: LakeWriter,
    tmp_path: Path,
    make_klines: MakeKlines,
    make_meta: MakeMeta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _write_good(writer, make_klines, make_meta)
    seen_temp: list[str] = []

    def crash_before_rename(src: str, dst: str) -> None:
        seen_temp.append(src)
        assert os.path.getsize(src) > 0  # the new bytes were fully on disk, but not in place
        raise Crash

    monkeypatch.setattr(os, "replace", crash_before_rename)
    table = make_klines(DAY, range(5), base=500.0)
    with pytest.raises(Crash):
        writer.write_day(SYMBOL, DAY, table, make_meta(SYMBOL, DAY, table),
                         exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    assert seen_temp and os.path.basename(seen_temp[0]).startswith(".")
    assert not os.path.exists(seen_temp[0])
    visible, hidden = visible_and_hidden(tmp_path / "ds")
    assert hidden == []
    assert (tmp_path / "ds" / visible[0]).read_bytes() == before


def test_existing_days_lists_each_month_once(
    writer: LakeWriter, tmp_path: Path, make_klines: MakeKlines, make_meta: MakeMeta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    written = [dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2024, 2, 19)]
    for day in written:
        table = make_klines(day, range(3))
        writer.write_day(SYMBOL, day, table, make_meta(SYMBOL, day, table),
                         exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    # Noise that must not count: another symbol, a stray temp file, a torn file, a foreign file.
    table = make_klines(dt.date(2024, 2, 2), range(3))
    writer.write_day("ETH_USDT", dt.date(2024, 2, 2), table,
                     make_meta("ETH_USDT", dt.date(2024, 2, 2), table),
                     exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    month = tmp_path / "ds/currency_pair=BTC_USDT/year=2024/month=2"
    (month / ".2024-02-03.parquet.abc.tmp").write_bytes(b"partial")
    (month / "2024-02-04.parquet").write_bytes(b"torn write from a foreign tool")
    pq.write_table(make_klines(dt.date(2024, 2, 5), range(3)), month / "2024-02-05.parquet")

    listed: list[str] = []
    real_ls = writer._fs.ls

    def counting_ls(path: str, detail: bool = True, **kwargs: object) -> object:
        listed.append(path)
        return real_ls(path, detail=detail, **kwargs)

    monkeypatch.setattr(writer._fs, "ls", counting_ls)
    february = [dt.date(2024, 2, d) for d in range(1, 30)]
    found = writer.existing_days(SYMBOL, [dt.date(2024, 1, 30), dt.date(2024, 1, 31), *february,
                                          dt.date(2024, 3, 1)])  # fmt: skip
    assert sorted(found) == written
    assert all(isinstance(m, DayMeta) and m.rows == 3 for m in found.values())
    assert len(listed) == 3  # January, February, March


def test_footer_larger_than_the_first_read(
    writer: LakeWriter, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    # Many gaps make a footer longer than the single ranged read; it must still parse.
    table = make_klines(DAY, [0])
    gaps = [{"start_ms": i, "end_ms": i + 1, "reason": "x" * 40} for i in range(2000)]
    meta = make_meta(SYMBOL, DAY, table, gaps=gaps)
    path = writer.write_day(SYMBOL, DAY, table, meta, exchange_id="binance",
                            knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    assert len(pq.ParquetFile(path).metadata.metadata[META_KEY]) > 64 * 1024
    assert writer.read_meta(SYMBOL, DAY) == meta
    assert writer.existing_days(SYMBOL, [DAY]) == {DAY: meta}


def test_a_batch_of_days_gives_the_files_of_one_write_each_and_a_bad_day_fails_alone(
    tmp_path: Path, make_klines: MakeKlines, make_meta: MakeMeta
) -> None:
    days = [DAY + dt.timedelta(days=i) for i in range(3)]
    tables = [make_klines(d, range(0, 1440, 7), base=100.0 + i, full=True) for i, d in enumerate(days)]
    one_by_one = LakeWriter(DatasetLocation(str(tmp_path / "one")))
    for d, t in zip(days, tables, strict=True):
        one_by_one.write_day(
            SYMBOL, d, t, make_meta(SYMBOL, d, t), exchange_id="binance", knowledge_time=KNOWLEDGE_TIME
        )
    batch = LakeWriter(DatasetLocation(str(tmp_path / "batch")))
    writes = [
        writer_module.DayWrite(SYMBOL, d, t, make_meta(SYMBOL, d, t))
        for d, t in zip(days, tables, strict=True)
    ]
    batch.write_days(writes, exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)
    for d in days:
        assert batch.read_day(SYMBOL, d).equals(one_by_one.read_day(SYMBOL, d))

    close = tables[1].column("close").to_pylist()
    close[3] = None  # a null cannot be stored: that day fails, the others are written
    broken = tables[1].set_column(
        tables[1].schema.get_field_index("close"), "close", pa.array(close, pa.float64())
    )
    again = LakeWriter(DatasetLocation(str(tmp_path / "again")))
    writes[1] = dataclasses.replace(writes[1], table=broken)
    results = again.write_days(writes, exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)
    assert isinstance(results[1], ValueError) and "null" in str(results[1])
    assert [isinstance(r, str) for r in results] == [True, False, True]
    assert again.read_day(SYMBOL, days[0]).equals(one_by_one.read_day(SYMBOL, days[0]))
    assert again.read_day(SYMBOL, days[2]).equals(one_by_one.read_day(SYMBOL, days[2]))
