"""``candlelake demo`` (the daily DAG in a real Airflow 3) and ``candlelake airflow ...``."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Annotated, Any

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


def _stage_settings(stage: str, settings: Path | None, dag_id: str | None) -> Any:
    from candlelake.airflow.settings import SETTINGS_FILE_NAME, SettingsError, load_settings

    folder = settings.parent if settings else Path.cwd()
    name = dag_id or f"{stage}.candlelake"
    if not name.startswith(f"{stage}."):
        raise UsageError(f"--dag-id {name!r} must start with the stage, e.g. {stage}.my_dag")
    try:
        # The local runner here: only the container settings matter, not the lake.
        return load_settings(
            folder / f"{name}.py",
            {"runner": "local", "lake_url": "unused"},
            settings_file=settings or folder / SETTINGS_FILE_NAME,
        )[1]
    except SettingsError as exc:
        raise UsageError(str(exc)) from exc


STAGE_OPTION = typer.Option("--stage", help="test, preprod or prod.")
SETTINGS_OPTION = typer.Option("--settings", help="The candlelake_dags.toml to read (default: ./).")
DAG_OPTION = typer.Option("--dag-id", help='Apply this DAG\'s [dags."<dag_id>"] layer too.')


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
        from candlelake.airflow.setup import apply, parse_dags, requirements

        try:
            needs = requirements(dags, parse_dags(dags))
        except SettingsError as exc:
            raise UsageError(str(exc)) from exc
        lines, ok = apply(needs, pool_slots=pool_slots, check_only=check_only)
        for line in lines:
            typer.echo(line)
        if not ok:
            typer.echo("some Variables, Connections or pools are missing (see above)", err=True)
        raise typer.Exit(0 if ok else 1)

    @airflow_app.command("ecs-task-definition")
    def ecs_task_definition_command(
        stage: Annotated[str, STAGE_OPTION],
        image: Annotated[str, typer.Option("--image", help="The candlelake image (Dockerfile).")],
        role: Annotated[str | None, typer.Option("--role", help="Task role ARN (S3 access).")] = None,
        execution_role: Annotated[
            str | None, typer.Option("--execution-role", help="Execution role ARN (image pull, logs).")
        ] = None,
        settings: Annotated[Path | None, SETTINGS_OPTION] = None,
        dag_id: Annotated[str | None, DAG_OPTION] = None,
    ) -> None:
        """Print the ECS task definition (JSON for `aws ecs register-task-definition --cli-input-json`)."""
        from candlelake.airflow.containers import ecs_task_definition

        loaded = _stage_settings(stage, settings, dag_id)
        body = ecs_task_definition(
            loaded.ecs, loaded.stage, image, task_role_arn=role, execution_role_arn=execution_role
        )
        typer.echo(json.dumps(body, indent=2))

    @airflow_app.command("pod-template")
    def pod_template_command(
        stage: Annotated[str, STAGE_OPTION],
        image: Annotated[str | None, typer.Option("--image", help="Default: kubernetes.image.")] = None,
        settings: Annotated[Path | None, SETTINGS_OPTION] = None,
        dag_id: Annotated[str | None, DAG_OPTION] = None,
    ) -> None:
        """Print a Kubernetes pod template (JSON, valid YAML) matching the kubernetes runner's pod."""
        from candlelake.airflow.containers import kubernetes_pod_template

        loaded = _stage_settings(stage, settings, dag_id)
        typer.echo(json.dumps(kubernetes_pod_template(loaded.kubernetes, image), indent=2))

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
