"""``candlelake convert-upstream``: turn an upstream dataset's uuid files into day files."""

from __future__ import annotations

from typing import Annotated

import typer

from candlelake.errors import UsageError


def convert_upstream(
    dataset: Annotated[
        str, typer.Argument(help="The dataset root (<lake>/v3/<tokens...>), local path or s3:// URL.")
    ],
    remove_foreign: Annotated[
        bool, typer.Option("--remove-foreign", help="Delete the upstream files once their days are verified.")
    ] = False,
    aws_profile: Annotated[str | None, typer.Option(help="AWS profile for s3:// lakes.")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="S3 endpoint (e.g. a local S3 server).")] = None,
) -> None:
    """Convert upstream's files in a dataset into verified day files, one row per minute.

    Duplicated minutes keep the row with the latest knowledge_timestamp; days that already
    have a day file are kept. Idempotent: a second run finds every day already there.
    """
    from candlelake.lake.storage import DatasetLocation, normalize_url
    from candlelake.lake.upstream import convert_upstream as convert

    location = DatasetLocation(normalize_url(dataset), aws_profile=aws_profile, endpoint_url=endpoint_url)
    fs, root = location.filesystem()
    if not fs.isdir(root):
        raise UsageError(f"no dataset at {location.url}")
    try:
        report = convert(location, remove_foreign=remove_foreign)
    except ValueError as exc:
        raise UsageError(f"{location.url}: {exc}") from exc
    for name in report.days_written:
        typer.echo(f"wrote {name}")
    typer.echo(f"done: {report.summary()}")


def register(app: typer.Typer) -> None:
    app.command("convert-upstream")(convert_upstream)
