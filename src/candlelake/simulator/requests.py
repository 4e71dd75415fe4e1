"""Request helpers shared by every exchange's routes: who asks, what, and cut answers."""

from __future__ import annotations

from aiohttp import web


def client(request: web.Request) -> str:
    # tests simulate several client IPs from one host with this header
    return request.headers.get("X-Sim-Client") or request.remote or "unknown"


def identity(request: web.Request) -> str:
    """The identity of a request for fault decisions: identical requests count attempts."""
    return f"{request.method} {request.path_qs}"


def truncate(resp: web.Response) -> web.Response:
    """The answer with its body cut in half (invalid JSON), for the `truncate` fault."""
    body = resp.body
    if not isinstance(body, bytes | bytearray) or len(body) < 2:
        return resp
    cut = web.Response(body=bytes(body[: len(body) // 2]), status=resp.status, headers=resp.headers)
    cut.headers.pop("Content-Length", None)
    return cut
