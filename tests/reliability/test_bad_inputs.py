"""Every bad input in bad_inputs.CASES: exit 2, one line naming the value, nothing written.

Each case runs the real `candlelake` process (so that log lines count too), from an empty
working folder that must stay empty, with a lake path that must stay absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from candlelake.simulator import Simulator

from .bad_inputs import CASES, BadInput


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    written: list[str]
    line_must_name: str


def _run(case: BadInput, folder: Path, sim_url: str) -> Outcome:
    tmp, lake = folder / "tmp", folder / "lake"
    tmp.mkdir(parents=True)

    def fill(text: str) -> str:
        return text.format(lake=lake, tmp=tmp, sim=sim_url)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANDLELAKE_", "AWS_"))}
    env.update({k: fill(v) for k, v in case.env.items()})
    env.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", AWS_DEFAULT_REGION="us-east-1")
    done = subprocess.run(
        [sys.executable, "-m", "candlelake", *(fill(a) for a in case.argv)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    written = [str(p) for p in [*tmp.rglob("*"), *([lake] if lake.exists() else [])]]
    return Outcome(done.returncode, done.stdout, done.stderr, written, fill(case.names))


@pytest.fixture(scope="module")
def outcomes(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    base = tmp_path_factory.mktemp("bad-inputs")
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda i: _run(CASES[i], base / str(i), simulator.url), range(len(CASES))))


def test_the_table_has_at_least_seventy_cases() -> None:
    assert len(CASES) >= 70
    assert len({(c.argv, tuple(c.env.items())) for c in CASES}) == len(CASES), "a case is listed twice"


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.what for c in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(outcomes: list[Outcome], index: int) -> None:
    out = outcomes[index]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.code == 2, out.stderr
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ") and out.line_must_name in lines[0], lines[0]
    assert out.stdout == ""
    assert out.written == []
