"""Retries of one REST call: transient failures back off, a 429 is waited out, never counted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import tenacity

from candlelake.errors import RateLimited, TransientError
from candlelake.settings import RestSettings

T = TypeVar("T")


class RetryStats(Protocol):
    retries: int


async def call_with_retries(once: Callable[[], Awaitable[T]], settings: RestSettings, stats: RetryStats) -> T:
    """`await once()` until it succeeds, fails terminally, or fails `settings.attempts` times."""
    failures = 0

    def gave_up(state: tenacity.RetryCallState) -> bool:
        # A 429 is our pacing being corrected, not a failed attempt: it is waited
        # out (the budget pauses every worker for Retry-After) and never counted.
        nonlocal failures
        outcome = state.outcome
        if outcome is not None and not isinstance(outcome.exception(), RateLimited):
            failures += 1
        return failures >= settings.attempts

    retrying = tenacity.AsyncRetrying(
        stop=gave_up,
        wait=tenacity.wait_random_exponential(multiplier=0.2, max=settings.max_backoff_s),
        retry=tenacity.retry_if_exception_type(TransientError),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                stats.retries += 1
            return await once()
    raise AssertionError("unreachable")
