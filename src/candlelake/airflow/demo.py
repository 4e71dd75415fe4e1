"""``candlelake demo``: the test-stage daily DAG, run by a real Airflow 3 against the simulator.

1. Starts the bundled exchange simulator on 127.0.0.1, its clock frozen just after the run
   time (01:20 UTC of the day after ``date``).
2. Writes the daily DAG (the same file as ``dags/test.download_periodic_daily_ohlcv_data.py``)
   and its settings into a temporary DAG folder.
3. Runs it with ``dag.test()`` in a child process whose AIRFLOW_HOME is a temporary SQLite
   home. A child process, because Airflow fixes its home when it is first imported; the
   caller's process and environment stay untouched.
4. Prints a summary from the run reports: jobs, symbols, rows, missing minutes with
   reasons, and where the files are.

This module imports Airflow only in the child (``python -m candlelake.airflow.demo``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

DEFAULT_DAY = dt.date(2024, 2, 19)
RUN_TIME = dt.time(1, 20)  # the DAG's schedule, "20 1 * * *"
DAILY_DAG_FILE = "test.download_periodic_daily_ohlcv_data.py"
# Identical to dags/test.download_periodic_daily_ohlcv_data.py (a test keeps them equal).
DAILY_DAG_SOURCE = '''\
"""Daily 1-minute OHLCV of the previous UTC day: the tutorial's two jobs, local runner."""

from candlelake.airflow.factory import build_download_dag

dag = build_download_dag(
    __file__,
    jobs=[
        # (vendor, exchange, contract, data_type, universe)
        ("ccxt", "binance", "spot", "ohlcv", "v7"),
        ("ccxt", "binance", "futures", "ohlcv", "v7.3"),
    ],
)
'''


SERIES_DAG_FILE = "test.download_periodic_daily_futures_series.py"
# Identical to dags/test.download_periodic_daily_futures_series.py (a test keeps them equal).
SERIES_DAG_SOURCE = '''\
"""Daily derivative series of the previous UTC day: mark price klines and funding rates of USD-M
and COIN-M perpetuals, and COIN-M 1-minute klines."""

from candlelake.airflow.factory import build_download_dag

dag = build_download_dag(
    __file__,
    jobs=[
        # (vendor, exchange, contract, data_type, universe)
        ("binance", "binance", "futures", "mark_price", "v7.3"),
        ("binance", "binance", "futures", "funding_rate", "v7.3"),
        # COIN-M (vendor binance only): the perpetual contracts of universe coinm_v1.
        ("binance", "binance", "coin_futures", "ohlcv", "coinm_v1"),
        ("binance", "binance", "coin_futures", "mark_price", "coinm_v1"),
        ("binance", "binance", "coin_futures", "funding_rate", "coinm_v1"),
    ],
)
'''


def run_time(day: dt.date) -> dt.datetime:
    """When the scheduled run that downloads ``day`` happens: the next day at 01:20 UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), RUN_TIME, tzinfo=dt.UTC)


def write_dag_folder(
    folder: Path, *, lake: Path, rest_url: str, report_dir: Path, extra_env: dict[str, str]
) -> Path:
    """Write the daily test DAGs (OHLCV; mark price and funding, COIN-M klines) and their settings
    into ``folder``; return the OHLCV DAG's file."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        "CANDLELAKE_BINANCE_URL": rest_url,
        "CANDLELAKE_BINANCE_ARCHIVE_URL": rest_url,
        **extra_env,
    }
    env_lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in sorted(env.items()))
    (folder / "candlelake_dags.toml").write_text(
        f"""# Written by `candlelake demo`.
[stages.test]
lake_url = {json.dumps(str(lake))}
report_dir = {json.dumps(str(report_dir))}
runner = "local"
log_level = "WARNING"

[stages.test.env]
{env_lines}
"""
    )
    dag_file = folder / DAILY_DAG_FILE
    dag_file.write_text(DAILY_DAG_SOURCE)
    (folder / SERIES_DAG_FILE).write_text(SERIES_DAG_SOURCE)
    return dag_file


def airflow_env(home: Path, dags: Path) -> dict[str, str]:
    """The child's environment: a private SQLite Airflow home, no example DAGs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        }
    )
    return env


def _fmt_ms(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def summarize(reports: Sequence[tuple[str, dict[str, Any]]], lake: Path, out: TextIO) -> None:
    """Print one block per job from its run report."""
    for task_id, report in reports:
        symbols = report.get("symbols", [])
        missing = sum(int(s.get("missing_minutes", 0)) for s in symbols)
        print(f"\n{task_id}", file=out)
        print(
            f"  dataset {report.get('dataset')}: {len(symbols)} symbols, "
            f"{report.get('rows_written', 0)} rows written, {missing} minutes missing",
            file=out,
        )
        complete = 0
        for s in symbols:
            notes = [f"{g['reason']} {_fmt_ms(g['start_ms'])}..{_fmt_ms(g['end_ms'])}"
                     for g in s.get("missing", [])]  # fmt: skip
            notes += [f"excluded: {g['reason']}" for g in s.get("excluded", [])]
            notes += [f"ERROR {e}" for e in s.get("errors", [])]
            if not notes:
                complete += 1
                continue
            line = f"    {s['symbol']:<12} {s.get('rows_written', 0):>6} rows"
            if s.get("missing_minutes"):
                line += f", {s['missing_minutes']} minutes missing"
            print(f"{line}: {'; '.join(notes)}", file=out)
        print(f"    {complete} symbols complete", file=out)
        for err in report.get("errors", []):
            print(f"  ERROR {err}", file=out)
    files = sorted(lake.rglob("*.parquet"))
    print(f"\nLake: {lake} ({len(files)} parquet files)", file=out)
    datasets = sorted({str(f.parent.parent.parent.parent.relative_to(lake)) for f in files})
    for ds in datasets:
        print(f"  {lake / ds}", file=out)
    print("Read it with: candlelake.read(<dataset path above>, ['BTC_USDT'], start, end)", file=out)


def _load_reports(report_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, json.loads(p.read_text())) for p in sorted(report_dir.rglob("*.json"))]


def run_demo(lake_dir: Path, date: dt.date | None, *, out: TextIO | None = None) -> int:
    """Run the demo; 0 if the DAG run succeeded, 1 otherwise. Prints to ``out`` (stdout)."""
    from candlelake.simulator import SimConfig, Simulator

    out = out or sys.stdout
    day = date or DEFAULT_DAY
    lake = lake_dir.expanduser().resolve()
    at = run_time(day)
    clock = f"frozen:{(at + dt.timedelta(seconds=30)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    with (
        tempfile.TemporaryDirectory(prefix="candlelake-demo-") as tmp,
        Simulator(SimConfig(seed=0, clock=clock)) as sim,
    ):
        root = Path(tmp)
        reports = root / "reports"
        dag_file = write_dag_folder(
            root / "dags", lake=lake, rest_url=sim.url, report_dir=reports, extra_env={}
        )
        log_path = root / "airflow.log"
        print(f"Simulator at {sim.url}; Airflow home {root / 'home'} (temporary)", file=out)
        series = dag_file.with_name(SERIES_DAG_FILE)
        print(
            f"Running DAGs {dag_file.stem} and {series.stem} for {day} (run at {at:%Y-%m-%d %H:%M} UTC)...",
            file=out,
        )
        out.flush()
        with log_path.open("w") as log:
            proc = subprocess.run(
                [sys.executable, "-m", "candlelake.airflow.demo", at.isoformat(), str(dag_file), str(series)],
                env=airflow_env(root / "home", root / "dags"),
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        state = "success" if proc.returncode == 0 else "failed"
        print(f"DAG run {state}.", file=out)
        summarize(_load_reports(reports), lake, out)
        if proc.returncode != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-30:]
            print("\nLast lines of the Airflow log:", file=out)
            print("\n".join(tail), file=out)
        return 0 if proc.returncode == 0 else 1


def _child(logical_date: str, *dag_files: str) -> int:
    """In the child: migrate the SQLite home, parse the DAGs, run each with ``dag.test()``."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.initdb()
    bag = DagBag(dag_folder=str(Path(dag_files[0]).parent))
    if bag.import_errors:
        print(f"DAG import errors: {bag.import_errors}", file=sys.stderr)
        return 2
    failed = 0
    for dag_file in dag_files:
        run = bag.dags[Path(dag_file).stem].test(logical_date=dt.datetime.fromisoformat(logical_date))
        print(f"candlelake-demo: dag run {run.run_id} state={run.state}")
        failed += run.state != "success"
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], *sys.argv[2:]))
