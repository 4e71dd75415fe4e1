"""Quality and discovery commands: `qa`, `repair`, `ls` and `sql`.

Thin adapters over candlelake.quality and candlelake.lake. pyarrow, pandas and DuckDB are
imported inside the command bodies, so `candlelake --help` stays light.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from candlelake.errors import UsageError

if TYPE_CHECKING:
    from candlelake.quality.qa import QaReport, QaRequest
    from candlelake.signature import DatasetSignature

Lake = Annotated[
    str,
    typer.Option(help="Lake base (local path or s3://bucket/prefix); without --signature, the dataset "
                 "root itself, or a lake holding a single dataset."),
]  # fmt: skip
Signature = Annotated[str | None, typer.Option(help="Dataset signature (dotted or v3/... path form).")]
Symbols = Annotated[str | None, typer.Option(help="Comma-separated. Default: the universe and all present.")]
Start = Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD. Default: the first day with data.")]
End = Annotated[str | None, typer.Option(help="Last day, included. Default: the last day with data.")]
AwsProfile = Annotated[str | None, typer.Option(help="AWS profile for s3:// lakes.")]
EndpointUrl = Annotated[
    str | None, typer.Option(help="S3-compatible endpoint (or CANDLELAKE_S3_ENDPOINT_URL).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of a table.")]


def register(app: typer.Typer) -> None:
    """Add `qa`, `repair`, `ls` and `sql` to `app`."""
    app.command("qa")(qa)
    app.command("repair")(repair)
    app.command("ls")(ls)
    app.command("sql")(sql)


def _request(
    lake: str,
    signature: str | None,
    symbols: str | None,
    start: str | None,
    end: str | None,
    aws_profile: str | None,
    endpoint_url: str | None,
    *,
    deep: bool = False,
    flat_minutes: int | None = None,
    jump_z: float | None = None,
) -> tuple[QaRequest, DatasetSignature | None, str]:
    """The QA request of the common flags, the dataset's signature (None if unknown), the lake base."""
    from candlelake.bars import grid_of
    from candlelake.lake.catalog import find_datasets, is_dataset_root
    from candlelake.lake.layout import dataset_url
    from candlelake.lake.storage import DatasetLocation, normalize_url
    from candlelake.markets import interval_of_tag
    from candlelake.quality.qa import QaRequest
    from candlelake.signature import DatasetSignature
    from candlelake.timeutil import parse_date
    from candlelake.universe import load_universe
    from candlelake.validate.checks import CheckSettings

    sig = _parse_signature(signature) if signature else None
    base = normalize_url(lake)
    url = dataset_url(lake, sig) if sig else base
    location = DatasetLocation(url, aws_profile=aws_profile, endpoint_url=endpoint_url)
    fs, root = location.filesystem()
    if not fs.isdir(root):
        raise UsageError(f"no dataset at {location.url}")
    if sig is None:
        if is_dataset_root(fs, root):
            try:
                sig = DatasetSignature.from_path(url)
                base = url[: -len(sig.relative_path()) - 1]
            except UsageError:
                sig = None  # a dataset outside the v3 layout: no universe to compare with
        else:
            found = find_datasets(fs, root)
            if len(found) != 1:
                names = ", ".join(map(str, found)) or "none"
                raise UsageError(
                    f"--signature is needed: {location.url} holds {len(found)} datasets ({names})"
                )
            sig = found[0]
            location = location.child(sig.relative_path())
    # The interval's bar grid (1m unless the action tag names another), or funding settlements.
    interval = interval_of_tag(sig.action_tag) if sig is not None else None
    funding = sig is not None and sig.data_type == "funding_rate"
    universe: tuple[str, ...] = ()
    if sig is not None and sig.universe != "all":
        universe = tuple(load_universe(sig.universe, sig.exchange_id, vendor=sig.vendor))
    first = parse_date(start, flag="--start") if start else None
    last = parse_date(end, flag="--end") if end else None
    if first and last and first > last:
        raise UsageError(f"--start {start} is after --end {end}")
    defaults = CheckSettings()
    checks = CheckSettings(flat_minutes or defaults.flat_run_minutes, jump_z or defaults.jump_z)
    request = QaRequest(
        location=location,
        symbols=_symbols(symbols),
        universe=universe,
        first_day=first,
        last_day=last,
        deep=deep,
        checks=checks,
        grid=grid_of(interval or "1m"),
        funding=funding,
    )
    return request, sig, base


def _symbols(text: str | None) -> tuple[str, ...] | None:
    from candlelake.markets import check_symbol

    if text is None:
        return None
    chosen = tuple(dict.fromkeys(check_symbol(s.strip()) for s in text.split(",") if s.strip()))
    if not chosen:
        raise UsageError("--symbols is empty; expected e.g. BTC_USDT,ETH_USDT")
    return chosen


def _parse_signature(text: str) -> DatasetSignature:
    from candlelake.signature import DatasetSignature

    return DatasetSignature.from_path(text) if "/" in text else DatasetSignature.parse(text)


def qa(
    lake: Lake,
    signature: Signature = None,
    symbols: Symbols = None,
    start: Start = None,
    end: End = None,
    as_json: AsJson = False,
    html: Annotated[Path | None, typer.Option(help="Write an HTML report (heatmap, charts) here.")] = None,
    png: Annotated[Path | None, typer.Option(help="Write a PNG of the HTML report (needs chromium).")] = None,
    deep: Annotated[bool, typer.Option(help="Read every file, not only those the ledger lacks.")] = False,
    cross_check: Annotated[
        str | None, typer.Option(help="Compare with this other dataset (signature) where both have days.")
    ] = None,
    flat_minutes: Annotated[int | None, typer.Option(min=2, help="Flag flat runs of N bars (30).")] = None,
    jump_z: Annotated[float | None, typer.Option(min=1, help="Robust z-score of a jump (25).")] = None,
    aws_profile: AwsProfile = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Check a dataset: bars (or settlements) by reason per (symbol, day or month), and the rows'
    sanity. Exit 1 on a problem."""
    from candlelake.quality.qa import run_qa

    for path in (html, png):
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"cannot write {path}: {path.parent} is not a directory")
    request, _, base = _request(
        lake, signature, symbols, start, end, aws_profile, endpoint_url,
        deep=deep, flat_minutes=flat_minutes, jump_z=jump_z,
    )  # fmt: skip
    if cross_check and request.funding:
        raise UsageError("--cross-check compares candle datasets; this one holds funding settlements")
    report = run_qa(request)
    if cross_check:
        from candlelake.lake.layout import dataset_url
        from candlelake.lake.storage import DatasetLocation
        from candlelake.quality.crosscheck_lake import cross_check_datasets

        other = DatasetLocation(
            dataset_url(base, _parse_signature(cross_check)),
            aws_profile=aws_profile,
            endpoint_url=endpoint_url,
        )
        report.findings += cross_check_datasets(request, other)
    _output(report, as_json)
    if html is not None or png is not None:
        from candlelake.quality.html_report import render_html, screenshot

        text = render_html(report, request.location)
        target = html or png.with_suffix(".html")  # type: ignore[union-attr]
        target.write_text(text)
        if png is not None:
            screenshot(target, png)
    raise typer.Exit(0 if report.ok else 1)


def _output(report: QaReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=1))
        return
    from candlelake.quality.qa_table import print_report

    print_report(report)


def repair(
    lake: Lake,
    signature: Signature = None,
    symbols: Symbols = None,
    start: Start = None,
    end: End = None,
    as_json: AsJson = False,
    rest_url: Annotated[
        str | None, typer.Option(help="Binance REST base URL (env CANDLELAKE_BINANCE_URL).")
    ] = None,
    archive_url: Annotated[str | None, typer.Option(help="Archive base URL (vendor binance).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Requests in flight at once.")] = 8,
    aws_profile: AwsProfile = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Download again exactly the broken days (or months) QA finds: holes, missing or corrupt files,
    bad rows."""
    import asyncio

    from candlelake.cli.repair import RepairSettings
    from candlelake.cli.repair import repair as run_repair
    from candlelake.quality.qa import run_qa
    from candlelake.settings import RestSettings

    request, sig, base = _request(lake, signature, symbols, start, end, aws_profile, endpoint_url)
    if sig is None:
        raise UsageError("repair needs a dataset with a signature (give --signature)")
    settings = RepairSettings(
        lake_url=base,
        signature=sig,
        rest=RestSettings.from_env(rest_url),
        archive_url=archive_url,
        aws_profile=aws_profile,
        s3_endpoint_url=endpoint_url,
        concurrency=concurrency,
    )
    before = run_qa(request)
    outcome = asyncio.run(run_repair(before, request, settings))
    if as_json:
        typer.echo(json.dumps(outcome.to_dict(), indent=1))
    else:
        if not outcome.spans:
            typer.echo("nothing to repair")
        for (first, last), names in sorted(outcome.spans.items()):
            typer.echo(f"re-downloaded {outcome.describe(first, last)}: {', '.join(names)}")
        if outcome.after is not None:
            _output(outcome.after, False)
    raise typer.Exit(0 if outcome.ok else 1)


def ls(
    lake: Annotated[str, typer.Option(help="Lake base (local path or s3://bucket/prefix).")],
    as_json: AsJson = False,
    aws_profile: AwsProfile = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """List the datasets of a lake: symbols, date range and rows, read from the gap ledger
    (funding: settlements, read from the month files)."""
    from candlelake.lake.catalog import summarize
    from candlelake.lake.storage import DatasetLocation, normalize_url

    summaries = summarize(
        DatasetLocation(normalize_url(lake), aws_profile=aws_profile, endpoint_url=endpoint_url)
    )
    if as_json:
        typer.echo(json.dumps([s.to_dict() for s in summaries], indent=1))
        return
    if not summaries:
        typer.echo("no datasets")
        return
    for s in summaries:
        if s.is_funding:
            span = f"{s.first_day}..{s.last_day}" if s.first_day else "no files"
            counts = f"{s.months} month files  {s.rows} settlements"
        else:
            span = f"{s.first_day}..{s.last_day}" if s.first_day else "no ledger"
            counts = f"{s.days} files  {s.rows} rows"
        typer.echo(f"{s.signature}  {len(s.symbols)} symbols  {span}  {counts}")


def sql(
    query: Annotated[
        str,
        typer.Argument(
            help='SQL; each dataset is a view named after its signature, quoted: "periodic_daily.....v1_0_0".'
        ),
    ],
    lake: Annotated[str, typer.Option(help="Lake base (local path or s3://bucket/prefix).")],
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    aws_profile: AwsProfile = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Run SQL (DuckDB) over every dataset of a lake."""
    from candlelake.lake.sql import sql as run_sql

    if output_format not in ("table", "csv", "json"):
        raise UsageError(f"bad --format {output_format!r}; allowed: table, csv, json")
    import pyarrow as pa

    table = run_sql(query, lake, as_="arrow", aws_profile=aws_profile, endpoint_url=endpoint_url)
    assert isinstance(table, pa.Table)
    if output_format == "json":
        typer.echo(json.dumps(table.to_pylist(), default=_json_default, indent=1))
    elif output_format == "csv":
        from candlelake.cli.catalog import _write_csv

        _write_csv(table, None)
    else:
        from candlelake.quality.qa_table import print_arrow_table

        print_arrow_table(table)


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
