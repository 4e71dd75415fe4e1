"""`candlelake sim ...`: run the simulator from the command line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from candlelake.simulator.config import SimConfig, field_names

app = typer.Typer(
    help="Binance-compatible exchange simulator (REST, data.binance.vision archive).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _parse_set(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; VALUE is JSON when it parses, else a plain string."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in field_names():
            raise typer.BadParameter(f"--set expects OPTION=VALUE with a known option, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def build_config(config: Path | None, options: dict[str, Any], sets: list[str]) -> SimConfig:
    """Defaults < config file < explicit CLI options < --set."""
    data: dict[str, Any] = {}
    if config is not None:
        data = SimConfig.from_file(config).to_dict()
    data.update({k: v for k, v in options.items() if v is not None and v != []})
    data.update(_parse_set(sets))
    return SimConfig.from_dict(data)


async def _serve(cfg: SimConfig) -> None:
    from candlelake.simulator.app import SimState
    from candlelake.simulator.server import start_pregeneration, start_site

    state = SimState(cfg)
    runner, url = await start_site(state)
    sys.stdout.write(url + "\n")
    sys.stdout.flush()
    start_pregeneration(state)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed of the synthetic market.")] = None,
    config: Annotated[Path | None, typer.Option(help="JSON or TOML config file.")] = None,
    clock: Annotated[str | None, typer.Option(help="real | frozen:<ISO> | offset:<seconds>.")] = None,
    latency_ms: Annotated[float | None, typer.Option(help="Fixed delay per request.")] = None,
    jitter_ms: Annotated[float | None, typer.Option(help="Extra random delay, 0..jitter.")] = None,
    error_rate: Annotated[float | None, typer.Option(help="Share of 500/502/503 answers.")] = None,
    hang_rate: Annotated[float | None, typer.Option(help="Share of requests that hang.")] = None,
    hang_seconds: Annotated[float | None, typer.Option(help="How long a hang lasts.")] = None,
    reset_rate: Annotated[float | None, typer.Option(help="Share of connection resets.")] = None,
    truncate_rate: Annotated[float | None, typer.Option(help="Share of truncated bodies.")] = None,
    rate_limits: Annotated[
        bool | None, typer.Option("--rate-limits/--no-rate-limits", help="Enforce weight limits.")
    ] = None,
    window_seconds: Annotated[float | None, typer.Option(help="Rate-limit window length.")] = None,
    spot_weight_limit: Annotated[int | None, typer.Option(help="Spot weight per window.")] = None,
    futures_weight_limit: Annotated[int | None, typer.Option(help="USD-M weight per window.")] = None,
    archive_delay_hours: Annotated[float | None, typer.Option(help="Daily file publication delay.")] = None,
    archive_cache_dir: Annotated[str | None, typer.Option(help="On-disk cache of generated zips.")] = None,
    fail_symbol: Annotated[
        list[str] | None, typer.Option(help="market:SYMBOL whose klines always fail (repeatable).")
    ] = None,
    missing_archive_day: Annotated[
        list[str] | None, typer.Option(help="market:SYMBOL:date pattern without a file (repeatable).")
    ] = None,
    pregenerate: Annotated[
        list[str] | None, typer.Option(help="market:SYMBOL:period:date patterns to pre-build.")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Any other option as OPTION=JSON (repeatable).")
    ] = None,
) -> None:
    """Serve until SIGTERM/SIGINT; the first stdout line is the base URL."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "seed": seed,
        "clock": clock,
        "latency_ms": latency_ms,
        "jitter_ms": jitter_ms,
        "error_rate": error_rate,
        "hang_rate": hang_rate,
        "hang_seconds": hang_seconds,
        "reset_rate": reset_rate,
        "truncate_rate": truncate_rate,
        "rate_limits": rate_limits,
        "window_seconds": window_seconds,
        "spot_weight_limit": spot_weight_limit,
        "futures_weight_limit": futures_weight_limit,
        "archive_delay_hours": archive_delay_hours,
        "archive_cache_dir": archive_cache_dir,
        "fail_symbols": fail_symbol,
        "missing_archive_days": missing_archive_day,
        "pregenerate": pregenerate,
    }
    if config is not None:  # host/port defaults must not override the file's values
        if host == "127.0.0.1":
            options["host"] = None
        if port == 0:
            options["port"] = None
    cfg = build_config(config, options, set_ or [])
    asyncio.run(_serve(cfg))


@app.command()
def config(
    config: Annotated[Path | None, typer.Option(help="JSON or TOML config file.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="OPTION=JSON (repeatable).")] = None,
) -> None:
    """Print the effective configuration as JSON."""
    cfg = build_config(config, {}, set_ or [])
    typer.echo(json.dumps(cfg.to_dict(), indent=2))
