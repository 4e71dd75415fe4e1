"""The one contract between Airflow and the CLI: a BulkRequest survives argv and the real click parser."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import typer

from candlelake.airflow.command import WindowArgs, bulk_request
from candlelake.airflow.settings import Job, load_settings
from candlelake.bulk import BulkRequest
from candlelake.cli import download
from candlelake.errors import UsageError


def _command() -> Any:
    """The real `download-bulk` click command, as the CLI builds it."""
    app = typer.Typer()
    download.register(app)
    return typer.main.get_command(app).commands["download-bulk"]  # type: ignore[attr-defined]


def _job(vendor: str, exchange: str, contract: str, data_type: str, universe: str) -> Job:
    return Job(vendor=vendor, exchange=exchange, contract=contract, data_type=data_type, universe=universe)


def _parse(argv: list[str]) -> BulkRequest:
    ctx = _command().make_context("download-bulk", list(argv))
    return BulkRequest.from_params(ctx.params)


BASE = {
    "download_mode": "periodic_daily",
    "downloading_entity": "airflow",
    "action_tag": "downloaded_1min",
    "vendor": "ccxt",
    "exchange_id": "binance",
    "universe": "v7.3",
    "data_type": "ohlcv",
    "contract_type": "futures",
    "data_format": "parquet",
    "start_timestamp": "2024-02-19T00:00:00+00:00",
    "end_timestamp": "2024-02-19T23:59:00+00:00",
}


def test_every_download_bulk_parameter_is_a_request_field_and_back() -> None:
    params = {p.name for p in _command().params}
    assert params == {f.name for f in dataclasses.fields(BulkRequest)}


@pytest.mark.parametrize(
    "extra",
    [
        {"dst_dir": "/lake"},
        {
            "s3_path": "s3://bucket/prefix",
            "aws_profile": "ck",
            "s3_endpoint_url": "http://127.0.0.1:3",  # an endpoint applies to S3 only
            "assert_on_missing_data": True,
            "log_level": "DEBUG",
        },
        {
            "dst_dir": "lake dir/with spaces",
            "vendor": "binance",
            "contract_type": "spot",
            "version": "v2_0_0",
            "universe_part": (10, 2),
            "pq_save_mode": "list_and_merge",
            "bid_ask_depth": 5,
            "download_period": "monthly",
            "secret_name": "binance.preprod.trading.1",
            "rest_url": "http://127.0.0.1:1",
            "archive_url": "http://127.0.0.1:2",
            "concurrency": 3,
            "force": True,
            "refresh_changed": True,
            "verify_sample": 2,
            "no_archive": True,
            "report_json": Path("/tmp/report.json"),
            "incremental": True,
        },
        # A hostile value is one argument, unchanged: argv lists never meet a shell.
        {"dst_dir": "/lake", "universe": 'v7\'; touch /tmp/pwned; echo "$(id)" {{ conn.x.password }}'},
    ],
)
def test_request_round_trips_through_argv_and_the_click_parser(extra: dict[str, object]) -> None:
    request = BulkRequest(**{**BASE, **extra})  # type: ignore[arg-type]
    assert _parse(request.to_argv()) == request


def test_the_dag_builds_the_request_the_cli_parses(tmp_path: Path) -> None:
    overrides = {"lake_url": "/lake", "aws_profile": "ck", "log_level": "WARNING", "version": "v1_0_0"}
    _, settings = load_settings(tmp_path / "prod.x.py", overrides)
    request = bulk_request(
        _job("binance", "binance", "spot", "ohlcv", "v7"), WindowArgs.day(dt.date(2024, 2, 19)), settings
    )
    assert _parse(request.to_argv()) == request
    assert (request.contract_type, request.dst_dir, request.log_level) == ("spot", "/lake", "WARNING")
    assert request.assert_on_missing_data  # prod's default


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (
            ("ccxt", "binance", "swap", "ohlcv", "v7"),
            "unknown market 'swap'; allowed: spot, futures, coin_futures",
        ),
        (
            ("kraken_api", "binance", "spot", "ohlcv", "v7"),
            "unknown vendor 'kraken_api'; supported: ccxt, binance",
        ),
        (
            ("ccxt", "kraken", "spot", "ohlcv", "v7"),
            "unknown exchange 'kraken'; supported: binance, okx, bybit, binanceus",
        ),
        (
            ("ccxt", "binanceus", "futures", "ohlcv", "v7"),
            "exchange 'binanceus' has no market 'futures'; supported: spot",
        ),
        (
            ("binance", "okx", "spot", "ohlcv", "v7.3"),
            "is for exchange binance only, not 'okx'; use --vendor ccxt",
        ),
        (
            ("ccxt", "binance", "spot", "trades", "v7"),
            "--data_type 'trades' is not supported yet; supported: ohlcv, mark_price, index_price, "
            "premium_index, funding_rate",
        ),
        (
            ("binance", "binance", "spot", "mark_price", "v7"),
            "--data_type 'mark_price' exists for futures, coin_futures only, not 'spot'; spot has: ohlcv",
        ),
    ],
)
def test_a_bad_job_tuple_is_refused_when_the_request_is_built(
    tmp_path: Path, job: tuple[str, ...], message: str
) -> None:
    _, settings = load_settings(tmp_path / "test.x.py", {"lake_url": "/lake"})
    with pytest.raises(UsageError) as err:
        bulk_request(_job(*job), WindowArgs.day(dt.date(2024, 2, 19)), settings)
    assert str(err.value).endswith(message)
