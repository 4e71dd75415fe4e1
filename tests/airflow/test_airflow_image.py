"""The runners' image, checked without a Docker engine: Dockerfile, build context, package.

Also pins the contract between the argv builder and the CLI the image runs: every flag the
DAGs emit is a flag of ``candlelake download-bulk``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from candlelake.airflow.command import WindowArgs, download_bulk_args
from candlelake.airflow.settings import Job, load_settings

REPO = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns we use (last match wins, ! re-includes)."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat + "/*") or path.startswith(pat + "/"):
            ignored = not negate
    return ignored


def test_dockerfile_base_image_entrypoint_and_install() -> None:
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    entrypoints = [json.loads(arg) for op, arg in instructions if op == "ENTRYPOINT"]
    assert entrypoints == [["candlelake"]]  # container runners pass ["download-bulk", ...]
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    assert "uv export --frozen --no-dev" in runs  # locked versions, no dev tools, no airflow
    assert "pip install --no-deps ." in runs
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] != "root"


def test_build_context_keeps_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        src
        for op, arg in _instructions()
        if op == "COPY" and not arg.startswith("--from")
        for src in arg.split()[:-1]
    ]
    assert copied
    for src in copied:
        assert (REPO / src).exists(), src
        assert not _ignored(src, patterns), f"{src} is excluded by .dockerignore"
    assert not _ignored("src/candlelake/universe/data/ccxt/universe_v7.json", patterns)
    assert _ignored("tests/conftest.py", patterns) and _ignored(".venv/bin/python", patterns)


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv not installed")
def test_package_builds_a_wheel_with_the_cli(tmp_path: Path) -> None:
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(tmp_path)], cwd=REPO, check=True, capture_output=True
    )
    (wheel,) = tmp_path.glob("candlelake-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
        assert "candlelake = candlelake.cli.main:main" in zf.read(entry_points).decode()
    assert "candlelake/__main__.py" in names
    assert "candlelake/universe/data/ccxt/universe_v7.3.json" in names
    assert not any(n.startswith(("tests/", "dags/")) for n in names)


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv not installed")
def test_locked_requirements_for_the_image_leave_out_airflow() -> None:
    out = subprocess.run(
        ["uv", "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements-txt"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pinned = {line.split("==")[0] for line in out.splitlines() if "==" in line and not line.startswith(" ")}
    assert {"ccxt", "pyarrow", "typer"} <= pinned
    assert not any(name.startswith("apache-airflow") for name in pinned)


def test_every_flag_the_dags_emit_is_a_download_bulk_flag(tmp_path: Path) -> None:
    overrides = {"version": "v1_0_0", "aws_profile": "ck", "log_level": "INFO", "lake_url": "s3://b"}
    _, settings = load_settings(tmp_path / "prod.x.py", overrides)
    args = download_bulk_args(
        Job("ccxt", "binance", "spot", "ohlcv", "v7"), WindowArgs.day(dt.date(2024, 2, 19)), settings
    )
    emitted = {a for a in args if a.startswith("-")} | {"--report_json"}
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    help_text = subprocess.run(
        [sys.executable, "-m", "candlelake", "download-bulk", "--help"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    missing = sorted(flag for flag in emitted if flag not in help_text)
    assert missing == []
