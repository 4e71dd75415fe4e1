"""`candlelake qa` and `repair` on a real lake with one injected problem of each kind.

The lake is downloaded from the simulator (universe v7.3, USD-M futures, three days), then
damaged: a hole a failed fetch left, a row breaking OHLC logic (written by the real writer,
so the ledger notices it at write time), a duplicated row, a row off the minute grid and a
truncated file (written around the writer, as another tool or a bad disk would), a deleted
day file and a universe symbol without any data. Expected rows come from the simulator's
ground truth.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import candlelake
from candlelake.lake import DatasetLocation, LakeWriter
from candlelake.lake.schema import DayMeta
from candlelake.simulator import SimConfig, Simulator
from integration.helpers import as_ohlcv, bulk_args, day_ms, expected_rows, lake_ohlcv, run_cli

pytestmark = pytest.mark.slow

SIGNATURE = "periodic_daily.manual.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0"
DATASET = "v3/" + SIGNATURE.replace(".", "/")
DAYS = ("2024-02-17", "2024-02-19")
KNOWLEDGE = dt.datetime(2024, 2, 20, tzinfo=dt.UTC)
FAILED = "failed after 8 attempts: HTTP 503"

# (symbol, day, check) of every failure QA must name, and nothing else.
EXPECTED = {
    ("BTC_USDT", "2024-02-18", "hole"),
    ("ETH_USDT", "2024-02-18", "ohlc"),
    ("DOGE_USDT", "2024-02-17", "duplicate"),
    ("SOL_USDT", "2024-02-19", "off_grid"),
    ("SOL_USDT", "2024-02-19", "hole"),  # the minute the off-grid row should have been
    ("XRP_USDT", "2024-02-18", "corrupt"),
    ("AVAX_USDT", "2024-02-18", "missing_file"),
    ("LINK_USDT", "", "no_data"),
}


@pytest.fixture(scope="module")
def clean_lake(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("qa") / "lake"
    start, end = f"{DAYS[0]}T00:00:00+00:00", f"{DAYS[1]}T23:59:00+00:00"
    args = bulk_args(
        sim_url=simulator.url, market="futures", universe="v7.3", start=start, end=end, dst=str(lake)
    )
    assert run_cli(args) == 0
    return lake


@pytest.fixture
def damaged_lake(clean_lake: Path, tmp_path: Path) -> Iterator[Path]:
    lake = tmp_path / "lake"
    shutil.copytree(clean_lake, lake)
    root = lake / DATASET
    writer = LakeWriter(DatasetLocation(str(root)))
    day = dt.date(2024, 2, 18)

    # A hole: an hour whose fetch failed, as the pipeline records it.
    table = writer.read_day("BTC_USDT", day)
    start, _ = day_ms("2024-02-18")
    hole = (start + 600 * 60_000, start + 660 * 60_000)
    ts = table.column("timestamp")
    kept = table.filter(pc.or_(pc.less(ts, hole[0]), pc.greater_equal(ts, hole[1])))
    meta = writer.read_meta("BTC_USDT", day)
    assert meta is not None
    gap = {"start_ms": hole[0], "end_ms": hole[1], "kind": "missing", "reason": FAILED}
    writer.write_day("BTC_USDT", day, kept, _meta(meta, kept.num_rows, [gap]), exchange_id="binance",
                     knowledge_time=KNOWLEDGE)  # fmt: skip

    # A bad OHLC row, written by the real writer (it checks layout, not prices).
    table = writer.read_day("ETH_USDT", day)
    high = table.column("high").to_pylist()
    high[100] = table.column("low")[100].as_py() - 1.0
    table = table.set_column(table.schema.get_field_index("high"), "high", pa.array(high))
    meta = writer.read_meta("ETH_USDT", day)
    assert meta is not None
    writer.write_day("ETH_USDT", day, table, meta, exchange_id="binance", knowledge_time=KNOWLEDGE)

    # A duplicate and an off-grid row, written around the writer (it would refuse them).
    _rewrite(root / "currency_pair=DOGE_USDT/year=2024/month=2/2024-02-17.parquet",
             lambda t: pa.concat_tables([t.slice(0, 11), t.slice(10)]))  # fmt: skip
    _rewrite(root / "currency_pair=SOL_USDT/year=2024/month=2/2024-02-19.parquet", _shift_row_5)
    # A truncated file, a deleted file and a universe symbol with no data at all.
    corrupt = root / "currency_pair=XRP_USDT/year=2024/month=2/2024-02-18.parquet"
    corrupt.write_bytes(corrupt.read_bytes()[:4000])
    (root / "currency_pair=AVAX_USDT/year=2024/month=2/2024-02-18.parquet").unlink()
    shutil.rmtree(root / "currency_pair=LINK_USDT")
    shutil.rmtree(root / "_ledger" / "currency_pair=LINK_USDT")
    yield lake


def _meta(meta: DayMeta, rows: int, gaps: list[dict[str, object]]) -> DayMeta:
    return DayMeta(meta.symbol, meta.day, meta.window_start_ms, meta.window_end_ms, rows, False, meta.source,
                   gaps=tuple(gaps))  # fmt: skip


def _rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    table = pq.read_table(path)
    pq.write_table(change(table).replace_schema_metadata(table.schema.metadata), path)


def _shift_row_5(table: pa.Table) -> pa.Table:
    ts = table.column("timestamp").to_pylist()
    ts[5] += 30_000
    return table.set_column(0, "timestamp", pa.array(ts, pa.int64()))


def _qa_json(lake: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = run_cli(["qa", "--lake", str(lake), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _failures(report: dict) -> set[tuple[str, str, str]]:
    return {(f["symbol"], f["day"], f["check"]) for f in report["findings"] if f["severity"] == "fail"}


def test_clean_lake_passes_from_the_ledger_alone(
    clean_lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _qa_json(clean_lake, capsys)
    assert code == 0, _failures(report)
    assert report["ok"] and report["failures"] == 0
    assert len(report["days"]) == 25 * 3
    assert report["days_from_ledger"] == 75 and report["days_from_files"] == 0
    assert {d["rows"] for d in report["days"]} == {1440}


def test_deep_qa_reads_every_file_and_agrees(clean_lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _qa_json(clean_lake, capsys, "--deep", "--signature", SIGNATURE)
    assert code == 0, _failures(report)
    assert report["days_from_files"] == 75


def test_qa_names_each_injected_problem_and_exits_1(
    damaged_lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _qa_json(damaged_lake, capsys)
    assert code == 1
    assert _failures(report) == EXPECTED
    days = {(d["symbol"], d["day"]): d for d in report["days"]}
    btc = days[("BTC_USDT", "2024-02-18")]
    assert btc["state"] == "problem"
    assert btc["rows"] == 1440 - 60 and btc["missing_minutes"] == {"failed": 60}
    assert days[("XRP_USDT", "2024-02-18")]["state"] == "corrupt"
    assert days[("AVAX_USDT", "2024-02-18")]["state"] == "missing_file"
    assert all(days[("LINK_USDT", d)]["state"] == "missing_file" for d in ("2024-02-17", "2024-02-19"))
    # The bad OHLC row was caught while the writer had it in memory: ledger, not a re-read.
    assert report["days_from_files"] == 3  # DOGE, SOL (rewritten around the writer) and XRP
    ohlc = next(f for f in report["findings"] if f["check"] == "ohlc")
    assert ohlc["first_ms"] == day_ms("2024-02-18")[0] + 100 * 60_000


def test_qa_table_for_people_names_the_problems(
    damaged_lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run_cli(["qa", "--lake", str(damaged_lake)]) == 1
    out = capsys.readouterr().out
    for symbol, day, check in EXPECTED:
        assert f"FAIL {symbol} {day} {check}".replace("  ", " ") in out.replace("  ", " ")
    assert "8 problem(s)" in out


def test_repair_fixes_what_it_can_and_qa_then_passes(
    damaged_lake: Path, simulator: Simulator, sim_config: SimConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = run_cli(["repair", "--lake", str(damaged_lake), "--rest-url", simulator.url, "--json"])
    outcome = json.loads(capsys.readouterr().out)
    assert code == 0, outcome["qa_after"]["findings"]
    repaired = {(r["first_day"], r["last_day"], s) for r in outcome["repaired"] for s in r["symbols"]}
    assert repaired == {
        ("2024-02-18", "2024-02-18", "BTC_USDT"),
        ("2024-02-18", "2024-02-18", "ETH_USDT"),
        ("2024-02-17", "2024-02-17", "DOGE_USDT"),
        ("2024-02-19", "2024-02-19", "SOL_USDT"),
        ("2024-02-18", "2024-02-18", "XRP_USDT"),
        ("2024-02-18", "2024-02-18", "AVAX_USDT"),
        ("2024-02-17", "2024-02-19", "LINK_USDT"),
    }
    code, report = _qa_json(damaged_lake, capsys)
    assert code == 0, _failures(report)
    # The repaired days hold exactly what the exchange has.
    dataset = str(damaged_lake / DATASET)
    for symbol, day in [("BTC_USDT", "2024-02-18"), ("SOL_USDT", "2024-02-19"), ("LINK_USDT", "2024-02-17"),
                        ("XRP_USDT", "2024-02-18"), ("DOGE_USDT", "2024-02-17")]:  # fmt: skip
        start, end = day_ms(day)
        truth = as_ohlcv(expected_rows(sim_config, "futures", symbol.replace("_", ""), start, end))
        table = candlelake.read(dataset, [symbol], day, day, as_="arrow")
        assert lake_ohlcv(table) == truth, (symbol, day)


def test_nothing_to_repair_on_a_clean_lake(
    clean_lake: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run_cli(["repair", "--lake", str(clean_lake), "--rest-url", simulator.url]) == 0
    assert "nothing to repair" in capsys.readouterr().out


def test_bad_qa_input_is_one_line_and_exit_2(clean_lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_cli(["qa", "--lake", str(clean_lake), "--start", "2024-02-30"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2024-02-30" in err[0]
    assert run_cli(["qa", "--lake", str(clean_lake), "--symbols", "BTC/USDT;rm -rf"]) == 2
    assert "BTC/USDT;rm -rf" in capsys.readouterr().err
    other = SIGNATURE.replace(".futures.", ".spot.").replace("v7_3", "v7")
    assert run_cli(["qa", "--lake", str(clean_lake), "--signature", other]) == 2
    assert "no dataset at" in capsys.readouterr().err


def test_html_report_renders_in_headless_chromium(damaged_lake: Path, tmp_path: Path) -> None:
    """The page, screenshotted by Debian's Chromium, shows the heatmap's colours and the charts."""
    from PIL import Image

    from candlelake.quality.html_report import COLORS, find_chromium

    try:
        find_chromium()
    except Exception as exc:
        if os.environ.get("CI"):  # .ci/run installs Chromium: CI never skips this
            raise
        pytest.skip(f"no Chromium on this machine ({exc}); .ci/run installs it")
    page, png = tmp_path / "report.html", tmp_path / "report.png"
    assert run_cli(["qa", "--lake", str(damaged_lake), "--html", str(page), "--png", str(png)]) == 1
    text = page.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # opens offline
    for symbol, day, check in EXPECTED - {("LINK_USDT", "", "no_data")}:
        assert f"{symbol} {day}" in text, (symbol, day, check)
    image = Image.open(png).convert("RGB")
    assert image.width >= 1200 and image.height >= 800
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20, "the screenshot is blank or nearly so"
    counts = {rgb: n for n, rgb in colours}

    def seen(hex_colour: str) -> int:
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return counts.get(rgb, 0)

    # Heatmap cells: complete days, problem days, the missing file, the corrupt file.
    for state in ("complete", "problem", "missing_file", "corrupt"):
        assert seen(COLORS[state][0]) >= 25, state
    # Candle bodies of the charts of problem days (rising and falling).
    assert seen("#26a69a") > 100 and seen("#ef5350") > 100
