"""download-bulk into a real S3-compatible server over HTTP (moto's server mode)."""

from __future__ import annotations

import candlelake
from candlelake.simulator import SimConfig, Simulator

from .helpers import as_ohlcv, bulk_args, day_ms, expected_rows, lake_ohlcv, run_cli


def test_download_to_s3_equals_ground_truth_and_rerun_adds_no_object(s3_bucket, s3_env):
    import s3fs

    cfg = SimConfig(seed=21, clock="frozen:2024-02-20T01:20:00Z")
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="futures",
            universe="v7.3",
            start="2024-02-18T12:00:00+00:00",
            end="2024-02-19T23:59:00+00:00",
            s3=f"{s3_bucket}/lake",
            extra=["--universe_part", "2", "1"],
        )
        assert run_cli(args) == 0
        fs = s3fs.S3FileSystem(endpoint_url=s3_env)
        objects = sorted(fs.find(s3_bucket))
        assert run_cli([*args, "--force"]) == 0
        fs.invalidate_cache()
        assert sorted(fs.find(s3_bucket)) == objects
    day_files = [o for o in objects if "/_ledger/" not in o]
    assert len(day_files) == 4  # 2 symbols x 2 days, nothing else (no temp objects)
    # Plus the gap ledger: one manifest per (symbol, month), replaced in place by the re-run.
    assert sorted(o.rsplit("/_ledger/", 1)[1] for o in objects if "/_ledger/" in o) == [
        "currency_pair=BTC_USDT/2024-02.json",
        "currency_pair=ETH_USDT/2024-02.json",
    ]
    dataset = (
        f"{s3_bucket}/lake/v3/periodic_daily/manual/downloaded_1min/parquet/ohlcv/futures/v7_3/ccxt/binance"
        "/v1_0_0"
    )
    start = day_ms("2024-02-18")[0] + 12 * 3_600_000
    end = day_ms("2024-02-19")[1]
    for symbol in ("ETH_USDT", "BTC_USDT"):
        table = candlelake.read(dataset, [symbol], as_="arrow").sort_by("timestamp")
        expected = as_ohlcv(expected_rows(cfg, "futures", symbol.replace("_", ""), start, end))
        assert len(expected) == 2160
        assert lake_ohlcv(table) == expected
