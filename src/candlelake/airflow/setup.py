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


def requirements(dag_folder: Path, task_pools: dict[str, set[str]]) -> Requirements:
    """What the candlelake DAG files in ``dag_folder`` need.

    ``task_pools`` maps each parsed DAG id to the pools its tasks name (see
    :func:`parse_pools`). Files not named ``{stage}.{name}.py`` are not candlelake DAGs.
    """
    needs = Requirements()
    for file in sorted(dag_folder.glob("*.py")):
        try:
            name = parse_dag_file(file)
        except SettingsError:
            continue
        _, settings = load_settings(file)
        who = name.dag_id
        for setting, text in _strings(settings, ""):
            for var in _REQUIRED_VAR.findall(text):
                needs.variables.setdefault(var, set()).add(f"{who}: {setting}")
            for var in _OPTIONAL_VAR.findall(text):
                needs.optional_variables.setdefault(var, set()).add(f"{who}: {setting}")
        for setting, conn in _connections(settings).items():
            needs.connections.setdefault(conn, set()).add(f"{who}: {setting}")
        for pool in task_pools.get(who, set()):
            needs.pools.setdefault(pool, set()).add(who)
    return needs


def parse_pools(dag_folder: Path) -> dict[str, set[str]]:
    """Parse the folder with Airflow and return the pools (other than the default) per DAG."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag_folder))
    if bag.import_errors:
        file, error = next(iter(bag.import_errors.items()))
        raise SettingsError(f"{file}: {error.strip().splitlines()[-1]}")
    return {
        dag_id: {t.pool for t in dag.tasks if t.pool and t.pool != "default_pool"}
        for dag_id, dag in bag.dags.items()
    }


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
