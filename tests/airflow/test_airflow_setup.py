"""`candlelake airflow setup` against the real (SQLite) Airflow metadata database.

Without the pool `candlelake_backfill` the backfill's downloads stay `scheduled` forever;
setup creates it (idempotently) and names every Variable and Connection that is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("airflow")

from candlelake.cli.main import main

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    for path in (REPO / "dags").iterdir():
        shutil.copy(path, folder / path.name)
    # A pool name of our own, so the session's shared database starts without it.
    toml = folder / "candlelake_dags.toml"
    toml.write_text(
        toml.read_text().replace('backfill_pool = "candlelake_backfill"', 'backfill_pool = "setup_test_pool"')
    )
    return folder


def test_setup_creates_the_pool_once_and_names_what_is_missing(
    airflow_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.pool import Pool

    folder = _folder(tmp_path)
    assert Pool.get_pool("setup_test_pool") is None
    assert main(["airflow", "setup", "--dags", str(folder), "--check-only"]) == 1
    assert "pool setup_test_pool: MISSING" in capsys.readouterr().out
    assert Pool.get_pool("setup_test_pool") is None  # --check-only creates nothing

    assert main(["airflow", "setup", "--dags", str(folder), "--pool-slots", "3"]) == 1
    out = capsys.readouterr().out
    assert "pool setup_test_pool: created with 3 slots" in out
    # The preprod Fargate DAG names upstream's Variables and Connections.
    for name in ("preprod_s3_data_bucket", "preprod_notification_email", "preprod_ecs_cluster"):
        assert (
            f"variable {name}: MISSING" in out and "preprod.download_periodic_daily_ohlcv_data_fargate" in out
        )
    assert "connection preprod_telegram_conn: MISSING" in out
    assert "variable preprod_datapull_telegram_room_id: not set (optional" in out

    pool = Pool.get_pool("setup_test_pool")
    assert pool is not None and pool.slots == 3

    # Idempotent: a second run keeps the pool as it is; with everything set it exits 0.
    out_lines = out.splitlines()
    for line in out_lines:
        if line.startswith("variable ") and "MISSING" in line:
            monkeypatch.setenv(f"AIRFLOW_VAR_{line.split()[1].rstrip(':').upper()}", "x")
        if line.startswith("connection ") and "MISSING" in line:
            monkeypatch.setenv(
                f"AIRFLOW_CONN_{line.split()[1].rstrip(':').upper()}", '{"conn_type": "generic"}'
            )
    assert main(["airflow", "setup", "--dags", str(folder), "--pool-slots", "5"]) == 0
    out = capsys.readouterr().out
    assert "pool setup_test_pool: exists with 3 slots" in out
    assert "MISSING" not in out


def test_setup_rejects_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["airflow", "setup", "--dags", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
