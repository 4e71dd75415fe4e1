"""What a user expects of any CLI: a version, help for every option, a fast start.

Start-up is checked by what gets imported, not by timing (timing lives in bench/startup.py):
`--help` must not load pandas, pyarrow or ccxt, and a download must not load ccxt at all.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import typer

from candlelake.cli.main import COMMANDS_OF, build_app
from candlelake.cli.reference import _commands

HEAVY = ("pandas", "pyarrow", "ccxt", "airflow")
# Modules a download has no use for, each tens of milliseconds at start-up.
SPARED = ("fsspec", "numpy.ma", "candlelake.simulator", "candlelake.quality.verify")

# Runs the CLI in a fresh interpreter the way the `candlelake` script does (argv from
# sys.argv), then reports which heavy packages that process had imported.
PROBE = """
import json, sys
from candlelake.cli.main import main
sys.argv = ["candlelake", *sys.argv[1:]]
code = main()
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
print("LOADED=" + json.dumps(loaded), file=sys.stderr)
print("UNUSED=" + json.dumps(sorted(set(SPARED) & set(sys.modules))), file=sys.stderr)
sys.exit(code)
""".replace("HEAVY", repr(HEAVY)).replace("SPARED", repr(SPARED))


def _run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
    proc = _probe(*argv, env=env)
    return proc.returncode, proc.stdout, _marker(proc, "LOADED=")


def _probe(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120, env=env
    )


def _marker(proc: subprocess.CompletedProcess[str], prefix: str) -> list[str]:
    marker = [line for line in proc.stderr.splitlines() if line.startswith(prefix)]
    assert marker, proc.stderr
    return list(json.loads(marker[-1].removeprefix(prefix)))


def _all_commands() -> list[tuple[str, Any]]:
    return _commands(typer.main.get_command(build_app()), "candlelake")


@pytest.mark.parametrize("module", sorted(set(COMMANDS_OF) - {"sim"}))
def test_a_command_runs_with_its_module_registered_alone(module: str) -> None:
    # A process registers only the module whose table entry names its command.
    alone = typer.Typer()
    importlib.import_module(f"candlelake.cli.{module}").register(alone)
    names = {c.name for c in alone.registered_commands} | {g.name for g in alone.registered_groups}
    assert names == set(COMMANDS_OF[module])


def test_every_top_level_command_is_in_the_registration_table() -> None:
    top = {name.split()[1] for name, _ in _all_commands()}
    assert top == {name for names in COMMANDS_OF.values() for name in names}


def test_version_is_the_installed_distribution_version() -> None:
    code, out, _ = _run("--version")
    assert (code, out.strip()) == (0, f"candlelake {metadata.version('candlelake')}")


@pytest.mark.parametrize("name", [name for name, _ in _all_commands()])
def test_every_option_of_every_command_says_what_it_does(name: str) -> None:
    command = dict(_all_commands())[name]
    silent = [
        param.opts[0]
        for param in command.params
        if param.param_type_name == "option" and not param.hidden and not (param.help or "").strip()
    ]
    assert silent == [], f"{name}: options without help: {silent}"


@pytest.mark.parametrize("name", ["", *[name for name, _ in _all_commands()]])
def test_help_loads_none_of_the_heavy_packages(name: str) -> None:
    argv = [*name.split()[1:], "--help"]
    code, out, loaded = _run(*argv)
    assert code == 0 and "Usage" in out
    assert loaded == [], f"`{' '.join(['candlelake', *argv])}` imported {loaded}"


def test_help_fits_an_80_column_terminal() -> None:
    import os

    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    for name, _ in _all_commands():
        _, out, _ = _run(*name.split()[1:], "--help", env=env)
        too_long = [line for line in out.splitlines() if len(line) > 80]
        assert too_long == [], f"{name}: {too_long[:2]}"


def test_a_rest_download_imports_no_ccxt(simulator: Any, tmp_path: Path) -> None:
    proc = _probe(
        "download", "--market", "futures", "--symbols", "BTC_USDT", "--start", "2024-02-19",
        "--end", "2024-02-19", "--lake", str(tmp_path), "--rest-url", simulator.url,
    )  # fmt: skip
    code, out, loaded = proc.returncode, proc.stdout, _marker(proc, "LOADED=")
    assert code == 0, out
    # numpy 1.x loads numpy.ma with numpy itself (the floor pays it too); 2.x only on use.
    numpy_loads_ma = int(metadata.version("numpy").split(".")[0]) < 2
    assert _marker(proc, "UNUSED=") == (["numpy.ma"] if numpy_loads_ma else [])
    # No ccxt, no Airflow, and no pandas where pyarrow honours the deferral (cli/startup.py).
    pyarrow_major = int(metadata.version("pyarrow").split(".")[0])
    assert loaded == (["pyarrow"] if pyarrow_major >= 18 else ["pandas", "pyarrow"])
    assert len(list(tmp_path.rglob("*.parquet"))) == 1


def test_pandas_still_works_after_the_download_start_up_hid_it_from_pyarrow() -> None:
    code = (
        "from candlelake.cli.startup import defer_pandas_probe\n"
        "defer_pandas_probe()\n"
        "import sys, pyarrow as pa\n"
        "assert 'pandas' not in sys.modules\n"
        "frame = pa.table({'a': [1, 2]}).to_pandas()\n"
        "import pandas as pd\n"
        "back = pa.Table.from_pandas(pd.DataFrame({'x': [1.5]}))\n"
        "print(type(frame).__name__, list(frame['a']), back.column('x').to_pylist())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["DataFrame", "[1,", "2]", "[1.5]"], proc.stderr


def test_progress_bar_fits_80_columns_with_its_largest_figures() -> None:
    import io
    import re

    from rich.console import Console

    from candlelake.progress import RichProgress

    buf = io.StringIO()
    progress = RichProgress(Console(file=buf, width=80, force_terminal=True, color_system=None))
    days, rows, weight, retries = 9125, 1440, 1_234_567, 12_345  # 25 symbols x 365 days
    progress.start(days)
    for _ in range(days):
        progress.day_done("BTC_USDT", rows, weight=weight, retries=retries)
    progress.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())
    last = [line for line in re.split(r"[\r\n]", text) if line.strip()][-1]
    assert len(last) <= 80
    for figure in (f"{days}/{days}", f"{days * rows / 1e6:.1f}M rows", "weight 1.2M", "12.3k retries"):
        assert figure in last, (figure, last)
