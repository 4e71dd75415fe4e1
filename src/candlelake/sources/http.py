"""The HTTP edge of the REST sources: one GET, its status, headers and raw body.

A `Transport` is the seam between a REST client's logic (pacing, retries, error
translation) and the network, so that logic is unit-tested with canned responses and
no server. `AiohttpTransport` is the real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from candlelake.errors import TransientError

Params = Mapping[str, str | int]


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes


class Transport(Protocol):
    async def get(self, url: str, params: Params) -> HttpResponse: ...

    async def close(self) -> None: ...


def redact(url: str) -> str:
    """The URL without user, password or query, fit for a log line or an error."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class AiohttpTransport:
    """GETs over one pooled aiohttp session, with connect and read timeouts."""

    def __init__(self, timeout_s: float, connections: int = 64) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(timeout_s, 10.0))
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def get(self, url: str, params: Params) -> HttpResponse:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._connections)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        query = {key: str(value) for key, value in params.items()}
        try:
            async with self._session.get(url, params=query) as response:
                body = await response.read()
                headers = {k.lower(): v for k, v in response.headers.items()}
                return HttpResponse(response.status, headers, body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Resets, refused connections, DNS and TLS failures, cut bodies and timeouts
            # are all worth another attempt; the message names where and why.
            raise TransientError(f"{_cause(exc)} for GET {redact(url)}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _cause(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "DNS lookup failed"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "TLS error"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection refused ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return "connection reset"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "truncated body"
    return type(exc).__name__
