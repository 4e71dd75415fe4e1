"""``candlelake airflow setup``: what the candlelake DAGs of a folder need from Airflow.

The DAG files themselves never read Variables or Connections at parse time, so a missing
one shows only when a task runs, and a missing pool not even then: its tasks stay
``scheduled`` forever with nothing but a scheduler warning. This module lists the pools,
Variables and Connections that the settings name (pure), and ``apply`` creates the missing
pools and checks the rest against a live Airflow (idempotent: existing pools are kept as
the operator sized them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from candlelake.airflow.settings import SettingsError, StageSettings, load_settings, parse_dag_file

# `{{ var.value.name }}` is required; `{{ var.value.get('name', ...) }}` is optional.
_REQUIRED_VAR = re.compile(r"var\.value\.([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")
_OPTIONAL_VAR = re.compile(r"var\.value\.get\(\s*['\"]([^'\"]+)['\"]")
DEFAULT_POOL_SLOTS = 2


@dataclass
class Requirements:
    """What the DAGs of a folder need; each name maps to the DAGs (and settings) needing it."""

    pools: dict[str, set[str]] = field(default_factory=dict)
    variables: dict[str, set[str]] = field(default_factory=dict)
    optional_variables: dict[str, set[str]] = field(default_factory=dict)
    connections: dict[str, set[str]] = field(default_factory=dict)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a settings object, with its dotted setting name."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _strings(getattr(value, name), f"{path}.{name}".lstrip("."))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, path)


def _connections(settings: StageSettings) -> dict[str, str]:
    """Connection ids the settings use, with the setting that names each."""
    used = {
        "telegram_conn_id": settings.telegram_conn_id if settings.telegram_on_failure else None,
        "smtp_conn_id": settings.smtp_conn_id if settings.email_on_failure else None,
        "ecs.aws_conn_id": settings.ecs.aws_conn_id if settings.runner == "ecs" else None,
        "docker.docker_conn_id": settings.docker.docker_conn_id if settings.runner == "docker" else None,
        "kubernetes.kubernetes_conn_id": (
            settings.kubernetes.kubernetes_conn_id if settings.runner == "kubernetes" else None
        ),
    }
    return {name: conn for name, conn in used.items() if conn}


def requirements(dag_folder: Path, parsed: dict[str, ParsedDag]) -> Requirements:
    """What the candlelake DAG files in ``dag_folder`` need.

    ``parsed`` holds, per DAG id, the pools and runner seen when Airflow parsed the folder
    (see :func:`parse_dags`; a DAG file may choose its runner in Python). Files not named
    ``{stage}.{name}.py`` are not candlelake DAGs.
    """
    needs = Requirements()
    for file in sorted(dag_folder.glob("*.py")):
        try:
            name = parse_dag_file(file)
        except SettingsError:
            continue
        who = name.dag_id
        seen = parsed.get(who, ParsedDag())
        _, settings = load_settings(file, {"runner": seen.runner} if seen.runner else None)
        derived: list[tuple[str, str]] = []
        if settings.runner == "ecs":  # defaults computed from the stage, not stored in fields
            subnets, groups = settings.ecs.network()
            derived += [("ecs.cluster", settings.ecs.cluster_name(name.stage))]
            derived += [("ecs.subnets", s) for s in subnets] + [("ecs.security_groups", g) for g in groups]
        for setting, text in [*_strings(settings, ""), *derived]:
            for var in _REQUIRED_VAR.findall(text):
                needs.variables.setdefault(var, set()).add(f"{who}: {setting}")
            for var in _OPTIONAL_VAR.findall(text):
                needs.optional_variables.setdefault(var, set()).add(f"{who}: {setting}")
        for setting, conn in _connections(settings).items():
            needs.connections.setdefault(conn, set()).add(f"{who}: {setting}")
        for pool in seen.pools:
            needs.pools.setdefault(pool, set()).add(who)
    return needs


@dataclass(frozen=True)
class ParsedDag:
    pools: frozenset[str] = frozenset()
    runner: str | None = None


_RUNNER_OF_OPERATOR = {
    "EcsDownloadOperator": "ecs",
    "EcsRunTaskOperator": "ecs",
    "DockerOperator": "docker",
    "KubernetesPodOperator": "kubernetes",
    "KubernetesDownloadOperator": "kubernetes",
    "DownloadBulkOperator": "local",
}


def parse_dags(dag_folder: Path) -> dict[str, ParsedDag]:
    """Parse the folder with Airflow: per DAG, its pools (besides the default) and runner."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag_folder))
    if bag.import_errors:
        file, error = next(iter(bag.import_errors.items()))
        raise SettingsError(f"{file}: {error.strip().splitlines()[-1]}")
    parsed = {}
    for dag_id, dag in bag.dags.items():
        runners = {_RUNNER_OF_OPERATOR.get(t.task_type) for t in dag.tasks} - {None}
        pools = frozenset(t.pool for t in dag.tasks if t.pool and t.pool != "default_pool")
        parsed[dag_id] = ParsedDag(pools, next(iter(runners)) if len(runners) == 1 else None)
    return parsed


def apply(needs: Requirements, *, pool_slots: int, check_only: bool) -> tuple[list[str], bool]:
    """Create missing pools and check Variables and Connections; return (lines, all present)."""
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable

    lines: list[str] = []
    ok = True
    for pool, users in sorted(needs.pools.items()):
        existing = Pool.get_pool(pool)
        if existing is not None:
            lines.append(f"pool {pool}: exists with {existing.slots} slots")
        elif check_only:
            ok = False
            lines.append(f"pool {pool}: MISSING (needed by {', '.join(sorted(users))})")
        else:
            Pool.create_or_update_pool(
                pool, pool_slots, "candlelake backfills (Binance weight budget)", include_deferred=False
            )
            lines.append(f"pool {pool}: created with {pool_slots} slots")
    for var, users in sorted(needs.variables.items()):
        present = Variable.get(var, default_var=None) is not None
        ok &= present
        state = "set" if present else f"MISSING (needed by {', '.join(sorted(users))})"
        lines.append(f"variable {var}: {state}")
    for var, users in sorted(needs.optional_variables.items()):
        if Variable.get(var, default_var=None) is None:
            lines.append(f"variable {var}: not set (optional: {', '.join(sorted(users))})")
    for conn, users in sorted(needs.connections.items()):
        try:
            Connection.get_connection_from_secrets(conn)
        except Exception:  # Airflow raises its own not-found error type per version
            ok = False
            lines.append(f"connection {conn}: MISSING (needed by {', '.join(sorted(users))})")
        else:
            lines.append(f"connection {conn}: set")
    return lines, ok
