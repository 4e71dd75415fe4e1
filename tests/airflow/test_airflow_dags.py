"""The example DAGs, the graph, the timetable and what each runner builds (parse-level)."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

pytest.importorskip("airflow")

import itertools
import json

from airflow.dag_processing.dagbag import DagBag
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import CronTriggerTimetable
from airflow.sdk.execution_time import macros

from candlelake.airflow.demo import DAILY_DAG_FILE as DEMO_DAG_FILE
from candlelake.airflow.demo import DAILY_DAG_SOURCE, SERIES_DAG_FILE, SERIES_DAG_SOURCE
from candlelake.airflow.factory import build_download_dag, dag_graph_mermaid
from candlelake.airflow.runners import DownloadBulkOperator

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
DAILY = "test.download_periodic_daily_ohlcv_data"
FARGATE = "preprod.download_periodic_daily_ohlcv_data_fargate"
JOBS = [("ccxt", "binance", "spot", "ohlcv", "v7"), ("ccxt", "binance", "futures", "ohlcv", "v7.3")]
SPOT_TASK = "download.periodic_daily.ccxt.binance.spot.v7"
FUTURES_TASK = "download.periodic_daily.ccxt.binance.futures.v7.3"

# A scheduled run at 2024-02-20 01:20 UTC has the interval [02-19 01:20, 02-20 01:20].
INTERVAL_START = pendulum.datetime(2024, 2, 19, 1, 20, tz="UTC")
INTERVAL_END = pendulum.datetime(2024, 2, 20, 1, 20, tz="UTC")
DAY_START, DAY_END = "2024-02-19T00:00:00+00:00", "2024-02-19T23:59:00+00:00"


@pytest.fixture(scope="module")
def bag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports_without_errors(bag: DagBag) -> None:
    assert bag.import_errors == {}
    files = sorted(p.name[: -len(".py")] for p in DAGS.glob("*.py"))
    assert sorted(bag.dag_ids) == files


def test_daily_graph_shape_and_trigger_rules(bag: DagBag) -> None:
    dag = bag.dags[DAILY]
    assert set(dag.task_ids) == {
        "start_dag",
        SPOT_TASK,
        FUTURES_TASK,
        "end_download",
        "notify_failure",
        "end_dag",
    }
    down = {t: set(dag.get_task(t).downstream_task_ids) for t in dag.task_ids}
    assert down["start_dag"] == {SPOT_TASK, FUTURES_TASK}
    # The alert waits for every download itself (all_done), not for the first failure.
    assert down[SPOT_TASK] == down[FUTURES_TASK] == {"end_download", "notify_failure"}
    assert down["end_download"] == {"end_dag"}
    assert down["notify_failure"] == {"end_dag"}
    assert down["end_dag"] == set()
    assert [t.task_id for t in dag.leaves] == ["end_dag"]
    assert dag.get_task("notify_failure").trigger_rule == "all_done"
    assert dag.get_task("end_dag").trigger_rule == "none_failed"
    assert dag.get_task(SPOT_TASK).trigger_rule == "all_success"


def test_daily_dag_options(bag: DagBag) -> None:
    test_dag, prod_dag = bag.dags[DAILY], bag.dags[FARGATE]
    assert (test_dag.max_active_runs, test_dag.catchup, test_dag.tags) == (1, False, {"test"})
    assert prod_dag.tags == {"preprod"}
    assert test_dag.description == "Daily OHLCV data download."
    assert test_dag.get_task(SPOT_TASK).retries == 0
    assert prod_dag.get_task(SPOT_TASK).retries == 1
    assert isinstance(test_dag.get_task(SPOT_TASK), DownloadBulkOperator)
    assert isinstance(prod_dag.get_task(SPOT_TASK), EcsRunTaskOperator)
    # Preprod alerts by e-mail and Telegram; the alert task itself never retries.
    alert = prod_dag.get_task("notify_failure")
    assert [c["kind"] for c in alert.channels] == ["telegram", "email"]
    assert alert.retries == 0
    assert test_dag.get_task("notify_failure").channels == []


def test_timetable_logical_date_is_the_run_time(bag: DagBag) -> None:
    timetable = bag.dags[DAILY].timetable
    assert isinstance(timetable, CronTriggerTimetable)
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    core = coerce_to_core_timetable(timetable)
    last = DataInterval(
        pendulum.datetime(2024, 2, 18, 1, 20, tz="UTC"), pendulum.datetime(2024, 2, 19, 1, 20, tz="UTC")
    )
    info = core.next_dagrun_info(
        last_automated_data_interval=last,
        restriction=TimeRestriction(
            earliest=pendulum.datetime(2024, 1, 1, tz="UTC"), latest=None, catchup=True
        ),
    )
    assert info is not None
    # The scheduled run at 02-20 01:20 has that logical date (its window is then 02-19).
    assert info.logical_date == INTERVAL_END == info.run_after


class _Vars:
    """``var.value.<name>`` for a hand-made template context."""

    def __init__(self, **values: str) -> None:
        self._values = values

    def __getattr__(self, name: str) -> str:
        # Variables a test does not care about render as a visible placeholder.
        return self._values.get(name, f"<var {name}>")

    def get(self, name: str, default: str = "") -> str:
        return self._values.get(name, default)


def _render(
    task: Any, logical_date: Any = INTERVAL_END, run_after: Any = INTERVAL_END, **variables: str
) -> Any:
    context = {
        "dag_run": SimpleNamespace(logical_date=logical_date, run_after=run_after),
        "macros": macros,
        "var": SimpleNamespace(value=_Vars(**variables)),
    }
    task.render_template_fields(context)  # type: ignore[arg-type]
    return task


def _flags(argv: list[str]) -> dict[str, str]:
    return {a: b for a, b in itertools.pairwise(argv) if a.startswith("--")}


def _dag_in(tmp_path: Path, name: str, settings: str = "", **overrides: Any) -> Any:
    (tmp_path / "candlelake_dags.toml").write_text(settings)
    return build_download_dag(tmp_path / f"{name}.py", JOBS, **overrides)


def test_local_runner_renders_the_window(tmp_path: Path) -> None:
    dag = _dag_in(tmp_path, "test.local", lake_url="/lake", env={"CANDLELAKE_BINANCE_URL": "http://sim"})
    task = _render(dag.get_task(SPOT_TASK))
    flags = _flags(task.args)
    assert (flags["--start_timestamp"], flags["--end_timestamp"]) == (DAY_START, DAY_END)
    assert flags["--dst_dir"] == "/lake"
    assert task.env == {"CANDLELAKE_BINANCE_URL": "http://sim"}


def test_docker_runner_builds_a_docker_operator(tmp_path: Path) -> None:
    settings = '[defaults.docker]\nimage = "candlelake:1.0"\nnetwork_mode = "host"\n'
    dag = _dag_in(tmp_path, "test.docker", settings, runner="docker", lake_url="s3://lake")
    task = _render(dag.get_task(FUTURES_TASK))
    assert isinstance(task, DockerOperator)
    assert task.image == "candlelake:1.0"
    assert task.network_mode == "host"
    assert task.mount_tmp_dir is False
    assert task.command[0] == "download-bulk"
    flags = _flags(task.command)
    assert (flags["--start_timestamp"], flags["--end_timestamp"]) == (DAY_START, DAY_END)
    assert (flags["--contract_type"], flags["--universe"], flags["--s3_path"]) == (
        "futures",
        "v7.3",
        "s3://lake",
    )


def test_kubernetes_runner_builds_a_pod_operator(tmp_path: Path) -> None:
    settings = '[defaults.kubernetes]\nimage = "reg/candlelake:2"\nnamespace = "data"\n'
    dag = _dag_in(
        tmp_path, "prod.k8s", settings, runner="kubernetes", env={"CANDLELAKE_BINANCE_URL": "http://x"}
    )
    task = _render(dag.get_task(SPOT_TASK), prod_s3_data_bucket="prod-bucket")
    assert isinstance(task, KubernetesPodOperator)
    assert (task.image, task.namespace, task.cmds) == ("reg/candlelake:2", "data", [])
    assert task.arguments[0] == "download-bulk"
    flags = _flags(task.arguments)
    assert (flags["--start_timestamp"], flags["--end_timestamp"]) == (DAY_START, DAY_END)
    assert flags["--s3_path"] == "s3://prod-bucket"
    assert {e.name: e.value for e in task.env_vars} == {"CANDLELAKE_BINANCE_URL": "http://x"}
    assert task.container_resources.requests == {"cpu": "250m", "memory": "512Mi"}


def test_ecs_runner_has_upstreams_settings(bag: DagBag) -> None:
    dag = bag.dags[FARGATE]
    task = _render(
        dag.get_task(SPOT_TASK),
        preprod_s3_data_bucket="cryptokaizen-data.preprod",
        preprod_ecs_cluster="cluster-1",
        ecs_public_subnet1="subnet-1",
        ecs_public_subnet2="subnet-2",
        ecs_public_subnet3="subnet-3",
        ecs_public_sg="sg-1",
    )
    assert isinstance(task, EcsRunTaskOperator)
    assert (task.cluster, task.task_definition, task.launch_type) == (
        "cluster-1",
        "candlelake-preprod",
        "FARGATE",
    )
    assert task.awslogs_group == "/ecs/candlelake-preprod"
    assert (task.awslogs_stream_prefix, task.container_name) == ("ecs", "candlelake-preprod")
    assert task.awslogs_region == task.region_name == "eu-north-1"
    # The triggerer waits (deferrable), long enough for the 2 h execution timeout, not 1e6 polls.
    assert (task.deferrable, task.waiter_delay, task.waiter_max_attempts) == (True, 30, 241)
    assert task.network_configuration == {
        "awsvpcConfiguration": {
            "subnets": ["subnet-1", "subnet-2", "subnet-3"],
            "securityGroups": ["sg-1"],
            "assignPublicIp": "ENABLED",
        }
    }
    assert (task.overrides["cpu"], task.overrides["memory"]) == ("256", "512")
    (container,) = task.overrides["containerOverrides"]
    assert container["name"] == "candlelake-preprod"
    command = container["command"]
    assert command[0] == "download-bulk"
    flags = _flags(command)
    assert (flags["--start_timestamp"], flags["--end_timestamp"]) == (DAY_START, DAY_END)
    assert flags["--s3_path"] == "s3://cryptokaizen-data.preprod"
    assert "--assert_on_missing_data" in command


@pytest.mark.parametrize("runner", ["local", "docker", "kubernetes", "ecs"])
def test_hostile_job_value_stays_one_literal_argument(tmp_path: Path, runner: str) -> None:
    hostile = 'v7\'; touch /tmp/pwned; echo "$(touch /tmp/pwned)" `id` {{ conn.x.password }}.json'
    dag = build_download_dag(
        tmp_path / "test.hostile.py", [("ccxt", "binance", "spot", "ohlcv", hostile)], runner=runner
    )
    (task_id,) = [t for t in dag.task_ids if t.startswith("download.")]
    task = _render(dag.get_task(task_id))
    argv = {
        "local": lambda t: t.args,
        "docker": lambda t: t.command,
        "kubernetes": lambda t: t.arguments,
        "ecs": lambda t: t.overrides["containerOverrides"][0]["command"],
    }[runner](task)
    assert argv.count(hostile) == 1
    assert argv[argv.index("--universe") + 1] == hostile


def test_docs_are_generated_from_the_real_dag_and_settings(bag: DagBag) -> None:
    doc = (REPO / "docs" / "airflow.md").read_text()
    graph = dag_graph_mermaid(bag.dags[DAILY])
    assert f"```mermaid\n{graph}\n```" in doc, "regenerate with: uv run python docs/airflow_graph.py"
    generator = runpy.run_path(str(REPO / "docs" / "airflow_graph.py"))
    assert generator["render"](doc) == doc, "regenerate with: uv run python docs/airflow_graph.py"


SERIES = "test.download_periodic_daily_futures_series"
SERIES_TASK = "download.periodic_daily.binance.binance.futures.v7.3"
COINM_TASK = "download.periodic_daily.binance.binance.coin_futures.coinm_v1"


def _bulk_job(args: list[str]) -> Any:
    """The download job the CLI builds from a task's argv (click's parser, then the checks)."""
    import typer

    from candlelake.bulk import BulkRequest
    from candlelake.cli.download import register
    from candlelake.cli.jobs import bulk_job

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    command = typer.main.get_command(app).commands["download-bulk"]  # type: ignore[attr-defined]
    return bulk_job(BulkRequest.from_params(command.make_context("download-bulk", list(args)).params))


def test_series_dag_carries_usd_m_series_and_coin_m_klines(bag: DagBag) -> None:
    dag = bag.dags[SERIES]
    downloads = sorted(t for t in dag.task_ids if t.startswith("download."))
    assert downloads == [
        COINM_TASK,
        f"{COINM_TASK}.funding_rate",
        f"{COINM_TASK}.mark_price",
        f"{SERIES_TASK}.funding_rate",
        f"{SERIES_TASK}.mark_price",
    ]
    assert dag.description == (
        "Daily mark price klines and funding rates of USD-M and COIN-M, and COIN-M 1m klines."
    )
    assert set(dag.get_task("start_dag").downstream_task_ids) == set(downloads)
    args = {t: _render(dag.get_task(t)).args for t in downloads}
    coinm = _flags(args[COINM_TASK])
    job_flags = ("--vendor", "--exchange_id", "--contract_type", "--data_type", "--universe")
    assert {k: coinm[k] for k in job_flags} == {
        "--vendor": "binance",
        "--exchange_id": "binance",
        "--contract_type": "coin_futures",
        "--data_type": "ohlcv",
        "--universe": "coinm_v1",
    }
    assert (coinm["--action_tag"], coinm["--start_timestamp"], coinm["--end_timestamp"]) == (
        "downloaded_1min",
        DAY_START,
        DAY_END,
    )
    assert _flags(args[f"{SERIES_TASK}.funding_rate"])["--action_tag"] == "downloaded_all"
    assert _flags(args[f"{COINM_TASK}.funding_rate"])["--action_tag"] == "downloaded_all"
    for kind in ("mark_price", "funding_rate"):  # the command accepts these too
        job = _bulk_job(args[f"{COINM_TASK}.{kind}"])
        assert (job.market, job.data_type, job.symbols) == (
            "coin_futures",
            kind,
            ("BTC_USD_PERP", "ETH_USD_PERP"),
        )
    # The argv is one the command accepts: the COIN-M perpetuals of coinm_v1, in its dataset.
    job = _bulk_job(args[COINM_TASK])
    assert (job.market, job.symbols) == ("coin_futures", ("BTC_USD_PERP", "ETH_USD_PERP"))
    assert str(job.signature) == (
        "periodic_daily.airflow.downloaded_1min.parquet.ohlcv.coin_futures.coinm_v1.binance.binance.v1_0_0"
    )


def test_demo_runs_the_same_dag_file_as_the_repository() -> None:
    assert (DAGS / DEMO_DAG_FILE).read_text() == DAILY_DAG_SOURCE
    assert (DAGS / SERIES_DAG_FILE).read_text() == SERIES_DAG_SOURCE


def test_repo_dag_folder_can_be_copied_anywhere(tmp_path: Path) -> None:
    # Settings are found beside the DAG file, not through the working directory.
    for path in DAGS.iterdir():
        shutil.copy(path, tmp_path / path.name)
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    assert len(bag.dag_ids) == len(list(DAGS.glob("*.py")))


def test_window_for_a_year_boundary(tmp_path: Path) -> None:
    dag = _dag_in(tmp_path, "test.days", lake_url="/lake")
    task = _render(dag.get_task(SPOT_TASK), logical_date=pendulum.datetime(2025, 1, 1, 1, 20, tz="UTC"))
    flags = _flags(task.args)
    assert (flags["--start_timestamp"], flags["--end_timestamp"]) == (
        "2024-12-31T00:00:00+00:00",
        "2024-12-31T23:59:00+00:00",
    )


def test_backfill_dag_maps_downloads_in_a_pool(bag: DagBag) -> None:
    dag = bag.dags["test.backfill_daily_ohlcv_data"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual only
    assert set(dag.params.keys()) == {"start", "end"}
    download = dag.get_task("download.periodic_daily")
    assert download.pool == "candlelake_backfill"
    assert set(dag.get_task("plan").downstream_task_ids) == {"download.periodic_daily"}
    assert set(download.downstream_task_ids) == {"end_download", "notify_failure"}
    assert [t.task_id for t in dag.leaves] == ["end_dag"]
    assert dag.get_task("notify_failure").trigger_rule == "all_done"
    assert "xcom_pull(task_ids='plan'" in download.partial_kwargs["map_index_template"]


def test_alert_settings_are_part_of_the_serialized_dag(tmp_path: Path) -> None:
    # Changing only an alert setting must create a new DAG version (a new serialized DAG).
    from airflow.serialization.serialized_objects import DagSerialization

    def serialized(address: str) -> str:
        settings = f'[stages.test]\nemail_on_failure = true\nemails = ["{address}"]\n'
        return json.dumps(DagSerialization.to_dict(_dag_in(tmp_path, "test.alerting", settings)))

    first, second = serialized("a@example.test"), serialized("b@example.test")
    assert first != second
    assert "b@example.test" in second


def test_upstreams_schedule_variable_is_refused_loudly_when_it_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "test.sched.py").write_text(
        "from candlelake.airflow.factory import build_download_dag\n"
        f"dag = build_download_dag(__file__, jobs={JOBS!r})\n"
    )
    monkeypatch.setenv("AIRFLOW_VAR_TEST.SCHED_SCHEDULE", "0 3 * * *")
    (message,) = DagBag(dag_folder=str(tmp_path)).import_errors.values()
    assert "test.sched_schedule" in message and "'0 3 * * *' is not used" in message
    monkeypatch.setenv("AIRFLOW_VAR_TEST.SCHED_SCHEDULE", "20 1 * * *")  # the same: honoured as is
    assert DagBag(dag_folder=str(tmp_path)).import_errors == {}


def test_a_bad_job_tuple_fails_when_the_dag_file_is_parsed(tmp_path: Path) -> None:
    # Checked at parse time, not when the task runs at 01:20.
    (tmp_path / "test.bad.py").write_text(
        "from candlelake.airflow.factory import build_download_dag\n"
        "dag = build_download_dag(__file__, [('ccxt', 'binance', 'swap', 'ohlcv', 'v7')], lake_url='/lake')\n"
    )
    bag = DagBag(dag_folder=str(tmp_path))
    (error,) = bag.import_errors.values()
    assert "unknown market 'swap'; allowed: spot, futures" in error
    assert bag.dag_ids == []


def test_a_bad_job_tuple_fails_the_backfill_dag_at_parse_time_too(tmp_path: Path) -> None:
    from candlelake.airflow.backfill import build_backfill_dag
    from candlelake.errors import UsageError

    with pytest.raises(UsageError, match="unknown vendor 'crypto_chassis'; supported: ccxt, binance"):
        build_backfill_dag(
            tmp_path / "test.backfill.py", [("crypto_chassis", "binance", "spot", "ohlcv", "v7")]
        )
