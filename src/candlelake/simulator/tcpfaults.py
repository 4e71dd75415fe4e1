"""A TCP proxy in front of a real server that can freeze or die after N requests.

Part of the simulator's fault kit (tests/reliability and bench/faults.py). It stands
between candlelake and moto to play an S3 endpoint that stops answering (`hang`:
connections stay open, nothing more is forwarded) or goes away (`dead`: the port closes and
open connections are cut). Requests are counted by their HTTP/1.1 request lines.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Literal

Mode = Literal["hang", "dead"]


class FaultyProxy:
    def __init__(self, target: str, *, fault: Mode, after_requests: int) -> None:
        host, port = target.removeprefix("http://").split(":")
        self._target = (host, int(port))
        self.fault, self.after = fault, after_requests
        self.requests = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def faulty(self) -> bool:
        return self.requests >= self.after

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if from_client:
                    with self._lock:
                        if self.faulty:
                            self._fail()
                            continue  # hang: swallow the request, never answer
                        self.requests += data.count(b" HTTP/1.1\r\n")
                        if self.faulty:
                            self._fail()
                            continue
                elif self.faulty and self.fault == "hang":
                    continue
                sink.sendall(data)

    def _fail(self) -> None:
        if self.fault == "dead" and not self._closed:
            self._closed = True
            self._listener.close()
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.close()
