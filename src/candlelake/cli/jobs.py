"""From what the user typed to a `DownloadJob`: windows, symbols, signature, endpoints."""

from __future__ import annotations

import os
from typing import Any

from candlelake import universe as universes
from candlelake.bulk import BulkRequest
from candlelake.errors import UsageError
from candlelake.job import DownloadJob, check_part, symbols_for
from candlelake.lake.storage import ENDPOINT_ENV
from candlelake.markets import Exchange, Market, Vendor, check_exchange_market, check_symbol
from candlelake.plan.archive import ENV_ARCHIVE_URL
from candlelake.settings import RestSettings, check_base_url
from candlelake.timeutil import MINUTE_MS, Window, day_window, parse_date, parse_timestamp, to_ms


def bulk_job(request: BulkRequest) -> DownloadJob:
    """The job of a checked `download-bulk` request; raises UsageError naming a bad value."""
    start = parse_timestamp(request.start_timestamp, flag="--start_timestamp")
    end = parse_timestamp(request.end_timestamp, flag="--end_timestamp")
    check_epoch(to_ms(start), "--start_timestamp", request.start_timestamp)
    if start > end:
        raise UsageError(
            f"--start_timestamp {request.start_timestamp} is after --end_timestamp {request.end_timestamp}"
        )
    check_exchange_market(request.exchange_id, request.contract_type, request.vendor)
    signature = request.signature()
    signature.validate()
    symbols = resolve_symbols(
        request.universe, request.exchange_id, request.vendor, request.universe_part, request.contract_type
    )
    # The end flag names the last minute to include; a start inside a minute begins at the
    # next whole minute, since a candle belongs to the window by its open time.
    window = Window(ceil_minute(to_ms(start)), to_ms(end) - to_ms(end) % MINUTE_MS + MINUTE_MS)
    if window.end_ms <= window.start_ms:
        raise UsageError(
            f"--start_timestamp {request.start_timestamp} leaves no whole minute before --end_timestamp"
        )
    return DownloadJob(
        market=request.contract_type,
        symbols=symbols,
        window=window,
        lake_url=request.s3_path or str(request.dst_dir),
        signature=signature,
        all_symbols=request.universe == "all",
        universe_part=request.universe_part,
        vendor=request.vendor,
        exchange_id=request.exchange_id,
        aws_profile=request.aws_profile,
        concurrency=request.concurrency,
        force=request.force,
        use_archive=not request.no_archive,
        **endpoints(request.rest_url, request.archive_url, request.s3_endpoint_url, request.exchange_id),
        download_period=request.download_period,
        refresh_changed=request.refresh_changed,
        verify_sample=request.verify_sample,
        interval=request.interval,
    )


def resolve_symbols(
    universe: str, exchange_id: Exchange, vendor: Vendor, part: tuple[int, int] | None, market: Market
) -> tuple[str, ...]:
    """A shipped universe's symbols; `all` is resolved later, from exchangeInfo."""
    if universe == "all":
        if part is not None:
            check_part(part)  # applied once exchangeInfo has given the list
        return ()
    listed = universes.load_universe(universe, exchange_id, vendor=vendor)
    # A universe names either pairs (spot, USD-M) or COIN-M contracts, never both.
    try:
        for symbol in listed:
            check_symbol(symbol, market)
    except UsageError as exc:
        raise UsageError(f"universe {universe} is not a universe of market {market}: {exc}") from None
    return symbols_for(listed, part)


def endpoints(
    rest_url: str | None, archive_url: str | None, s3_endpoint_url: str | None, exchange: Exchange = "binance"
) -> dict[str, Any]:
    """Where to fetch and write: flags first, then the CANDLELAKE_* environment variables."""
    archive = archive_url or os.environ.get(ENV_ARCHIVE_URL) or None
    return {
        "rest": RestSettings.from_env(rest_url, exchange),
        "archive_url": check_base_url(archive, "--archive_url" if archive_url else ENV_ARCHIVE_URL)
        if archive
        else None,
        "s3_endpoint_url": s3_endpoint_url or os.environ.get(ENDPOINT_ENV) or None,
    }


def check_local_endpoint(lake_url: str, s3_endpoint_flag: str | None, flag: str) -> None:
    """An S3 endpoint given on the command line for a local lake is a mistake, not a no-op."""
    if s3_endpoint_flag and not lake_url.strip().lower().startswith("s3://"):
        raise UsageError(f"{flag} {s3_endpoint_flag!r} applies to s3:// lakes only, not to {lake_url!r}")


def check_epoch(ms: int, flag: str, text: str) -> int:
    """Candles start in 1970 at the earliest; Binance answers a negative startTime with HTTP 400."""
    if ms < 0:
        raise UsageError(f"{flag} {text!r} is before 1970-01-01; no exchange has candles that old")
    return ms


def window_start_ms(text: str, flag: str) -> int:
    """`YYYY-MM-DD` starts at the day's midnight; a time, at the next whole minute."""
    if len(text.strip()) == 10:
        ms = day_window(parse_date(text, flag=flag)).start_ms
    else:
        ms = ceil_minute(to_ms(parse_timestamp(text, flag=flag)))
    return check_epoch(ms, flag, text)


def window_end_ms(text: str, flag: str) -> int:
    """Exclusive end: `YYYY-MM-DD` includes the whole day; a time includes its minute."""
    if len(text.strip()) == 10:
        return day_window(parse_date(text, flag=flag)).end_ms
    ms = to_ms(parse_timestamp(text, flag=flag))
    return ms - ms % MINUTE_MS + MINUTE_MS


def ceil_minute(ms: int) -> int:
    return -(-ms // MINUTE_MS) * MINUTE_MS
