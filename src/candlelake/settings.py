"""How to reach an exchange over REST: typed settings from flags and the environment.

Kept apart from the HTTP client so that the CLI can check flags before importing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from candlelake.envvars import env_number
from candlelake.errors import UsageError
from candlelake.plan.pages import RateLimit

ENV_REST_URL = "CANDLELAKE_BINANCE_URL"


def env_rest_url(exchange: str) -> str:
    """`CANDLELAKE_<EXCHANGE>_URL`: the base URL override of one exchange's REST API."""
    return f"CANDLELAKE_{exchange.upper()}_URL"


@dataclass(frozen=True)
class RestSettings:
    """How to reach an exchange over REST. `base_url` replaces its real hosts (a simulator)."""

    base_url: str | None = None
    timeout_s: float = 10.0
    attempts: int = 8
    max_backoff_s: float = 8.0
    max_wait_s: float = 600.0  # the longest one request waits out 429s before it fails
    rate_limit: RateLimit | None = None  # None: read it from exchangeInfo

    @classmethod
    def from_env(cls, base_url: str | None = None, exchange: str = "binance") -> RestSettings:
        """Settings from flags, then `CANDLELAKE_*` environment variables (see docs/cli.md)."""
        env = os.environ
        rate = None
        if env.get("CANDLELAKE_WEIGHT_LIMIT"):
            rate = parse_rate_limit(env["CANDLELAKE_WEIGHT_LIMIT"])
        env_name = env_rest_url(exchange)
        url = base_url or env.get(env_name) or None
        return cls(
            base_url=check_base_url(url, "--rest_url" if base_url else env_name) if url else None,
            timeout_s=env_number("CANDLELAKE_REST_TIMEOUT_S", 10.0),
            attempts=int(env_number("CANDLELAKE_REST_ATTEMPTS", 8)),
            max_wait_s=env_number("CANDLELAKE_REST_MAX_WAIT_S", 600.0),
            rate_limit=rate,
        )


def check_base_url(url: str, what: str) -> str:
    """A usable http(s) base URL without a trailing slash, or a usage error naming it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a non-numeric port raises here
    except ValueError:
        host = None
    if not host or parts.scheme not in ("http", "https") or any(c.isspace() for c in url):
        raise UsageError(f"bad {what} {url!r}; expected an http:// or https:// URL with a host")
    return url.rstrip("/")


def parse_rate_limit(text: str) -> RateLimit:
    """`2400/60` -> 2400 weight per 60 s."""
    try:
        limit, seconds = text.split("/")
        return RateLimit(int(limit), float(seconds))
    except ValueError:  # also a non-positive weight or window
        raise UsageError(f"bad weight limit {text!r}; expected WEIGHT/SECONDS, e.g. 2400/60") from None
