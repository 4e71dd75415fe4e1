"""SQL over the lake (DuckDB), `candlelake ls`, picking a dataset by tokens, and resampling.

Lakes are downloaded from the simulator (local and S3 over moto); expected values come from
the simulator's ground truth.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.compute as pc
import pytest

import candlelake
from candlelake.errors import UsageError
from candlelake.lake import DatasetLocation, LakeWriter
from candlelake.lake.schema import DayMeta
from candlelake.simulator import SimConfig, Simulator, truth
from candlelake.timeutil import from_ms
from integration.helpers import bulk_args, day_ms, expected_rows, run_cli
from integration.test_download_funding import as_rows

pytestmark = pytest.mark.slow

FUTURES = "periodic_daily.manual.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0"
SPOT = "periodic_daily.manual.downloaded_1min.parquet.ohlcv.spot.v7.ccxt.binance.v1_0_0"
FUTURES_SYMBOLS = ["ETH_USDT", "BTC_USDT", "SAND_USDT"]  # v7.3's first three
SPOT_SYMBOLS = ["ETH_USDT", "BTC_USDT"]  # v7's first two
DAY1, DAY2 = "2024-02-18", "2024-02-19"


def _download(sim_url: str, *, dst: str | None = None, s3: str | None = None) -> None:
    common = {"sim_url": sim_url, "dst": dst, "s3": s3}
    first, last = f"{DAY1}T00:00:00+00:00", f"{DAY2}T23:59:00+00:00"
    futures = bulk_args(market="futures", universe="v7.3", start=first, end=last,
                        extra=["--universe_part", "3", "1"], **common)  # fmt: skip
    spot = bulk_args(market="spot", universe="v7", start=f"{DAY2}T00:00:00+00:00", end=last,
                     extra=["--universe_part", "2", "1"], **common)  # fmt: skip
    assert run_cli(futures) == 0
    assert run_cli(spot) == 0


@pytest.fixture(scope="module")
def lake(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sql") / "lake"
    _download(simulator.url, dst=str(path))
    return path


def _truth_count(cfg: SimConfig, market: str, symbol: str, days: list[str]) -> int:
    return sum(len(expected_rows(cfg, market, symbol.replace("_", ""), *day_ms(d))) for d in days)


def test_every_dataset_is_a_view_named_after_its_signature(lake: Path, sim_config: SimConfig) -> None:
    frame = candlelake.sql(
        f'SELECT currency_pair, year, month, count(*) AS n FROM "{FUTURES}" GROUP BY ALL ORDER BY 1',
        str(lake),
    )
    assert list(frame["currency_pair"]) == sorted(FUTURES_SYMBOLS)
    assert set(frame["year"]) == {2024} and set(frame["month"]) == {2}  # hive partitions as columns
    for symbol, n in zip(frame["currency_pair"], frame["n"], strict=True):
        assert n == _truth_count(sim_config, "futures", symbol, [DAY1, DAY2])
    joined = candlelake.sql(
        f'SELECT count(*) AS n FROM "{FUTURES}" f JOIN "{SPOT}" s USING (currency_pair, timestamp)',
        str(lake),
        as_="arrow",
    )
    assert joined.column("n")[0].as_py() == sum(
        _truth_count(sim_config, "spot", s, [DAY2]) for s in SPOT_SYMBOLS
    )


def test_sql_cli_prints_csv_and_rejects_bad_sql(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    query = f'SELECT currency_pair, max(high) AS h FROM "{SPOT}" GROUP BY 1 ORDER BY 1'
    assert run_cli(["sql", query, "--lake", str(lake), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == '"currency_pair","h"' and [line.split(",")[0] for line in lines[1:]] == [
        '"BTC_USDT"',
        '"ETH_USDT"',
    ]
    assert run_cli(["sql", "SELECT * FROM no_such_view", "--lake", str(lake)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_view" in err[0]


def test_ls_lists_datasets_from_the_ledger(lake: Path, sim_config: SimConfig, capsys) -> None:
    capsys.readouterr()
    assert run_cli(["ls", "--lake", str(lake), "--json"]) == 0
    listed = {d["signature"]: d for d in json.loads(capsys.readouterr().out)}
    assert set(listed) == {FUTURES, SPOT}
    futures = listed[FUTURES]
    assert futures["symbols"] == sorted(FUTURES_SYMBOLS)
    assert (futures["first_day"], futures["last_day"], futures["days"]) == (DAY1, DAY2, 6)
    assert futures["rows"] == sum(
        _truth_count(sim_config, "futures", s, [DAY1, DAY2]) for s in FUTURES_SYMBOLS
    )
    assert listed[SPOT]["first_day"] == listed[SPOT]["last_day"] == DAY2
    assert futures["months"] is None  # candle files are days


FUNDING_SYMBOLS = FUTURES_SYMBOLS[:2]  # the same part of v7.3
FUNDING = "periodic_daily.manual.downloaded_all.parquet.funding_rate.futures.v7_3.binance.binance.v1_0_0"


@pytest.mark.parametrize("where", ["local", "s3"])
def test_ls_lists_funding_datasets_from_their_month_files(
    where: str,
    simulator: Simulator,
    sim_config: SimConfig,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # January from the archive's month file, February over REST: two month files per symbol.
    base = str(tmp_path / "lake") if where == "local" else f"{request.getfixturevalue('s3_bucket')}/lake"
    destination = {"dst": base} if where == "local" else {"s3": base}
    extra = ["--universe_part", "2", "1", "--archive_url", simulator.url]
    args = bulk_args(sim_url=simulator.url, market="futures", universe="v7.3", vendor="binance",
                     start="2024-01-31T00:00:00+00:00", end=f"{DAY2}T23:59:00+00:00", extra=extra,
                     **destination)  # fmt: skip
    args[args.index("--data_type") + 1] = "funding_rate"
    args[args.index("--action_tag") + 1] = "downloaded_all"
    assert run_cli(args) == 0
    capsys.readouterr()
    assert run_cli(["ls", "--lake", base, "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    start, end = day_ms("2024-01-31")[0], day_ms(DAY2)[1]
    settled = {
        s: as_rows(truth.funding(sim_config, s.replace("_", ""), start, end - 1)) for s in FUNDING_SYMBOLS
    }
    days = {(s, from_ms(t).date()) for s, rows in settled.items() for t, *_ in rows}
    assert listed["signature"] == FUNDING and listed["symbols"] == sorted(FUNDING_SYMBOLS)
    assert (listed["first_day"], listed["last_day"]) == ("2024-01-31", DAY2)
    assert (listed["months"], listed["days"]) == (4, len(days)) and len(days) == 2 * 20
    assert listed["rows"] == sum(map(len, settled.values())) == 2 * 20 * 3
    assert run_cli(["ls", "--lake", base]) == 0
    assert capsys.readouterr().out.split() == [
        FUNDING, "2", "symbols", f"2024-01-31..{DAY2}", "4", "month", "files", "120", "settlements"
    ]  # fmt: skip


def test_read_picks_a_dataset_by_tokens(lake: Path) -> None:
    direct = candlelake.read(str(lake / ("v3/" + SPOT.replace(".", "/"))), ["BTC_USDT"], DAY2, DAY2)
    picked = candlelake.read(str(lake), ["BTC_USDT"], DAY2, DAY2, market="spot")
    assert picked.equals(direct)
    assert len(candlelake.read(str(lake), ["BTC_USDT"], DAY1, DAY1, universe="v7.3")) > 0
    with pytest.raises(UsageError, match=r"2 datasets .* match") as info:
        candlelake.read(str(lake), ["BTC_USDT"], DAY2, DAY2, exchange="binance")
    assert FUTURES in str(info.value) and SPOT in str(info.value)
    with pytest.raises(UsageError, match=r"no dataset .* matches"):
        candlelake.read(str(lake), ["BTC_USDT"], DAY2, DAY2, market="spot", universe="v7.3")


def test_resampling_aggregates_ohlcv_and_keeps_missing_minutes_missing(
    lake: Path, sim_config: SimConfig, tmp_path: Path
) -> None:
    # Copy one day and cut minutes out of it: all of 10:00-10:59 and 12:00-12:29.
    dataset = lake / ("v3/" + FUTURES.replace(".", "/"))
    source = LakeWriter(DatasetLocation(str(dataset)))
    writer = LakeWriter(DatasetLocation(str(tmp_path / "ds")))
    day = dt.date.fromisoformat(DAY1)
    table = source.read_day("BTC_USDT", day)
    start, _ = day_ms(DAY1)
    minute = pc.divide(pc.subtract(table.column("timestamp"), start), 60_000)
    cut = pc.or_(pc.and_(pc.greater_equal(minute, 600), pc.less(minute, 660)),
                 pc.and_(pc.greater_equal(minute, 720), pc.less(minute, 750)))  # fmt: skip
    kept = table.filter(pc.invert(cut))
    meta = source.read_meta("BTC_USDT", day)
    assert meta is not None
    meta = DayMeta(
        meta.symbol, meta.day, meta.window_start_ms, meta.window_end_ms, kept.num_rows, False, "rest"
    )
    writer.write_day(
        "BTC_USDT", day, kept, meta, exchange_id="binance", knowledge_time=dt.datetime.now(dt.UTC)
    )

    bars = candlelake.read(str(tmp_path / "ds"), ["BTC_USDT"], DAY1, DAY1, interval="1h", as_="arrow")
    truth = expected_rows(sim_config, "futures", "BTCUSDT", *day_ms(DAY1))
    hours: dict[int, list[list]] = {}
    for row in truth:
        offset = (int(row[0]) - start) // 60_000
        if not (600 <= offset < 660 or 720 <= offset < 750):
            hours.setdefault(offset // 60, []).append(row)
    got = bars.to_pylist()
    assert [(b["timestamp"] - start) // 3_600_000 for b in got] == sorted(hours)  # hour 10 has no bar
    for bar in got:
        rows = hours[(bar["timestamp"] - start) // 3_600_000]
        assert bar["open"] == float(rows[0][1]) and bar["close"] == float(rows[-1][4])
        assert bar["high"] == max(float(r[2]) for r in rows) and bar["low"] == min(float(r[3]) for r in rows)
        assert bar["volume"] == pytest.approx(sum(float(r[5]) for r in rows), rel=1e-12)
        assert bar["minutes"] == len(rows)
    assert next(b for b in got if (b["timestamp"] - start) // 3_600_000 == 12)["minutes"] == 30
    with pytest.raises(UsageError, match="bad interval '90s'"):
        candlelake.read(str(tmp_path / "ds"), ["BTC_USDT"], DAY1, DAY1, interval="90s")


def test_sql_and_ls_over_s3(simulator: Simulator, s3_bucket: str, sim_config: SimConfig, capsys) -> None:
    _download(simulator.url, s3=f"{s3_bucket}/lake")
    frame = candlelake.sql(
        f'SELECT currency_pair, count(*) AS n FROM "{SPOT}" GROUP BY 1', f"{s3_bucket}/lake"
    )
    counts = dict(zip(frame["currency_pair"], frame["n"], strict=True))
    assert counts == {s: _truth_count(sim_config, "spot", s, [DAY2]) for s in SPOT_SYMBOLS}
    capsys.readouterr()
    assert run_cli(["ls", "--lake", f"{s3_bucket}/lake", "--json"]) == 0
    assert {d["signature"] for d in json.loads(capsys.readouterr().out)} == {FUTURES, SPOT}
    qa = ["qa", "--lake", f"{s3_bucket}/lake", "--signature", FUTURES, "--symbols", ",".join(FUTURES_SYMBOLS)]
    assert run_cli(qa) == 0
    picked = candlelake.read(f"{s3_bucket}/lake", ["ETH_USDT"], DAY2, DAY2, market="spot", interval="1d")
    assert len(picked) == 1 and picked["minutes"].iloc[0] == counts["ETH_USDT"]
