"""Stage, DAG id and per-stage settings of a candlelake DAG file.

A DAG file is named ``{stage}.{dag_name}.py``; the stage is its first dot-token and the DAG id
is the whole name without ``.py`` (upstream's convention). Settings come from
``candlelake_dags.toml`` beside the DAG file, merged in this order (later wins)::

    built-in defaults of the stage
    < [defaults]                     (every stage, every DAG)
    < [stages.<stage>]               (one stage)
    < [dags."<dag_id>"]              (one DAG)
    < keyword overrides given to the factory in the DAG file

Nothing here reads an Airflow Variable or Connection. Values that upstream kept in
Variables are *templates* rendered at run time, e.g. the preprod lake defaults to
``s3://{{ var.value.preprod_s3_data_bucket }}``. A schedule is a parse-time property of a
DAG, so it comes from the file only (see docs/airflow.md).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from candlelake.airflow.runner_settings import (
    DockerSettings,
    EcsSettings,
    KubernetesSettings,
    Settings,
    Stage,
)

RunnerKind = Literal["local", "docker", "kubernetes", "ecs"]
STAGES: tuple[Stage, ...] = get_args(Stage)
RUNNERS: tuple[RunnerKind, ...] = get_args(RunnerKind)
SETTINGS_FILE_NAME = "candlelake_dags.toml"
_TASK_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_TASK_ID_MAX = 200
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SettingsError(ValueError):
    """A DAG file name or a settings file is invalid; the message says what and where."""


@dataclass(frozen=True)
class DagName:
    """Stage and DAG id parsed from a DAG file name."""

    stage: Stage
    dag_id: str
    file: Path


def parse_dag_file(path: str | Path) -> DagName:
    """Return stage and DAG id of ``{stage}.{dag_name}.py``; raise SettingsError otherwise."""
    file = Path(path)
    if file.suffix != ".py":
        raise SettingsError(f"DAG file {file.name!r} must end in .py")
    dag_id = file.name[: -len(".py")]
    stage, sep, rest = dag_id.partition(".")
    if not sep or not rest:
        raise SettingsError(
            f"DAG file {file.name!r} must be named '{{stage}}.{{dag_name}}.py', "
            f"e.g. 'test.download_periodic_daily_ohlcv_data.py'"
        )
    if stage not in STAGES:
        raise SettingsError(
            f"DAG file {file.name!r} has stage {stage!r}; the stage (text before the first dot) "
            f"must be one of {', '.join(STAGES)}"
        )
    return DagName(stage=cast(Stage, stage), dag_id=dag_id, file=file)


@dataclass(frozen=True)
class Job:
    """One dataset to download: upstream's ``(vendor, exchange, contract, data_type, universe)``."""

    vendor: str
    exchange: str
    contract: str
    data_type: str
    universe: str

    def task_id(self, download_mode: str) -> str:
        """``download.<mode>.<vendor>.<exchange>.<contract>.<universe>`` (upstream's task id),
        then ``.<data_type>`` for any data type but ``ohlcv``.

        Characters Airflow does not allow in a task id become ``_``; the values themselves
        reach the command unchanged.
        """
        parts = ["download", download_mode, self.vendor, self.exchange, self.contract, self.universe]
        if self.data_type != "ohlcv":  # upstream's ids name no data type: they only had OHLCV
            parts.append(self.data_type)
        task_id = _TASK_ID_UNSAFE.sub("_", ".".join(parts))
        if len(task_id) > _TASK_ID_MAX:  # Airflow's limit is 250; keep it unique with a hash
            digest = hashlib.sha256(task_id.encode()).hexdigest()[:12]
            task_id = f"{task_id[: _TASK_ID_MAX - 13]}.{digest}"
        return task_id


def action_tag_for(job: Job, stage_tag: str) -> str:
    """The stage's action tag, except for funding: settlements are not 1-minute bars, so a
    funding dataset is named `downloaded_all` (every settlement published)."""
    return "downloaded_all" if job.data_type == "funding_rate" else stage_tag


class StageSettings(Settings):
    """Everything a candlelake DAG needs for one stage; immutable once loaded."""

    stage: Stage
    lake_url: str
    schedule: str = "20 1 * * *"
    start_date: str = "2024-01-01"
    catchup: bool = False
    retries: int = Field(0, ge=0)
    retry_delay_minutes: float = 5.0
    execution_timeout_minutes: float | None = 120.0
    description: str = "Daily OHLCV data download."
    # Dataset signature tokens (upstream's defaults for the tutorial DAG).
    download_mode: str = "periodic_daily"
    downloading_entity: str = "airflow"
    action_tag: str = "downloaded_1min"
    data_format: str = "parquet"
    version: str | None = None
    assert_on_missing_data: bool = True
    aws_profile: str | None = None
    log_level: str | None = None
    # Further download-bulk arguments, e.g. ["--universe_part", "10", "1"] or ["--concurrency", "4"].
    extra_args: tuple[str, ...] = ()
    # Where runs of the local runner leave their --report_json files (None: not written).
    report_dir: str | None = None
    # Environment of the download command (endpoint URLs and the like; no secrets here).
    env: Mapping[str, str] = Field(default_factory=dict)
    runner: RunnerKind = "local"
    docker: DockerSettings = Field(default_factory=DockerSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    ecs: EcsSettings = Field(default_factory=EcsSettings)
    # Alerts.
    email_on_failure: bool = False
    emails: tuple[str, ...] = ()
    email_from: str | None = None
    smtp_conn_id: str = "smtp_default"
    telegram_on_failure: bool = False
    telegram_conn_id: str = ""
    telegram_chat_id: str | None = None
    # Backfill DAG.
    backfill_pool: str = "candlelake_backfill"
    backfill_max_days: int = 366

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: Mapping[str, str]) -> Mapping[str, str]:
        for name in env:
            if not _ENV_NAME.match(name):
                raise ValueError(f'env entry {name!r} must be NAME = "string"')
        return env

    @model_validator(mode="after")
    def _alerts_have_a_destination(self) -> StageSettings:
        if self.email_on_failure and not self.emails:
            raise ValueError("email_on_failure needs at least one address in emails")
        if self.telegram_on_failure and not self.telegram_conn_id:
            raise ValueError("telegram_on_failure needs telegram_conn_id")
        return self


def _stage_defaults(stage: Stage) -> dict[str, Any]:
    """Built-in defaults: upstream's behaviour, with its Variables as run-time templates."""
    if stage == "test":
        return {
            "stage": stage,
            "retries": 0,
            "email_on_failure": False,
            "telegram_on_failure": False,
            "telegram_conn_id": "test_telegram_conn",
        }
    return {
        "stage": stage,
        "lake_url": f"s3://{{{{ var.value.{stage}_s3_data_bucket }}}}",
        "retries": 1,
        "email_on_failure": True,
        "emails": (f"{{{{ var.value.{stage}_notification_email }}}}",),
        "telegram_on_failure": True,
        "telegram_conn_id": f"{stage}_telegram_conn",
        "telegram_chat_id": (f"{{{{ var.value.get('{stage}_datapull_telegram_room_id', '') }}}}"),
    }


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _known(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = StageSettings
    for part in loc:
        annotation = model.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return sorted(model.model_fields)


def _error_text(exc: ValidationError) -> str:
    """One line per problem: unknown keys (with the known ones), else key, value and rule."""
    unknown: dict[tuple[int | str, ...], list[str]] = {}
    problems = []
    for err in exc.errors():
        loc = err["loc"]
        if err["type"] == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(".".join(map(str, loc)))
        elif not loc:  # a model-level rule
            problems.append(str(err["msg"]).removeprefix("Value error, "))
        else:
            key = ".".join(map(str, loc))
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{key} {err['input']!r}: {msg}")
    for parent, keys in unknown.items():
        problems.insert(0, f"unknown setting(s) {', '.join(keys)}; known: {', '.join(_known(parent))}")
    return "; ".join(problems)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: invalid TOML: {exc}") from exc


def _default_test_lake(runner: str) -> str:
    """The test stage's lake: a folder beside the settings for the local runner, else the
    upstream test bucket's Variable (a container cannot see the Airflow host's folders)."""
    return "demo-lake" if runner == "local" else "s3://{{ var.value.test_s3_data_bucket }}"


def _is_local(lake_url: str) -> bool:
    return lake_url.startswith("file://") or ("://" not in lake_url and "{{" not in lake_url)


def _resolve_lake(lake_url: str, base_dir: Path) -> str:
    """Make a relative local lake path absolute against the settings file's folder.

    A worker's current directory is arbitrary, so a relative path must not depend on it.
    URLs (``s3://…``, ``file://…``) and templates are left as they are.
    """
    if "://" in lake_url or "{{" in lake_url:
        return lake_url
    path = Path(lake_url).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def load_settings(
    dag_file: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    settings_file: str | Path | None = None,
) -> tuple[DagName, StageSettings]:
    """Parse the DAG file name and load its stage's settings.

    ``settings_file`` defaults to ``candlelake_dags.toml`` beside the DAG file; a missing
    file means built-in defaults only.
    """
    name = parse_dag_file(dag_file)
    file = Path(settings_file) if settings_file else name.file.parent / SETTINGS_FILE_NAME
    raw = _read_file(file) if file.exists() else {}
    unknown_sections = sorted(set(raw) - {"defaults", "stages", "dags"})
    if unknown_sections:
        raise SettingsError(
            f"{file}: unknown section(s) {', '.join(unknown_sections)}; "
            'use [defaults], [stages.<stage>] and [dags."<dag_id>"]'
        )
    unknown_stages = sorted(set(raw.get("stages", {})) - set(STAGES))
    if unknown_stages:
        raise SettingsError(f"{file}: unknown stage(s) {', '.join(unknown_stages)}")
    merged = _stage_defaults(name.stage)
    for layer in (
        raw.get("defaults", {}),
        raw.get("stages", {}).get(name.stage, {}),
        raw.get("dags", {}).get(name.dag_id, {}),
        overrides or {},
    ):
        merged = _deep_merge(merged, layer)
    if merged.get("stage") != name.stage:
        raise SettingsError(f"{file}: the stage comes from the file name and cannot be set")
    where = f"{file} (DAG {name.dag_id})"
    merged.setdefault("lake_url", _default_test_lake(merged.get("runner", "local")))
    try:
        settings = StageSettings.model_validate(merged)
    except ValidationError as exc:
        raise SettingsError(f"{where}: {_error_text(exc)}") from None
    if settings.runner != "local" and _is_local(settings.lake_url):
        raise SettingsError(
            f"{where}: lake_url {settings.lake_url!r} is a folder on the Airflow host, which the "
            f"{settings.runner} runner's container cannot see; use an object store URL (s3://...)"
        )
    settings = settings.model_copy(
        update={
            "lake_url": _resolve_lake(settings.lake_url, file.parent),
            "report_dir": _resolve_lake(settings.report_dir, file.parent) if settings.report_dir else None,
        }
    )
    return name, settings
