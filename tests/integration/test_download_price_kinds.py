"""Mark, index and premium-index klines: from the archive and over REST, equal to the simulator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

import candlelake
from candlelake.simulator import SimConfig, Simulator, truth

from .helpers import bulk_args, day_ms, run_cli

SYMBOL = "ETHUSDT"  # the first of the futures universe v7 (`--universe_part 1 1`)
# data type -> Binance's name of the series (REST endpoint and archive folder)
KINDS = {
    "mark_price": "markPriceKlines",
    "index_price": "indexPriceKlines",
    "premium_index": "premiumIndexKlines",
}
FIELDS = (
    ("timestamp", 0, int), ("open", 1, float), ("high", 2, float), ("low", 3, float), ("close", 4, float),
    ("volume", 5, float), ("close_time", 6, int), ("number_of_trades", 8, int),
)  # fmt: skip


def dataset(root: Path, data_type: str) -> str:
    return str(
        root
        / f"v3/periodic_daily/manual/downloaded_1min/parquet/{data_type}/futures/v7/binance/binance/v1_0_0"
    )


def as_rows(rows: list[list]) -> list[tuple]:
    return [tuple(conv(r[i]) for _, i, conv in FIELDS) for r in rows]


def lake_rows(table: pa.Table) -> list[tuple]:
    return list(zip(*(table.column(name).to_pylist() for name, _, _ in FIELDS), strict=True))


def download(server, lake: Path, data_type: str, start: str, end: str, *extra: str) -> tuple[int, dict]:
    report = lake.parent / f"report-{data_type}.json"
    args = bulk_args(
        sim_url=server.url, market="futures", vendor="binance", start=start, end=end, dst=str(lake)
    )
    args[args.index("--data_type") + 1] = data_type
    args += ["--archive_url", server.url, "--universe_part", "1", "1", "--report_json", str(report), *extra]
    code = run_cli(args)
    return code, json.loads(report.read_text())


@pytest.mark.parametrize("data_type", sorted(KINDS))
def test_a_price_kind_from_the_archive_and_over_rest_equals_its_truth(tmp_path: Path, data_type: str) -> None:
    cfg = SimConfig(seed=41, clock="frozen:2024-03-20T12:00:00Z")
    start, end = day_ms("2024-01-30")[0], day_ms("2024-03-02")[1]
    with Simulator(cfg) as server:
        code, report = download(
            server, tmp_path / "archive", data_type, "2024-01-30T00:00:00+00:00", "2024-03-02T23:59:00+00:00"
        )
        assert code == 0
        sources = report["symbols"][0]["sources"]
        assert sources["2024-02-10"] == "archive:monthly" and sources["2024-03-01"] == "archive:daily"
        code, report = download(
            server,
            tmp_path / "rest",
            data_type,
            "2024-03-19T00:00:00+00:00",
            "2024-03-20T10:59:00+00:00",
            "--no_archive",
        )
        assert code == 0
        assert set(report["symbols"][0]["sources"].values()) == {"rest"}
    want = truth.klines(
        cfg, market="futures", symbol=SYMBOL, start_ms=start, end_ms=end - 1, kind=KINDS[data_type]
    )
    assert len(want) == 33 * 1440
    got = candlelake.read(dataset(tmp_path / "archive", data_type), ["ETH_USDT"], as_="arrow").sort_by(
        "timestamp"
    )
    assert lake_rows(got) == as_rows(want)
    rest_start, rest_end = day_ms("2024-03-19")[0], day_ms("2024-03-20")[0] + 11 * 3_600_000
    want = truth.klines(
        cfg,
        market="futures",
        symbol=SYMBOL,
        start_ms=rest_start,
        end_ms=rest_end - 1,
        kind=KINDS[data_type],
    )
    got = candlelake.read(dataset(tmp_path / "rest", data_type), ["ETH_USDT"], as_="arrow").sort_by(
        "timestamp"
    )
    assert len(want) == 1440 + 660
    assert lake_rows(got) == as_rows(want)


def test_the_kinds_differ_from_each_other_and_from_the_trade_candles() -> None:
    cfg = SimConfig(seed=41, clock="frozen:2024-03-03T12:00:00Z")
    start, end = day_ms("2024-03-01")
    closes = {
        kind: [
            r[4]
            for r in truth.klines(
                cfg, market="futures", symbol="BTCUSDT", start_ms=start, end_ms=end - 1, kind=kind
            )
        ]
        for kind in ("klines", *KINDS.values())
    }
    assert len({tuple(c) for c in closes.values()}) == 4
    premium = [float(c) for c in closes["premiumIndexKlines"]]
    assert min(premium) < 0 < max(premium) and max(abs(p) for p in premium) < 0.01


@pytest.mark.parametrize("data_type", [*sorted(KINDS), "funding_rate"])
def test_a_derivative_series_on_spot_is_a_usage_error_and_writes_nothing(
    tmp_path: Path, capsys, data_type: str
) -> None:
    args = bulk_args(
        sim_url="http://127.0.0.1:9", market="spot", start="2024-03-01T00:00:00+00:00",
        end="2024-03-01T00:09:00+00:00", dst=str(tmp_path / "lake"),
    )  # fmt: skip
    args[args.index("--data_type") + 1] = data_type
    assert run_cli(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--data_type {data_type!r}" in err[0] and "spot" in err[0]
    assert not (tmp_path / "lake").exists()


def test_mark_price_in_hours_from_the_archive_and_over_rest_equals_its_truth(tmp_path: Path) -> None:
    cfg = SimConfig(seed=42, clock="frozen:2024-03-20T12:00:00Z")
    with Simulator(cfg) as server:
        runs = {}
        for name, extra in (("archive", ()), ("rest", ("--no_archive",))):
            lake = tmp_path / name
            report = tmp_path / f"{name}.json"
            args = bulk_args(
                sim_url=server.url, market="futures", vendor="binance", start="2024-03-01T00:00:00+00:00",
                end="2024-03-03T23:59:00+00:00", dst=str(lake),
            )  # fmt: skip
            args[args.index("--data_type") + 1] = "mark_price"
            args[args.index("--action_tag") + 1] = "downloaded_1hour"
            args += ["--interval", "1h", "--archive_url", server.url, "--universe_part", "1", "1"]
            assert run_cli([*args, "--report_json", str(report), *extra]) == 0
            runs[name] = json.loads(report.read_text())["symbols"][0]["sources"]
    assert set(runs["archive"].values()) == {"archive:daily"} and set(runs["rest"].values()) == {"rest"}
    start, end = day_ms("2024-03-01")[0], day_ms("2024-03-03")[1]
    want = truth.klines(cfg, "futures", SYMBOL, start, end - 1, interval="1h", kind="markPriceKlines")
    assert len(want) == 72
    for name in runs:
        root = tmp_path / name / "v3/periodic_daily/manual/downloaded_1hour/parquet/mark_price/futures/v7"
        got = candlelake.read(str(root / "binance/binance/v1_0_0"), ["ETH_USDT"], as_="arrow").sort_by(
            "timestamp"
        )
        assert lake_rows(got) == as_rows(want)
