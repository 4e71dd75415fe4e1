"""Run the simulator: in a background thread of this process, or as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from candlelake.simulator.app import SimState, build_app
from candlelake.simulator.config import SimConfig


async def start_site(state: SimState) -> tuple[web.AppRunner, str]:
    """Bind the app to cfg.host:cfg.port (0 = any free port); returns the runner and base URL."""
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, state.cfg.host, state.cfg.port, backlog=1024)
    await site.start()
    server = site._server
    assert server is not None
    host, port = next(iter(server.sockets)).getsockname()[:2]  # type: ignore[attr-defined]
    return runner, f"http://{host}:{port}"


def start_pregeneration(state: SimState) -> threading.Thread | None:
    """Fill the archive caches for `cfg.pregenerate` patterns without delaying startup."""
    if not state.cfg.pregenerate:
        return None
    thread = threading.Thread(
        target=state.archive.pregenerate,
        args=(state.cfg.pregenerate, state.clock.now_ms()),
        name="sim-pregenerate",
        daemon=True,
    )
    thread.start()
    return thread


class Simulator:
    """The simulator in a background thread with its own event loop (a context manager)."""

    def __init__(self, cfg: SimConfig | None = None) -> None:
        self.cfg = cfg or SimConfig()
        self.state = SimState(self.cfg)
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @classmethod
    def subprocess(cls, cfg: SimConfig | None = None) -> SubprocessSimulator:
        """The same simulator as a separate process (`python -m candlelake.simulator serve`)."""
        return SubprocessSimulator(cfg or SimConfig())

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.url = loop.run_until_complete(start_site(self.state))
        except BaseException as exc:  # surfaced to start() in the caller's thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    def start(self) -> Simulator:
        self._thread = threading.Thread(target=self._run, name="candlelake-sim", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError("simulator failed to start") from self._error
        start_pregeneration(self.state)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
        self._thread = None

    def _call(self, fn: Any) -> Any:
        """Run fn on the server loop (state is owned by that thread)."""
        assert self._loop is not None

        async def wrapper() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(30)

    def stats(self) -> dict[str, Any]:
        return dict(self._call(self.state.stats_snapshot))

    def reset(self) -> None:
        self._call(self.state.reset)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SubprocessSimulator:
    """`candlelake sim serve` in a child process; the URL is its first stdout line."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self._cfg_file: Path | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> SubprocessSimulator:
        fd, name = tempfile.mkstemp(prefix="candlelake-sim-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.cfg.to_dict(), fh)
        self._cfg_file = Path(name)
        cmd = [sys.executable, "-m", "candlelake.simulator", "serve", "--config", name]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"simulator subprocess did not print its URL (got {line!r})")
        self.url = line
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._cfg_file is not None:
            self._cfg_file.unlink(missing_ok=True)

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_sim/stats", timeout=30) as resp:  # noqa: S310
            return dict(json.loads(resp.read()))

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/_sim/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(req, timeout=30):  # noqa: S310
            pass

    def __enter__(self) -> SubprocessSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
