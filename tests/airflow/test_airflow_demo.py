"""``candlelake demo``: the README's main job, run exactly as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from candlelake.cli.airflow_commands import INSTALL_HINT, register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # keeps "demo" a sub-command
        pass

    return app


def test_without_the_extra_demo_prints_a_hint_and_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "airflow", None)  # find_spec("airflow") -> None
    result = CliRunner().invoke(_app(), ["demo"])
    assert result.exit_code == 2
    assert INSTALL_HINT in result.output


def test_demo_rejects_a_bad_date() -> None:
    result = CliRunner().invoke(_app(), ["demo", "--date", "19-02-2024"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


@pytest.mark.airflow
@pytest.mark.slow
def test_demo_downloads_the_day_through_airflow(tmp_path: Path) -> None:
    pytest.importorskip("airflow")
    lake = tmp_path / "demo-lake"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    proc = subprocess.run(
        [sys.executable, "-m", "candlelake", "demo", "--lake", str(lake), "--date", "2024-02-19"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "DAG run success." in out
    assert "download.periodic_daily.ccxt.binance.spot.v7" in out
    assert "download.periodic_daily.ccxt.binance.futures.v7.3" in out
    assert "27 symbols, 36000 rows written, 0 minutes missing" in out  # 2 BUSD pairs delisted
    assert "25 symbols, 36000 rows written, 0 minutes missing" in out
    assert "excluded: delisted" in out
    # The USD-M series DAG: mark price klines per day, funding settlements per month.
    assert "download.periodic_daily.binance.binance.futures.v7.3.mark_price" in out
    assert "download.periodic_daily.binance.binance.futures.v7.3.funding_rate" in out
    assert "25 symbols, 75 rows written, 0 minutes missing" in out  # 3 settlements a day each
    # ... and COIN-M klines of the perpetuals of coinm_v1.
    assert "download.periodic_daily.binance.binance.coin_futures.coinm_v1" in out
    assert out.count("2 symbols, 2880 rows written, 0 minutes missing") == 2  # klines, mark price
    assert "download.periodic_daily.binance.binance.coin_futures.coinm_v1.funding_rate" in out
    assert "2 symbols, 6 rows written, 0 minutes missing" in out
    assert f"Lake: {lake} (106 parquet files)" in out
    files = sorted(lake.rglob("*.parquet"))
    assert len(files) == 106 and {f.name for f in files} == {"2024-02-19.parquet", "2024-02.parquet"}
    assert len([f for f in files if "/coin_futures/coinm_v1/" in str(f)]) == 6
