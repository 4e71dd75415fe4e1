"""Numbers from `CANDLELAKE_*` environment variables, checked like flags."""

from __future__ import annotations

import os

from candlelake.errors import UsageError


def env_number(name: str, default: float) -> float:
    """A positive number from the environment, `default` if unset; a usage error otherwise."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"bad {name}={raw!r}; expected a number") from None
    if value <= 0:
        raise UsageError(f"bad {name}={raw!r}; expected a positive number")
    return value
