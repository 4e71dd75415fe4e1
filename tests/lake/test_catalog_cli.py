"""`signature validate`, `universe list|show` and `show`, through typer's CliRunner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from candlelake.cli.catalog import register
from candlelake.errors import UsageError
from candlelake.lake import DayMeta, LakeWriter, open_dataset
from candlelake.signature import DatasetSignature

MakeKlines = Callable[..., pa.Table]
MakeMeta = Callable[..., DayMeta]

SIG = "periodic_daily.airflow.downloaded_1min.parquet.ohlcv.spot.v7.ccxt.binance.v1_0_0"
KNOWLEDGE_TIME = dt.datetime(2024, 2, 20, 0, 5, tzinfo=dt.UTC)


def invoke(*args: str) -> tuple[int, str]:
    """Run the commands as the real entry point does: a UsageError is one line and exit 2."""
    app = typer.Typer()
    app.callback()(lambda: None)  # keep sub-commands as sub-commands
    register(app)
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, UsageError):
        return 2, f"error: {result.exception}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture
def lake(tmp_path: Path, make_klines: MakeKlines, make_meta: MakeMeta) -> Path:
    writer = LakeWriter(open_dataset(str(tmp_path / "lake"), DatasetSignature.parse(SIG)))
    for symbol, base in (("BTC_USDT", 100.0), ("ETH_USDT", 10.0)):
        for day in (dt.date(2024, 2, 19), dt.date(2024, 2, 20)):
            table = make_klines(day, range(3), base=base)
            writer.write_day(symbol, day, table, make_meta(symbol, day, table),
                             exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    return tmp_path / "lake"


def test_signature_validate_prints_the_path_tokens() -> None:
    code, out = invoke("signature", "validate", SIG)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"valid: {SIG}"
    assert (
        lines[1]
        == "path: v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/spot/v7/ccxt/binance/v1_0_0"
    )
    assert [line.split() for line in lines[2:]] == [
        ["download_mode", "periodic_daily"], ["downloading_entity", "airflow"],
        ["action_tag", "downloaded_1min"], ["data_format", "parquet"], ["data_type", "ohlcv"],
        ["asset_type", "spot"], ["universe", "v7"], ["vendor", "ccxt"],
        ["exchange_id", "binance"], ["version", "v1_0_0"],
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (SIG.replace(".spot.", ".margin."), "invalid asset_type 'margin'"),
        (SIG.replace(".v7.", ".v6."), "invalid universe 'v6'"),
        ("periodic_daily.airflow", "malformed signature"),
    ],
)
def test_signature_validate_rejects(signature: str, message: str) -> None:
    code, out = invoke("signature", "validate", signature)
    assert code == 2
    assert message in out
    assert len(out.splitlines()) == 1


def test_universe_list() -> None:
    code, out = invoke("universe", "list")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    assert rows == [
        ["v7", "binance", "27"],
        ["v7", "binanceus", "19"],
        ["v7.3", "binance", "25"],
        ["v7.3", "binanceus", "19"],
        ["v7.3", "okx", "18"],
        ["coinm_v1", "binance", "2"],
    ]


def test_universe_show() -> None:
    code, out = invoke("universe", "show", "v7.3", "--exchange", "binance")
    assert code == 0
    symbols = out.split()
    assert len(symbols) == 25
    assert symbols[:3] == ["ETH_USDT", "BTC_USDT", "SAND_USDT"]
    assert symbols[-1] == "CTK_USDT"
    code, out = invoke("universe", "show", "v7.9")
    assert (code, out) == (2, "error: unknown universe 'v7.9' for vendor ccxt; available: v7, v7.3, coinm_v1")


def test_show_table(lake: Path) -> None:
    code, out = invoke("show", "--lake", str(lake), "--signature", SIG, "--symbols", "ETH_USDT",
                       "--start", "2024-02-20")  # fmt: skip
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()[1:-1]]
    assert [row[:4] for row in rows] == [
        ["2024-02-20", "00:00", "ETH_USDT", "10.0"],
        ["2024-02-20", "00:01", "ETH_USDT", "11.0"],
        ["2024-02-20", "00:02", "ETH_USDT", "12.0"],
    ]
    assert rows[0][-3:] == ["binance", "2024-02-20", "00:05:00"]
    assert "BTC_USDT" not in out
    assert out.rstrip().endswith("3 rows")


def test_show_csv_to_stdout_from_the_dataset_path(lake: Path) -> None:
    dataset = lake / DatasetSignature.parse(SIG).relative_path()
    code, out = invoke("show", "--lake", str(dataset), "--format", "csv", "--end", "2024-02-19")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split(",")[:3] == ['"currency_pair"', '"timestamp"', '"open"']
    assert len(lines) == 1 + 2 * 3
    assert lines[1].startswith('"BTC_USDT",1708300800000,100,')


def test_show_exports_parquet_and_csv_files(lake: Path, tmp_path: Path) -> None:
    target = tmp_path / "slice.parquet"
    code, out = invoke("show", "--lake", str(lake), "--signature", SIG, "--format", "parquet",
                       "--output", str(target), "--symbols", "BTC_USDT,ETH_USDT")  # fmt: skip
    assert code == 0, out
    table = pq.read_table(target)
    assert table.num_rows == 12
    assert table.column_names[0] == "currency_pair"
    assert "year" not in table.column_names
    csv_target = tmp_path / "slice.csv"
    code, out = invoke("show", "--lake", str(lake), "--signature", SIG, "--format", "csv",
                       "--output", str(csv_target), "--limit", "4")  # fmt: skip
    assert code == 0, out
    assert pcsv.read_csv(csv_target).column("open").to_pylist() == [100.0, 101.0, 102.0, 100.0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "parquet"], "--format parquet needs --output FILE"),
        (["--start", "2024-03-01", "--end", "2024-02-01"], "is after end"),
        (["--symbols", "btc"], "bad symbol 'btc'"),
    ],
)
def test_show_usage_errors(lake: Path, extra: list[str], message: str) -> None:
    code, out = invoke("show", "--lake", str(lake), "--signature", SIG, *extra)
    assert code == 2
    assert message in out


def test_show_missing_dataset(tmp_path: Path) -> None:
    code, out = invoke("show", "--lake", str(tmp_path), "--signature", SIG)
    assert code == 2
    assert out.startswith("error: no dataset at ")


def test_show_on_s3(s3_bucket: str, make_klines: MakeKlines, make_meta: MakeMeta) -> None:
    writer = LakeWriter(open_dataset(s3_bucket, DatasetSignature.parse(SIG)))
    day = dt.date(2024, 2, 19)
    table = make_klines(day, range(5), base=7.0)
    writer.write_day("SOL_USDT", day, table, make_meta("SOL_USDT", day, table),
                     exchange_id="binance", knowledge_time=KNOWLEDGE_TIME)  # fmt: skip
    code, out = invoke("show", "--lake", s3_bucket, "--signature", SIG, "--format", "csv")
    assert code == 0, out
    assert [line.split(",")[2] for line in out.splitlines()[1:]] == ["7", "8", "9", "10", "11"]
