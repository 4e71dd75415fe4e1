"""Funding rates: archive months and REST equal the simulator's truth; every missing
settlement and the 8 h -> 4 h schedule change are explained; the real sample is ingested exactly."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import candlelake
from candlelake.simulator import SimConfig, Simulator, truth

from .helpers import REALDATA, bulk_args, day_ms, run_cli

HOUR_MS = 3_600_000


def dataset(root: Path) -> Path:
    tokens = "periodic_daily/manual/downloaded_all/parquet/funding_rate/futures/v7/binance/binance/v1_0_0"
    return root / "v3" / tokens


def download(server, lake: Path, start: str, end: str, part: str, *extra: str) -> tuple[int, dict]:
    report = lake.parent / f"report-{lake.name}.json"
    args = bulk_args(
        sim_url=server.url, market="futures", vendor="binance", start=start, end=end, dst=str(lake)
    )
    args[args.index("--data_type") + 1] = "funding_rate"
    args[args.index("--action_tag") + 1] = "downloaded_all"
    args += ["--archive_url", server.url, "--universe_part", "1", part, "--report_json", str(report), *extra]
    code = run_cli(args)
    return code, json.loads(report.read_text())


def lake_rows(lake: Path, symbol: str) -> list[tuple]:
    table = candlelake.read(str(dataset(lake)), [symbol], as_="arrow")
    cols = ("timestamp", "funding_rate", "funding_interval_hours")
    return list(zip(*(table.column(c).to_pylist() for c in cols), strict=True))


def as_rows(rows: list[list]) -> list[tuple]:
    return [(int(t), float(rate), int(hours)) for t, rate, hours in rows]


CFG = SimConfig(
    seed=51,
    clock="frozen:2024-07-10T12:00:00Z",
    funding_4h_from="2024-06-15T00:00:00Z",
    missing_funding=(
        "futures:ETHUSDT:2024-05-20T08",
        "futures:ETHUSDT:2024-06-20T12",
        "futures:ETHUSDT:2024-07-02T04",
    ),
)
MISSING = ("2024-05-20T08:00", "2024-06-20T12:00", "2024-07-02T04:00")


def test_funding_from_the_archive_and_over_rest_equals_truth_and_explains_every_missing_settlement(
    tmp_path: Path,
) -> None:
    start, end = day_ms("2024-05-01")[0], day_ms("2024-07-09")[1]
    want = as_rows(truth.funding(CFG, "ETHUSDT", start, end - 1))
    # 8 h until 2024-06-15 00:00 (that settlement closes an 8 h period), then 4 h; three dropped.
    assert len(want) == 45 * 3 + 1 + (25 * 6 - 1) - 3
    assert {h for _, _, h in want} == {8, 4}
    with Simulator(CFG) as server:
        code, report = download(
            server, tmp_path / "archive", "2024-05-01T00:00:00+00:00", "2024-07-09T23:59:00+00:00", "1"
        )
        assert code == 0
        code, rest_report = download(
            server,
            tmp_path / "rest",
            "2024-05-01T00:00:00+00:00",
            "2024-07-09T23:59:00+00:00",
            "1",
            "--no_archive",
        )
        assert code == 0
    sources = report["symbols"][0]["sources"]
    assert sources == {"2024-05-01": "archive:monthly", "2024-06-01": "archive:monthly", "2024-07-01": "rest"}
    assert set(rest_report["symbols"][0]["sources"].values()) == {"rest"}
    for run, lake in ((report, tmp_path / "archive"), (rest_report, tmp_path / "rest")):
        assert lake_rows(lake, "ETH_USDT") == want
        missing = run["symbols"][0]["missing"]
        assert [m["start_ms"] for m in missing] == [
            day_ms(t[:10])[0] + int(t[11:13]) * HOUR_MS for t in MISSING
        ]
        assert all("no funding settlement published at its due time" in m["reason"] for m in missing)
        # Due every 8 h in May, every 4 h after the change.
        assert [m["reason"].split("(")[1] for m in missing] == [
            "8 h after the previous)",
            "4 h after the previous)",
            "4 h after the previous)",
        ]
    # Published times keep their ms jitter; one file per month.
    assert any(t % 60_000 for t, _, _ in want)
    files = sorted(
        p.relative_to(dataset(tmp_path / "archive")).as_posix()
        for p in dataset(tmp_path / "archive").rglob("*.parquet")
    )
    assert files == [f"currency_pair=ETH_USDT/year=2024/month={m}/2024-0{m}.parquet" for m in (5, 6, 7)]


def test_a_second_run_is_idempotent(tmp_path: Path) -> None:
    with Simulator(CFG) as server:
        for _ in range(2):
            code, _ = download(
                server, tmp_path / "lake", "2024-06-10T00:00:00+00:00", "2024-06-20T23:59:00+00:00", "1"
            )
            assert code == 0
    start, end = day_ms("2024-06-10")[0], day_ms("2024-06-20")[1]
    assert lake_rows(tmp_path / "lake", "ETH_USDT") == as_rows(truth.funding(CFG, "ETHUSDT", start, end - 1))


def test_the_real_funding_sample_is_ingested_exactly_through_the_archive(tmp_path: Path) -> None:
    cfg = SimConfig(seed=52, clock="frozen:2026-05-10T00:00:00Z")
    with Simulator(cfg) as server:
        code, report = download(
            server, tmp_path / "lake", "2026-04-01T00:00:00+00:00", "2026-04-30T23:59:00+00:00", "2"
        )
    assert code == 0
    assert report["symbols"][0]["symbol"] == "BTC_USDT"
    assert report["symbols"][0]["sources"] == {"2026-04-01": "archive:monthly"}
    assert report["symbols"][0]["missing"] == []
    with (REALDATA / "um_fundingRate" / "BTCUSDT-fundingRate-2026-04.csv").open() as handle:
        real = [
            (int(r["calc_time"]), float(r["last_funding_rate"]), int(r["funding_interval_hours"]))
            for r in csv.DictReader(handle)
        ]
    assert len(real) == 90
    assert lake_rows(tmp_path / "lake", "BTC_USDT") == real
    file = dataset(tmp_path / "lake") / "currency_pair=BTC_USDT/year=2026/month=4/2026-04.parquet"
    assert pq.read_schema(file).field("timestamp").type == pa.int64()
    # QA finds every real settlement on Binance's schedule and none missing.
    assert run_cli(["qa", "--lake", str(dataset(tmp_path / "lake")), "--symbols", "BTC_USDT"]) == 0


MONTHS = [(2023, m) for m in range(7, 13)] + [(2024, m) for m in range(1, 7)]


def test_an_interrupted_funding_run_reports_every_month_it_did_not_finish(
    make_simulator, tmp_path: Path
) -> None:
    sim = make_simulator(SimConfig(seed=53, clock="frozen:2024-07-10T12:00:00Z", latency_ms=300))
    lake, report = tmp_path / "lake", tmp_path / "report.json"
    argv = [sys.executable, "-m", "candlelake", *bulk_args(
        sim_url=sim.url, market="futures", start="2023-07-01T00:00:00+00:00",
        end="2024-06-30T23:59:00+00:00", dst=str(lake),
        extra=["--universe_part", "1", "1", "--concurrency", "1", "--report_json", str(report)],
    )]  # fmt: skip
    argv[argv.index("--data_type") + 1] = "funding_rate"
    argv[argv.index("--action_tag") + 1] = "downloaded_all"
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(lake.rglob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    symbol = data["symbols"][0]
    unfinished = [
        (m["start_ms"], m["end_ms"]) for m in symbol["missing"] if m["reason"].startswith("not finished")
    ]
    done = sorted(symbol["sources"])
    assert 0 < len(done) < 12 and done == [f"{y}-{m:02d}-01" for y, m in MONTHS[: len(done)]]
    # The months not finished, merged into one span: from the next month to the window's end.
    y, m = MONTHS[len(done)]
    assert unfinished == [(day_ms(f"{y}-{m:02d}-01")[0], day_ms("2024-07-01")[0])]
    assert len(list(lake.rglob("*.parquet"))) == symbol["days_written"] == len(symbol["sources"])


def test_a_month_that_cannot_be_written_is_reported_missing_and_fails_the_run(tmp_path: Path) -> None:
    root = dataset(tmp_path / "lake")
    root.mkdir(parents=True)
    (root / "currency_pair=ETH_USDT").write_text("a file where the partition folder must go")
    with Simulator(CFG) as server:
        code, report = download(
            server,
            tmp_path / "lake",
            "2024-06-01T00:00:00+00:00",
            "2024-06-10T23:59:00+00:00",
            "1",
            "--no_archive",
        )
    assert code == 1
    symbol = report["symbols"][0]
    assert (
        symbol["rows_written"] == 0
        and symbol["errors"]
        and symbol["errors"][0].startswith("2024-06: not written")
    )
    assert [(m["start_ms"], m["end_ms"]) for m in symbol["missing"]] == [
        (day_ms("2024-06-01")[0], day_ms("2024-06-10")[1])
    ]
