"""Readers fail well (items 6, 7) and two writers of one day both keep their rows (item 15)."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import candlelake
from candlelake.cli.main import main
from candlelake.errors import UnreadableFile
from candlelake.lake import DatasetLocation, LakeWriter
from candlelake.lake.schema import DayMeta
from candlelake.timeutil import MINUTE_MS, Window, day_window

DAY = dt.date(2024, 2, 19)
SYMBOL = "BTC_USDT"
KNOWN = dt.datetime(2024, 2, 20, tzinfo=dt.UTC)


def candles(day: dt.date, minutes: range) -> pa.Table:
    start = day_window(day).start_ms
    opens = [100.0 + m for m in minutes]
    return pa.table({
        "timestamp": pa.array([start + m * MINUTE_MS for m in minutes], pa.int64()),
        "open": opens, "high": [o + 2 for o in opens], "low": [o - 1 for o in opens],
        "close": [o + 0.5 for o in opens], "volume": [float(m) for m in minutes],
    })  # fmt: skip


def write_part(writer: LakeWriter, day: dt.date, minutes: range, *, complete: bool = True) -> None:
    """Write the minutes `minutes` of `day` as a run over just that part would."""
    start = day_window(day).start_ms
    window = Window(start + minutes.start * MINUTE_MS, start + minutes.stop * MINUTE_MS)
    table = candles(day, minutes)
    meta = DayMeta(SYMBOL, day, window.start_ms, window.end_ms, table.num_rows, complete, "rest")
    writer.write_day(SYMBOL, day, table, meta, exchange_id="binance", knowledge_time=KNOWN)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    writer = LakeWriter(DatasetLocation(str(tmp_path / "ds")))
    for day in (DAY - dt.timedelta(days=1), DAY):
        write_part(writer, day, range(1440))
    return tmp_path / "ds"


def test_read_names_an_unreadable_file_and_can_skip_it(lake: Path) -> None:
    (bad,) = lake.rglob(f"{DAY}.parquet")
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(UnreadableFile, match=f"cannot read lake file {bad}"):
        candlelake.read(str(lake), [SYMBOL])
    with pytest.warns(UserWarning, match=f"skipping unreadable lake file {bad}"):
        frame = candlelake.read(str(lake), [SYMBOL], on_error="skip")
    assert len(frame) == 1440 and frame.index.min() == dt.datetime(2024, 2, 18, tzinfo=dt.UTC)


def test_show_prints_one_line_and_exits_1_on_an_unreadable_file(
    lake: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (bad,) = lake.rglob(f"{DAY}.parquet")
    bad.write_bytes(b"PAR1 garbage PAR1")
    assert main(["show", "--lake", str(lake), "--symbols", SYMBOL]) == 1
    out, err = capfd.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        f"error: cannot read lake file {bad}: " + err.split(": ", 2)[2].strip()
    ]


def test_a_wrong_day_file_never_gives_duplicate_timestamps(lake: Path) -> None:
    (today,) = lake.rglob(f"{DAY}.parquet")
    shutil.copyfile(today.with_name(f"{DAY - dt.timedelta(days=1)}.parquet"), today)
    with pytest.warns(UserWarning, match="dropped 1440 repeated"):
        frame = candlelake.read(str(lake), [SYMBOL])
    assert frame.index.is_unique and len(frame) == 1440


def test_two_writers_of_different_halves_of_one_day_keep_both(tmp_path: Path) -> None:
    # Both runs planned the day as absent; whichever writes second must keep the other's half.
    first, second = (LakeWriter(DatasetLocation(str(tmp_path / "ds"))) for _ in range(2))
    write_part(first, DAY, range(720))
    write_part(second, DAY, range(720, 1440))
    table = pq.read_table(next((tmp_path / "ds").rglob("*.parquet")))
    assert table.column("timestamp").to_pylist() == candles(DAY, range(1440)).column("timestamp").to_pylist()
    meta = LakeWriter(DatasetLocation(str(tmp_path / "ds"))).read_meta(SYMBOL, DAY)
    assert meta is not None and meta.complete and meta.rows == 1440
    assert (meta.window_start_ms, meta.window_end_ms) == (day_window(DAY).start_ms, day_window(DAY).end_ms)


def test_a_hole_between_two_runs_is_recorded_not_hidden(tmp_path: Path) -> None:
    writer = LakeWriter(DatasetLocation(str(tmp_path / "ds")))
    write_part(writer, DAY, range(0, 600))
    write_part(writer, DAY, range(900, 1440))
    meta = writer.read_meta(SYMBOL, DAY)
    assert meta is not None and not meta.complete and meta.rows == 1140
    start = day_window(DAY).start_ms
    assert [(g["start_ms"], g["end_ms"], g["kind"]) for g in meta.gaps] == [
        (start + 600 * MINUTE_MS, start + 900 * MINUTE_MS, "missing")
    ]


@pytest.mark.parametrize("where", ["local", "s3"])
def test_many_concurrent_writers_of_one_day_lose_no_rows(where: str, tmp_path: Path, request) -> None:
    url = str(tmp_path / "ds") if where == "local" else request.getfixturevalue("s3_bucket") + "/ds"
    parts = [range(i * 144, (i + 1) * 144) for i in range(10)]
    errors: list[BaseException] = []

    def run(part: range) -> None:
        try:
            write_part(LakeWriter(DatasetLocation(url)), DAY, part)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    table = LakeWriter(DatasetLocation(url)).read_day(SYMBOL, DAY)
    assert table.column("timestamp").to_pylist() == candles(DAY, range(1440)).column("timestamp").to_pylist()
