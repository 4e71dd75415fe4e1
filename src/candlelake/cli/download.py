"""`download-bulk` (upstream's flags) and `download` (a friendlier front end) over one engine."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from candlelake.bulk import BulkRequest
from candlelake.cli.jobs import (
    bulk_job,
    check_local_endpoint,
    endpoints,
    resolve_symbols,
    window_end_ms,
    window_start_ms,
)
from candlelake.cli.run import LOG_LEVELS, run_job, setup_logging
from candlelake.errors import UsageError
from candlelake.job import DownloadJob, unique
from candlelake.markets import (
    EXCHANGES,
    INTERVAL_ACTION_TAGS,
    INTERVALS,
    check_exchange_market,
    check_market_interval,
    check_symbol,
    parse_exchange,
    parse_interval,
    parse_market,
    parse_period,
    parse_vendor,
)
from candlelake.signature import DatasetSignature, universe_token
from candlelake.timeutil import Window

log = logging.getLogger("candlelake")

# Options both download commands share, spelled the same way.
LogLevelOption = Annotated[str, typer.Option("-v", help="Log level: " + ", ".join(LOG_LEVELS) + ".")]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", min=1, max=64, help="Requests and archive files in flight.")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Re-download days already complete.")]
IntervalOption = Annotated[
    str, typer.Option("--interval", help=f"Kline interval: {', '.join(INTERVALS)} (1s: spot only).")
]


def register(app: typer.Typer) -> None:
    app.command("download-bulk", help="Download candles with upstream's download_bulk.py flags.")(
        download_bulk
    )
    app.command("download", help="Download candles into a lake (friendly front end).")(download_friendly)


def download_bulk(
    ctx: typer.Context,
    download_mode: Annotated[
        str,
        typer.Option(
            "--download_mode", help="Signature token: bulk, periodic_daily, periodic_10min, realtime."
        ),
    ],
    downloading_entity: Annotated[
        str, typer.Option("--downloading_entity", help="Signature token: airflow or manual.")
    ],
    action_tag: Annotated[str, typer.Option("--action_tag", help="Signature token, e.g. downloaded_1min.")],
    vendor: Annotated[
        str,
        typer.Option(
            "--vendor", help="ccxt (OHLCV columns) or binance (all 12 kline fields, archive first)."
        ),
    ],
    exchange_id: Annotated[str, typer.Option("--exchange_id", help=f"Exchange: {', '.join(EXCHANGES)}.")],
    universe: Annotated[
        str,
        typer.Option(
            "--universe", help="Shipped universe (v7, v7.3; coin_futures: coinm_v1) or all trading symbols."
        ),
    ],
    data_type: Annotated[
        str,
        typer.Option(
            "--data_type",
            help="ohlcv; futures and coin_futures also mark_price, index_price, premium_index, "
            "funding_rate (bid_ask, trades: not yet).",
        ),
    ],
    contract_type: Annotated[
        str,
        typer.Option(
            "--contract_type",
            help="spot, futures (USD-M perpetuals) or coin_futures (COIN-M, vendor binance).",
        ),
    ],
    data_format: Annotated[str, typer.Option("--data_format", help="parquet.")],
    start_timestamp: Annotated[
        str, typer.Option("--start_timestamp", help="First minute, ISO time (UTC if no offset).")
    ],
    end_timestamp: Annotated[
        str, typer.Option("--end_timestamp", help="Last minute, inclusive, ISO time (UTC if no offset).")
    ],
    s3_path: Annotated[
        str | None, typer.Option("--s3_path", help="Lake root on S3: s3://bucket or s3://bucket/prefix.")
    ] = None,
    dst_dir: Annotated[str | None, typer.Option("--dst_dir", help="Lake root in a local folder.")] = None,
    aws_profile: Annotated[
        str | None, typer.Option("--aws_profile", help="AWS profile for S3 (default: the AWS chain).")
    ] = None,
    assert_on_missing_data: Annotated[
        bool, typer.Option("--assert_on_missing_data", help="Exit 1 if any requested minute is missing.")
    ] = False,
    version: Annotated[str, typer.Option("--version", help="Dataset version token.")] = "v1_0_0",
    universe_part: Annotated[
        tuple[int, int] | None,
        typer.Option("--universe_part", help="GROUP_SIZE PART: only that slice of the universe."),
    ] = None,
    pq_save_mode: Annotated[
        str, typer.Option("--pq_save_mode", help="append or list_and_merge; both write one file per day.")
    ] = "append",
    # Accepted so upstream's commands keep working; they do not apply to ohlcv from Binance.
    bid_ask_depth: Annotated[
        int, typer.Option("--bid_ask_depth", help="Upstream's order-book depth; ignored for ohlcv.")
    ] = 10,
    download_period: Annotated[
        str | None, typer.Option("--download_period", help="Vendor binance archive files: daily or monthly.")
    ] = None,
    interval: IntervalOption = "1m",
    secret_name: Annotated[
        str | None, typer.Option("--secret_name", help="Upstream's API-key secret; unused (public data).")
    ] = None,
    log_level: LogLevelOption = "INFO",
    rest_url: Annotated[
        str | None,
        typer.Option("--rest_url", help="Exchange REST base URL (env CANDLELAKE_<EXCHANGE>_URL)."),
    ] = None,
    archive_url: Annotated[
        str | None,
        typer.Option("--archive_url", help="Archive base URL (env CANDLELAKE_BINANCE_ARCHIVE_URL)."),
    ] = None,
    s3_endpoint_url: Annotated[
        str | None,
        typer.Option("--s3_endpoint_url", help="S3-compatible endpoint (env CANDLELAKE_S3_ENDPOINT_URL)."),
    ] = None,
    concurrency: ConcurrencyOption = 8,
    force: ForceOption = False,
    refresh_changed: Annotated[
        bool,
        typer.Option("--refresh_changed", "--refresh-changed", help="Re-ingest replaced archive days."),
    ] = False,
    verify_sample: Annotated[
        int,
        typer.Option("--verify_sample", "--verify-sample", min=0, help="Cross-check N days vs REST."),
    ] = 0,
    no_archive: Annotated[
        bool, typer.Option("--no_archive", "--no-archive", help="Vendor binance: use REST only.")
    ] = False,
    report_json: Annotated[
        Path | None, typer.Option("--report_json", help="Also write the run report as JSON to this file.")
    ] = None,
    incremental: Annotated[bool, typer.Option("--incremental", hidden=True)] = False,
) -> None:
    setup_logging(log_level)
    if incremental:
        # Upstream removed this flag while its daily DAGs still passed it (K3); accept it so
        # those DAGs run, since resuming complete days is what every run does anyway.
        log.warning("--incremental is deprecated and ignored: complete days are always skipped")
    # Every parameter above is a BulkRequest field: the same object Airflow renders argv from.
    request = BulkRequest.from_params(ctx.params)
    code = run_job(bulk_job(request), report_json=report_json, assert_missing=assert_on_missing_data)
    raise typer.Exit(code)


def download_friendly(
    market: Annotated[str, typer.Option("--market", help="spot, futures (USD-M) or coin_futures (COIN-M)")],
    start: Annotated[str, typer.Option("--start", help="YYYY-MM-DD (whole UTC day) or ISO time")],
    end: Annotated[str, typer.Option("--end", help="YYYY-MM-DD (whole UTC day, inclusive) or ISO time")],
    lake: Annotated[str, typer.Option("--lake", help="Local folder or s3://bucket/prefix")],
    exchange: Annotated[
        str, typer.Option("--exchange", help=f"Exchange: {', '.join(EXCHANGES)}.")
    ] = "binance",
    universe: Annotated[
        str | None, typer.Option("--universe", help="v7, v7.3, coinm_v1 (coin_futures), all")
    ] = None,
    symbols: Annotated[str | None, typer.Option("--symbols", help="BTC_USDT,ETH_USDT")] = None,
    vendor: Annotated[str, typer.Option("--vendor", help="ccxt (OHLCV) or binance (12 fields)")] = "ccxt",
    rest_url: Annotated[
        str | None,
        typer.Option("--rest-url", help="Exchange REST base URL (env CANDLELAKE_<EXCHANGE>_URL)."),
    ] = None,
    archive_url: Annotated[
        str | None,
        typer.Option("--archive-url", help="Archive base URL (env CANDLELAKE_BINANCE_ARCHIVE_URL)."),
    ] = None,
    download_period: Annotated[str | None, typer.Option("--download-period", help="daily or monthly")] = None,
    interval: IntervalOption = "1m",
    no_archive: Annotated[bool, typer.Option("--no-archive", help="Vendor binance: use REST only.")] = False,
    refresh_changed: Annotated[
        bool, typer.Option("--refresh-changed", help="Re-ingest archive days whose file was replaced.")
    ] = False,
    verify_sample: Annotated[
        int, typer.Option("--verify-sample", min=0, help="Cross-check N archive days against REST.")
    ] = 0,
    s3_endpoint_url: Annotated[
        str | None,
        typer.Option("--s3-endpoint-url", help="S3-compatible endpoint (env CANDLELAKE_S3_ENDPOINT_URL)."),
    ] = None,
    aws_profile: Annotated[
        str | None, typer.Option("--aws-profile", help="AWS profile for S3 (default: the AWS chain).")
    ] = None,
    concurrency: ConcurrencyOption = 8,
    force: ForceOption = False,
    assert_on_missing_data: Annotated[
        bool, typer.Option("--assert-on-missing-data", help="Exit 1 if any requested minute is missing.")
    ] = False,
    report_json: Annotated[
        Path | None, typer.Option("--report-json", help="Also write the run report as JSON to this file.")
    ] = None,
    log_level: LogLevelOption = "INFO",
) -> None:
    setup_logging(log_level)
    mkt = parse_market(market)
    vendor_v = parse_vendor(vendor)
    exchange_id = parse_exchange(exchange)
    check_exchange_market(exchange_id, mkt, vendor_v)
    interval_v = parse_interval(interval)
    check_market_interval(mkt, interval_v, exchange_id)
    if (universe is None) == (symbols is None):
        raise UsageError("give exactly one of --universe or --symbols")
    check_local_endpoint(lake, s3_endpoint_url, "--s3-endpoint-url")
    start_ms, end_ms = window_start_ms(start, "--start"), window_end_ms(end, "--end")
    if end_ms <= start_ms:
        raise UsageError(f"--start {start} is after --end {end}")
    window = Window(start_ms, end_ms)
    if symbols is not None:
        chosen = unique([check_symbol(s.strip(), mkt) for s in symbols.split(",") if s.strip()])
        if not chosen:
            raise UsageError("--symbols is empty; expected e.g. BTC_USDT,ETH_USDT")
        universe_name = "all"
    else:
        assert universe is not None
        chosen = resolve_symbols(universe, exchange_id, vendor_v, None, mkt)
        universe_name = universe
    signature = DatasetSignature.parse(
        f"bulk.manual.{INTERVAL_ACTION_TAGS[interval_v]}.parquet.ohlcv.{mkt}.{universe_token(universe_name)}."
        f"{vendor_v}.{exchange_id}.v1_0_0"
    )
    job = DownloadJob(
        market=mkt,
        symbols=chosen,
        window=window,
        lake_url=lake,
        signature=signature,
        vendor=vendor_v,
        exchange_id=exchange_id,
        explicit_symbols=symbols is not None,
        all_symbols=universe == "all",
        aws_profile=aws_profile,
        concurrency=concurrency,
        force=force,
        use_archive=not no_archive,
        **endpoints(rest_url, archive_url, s3_endpoint_url, exchange_id),
        download_period=parse_period(download_period),
        refresh_changed=refresh_changed,
        verify_sample=verify_sample,
        interval=interval_v,
    )
    code = run_job(job, report_json=report_json, assert_missing=assert_on_missing_data)
    raise typer.Exit(code)
