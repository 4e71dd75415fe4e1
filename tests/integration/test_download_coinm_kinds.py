"""COIN-M mark, index and premium-index klines and funding rates: from the simulator, over REST
and from the archive, equal to the truth; a delivery contract's bars after delivery are
excluded, and it settles no funding; a perpetual's three series read aligned and pass QA."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pyarrow as pa
import pytest

import candlelake
from candlelake.engine import download as run_download
from candlelake.errors import UsageError
from candlelake.job import DownloadJob
from candlelake.settings import RestSettings
from candlelake.signature import DatasetSignature
from candlelake.simulator import SimConfig, Simulator, truth
from candlelake.timeutil import Window, fmt_ms

from .helpers import bulk_args, day_ms, run_cli
from .test_download_price_kinds import KINDS, as_rows, lake_rows

HOUR_MS = 3_600_000
CFG = SimConfig(
    seed=44,
    clock="frozen:2025-07-20T00:00:00Z",
    missing_funding=("coin_futures:BTCUSD_PERP:2025-06-10T08", "coin_futures:BTCUSD_PERP:2025-07-02T16"),
)
# Before the quarterly's delivery (2025-06-27T08:00Z), so that `all` lists it.
BEFORE_DELIVERY = SimConfig(seed=45, clock="frozen:2025-06-26T00:00:00Z")


def download(
    server: Simulator,
    lake: Path,
    data_type: str,
    start: str,
    end: str,
    *extra: str,
    tag: str = "downloaded_1min",
) -> tuple[int, dict]:
    """`download-bulk --contract_type coin_futures --universe all`, part 1 of size 1 unless `extra` says."""
    report = lake.parent / f"report-{lake.name}.json"
    args = bulk_args(
        sim_url=server.url, market="coin_futures", universe="all", vendor="binance", start=start, end=end,
        dst=str(lake),
    )  # fmt: skip
    args[args.index("--data_type") + 1] = data_type
    args[args.index("--action_tag") + 1] = tag
    args += ["--archive_url", server.url, "--report_json", str(report), *extra]
    code = run_cli(args)
    return code, json.loads(report.read_text())


def read(lake: Path, data_type: str, symbol: str, tag: str = "downloaded_1min") -> pa.Table:
    root = (
        lake / f"v3/periodic_daily/manual/{tag}/parquet/{data_type}/coin_futures/all/binance/binance/v1_0_0"
    )
    return candlelake.read(str(root), [symbol], as_="arrow").sort_by("timestamp")


@pytest.mark.parametrize("data_type", sorted(KINDS))
@pytest.mark.parametrize("path", ["rest", "archive"])
def test_a_coinm_price_kind_equals_its_truth(tmp_path: Path, data_type: str, path: str) -> None:
    # At the clock the trading contracts are BTC_USD_PERP and ETH_USD_PERP: part 1 1 is BTC_USD_PERP.
    lake = tmp_path / path
    extra = ("--no_archive",) if path == "rest" else ()
    with Simulator(CFG) as server:
        code, report = download(
            server, lake, data_type, "2025-06-30T00:00:00+00:00", "2025-07-01T23:59:00+00:00",
            "--universe_part", "1", "1", *extra,
        )  # fmt: skip
    assert code == 0, report
    entry = report["symbols"][0]
    assert entry["symbol"] == "BTC_USD_PERP" and entry["missing"] == []
    want = {"rest": {"rest"}, "archive": {"archive:daily"}}[path]
    assert set(entry["sources"].values()) == want
    start, end = day_ms("2025-06-30")[0], day_ms("2025-07-01")[1]
    rows = truth.klines(CFG, "coin_futures", "BTCUSD_PERP", start, end - 1, kind=KINDS[data_type])
    assert len(rows) == 2 * 1440
    assert lake_rows(read(lake, data_type, "BTC_USD_PERP")) == as_rows(rows)


def test_the_coinm_index_is_the_pair_s_and_differs_from_the_mark_price() -> None:
    start, end = day_ms("2025-06-20")
    index = {
        s: truth.klines(CFG, "coin_futures", s, start, end - 1, kind="indexPriceKlines")
        for s in ("BTCUSD_PERP", "BTCUSD_250627")
    }
    assert index["BTCUSD_PERP"] == index["BTCUSD_250627"] and len(index["BTCUSD_PERP"]) == 1440
    mark = truth.klines(CFG, "coin_futures", "BTCUSD_250627", start, end - 1, kind="markPriceKlines")
    assert [r[4] for r in mark] != [r[4] for r in index["BTCUSD_250627"]]


def _job(server: Simulator, lake: Path, data_type: str, symbol: str, window: Window, tag: str) -> DownloadJob:
    signature = DatasetSignature.parse(
        f"periodic_daily.manual.{tag}.parquet.{data_type}.coin_futures.all.binance.binance.v1_0_0"
    )
    return DownloadJob(
        market="coin_futures",
        symbols=(symbol,),
        window=window,
        lake_url=str(lake),
        signature=signature,
        vendor="binance",
        explicit_symbols=True,
        rest=RestSettings(base_url=server.url),
        archive_url=server.url,
        interval="1h" if tag == "downloaded_1hour" else "1m",
    )


@pytest.mark.parametrize("path", ["rest", "archive"])
def test_a_delivery_contract_s_mark_price_ends_at_its_delivery(tmp_path: Path, path: str) -> None:
    lake = tmp_path / "lake"
    window = Window(day_ms("2025-06-26")[0], day_ms("2025-06-28")[1])
    delivered = truth.symbol_info(CFG, "coin_futures", "BTCUSD_250627")["delisted_ms"]
    with Simulator(CFG) as server:
        job = _job(server, lake, "mark_price", "BTC_USD_250627", window, "downloaded_1hour")
        if path == "rest":
            job = dataclasses.replace(job, use_archive=False)
        report = asyncio.run(run_download(job)).to_dict()
    entry = report["symbols"][0]
    rows = truth.klines(
        CFG, "coin_futures", "BTCUSD_250627", window.start_ms, window.end_ms - 1, "1h", kind="markPriceKlines"
    )
    assert len(rows) == 24 + 8 and entry["rows_written"] == len(rows) and entry["missing"] == []
    assert set(entry["sources"].values()) == ({"rest"} if path == "rest" else {"archive:daily"})
    (gap,) = entry["excluded"]
    assert gap["start_ms"] == delivered and gap["reason"] == f"delivered (last candle {fmt_ms(rows[-1][0])})"
    got = read(lake, "mark_price", "BTC_USD_250627", "downloaded_1hour")
    assert lake_rows(got) == as_rows(rows)


def test_coinm_funding_from_the_archive_and_over_rest_equals_truth_and_explains_every_missing_settlement(
    tmp_path: Path,
) -> None:
    start, end = day_ms("2025-05-01")[0], day_ms("2025-07-05")[1]
    want = [
        (int(t), float(r), int(h))
        for t, r, h in truth.funding(CFG, "BTCUSD_PERP", start, end - 1, "coin_futures")
    ]
    # Every 4 h (the simulator's schedule since 2024-06-01), two not published.
    assert len(want) == 66 * 6 - 2 and {h for _, _, h in want} == {4}
    runs = {}
    with Simulator(CFG) as server:
        for path in ("archive", "rest"):
            extra = ("--universe_part", "1", "1", *(("--no_archive",) if path == "rest" else ()))
            code, runs[path] = download(
                server, tmp_path / path, "funding_rate", "2025-05-01T00:00:00+00:00",
                "2025-07-05T23:59:00+00:00", *extra, tag="downloaded_all",
            )  # fmt: skip
            assert code == 0, runs[path]
    assert runs["archive"]["symbols"][0]["sources"] == {
        "2025-05-01": "archive:monthly",
        "2025-06-01": "archive:monthly",
        "2025-07-01": "rest",
    }
    assert set(runs["rest"]["symbols"][0]["sources"].values()) == {"rest"}
    for path, run in runs.items():
        table = read(tmp_path / path, "funding_rate", "BTC_USD_PERP", "downloaded_all")
        cols = ("timestamp", "funding_rate", "funding_interval_hours")
        assert list(zip(*(table.column(c).to_pylist() for c in cols), strict=True)) == want
        missing = run["symbols"][0]["missing"]
        assert [m["start_ms"] for m in missing] == [
            day_ms("2025-06-10")[0] + 8 * HOUR_MS,
            day_ms("2025-07-02")[0] + 16 * HOUR_MS,
        ]
        assert all("no funding settlement published at its due time" in m["reason"] for m in missing)
    # QA accounts for every settlement of the whole months, the two missing ones by their reason.
    root = tmp_path / "archive/v3/periodic_daily/manual/downloaded_all/parquet/funding_rate/coin_futures/all"
    qa = [
        "qa",
        "--lake",
        str(root / "binance/binance/v1_0_0"),
        "--start",
        "2025-05-01",
        "--end",
        "2025-06-30",
    ]
    assert run_cli(qa) == 0


def test_a_delivery_contract_settles_no_funding(tmp_path: Path) -> None:
    # `all` lists the quarterly: it is excluded with the reason; the perpetuals are downloaded.
    with Simulator(BEFORE_DELIVERY) as server:
        code, report = download(
            server, tmp_path / "lake", "funding_rate", "2025-06-20T00:00:00+00:00",
            "2025-06-21T23:59:00+00:00", "--assert_on_missing_data", tag="downloaded_all",
        )  # fmt: skip
    assert code == 0, report
    by_symbol = {s["symbol"]: s for s in report["symbols"]}
    assert sorted(by_symbol) == ["BTC_USD_250627", "BTC_USD_PERP", "ETH_USD_PERP"]
    quarterly = by_symbol["BTC_USD_250627"]
    assert quarterly["rows_written"] == 0 and quarterly["missing"] == []
    assert [g["reason"] for g in quarterly["excluded"]] == [
        "delivery contract: only perpetuals settle funding"
    ]
    start, end = day_ms("2025-06-20")[0], day_ms("2025-06-21")[1]
    for symbol in ("BTC_USD_PERP", "ETH_USD_PERP"):
        want = truth.funding(BEFORE_DELIVERY, symbol.replace("_", "", 1), start, end - 1, "coin_futures")
        assert by_symbol[symbol]["rows_written"] == len(want) == 12
    assert not list((tmp_path / "lake").rglob("currency_pair=BTC_USD_250627"))


def test_funding_on_a_named_delivery_contract_is_a_usage_error(tmp_path: Path) -> None:
    with Simulator(CFG) as server, pytest.raises(UsageError) as err:
        _job(
            server, tmp_path / "lake", "funding_rate", "BTC_USD_250627", Window(0, HOUR_MS), "downloaded_all"
        )
    assert str(err.value) == (
        "--data_type 'funding_rate' is for perpetuals only: BTC_USD_250627 is a delivery contract, "
        "which settles no funding; use BTC_USD_PERP"
    )
    assert not (tmp_path / "lake").exists()


def test_a_coinm_perpetual_s_candles_mark_price_and_funding_read_aligned(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with Simulator(BEFORE_DELIVERY) as server:
        for data_type, tag, start in (
            ("ohlcv", "downloaded_1min", "2025-06-24T00:00:00+00:00"),
            ("mark_price", "downloaded_1min", "2025-06-24T00:00:00+00:00"),
            ("funding_rate", "downloaded_all", "2025-06-23T00:00:00+00:00"),
        ):
            code, report = download(
                server, lake, data_type, start, "2025-06-24T23:59:00+00:00", "--no_archive",
                "--universe_part", "1", "2", tag=tag,
            )  # fmt: skip
            assert code == 0 and report["symbols"][0]["symbol"] == "BTC_USD_PERP"
    start, end = day_ms("2025-06-24")
    frame = candlelake.read_aligned(str(lake), ["BTC_USD_PERP"], start, end - 1, market="coin_futures")
    candles = truth.klines(BEFORE_DELIVERY, "coin_futures", "BTCUSD_PERP", start, end - 1)
    marks = truth.klines(
        BEFORE_DELIVERY, "coin_futures", "BTCUSD_PERP", start, end - 1, kind="markPriceKlines"
    )
    funding = truth.funding(BEFORE_DELIVERY, "BTCUSD_PERP", start - 24 * HOUR_MS, end, "coin_futures")
    assert frame["timestamp"].tolist() == [r[0] for r in candles] and len(candles) == 1440
    assert frame["mark_close"].tolist() == [float(r[4]) for r in marks]
    last = [[f for f in funding if f[0] - f[0] % 60_000 <= t][-1][0] for t in frame["timestamp"]]
    assert frame["funding_timestamp"].tolist() == last
    root = (
        lake / "v3/periodic_daily/manual/downloaded_1min/parquet/mark_price/coin_futures/all/binance/binance"
    )
    assert run_cli(["qa", "--lake", str(root / "v1_0_0"), "--symbols", "BTC_USD_PERP"]) == 0
