"""`python -m candlelake.simulator serve` and Simulator.subprocess."""

import json
import signal
import subprocess
import sys

from candlelake.simulator import SimConfig, Simulator
from fixtures.simulator import http_get


def test_serve_prints_url_first_and_stops_on_sigterm(tmp_path):
    cfg = tmp_path / "sim.toml"
    cfg.write_text('seed = 4\nclock = "frozen:2024-02-20T00:00:00Z"\nfail_symbols = ["spot:ETHUSDT"]\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "candlelake.simulator", "serve", "--config", str(cfg), "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        got = json.loads(http_get(url + "/_sim/config")[2])
        assert got["seed"] == 4 and got["latency_ms"] == 1 and got["fail_symbols"] == ["spot:ETHUSDT"]
        assert json.loads(http_get(url + "/api/v3/time")[2]) == {"serverTime": 1708387200000}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_subprocess_simulator():
    with Simulator.subprocess(SimConfig(seed=2, clock="frozen:2024-02-20T00:00:00Z")) as sim:
        assert http_get(sim.url + "/api/v3/ping")[2] == b"{}"
        assert sim.stats()["endpoints"]["/api/v3/ping"]["requests"] == 1
        sim.reset()
        assert sim.stats()["total"] == {}
