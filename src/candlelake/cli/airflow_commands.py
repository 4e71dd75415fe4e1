"""``candlelake demo`` (the daily DAG in a real Airflow 3) and ``candlelake airflow ...``."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from candlelake.errors import UsageError

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


def _need_airflow(command: str) -> None:
    if importlib.util.find_spec("airflow") is None:
        typer.echo(INSTALL_HINT.replace("candlelake demo", f"candlelake {command}", 1), err=True)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command and the ``airflow`` group to ``app``."""
    airflow_app = typer.Typer(no_args_is_help=True, help="Prepare an Airflow deployment for the DAGs.")
    app.add_typer(airflow_app, name="airflow")

    @airflow_app.command("setup")
    def setup(
        dags: Annotated[Path, typer.Option("--dags", help="The DAG folder (with candlelake_dags.toml).")],
        pool_slots: Annotated[
            int, typer.Option("--pool-slots", min=1, help="Slots of a pool this command creates.")
        ] = 2,
        check_only: Annotated[bool, typer.Option("--check-only", help="Create nothing; only check.")] = False,
    ) -> None:
        """Create the pools the DAGs use; check the Variables and Connections their settings name.

        Idempotent: existing pools keep their size. Exit code 1 when anything is missing.
        Run it where `airflow` commands run (same AIRFLOW_HOME / database).
        """
        if not dags.is_dir():
            raise UsageError(f"--dags {str(dags)!r} is not a folder")
        _need_airflow("airflow setup")
        from candlelake.airflow.settings import SettingsError
        from candlelake.airflow.setup import apply, parse_pools, requirements

        try:
            needs = requirements(dags, parse_pools(dags))
        except SettingsError as exc:
            raise UsageError(str(exc)) from exc
        lines, ok = apply(needs, pool_slots=pool_slots, check_only=check_only)
        for line in lines:
            typer.echo(line)
        if not ok:
            typer.echo("some Variables, Connections or pools are missing (see above)", err=True)
        raise typer.Exit(0 if ok else 1)

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
        _need_airflow("demo")
        # Imported here: the demo module is light, but keeps Airflow out of `candlelake --help`.
        from candlelake.airflow.demo import run_demo

        raise typer.Exit(run_demo(lake, day))
