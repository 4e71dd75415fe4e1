"""download-bulk into a partition that upstream already wrote: said in the summary, read once."""

from __future__ import annotations

import json

import candlelake
from candlelake.simulator import SimConfig, Simulator

from .helpers import bulk_args, run_cli

DATASET = "v3/periodic_daily/manual/downloaded_1min/parquet/ohlcv/spot/v7/ccxt/binance/v1_0_0"


def test_foreign_files_are_reported_and_never_duplicate_rows(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lake = tmp_path / "lake"
    partition = lake / DATASET / "currency_pair=ETH_USDT/year=2024/month=2"
    partition.mkdir(parents=True)
    cfg = SimConfig(seed=7, clock="frozen:2024-02-20T01:20:30Z")
    with Simulator(cfg) as server:
        args = bulk_args(
            sim_url=server.url,
            market="spot",
            start="2024-02-19T00:00:00+00:00",
            end="2024-02-19T23:59:00+00:00",
            dst=str(lake),
            extra=["--universe_part", "1", "1", "--report_json", str(tmp_path / "r.json")],
        )
        # Upstream's file for the same day: the first 10 minutes, with stale values.
        start = 1708300800000
        stale = pa.table(
            {
                "timestamp": [start + i * 60_000 for i in range(10)],
                **{c: [1.0] * 10 for c in ("open", "high", "low", "close", "volume")},
                "exchange_id": ["binance"] * 10,
                "knowledge_timestamp": pa.array([0] * 10, pa.timestamp("ns", tz="UTC")),
            }
        )
        pq.write_table(stale, partition / "6f1c2b0e9d8a4f7b.parquet")
        assert run_cli(args) == 0
    out = capsys.readouterr().out
    assert "FOREIGN 1 upstream file(s)" in out and "6f1c2b0e9d8a4f7b.parquet" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert [p.rsplit("/", 1)[-1] for p in report["foreign_files"]] == ["6f1c2b0e9d8a4f7b.parquet"]
    table = candlelake.read(str(lake / DATASET), ["ETH_USDT"], "2024-02-19", "2024-02-19", as_="arrow")
    stamps = table.column("timestamp").to_pylist()
    assert len(stamps) == len(set(stamps)) == 1440
    assert table.column("open").to_pylist()[:10] != [1.0] * 10  # the day file's rows win
