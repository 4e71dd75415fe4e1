"""`candlelake qa` and `repair` on interval datasets (bars of the interval) and funding datasets.

Each lake is downloaded from the simulator, then damaged around the writer (a deleted file,
dropped rows, a duplicated row), as another tool or a bad disk would. QA must name exactly
those problems, counted in the dataset's own unit, and `repair` must bring the lake back to
the simulator's truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import candlelake
from candlelake.bars import grid_of
from candlelake.simulator import SimConfig, Simulator, truth
from integration.helpers import bulk_args, day_ms, expected_rows, run_cli
from integration.test_download_intervals import TAGS, as_full, lake_full, window_ms

pytestmark = pytest.mark.slow

BARS_CFG = SimConfig(seed=41, clock="frozen:2024-05-20T00:00:00Z")
HOUR_MS = 3_600_000


def _rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite a file around the writer, keeping its footer (it now says what is no longer true)."""
    table = pq.read_table(path)
    pq.write_table(change(table).replace_schema_metadata(table.schema.metadata), path)


def _drop_rows(table: pa.Table) -> pa.Table:
    return pa.concat_tables([table.slice(0, 1), table.slice(3)])  # rows 1 and 2


def _duplicate_row(table: pa.Table) -> pa.Table:
    return pa.concat_tables([table.slice(0, 2), table.slice(1)])  # row 1 twice


def _json(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = run_cli([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _failures(report: dict) -> dict[tuple[str, str, str], int]:
    return {
        (f["symbol"], f["day"], f["check"]): f["count"] for f in report["findings"] if f["severity"] == "fail"
    }


def _ts(path: Path) -> list[int]:
    return pq.read_table(path, columns=["timestamp"]).column("timestamp").to_pylist()


@pytest.mark.parametrize(
    ("market", "interval", "start", "end"),
    [
        ("futures", "1h", "2024-03-30", "2024-04-02"),  # a file per UTC day
        ("spot", "1w", "2024-01-01", "2024-03-31"),  # a file per month
    ],
)
def test_qa_accounts_bars_of_the_interval_and_repair_restores_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], market: str, interval: str, start: str, end: str
) -> None:
    lake = tmp_path / "lake"
    signature = f"bulk.manual.{TAGS[interval]}.parquet.ohlcv.{market}.all.binance.binance.v1_0_0"
    root = lake / "v3" / signature.replace(".", "/")
    grid = grid_of(interval)
    lo, hi = window_ms(start, end)
    want = expected_rows(BARS_CFG, market, "BTCUSDT", lo, hi, interval)
    qa = ["qa", "--lake", str(lake), "--signature", signature]
    with Simulator(BARS_CFG) as server:
        args = ["download", "--market", market, "--start", start, "--end", end, "--lake", str(lake),
                "--symbols", "BTC_USDT", "--vendor", "binance", "--interval", interval,
                "--rest-url", server.url, "--archive-url", server.url, "-v", "WARNING"]  # fmt: skip
        assert run_cli(args) == 0
        code, report = _json(capsys, qa)
        assert code == 0, _failures(report)
        assert report["unit"] == f"{interval} bars" and report["interval"] == interval
        assert report["partition"] == ("month" if grid.monthly_partitions else "day")
        # Every bar of the truth, once, in its partition; nothing missing.
        assert sum(d["rows"] for d in report["days"]) == len(want)
        assert all(d["state"] == "complete" and d["missing_bars"] == {} for d in report["days"])

        files = sorted(root.rglob("*.parquet"))
        assert len(files) >= 3
        deleted_ts = _ts(files[1])
        files[1].unlink()
        dropped = _ts(files[0])[1:3]
        _rewrite(files[0], _drop_rows)
        _rewrite(files[2], _duplicate_row)
        code, report = _json(capsys, qa)
        assert code == 1
        key = {f: grid.partition(_ts(f)[0]).isoformat() for f in (files[0], files[2])}
        deleted_key = grid.partition(deleted_ts[0]).isoformat()
        # Exactly what the truth says is missing: the deleted partition's bars, the two dropped.
        assert _failures(report) == {
            ("BTC_USDT", deleted_key, "missing_file"): len(deleted_ts),
            ("BTC_USDT", key[files[0]], "hole"): len(dropped),
            ("BTC_USDT", key[files[2]], "duplicate"): 1,
        }
        in_truth = [r for r in want if grid.partition(r[0]).isoformat() == deleted_key]
        whole = grid.partition_window(grid.partition(deleted_ts[0]))
        assert len(deleted_ts) == len(in_truth) == grid.count(whole)
        days = {d["day"]: d for d in report["days"]}
        assert days[key[files[0]]]["missing_bars"] == {"unexplained": 2}
        assert days[deleted_key]["state"] == "missing_file"
        capsys.readouterr()
        assert run_cli(qa) == 1
        text = capsys.readouterr().out
        assert f"missing {interval} bars by reason" in text and f"2 {interval} bars" in text

        code, outcome = _json(capsys, ["repair", "--lake", str(lake), "--signature", signature,
                                       "--rest-url", server.url, "--archive-url", server.url])  # fmt: skip
    assert code == 0, outcome["qa_after"]["findings"]
    assert outcome["downloads"] and all(d["interval"] == interval for d in outcome["downloads"])
    code, report = _json(capsys, qa)
    assert code == 0, _failures(report)
    got = candlelake.read(str(root), ["BTC_USDT"], as_="arrow").sort_by("timestamp")
    assert lake_full(got) == as_full(want)


FUNDING_CFG = SimConfig(
    seed=51,
    clock="frozen:2024-07-10T12:00:00Z",
    funding_4h_from="2024-06-15T00:00:00Z",
    missing_funding=("futures:ETHUSDT:2024-05-20T08", "futures:ETHUSDT:2024-06-20T12"),
)
FUNDING = "periodic_daily.manual.downloaded_all.parquet.funding_rate.futures.v7.binance.binance.v1_0_0"
MONTHS = ("2024-04-01", "2024-05-01", "2024-06-01")


def _funding_truth(first: str, last: str) -> list[tuple]:
    start, end = day_ms(first)[0], day_ms(last)[1]
    return [(int(t), float(r), int(h)) for t, r, h in truth.funding(FUNDING_CFG, "ETHUSDT", start, end - 1)]


def _download_funding(server: Simulator, lake: Path, last_day: str) -> int:
    """ETH_USDT's settlements from 2024-04-01 to `last_day`, archive months first."""
    start, end = "2024-04-01T00:00:00+00:00", f"{last_day}T23:59:00+00:00"
    args = bulk_args(
        sim_url=server.url, market="futures", vendor="binance", start=start, end=end, dst=str(lake)
    )
    args[args.index("--data_type") + 1] = "funding_rate"
    args[args.index("--action_tag") + 1] = "downloaded_all"
    return run_cli([*args, "--archive_url", server.url, "--universe_part", "1", "1"])


def _funding_rows(root: Path) -> list[tuple]:
    table = candlelake.read(str(root), ["ETH_USDT"], as_="arrow")
    cols = ("timestamp", "funding_rate", "funding_interval_hours")
    return list(zip(*(table.column(c).to_pylist() for c in cols), strict=True))


def test_qa_checks_funding_months_and_repair_restores_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    root = lake / "v3" / FUNDING.replace(".", "/")
    want = _funding_truth("2024-04-01", "2024-06-30")
    qa = ["qa", "--lake", str(lake), "--signature", FUNDING, "--symbols", "ETH_USDT",
          "--start", "2024-04-01", "--end", "2024-06-30"]  # fmt: skip
    with Simulator(FUNDING_CFG) as server:
        assert _download_funding(server, lake, "2024-06-30") == 0
        code, report = _json(capsys, qa)
        assert code == 0, _failures(report)
        assert (
            report["unit"] == "settlements" and report["interval"] is None and report["partition"] == "month"
        )
        days = {d["day"]: d for d in report["days"]}
        assert list(days) == list(MONTHS)
        # Each month's rows are the truth's; the two settlements the exchange never published
        # are explained (footer), not holes.
        for month, last in zip(MONTHS, ("2024-04-30", "2024-05-31", "2024-06-30"), strict=True):
            assert days[month]["rows"] == len(_funding_truth(month, last))
        assert [days[m]["missing_settlements"] for m in MONTHS] == [
            {},
            {"maintenance": 1},
            {"maintenance": 1},
        ]
        assert [days[m]["state"] for m in MONTHS] == ["complete", "explained", "explained"]

        files = {p.name[:7]: p for p in root.rglob("*.parquet")}
        files["2024-04"].unlink()
        dropped = _ts(files["2024-05"])[1:3]
        _rewrite(files["2024-05"], _drop_rows)
        _rewrite(files["2024-06"], _duplicate_row)
        code, report = _json(capsys, qa)
        assert code == 1
        april = len(_funding_truth("2024-04-01", "2024-04-30"))
        assert april == 90  # every 8 h: what QA counts for a month without a file
        assert _failures(report) == {
            ("ETH_USDT", "2024-04-01", "missing_file"): april,
            ("ETH_USDT", "2024-05-01", "hole"): len(dropped),
            ("ETH_USDT", "2024-06-01", "duplicate"): 1,
        }
        days = {d["day"]: d for d in report["days"]}
        assert days["2024-05-01"]["missing_settlements"] == {"maintenance": 1, "unexplained": 2}

        urls = ["--rest-url", server.url, "--archive-url", server.url]
        code, outcome = _json(capsys, ["repair", *qa[1:], *urls])
    assert code == 0, outcome["qa_after"]["findings"]
    assert outcome["repaired"] == [
        {"first_day": "2024-04-01", "last_day": "2024-06-01", "symbols": ["ETH_USDT"]}
    ]
    code, report = _json(capsys, qa)
    assert code == 0, _failures(report)
    assert _funding_rows(root) == want


def test_funding_qa_of_one_day_counts_that_day_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A daily run writes one day into its month file: QA of that day must not count the rest
    # of the month as uncovered (the derivatives QA DAG checks each day this way).
    lake = tmp_path / "lake"
    args = bulk_args(
        sim_url="", market="futures", vendor="binance", start="2024-05-20T00:00:00+00:00",
        end="2024-05-20T23:59:00+00:00", dst=str(lake),
    )  # fmt: skip
    args[args.index("--data_type") + 1] = "funding_rate"
    args[args.index("--action_tag") + 1] = "downloaded_all"
    qa = ["qa", "--lake", str(lake), "--signature", FUNDING, "--symbols", "ETH_USDT"]
    with Simulator(FUNDING_CFG) as server:
        args[args.index("--rest_url") + 1] = server.url
        assert run_cli([*args, "--archive_url", server.url, "--universe_part", "1", "1"]) == 0
    code, report = _json(capsys, [*qa, "--start", "2024-05-20", "--end", "2024-05-20"])
    assert code == 0, _failures(report)
    (month,) = report["days"]
    # 08:00 was never published (explained); 00:00 and 16:00 are stored.
    assert month["rows"] == len(_funding_truth("2024-05-20", "2024-05-20")) == 2
    assert month["missing_settlements"] == {"maintenance": 1}
    # The whole month asks for days no run downloaded: uncovered, a problem.
    code, report = _json(capsys, [*qa, "--start", "2024-05-01", "--end", "2024-05-31"])
    assert code == 1 and report["days"][0]["missing_settlements"]["uncovered"] == 31 * 3 - 3


def test_a_settlement_off_its_schedule_and_an_unreadable_month_fail_funding_qa(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    root = lake / "v3" / FUNDING.replace(".", "/")
    with Simulator(FUNDING_CFG) as server:
        assert _download_funding(server, lake, "2024-05-31") == 0
    files = {p.name[:7]: p for p in root.rglob("*.parquet")}

    def shift(table: pa.Table) -> pa.Table:  # the 5th settlement an hour late
        ts = table.column("timestamp").to_pylist()
        ts[4] += HOUR_MS
        return table.set_column(0, "timestamp", pa.array(ts, pa.int64()))

    moved = _ts(files["2024-04"])[4] + HOUR_MS
    _rewrite(files["2024-04"], shift)
    files["2024-05"].write_bytes(files["2024-05"].read_bytes()[:300])
    code, report = _json(capsys, ["qa", "--lake", str(lake), "--signature", FUNDING, "--symbols", "ETH_USDT"])
    assert code == 1
    assert _failures(report) == {
        ("ETH_USDT", "2024-04-01", "off_schedule"): 1,
        # The settlement due where the moved row was is missing; the moved one is extra.
        ("ETH_USDT", "2024-04-01", "hole"): 1,
        ("ETH_USDT", "2024-05-01", "corrupt"): 1,
    }
    off = next(f for f in report["findings"] if f["check"] == "off_schedule")
    assert off["first_ms"] == moved


def test_bad_input_on_an_interval_or_funding_dataset_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    with Simulator(BARS_CFG) as server:
        args = ["download", "--market", "spot", "--start", "2024-04-01", "--end", "2024-04-01",
                "--lake", str(lake), "--symbols", "BTC_USDT", "--interval", "1h", "--rest-url", server.url,
                "--no-archive", "-v", "WARNING"]  # fmt: skip
        assert run_cli(args) == 0
    signature = "bulk.manual.downloaded_1hour.parquet.ohlcv.spot.all.ccxt.binance.v1_0_0"
    capsys.readouterr()
    qa = ["qa", "--lake", str(lake), "--signature", signature]
    bad = [*qa, "--start", "2024-04-02", "--end", "2024-04-01"]
    assert run_cli(bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is after --end" in err[0]
    assert run_cli(qa) == 0  # the same dataset, asked properly, is checked
