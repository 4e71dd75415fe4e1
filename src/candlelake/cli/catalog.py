"""Catalog commands: `signature validate`, `universe list|show`, and `show` (a slice of the lake).

Each command is a thin adapter over library code; a bad input raises UsageError, which the
entry point turns into a one-line message and exit code 2.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from candlelake.errors import UsageError
from candlelake.signature import TOKENS, DatasetSignature

if TYPE_CHECKING:
    import pyarrow as pa


class OutputFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    parquet = "parquet"


def register(app: typer.Typer) -> None:
    """Add `signature`, `universe` and `show` to `app`."""
    signature_app = typer.Typer(help="Dataset signatures (schema v3).", no_args_is_help=True)
    signature_app.command("validate")(validate_signature)
    app.add_typer(signature_app, name="signature")

    universe_app = typer.Typer(help="Shipped download universes.", no_args_is_help=True)
    universe_app.command("list")(list_universes)
    universe_app.command("show")(show_universe)
    app.add_typer(universe_app, name="universe")

    app.command("show")(show)


def _parse_signature(text: str) -> DatasetSignature:
    # Accept the path form too, as copied from a bucket listing.
    return DatasetSignature.from_path(text) if "/" in text else DatasetSignature.parse(text)


def validate_signature(
    signature: Annotated[
        str,
        typer.Argument(help="Dotted signature, e.g. periodic_daily.airflow.downloaded_1min."
                       "parquet.ohlcv.spot.v7.ccxt.binance.v1_0_0, or its v3/... path."),
    ],
) -> None:  # fmt: skip
    """Check a dataset signature and print its tokens and dataset path."""
    sig = _parse_signature(signature)
    typer.echo(f"valid: {sig}")
    typer.echo(f"path: {sig.relative_path()}")
    width = max(map(len, TOKENS))
    for name, value in zip(TOKENS, sig.tokens(), strict=True):
        typer.echo(f"  {name:<{width}}  {value}")


def list_universes(
    vendor: Annotated[str, typer.Option(help="Vendor whose universes to list.")] = "ccxt",
) -> None:
    """List the shipped universe versions, with their exchanges and symbol counts."""
    from candlelake.universe import list_exchanges, list_versions, load_universe

    typer.echo("version  exchange    symbols")
    for version in list_versions(vendor):
        for exchange in list_exchanges(version, vendor):
            count = len(load_universe(version, exchange, vendor))
            typer.echo(f"{version:<8} {exchange:<11} {count:>7}")


def show_universe(
    version: Annotated[str, typer.Argument(help="Universe version, e.g. v7 or v7.3.")],
    exchange: Annotated[str, typer.Option(help="Exchange id.")] = "binance",
    vendor: Annotated[str, typer.Option(help="Vendor.")] = "ccxt",
) -> None:
    """Print the symbols of a universe, one a line, in download order."""
    from candlelake.universe import load_universe

    for symbol in load_universe(version, exchange, vendor):
        typer.echo(symbol)


def show(
    lake: Annotated[
        str,
        typer.Option(help="Lake base (local path or s3://bucket/prefix); without --signature, "
                     "the dataset root itself."),
    ],
    signature: Annotated[
        str | None, typer.Option(help="Dataset signature (dotted or v3/... path form).")
    ] = None,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated, e.g. BTC_USDT,ETH_USDT. Default: all.")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="First open time, ISO 8601 or YYYY-MM-DD (UTC).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last open time, included; a date means the whole day.")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table prints; csv and parquet export.")
    ] = OutputFormat.table,
    output: Annotated[
        Path | None, typer.Option(help="Write here instead of stdout (needed for parquet).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    aws_profile: Annotated[str | None, typer.Option(help="AWS profile for s3:// lakes.")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="S3-compatible endpoint (or CANDLELAKE_S3_ENDPOINT_URL).")
    ] = None,
) -> None:  # fmt: skip
    """Print or export a slice of the lake."""
    from candlelake.lake import DatasetLocation
    from candlelake.lake.layout import dataset_url
    from candlelake.lake.reader import read
    from candlelake.lake.storage import normalize_url

    if output_format is OutputFormat.parquet and output is None:
        raise UsageError("--format parquet needs --output FILE")
    if output is not None and not output.parent.is_dir():
        raise UsageError(f"cannot write {output}: {output.parent} is not a directory")
    url = dataset_url(lake, _parse_signature(signature)) if signature else normalize_url(lake)
    wanted = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    location = DatasetLocation(url, aws_profile=aws_profile, endpoint_url=endpoint_url)
    table = read(location, wanted, start, end, as_="arrow")
    # Path-only columns go: the rows say which pair they belong to, first.
    table = table.select(["currency_pair", *(c for c in table.column_names if c not in _PARTITION_ONLY)])
    if limit is not None:
        table = table.slice(0, limit)

    if output_format is OutputFormat.table:
        _print_table(table)
    elif output_format is OutputFormat.csv:
        _write_csv(table, output)
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, str(output), compression="zstd")
    if output is not None:
        typer.echo(f"wrote {table.num_rows} rows to {output}", err=True)


_PARTITION_ONLY = ("currency_pair", "year", "month")


def _write_csv(table: pa.Table, output: Path | None) -> None:
    import pyarrow.csv as pcsv

    if output is not None:
        pcsv.write_csv(table, str(output))
        return
    buffer = io.BytesIO()
    pcsv.write_csv(table, buffer)
    typer.echo(buffer.getvalue().decode(), nl=False)


def _print_table(table: pa.Table) -> None:
    from rich.console import Console
    from rich.table import Table

    if table.num_rows == 0:
        typer.echo("no rows")
        return
    shown = [c for c in table.column_names if c != "timestamp"]
    view = Table(box=None, header_style="bold")
    view.add_column("time (UTC)", no_wrap=True)
    for name in shown:
        text = name in ("currency_pair", "exchange_id")
        view.add_column(name, justify="left" if text else "right", no_wrap=True)
    times = table.column("timestamp").to_pylist()
    columns = [table.column(name).to_pylist() for name in shown]
    for i, ms in enumerate(times):
        view.add_row(_time(ms), *(_cell(col[i]) for col in columns))
    console = Console()
    if not console.is_terminal:
        # Piped output has no width to respect: never squeeze or cut the values.
        wide = console.options.update_width(100_000)
        console = Console(width=console.measure(view, options=wide).maximum)
    console.print(view)
    console.print(f"{table.num_rows} rows")


def _time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)
