"""The window follows the run's logical date on every path a run can be created by.

Each path is reproduced with Airflow's own code for it (the timetable, the backfill
planner, the manual-interval inference that `airflow dags trigger` uses) and the template
is rendered by Airflow's Jinja with the real ``macros`` module. The expected day is the
one the issue names: a run at (or with logical date) 2024-02-20 01:20 UTC downloads
2024-02-19. The real deployment test triggers the same paths through real processes.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

pytest.importorskip("airflow")

from airflow.dag_processing.dagbag import DagBag
from airflow.models.backfill import _get_info_list
from airflow.sdk.execution_time import macros
from airflow.serialization.serialized_objects import DagSerialization

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]
DAILY = "test.download_periodic_daily_ohlcv_data"
BACKFILL = "test.backfill_daily_ohlcv_data"
SPOT_TASK = "download.periodic_daily.ccxt.binance.spot.v7"
RUN_AT = pendulum.datetime(2024, 2, 20, 1, 20, tz="UTC")
NOW = pendulum.datetime(2026, 7, 1, 9, 0, tz="UTC")  # "today" when an operator triggers by hand


@pytest.fixture(scope="module")
def bag() -> DagBag:
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag


def _window(bag: DagBag, logical_date: Any, run_after: Any) -> tuple[str, str]:
    task = bag.dags[DAILY].get_task(SPOT_TASK)
    task = task.prepare_for_execution()  # a copy: rendering replaces the templates
    context = {"dag_run": SimpleNamespace(logical_date=logical_date, run_after=run_after), "macros": macros}
    task.render_template_fields(context)  # type: ignore[arg-type]
    flags = {a: b for a, b in itertools.pairwise(task.args) if a.startswith("--")}
    return flags["--start_timestamp"], flags["--end_timestamp"]


DAY_19 = ("2024-02-19T00:00:00+00:00", "2024-02-19T23:59:00+00:00")


def test_scheduled_run(bag: DagBag) -> None:
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    core = coerce_to_core_timetable(bag.dags[DAILY].timetable)
    info = core.next_dagrun_info(
        last_automated_data_interval=DataInterval(RUN_AT.subtract(days=1), RUN_AT.subtract(days=1)),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert info is not None
    assert _window(bag, info.logical_date, info.run_after) == DAY_19


def test_cli_trigger_with_logical_date_ignores_the_interval_computed_from_now(bag: DagBag) -> None:
    # `airflow dags trigger --logical-date X` (3.3): logical date X, run_after and data
    # interval from now. The interval is deliberately not what the window uses.
    from airflow.serialization.encoders import coerce_to_core_timetable

    interval = coerce_to_core_timetable(bag.dags[DAILY].timetable).infer_manual_data_interval(run_after=NOW)
    assert interval.end.date() != RUN_AT.date()
    assert _window(bag, RUN_AT, NOW) == DAY_19


def test_rest_trigger_with_a_stdlib_datetime(bag: DagBag) -> None:
    # The execution API hands the worker plain datetimes, not pendulum objects.
    import datetime as dt

    logical = dt.datetime(2024, 2, 20, 3, 20, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 01:20 UTC
    assert _window(bag, logical, logical) == DAY_19


def test_rest_trigger_without_logical_date_uses_run_after(bag: DagBag) -> None:
    assert _window(bag, None, RUN_AT) == DAY_19


def test_backfill_create_gives_one_run_per_day(bag: DagBag) -> None:
    # What `airflow backfill create --from-date 2024-02-18 --to-date 2024-02-21` plans.
    serialized = DagSerialization.from_dict(DagSerialization.to_dict(bag.dags[DAILY]))
    infos = _get_info_list(
        from_date=pendulum.datetime(2024, 2, 18, tz="UTC"),
        to_date=pendulum.datetime(2024, 2, 21, tz="UTC"),
        reverse=False,
        dag=serialized,
    )
    windows = [_window(bag, i.logical_date, i.run_after)[0][:10] for i in infos]
    assert windows == ["2024-02-17", "2024-02-18", "2024-02-19"]


def test_clear_and_rerun_keeps_the_day(bag: DagBag) -> None:
    # A cleared run keeps its logical date; only run_after-like times move on.
    assert _window(bag, RUN_AT, NOW) == _window(bag, RUN_AT, RUN_AT) == DAY_19


@pytest.mark.parametrize(
    ("logical_date", "run_after", "day"),
    [
        (RUN_AT, NOW, "2024-02-19"),
        (None, RUN_AT, "2024-02-19"),
        (pendulum.datetime(2025, 1, 1, tz="UTC"), NOW, "2024-12-31"),
    ],
)
def test_backfill_dag_defaults_to_the_day_before_the_logical_date(
    bag: DagBag, logical_date: Any, run_after: Any, day: str
) -> None:
    plan = bag.dags[BACKFILL].get_task("plan").python_callable
    commands = plan(
        lake_url="/lake",
        env={},
        params={"start": "", "end": ""},
        dag_run=SimpleNamespace(logical_date=logical_date, run_after=run_after),
    )
    assert len(commands) == 2  # two jobs, one day
    for command in commands:
        args = command["args"]
        assert args[args.index("--start_timestamp") + 1] == f"{day}T00:00:00+00:00"
        assert args[args.index("--end_timestamp") + 1] == f"{day}T23:59:00+00:00"
