"""Retries of one REST call: transient failures back off, a 429 is waited out, never counted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import tenacity

from candlelake.errors import RateLimited, TransientError, Unreachable
from candlelake.settings import RestSettings

T = TypeVar("T")
UNREACHABLE_ATTEMPTS = 3


class RetryStats(Protocol):
    retries: int


async def call_with_retries(once: Callable[[], Awaitable[T]], settings: RestSettings, stats: RetryStats) -> T:
    """`await once()` until it succeeds, fails terminally, or fails `settings.attempts` times."""
    failures = 0
    waited_s = 0.0

    def gave_up(state: tenacity.RetryCallState) -> bool:
        # A 429 is our pacing being corrected, not a failed attempt: it is waited
        # out (the budget pauses every worker for Retry-After) and never counted, up to
        # the longest a run waits for one request (`max_wait_s`).
        nonlocal failures, waited_s
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimited):
            waited_s += error.retry_after_s
            return waited_s > settings.max_wait_s
        failures += 1
        if isinstance(error, Unreachable):
            # Nothing listens there: say so within seconds rather than after 8 backoffs.
            return failures >= min(settings.attempts, UNREACHABLE_ATTEMPTS)
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
