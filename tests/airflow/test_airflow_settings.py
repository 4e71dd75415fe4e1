"""Stage/DAG-id parsing, settings layering and the download-bulk argv (no Airflow needed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2
import pytest

from candlelake.airflow.command import WindowArgs, download_bulk_args, literal
from candlelake.airflow.settings import (
    EcsSettings,
    Job,
    SettingsError,
    load_settings,
    parse_dag_file,
)

SPOT = Job("ccxt", "binance", "spot", "ohlcv", "v7")


@pytest.mark.parametrize(
    ("name", "stage", "dag_id"),
    [
        ("test.download_periodic_daily_ohlcv_data.py", "test", "test.download_periodic_daily_ohlcv_data"),
        ("preprod.download_x.tutorial.py", "preprod", "preprod.download_x.tutorial"),
        ("prod.x.py", "prod", "prod.x"),
    ],
)
def test_stage_and_dag_id_come_from_the_file_name(name: str, stage: str, dag_id: str) -> None:
    parsed = parse_dag_file(Path("/somewhere") / name)
    assert (parsed.stage, parsed.dag_id) == (stage, dag_id)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("dev.download.py", "must be one of test, preprod, prod"),
        ("download.py", "must be named"),
        ("test.download.txt", "must end in .py"),
    ],
)
def test_bad_file_names_are_clear_errors(name: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_dag_file(name)


def test_stage_defaults_follow_upstream(tmp_path: Path) -> None:
    _, test = load_settings(tmp_path / "test.d.py")
    _, preprod = load_settings(tmp_path / "preprod.d.py")
    assert (test.retries, test.email_on_failure, test.telegram_on_failure) == (0, False, False)
    assert (preprod.retries, preprod.email_on_failure, preprod.telegram_on_failure) == (1, True, True)
    # Upstream's Variables are run-time templates, never read while parsing.
    assert preprod.lake_url == "s3://{{ var.value.preprod_s3_data_bucket }}"
    assert preprod.emails == ("{{ var.value.preprod_notification_email }}",)
    assert preprod.telegram_conn_id == "preprod_telegram_conn"
    assert test.lake_url == str(tmp_path / "demo-lake")


def test_layers_merge_in_order(tmp_path: Path) -> None:
    (tmp_path / "candlelake_dags.toml").write_text(
        """
[defaults]
schedule = "0 2 * * *"
retries = 3
[stages.test]
retries = 2
lake_url = "lake"
[stages.test.env]
CANDLELAKE_BINANCE_URL = "http://127.0.0.1:1"
[stages.test.ecs]
cpu = 1024
[dags."test.one"]
runner = "docker"
lake_url = "s3://bucket"
[dags."test.one".docker]
image = "mine:1"
"""
    )
    _, one = load_settings(tmp_path / "test.one.py", {"retries": 5})
    _, other = load_settings(tmp_path / "test.other.py")
    assert (one.schedule, one.retries, one.runner, one.docker.image) == ("0 2 * * *", 5, "docker", "mine:1")
    assert (other.retries, other.runner, other.ecs.cpu, other.ecs.memory) == (2, "local", 1024, 512)
    assert other.env == {"CANDLELAKE_BINANCE_URL": "http://127.0.0.1:1"}
    assert other.lake_url == str(tmp_path / "lake")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[defaults]\nretrys = 1\n", "unknown setting"),
        ("[stages.dev]\nretries = 1\n", "unknown stage"),
        ("[stage.test]\n", "unknown section"),
        ('[defaults]\nrunner = "lambda"\n', "runner 'lambda'"),
        ("[defaults]\nretries = -1\n", "retries"),
        ("[defaults\n", "invalid TOML"),
        ('[defaults]\nstage = "prod"\n', "stage comes from the file name"),
        ("[defaults.ecs]\ncpus = 1\n", "unknown setting"),
        ("[defaults.env]\nX = 1\n", "env.X 1"),
        ('[defaults.env]\n"1X" = "y"\n', "env entry '1X'"),
        ("[defaults]\nemail_on_failure = true\nemails = []\n", "needs at least one address"),
        ('[defaults.ecs]\ncpu = "a lot"\n', "ecs.cpu 'a lot'"),
    ],
)
def test_bad_settings_are_clear_errors(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "candlelake_dags.toml").write_text(toml)
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path / "test.d.py")


def test_ecs_task_definition_by_stage_and_user_never_asserts() -> None:
    # Upstream's K1: a user with a non-test stage tripped an assertion at import time.
    assert EcsSettings().task_definition_name("prod") == "candlelake"
    assert EcsSettings().task_definition_name("preprod") == "candlelake-preprod"
    assert EcsSettings(user="juraj").task_definition_name("test") == "candlelake-test-juraj"
    assert EcsSettings(user="juraj").task_definition_name("preprod") == "candlelake-preprod-juraj"
    assert EcsSettings(task_definition="td").task_definition_name("test") == "td"


def test_job_task_id_is_upstreams() -> None:
    assert SPOT.task_id("periodic_daily") == "download.periodic_daily.ccxt.binance.spot.v7"


def test_day_window_is_the_whole_day_end_inclusive() -> None:
    window = WindowArgs.day(dt.date(2024, 2, 19))
    assert (window.start, window.end) == ("2024-02-19T00:00:00+00:00", "2024-02-19T23:59:00+00:00")


def test_argv_has_upstreams_flags(tmp_path: Path) -> None:
    _, settings = load_settings(tmp_path / "test.d.py", {"lake_url": "/lake", "version": "v1_0_0"})
    args = download_bulk_args(SPOT, WindowArgs.day(dt.date(2024, 2, 19)), settings)
    flags = dict(zip(args[::2], args[1::2], strict=False))
    assert flags["--download_mode"] == "periodic_daily"
    assert flags["--downloading_entity"] == "airflow"
    assert flags["--action_tag"] == "downloaded_1min"
    assert flags["--data_format"] == "parquet"
    assert (flags["--vendor"], flags["--exchange_id"], flags["--contract_type"]) == (
        "ccxt",
        "binance",
        "spot",
    )
    assert (flags["--universe"], flags["--data_type"]) == ("v7", "ohlcv")
    assert flags["--dst_dir"] == "/lake"
    assert args[-1] == "--assert_on_missing_data"


@pytest.mark.parametrize(
    ("lake", "flag"),
    [("s3://bucket/prefix", "--s3_path"), ("file:///data/lake", "--dst_dir"), ("/data/lake", "--dst_dir")],
)
def test_lake_url_picks_the_destination_flag(tmp_path: Path, lake: str, flag: str) -> None:
    _, settings = load_settings(tmp_path / "test.d.py", {"lake_url": lake})
    args = download_bulk_args(SPOT, WindowArgs.day(dt.date(2024, 2, 19)), settings)
    assert flag in args


@pytest.mark.parametrize(
    "value",
    [
        "v7",
        "'; touch /tmp/x; echo '",
        "$(touch /tmp/x)",
        "{{ conn.secret.password }}",
        "{% if 1 %}x{% endif %}",
        "{# c #}",
        "report.json",
        "run.sh",
    ],
)
def test_literal_renders_back_to_itself(value: str) -> None:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    assert env.from_string(literal(value)).render() == value


def test_literal_refuses_what_it_cannot_protect() -> None:
    with pytest.raises(ValueError, match="literally"):
        literal("{% endraw %}{{ 1 }}")
