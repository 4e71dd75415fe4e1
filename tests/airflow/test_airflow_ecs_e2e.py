"""The ECS runner end to end: the real EcsRunTaskOperator and boto3 against a local AWS.

moto serves ECS, CloudWatch Logs and S3 on 127.0.0.1; the RunTask shim
(``tests/fixtures/ecs.py``) runs each task's container command as a local ``candlelake``
process with the task's environment. The task definition is the one
``candlelake airflow ecs-task-definition`` prints, registered through boto3. The run is
deferrable, so ``dag.test()`` runs the operator's trigger inline, as a triggerer would.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow")

import candlelake
from candlelake.cli.main import main
from candlelake.simulator import SimConfig, Simulator, truth
from fixtures.airflow_home import task_states
from fixtures.ecs import EcsShim
from fixtures.s3 import FAKE_CREDENTIALS
from fixtures.telegram import TelegramServer

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

RUN_AT = dt.datetime(2024, 2, 20, 1, 20, tzinfo=dt.UTC)  # downloads 2024-02-19
SPOT = "download.periodic_daily.ccxt.binance.spot.v7"
FUTURES = "download.periodic_daily.ccxt.binance.futures.v7.3"
DATASET = "v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/{contract}/{universe}/ccxt/binance/v1_0_0"
TOKEN = "7:ecs-token"
NO_ALERTS = "telegram_on_failure = false\nretries = 0"


def _setup(
    folder: Path,
    ecs: EcsShim,
    bucket: str,
    sim_url: str,
    capsys: pytest.CaptureFixture[str],
    extra: str = "",
    dag_source: str | None = None,
) -> Path:
    # moto checks the network: a real VPC, subnet and security group of its EC2.
    ec2 = ecs.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # moto names a task's network interface only in a VPC with DNS host names.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"candlelake-{vpc}", Description="e2e", VpcId=vpc)["GroupId"]
    (folder / "candlelake_dags.toml").write_text(
        f"""
[stages.preprod]
lake_url = "{bucket}"
email_on_failure = false
extra_args = ["--universe_part", "2", "1"]
{extra or NO_ALERTS}
[stages.preprod.env]
CANDLELAKE_BINANCE_URL = "{sim_url}"
CANDLELAKE_BINANCE_ARCHIVE_URL = "{sim_url}"
CANDLELAKE_REST_ATTEMPTS = "2"
CANDLELAKE_S3_ENDPOINT_URL = "{ecs.moto_url}"
[stages.preprod.ecs]
cluster = "candlelake-e2e"
subnets = ["{subnet}"]
security_groups = ["{group}"]
waiter_delay = 1
"""
    )
    dag_file = folder / "preprod.download_periodic_daily_ohlcv_data_fargate.py"
    dag_file.write_text(
        dag_source or (Path(__file__).resolve().parents[2] / "dags" / dag_file.name).read_text()
    )
    # The operator's side of AWS: the task definition the command prints, and the cluster.
    settings = folder / "candlelake_dags.toml"
    assert main(["airflow", "ecs-task-definition", "--stage", "preprod", "--image", "candlelake:e2e",
                 "--settings", str(settings)]) == 0  # fmt: skip
    definition = json.loads(capsys.readouterr().out)
    ecs.client("ecs").register_task_definition(**definition)
    ecs.client("ecs").create_cluster(clusterName="candlelake-e2e")
    return dag_file


def _assert_day(cfg: SimConfig, bucket: str, contract: str, universe: str, day: dt.date) -> None:
    dataset = f"{bucket}/" + DATASET.format(contract=contract, universe=universe.replace(".", "_"))
    start = int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)
    for symbol in ("ETH_USDT", "BTC_USDT"):
        table = candlelake.read(dataset, [symbol], day, day, as_="arrow").sort_by("timestamp")
        rows = list(
            zip(*(table.column(n).to_pylist() for n in ("timestamp", "open", "close", "volume")), strict=True)
        )
        expected = [
            (int(r[0]), float(r[1]), float(r[4]), float(r[5]))
            for r in truth.klines(cfg, contract, symbol.replace("_", ""), start, start + 86_340_000)
        ]
        assert len(expected) == 1440 and rows == expected, (contract, symbol)


@pytest.fixture
def aws_conn(ecs_stack: EcsShim, monkeypatch: pytest.MonkeyPatch) -> EcsShim:
    conn = {
        "conn_type": "aws",
        "login": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "password": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "extra": {"endpoint_url": ecs_stack.url, "region_name": ecs_stack.region},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    return ecs_stack


def test_fargate_dag_lands_the_day_in_s3_through_ecs(
    airflow_dags: Path,
    run_dag: Callable[..., Any],
    aws_conn: EcsShim,
    s3_bucket: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    cfg = SimConfig(seed=31, clock="frozen:2024-02-20T01:20:30Z")
    with Simulator(cfg) as sim:
        dag_file = _setup(airflow_dags, aws_conn, s3_bucket, sim.url, capfd)
        dr = run_dag(dag_file, logical_date=RUN_AT)
    states = task_states(dr)
    assert dr.state == "success", states
    assert (states[SPOT], states[FUTURES], states["notify_failure"]) == ("success", "success", "skipped")
    assert len(aws_conn.tasks) == 2  # one ECS task per job
    day = dt.date(2024, 2, 19)
    _assert_day(cfg, s3_bucket, "spot", "v7", day)
    _assert_day(cfg, s3_bucket, "futures", "v7.3", day)
    # The container's own lines reached the Airflow task log through CloudWatch.
    out = capfd.readouterr()
    assert "done: 2 symbols, 2880 rows" in out.out + out.err


def test_failing_symbol_fails_the_ecs_task_and_the_run(
    airflow_dags: Path,
    run_dag: Callable[..., Any],
    aws_conn: EcsShim,
    s3_bucket: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    telegram_api: TelegramServer,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PREPROD_TELEGRAM_CONN", telegram_api.airflow_conn_json(TOKEN, chat_id="-5")
    )
    settings = (
        'telegram_on_failure = true\ntelegram_conn_id = "preprod_telegram_conn"\ntelegram_chat_id = ""\n'
    )
    settings += "retries = 1\nretry_delay_minutes = 0\n"
    # A third job with a universe that does not exist: the container exits 2 (bad input).
    source = (
        "from candlelake.airflow.factory import build_download_dag\n"
        "dag = build_download_dag(__file__, runner='ecs', jobs=[('ccxt', 'binance', 'spot', 'ohlcv', 'v7'),"
        " ('ccxt', 'binance', 'futures', 'ohlcv', 'v7.3'), ('ccxt', 'binance', 'spot', 'ohlcv', 'nope')])\n"
    )
    cfg = SimConfig(seed=32, clock="frozen:2024-02-20T01:20:30Z", fail_symbols=("futures:BTCUSDT",))
    with Simulator(cfg) as sim:
        dag_file = _setup(
            airflow_dags, aws_conn, s3_bucket, sim.url, capsys, extra=settings, dag_source=source
        )
        dr = run_dag(dag_file, logical_date=RUN_AT)
    states = task_states(dr)
    bad = "download.periodic_daily.ccxt.binance.spot.nope"
    assert dr.state == "failed"
    assert (states[SPOT], states[FUTURES], states[bad]) == ("success", "failed", "failed")
    assert states["end_dag"] == "upstream_failed"
    # Exit 1 was retried (a second ECS task); exit 2 was not.
    codes = sorted(t.process.returncode for t in aws_conn.tasks.values())
    assert codes == [0, 1, 1, 2]
    (message,) = telegram_api.wait_for_messages(1)
    text = message.params["text"]
    assert FUTURES in text and bad in text and SPOT + ":" not in text
    assert "done: 2 symbols" in text  # the container's summary line, read back from CloudWatch
    _assert_day(cfg, s3_bucket, "spot", "v7", dt.date(2024, 2, 19))
