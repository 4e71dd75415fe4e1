"""``candlelake demo``: the daily DAG through a real Airflow 3 against the bundled simulator."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Annotated

import typer

INSTALL_HINT = (
    "candlelake demo needs Airflow: uv run --all-extras candlelake demo "
    "(or pip install '.[airflow]' in the repository)"
)


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""

    @app.command("demo")
    def demo(
        lake: Annotated[Path, typer.Option("--lake", help="Where the demo writes its lake.")] = Path(
            "demo-lake"
        ),
        date: Annotated[
            str | None,
            typer.Option("--date", help="UTC day to download, YYYY-MM-DD (default: a fixed demo day)."),
        ] = None,
    ) -> None:
        """Run the test-stage daily DAG in a temporary Airflow against the simulator."""
        day = _parse_date(date)
        if importlib.util.find_spec("airflow") is None:
            typer.echo(INSTALL_HINT, err=True)
            raise typer.Exit(2)
        # Imported here: the demo module is light, but keeps Airflow out of `candlelake --help`.
        from candlelake.airflow.demo import run_demo

        raise typer.Exit(run_demo(lake, day))
