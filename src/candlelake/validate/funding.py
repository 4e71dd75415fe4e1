"""Funding settlements: the rows' rules, the schedule they imply, and every missing one. Pure.

Binance settles a perpetual's funding every 8 h (00:00, 08:00, 16:00 UTC) unless it moves
the symbol to another schedule (4 h, 1 h, ...). Each settlement is published with its
exact time — a few ms after the hour (`1775088000003`) — and, in the archive, the interval
in force (`funding_interval_hours`). A settlement belongs to its *nominal* time: the
published time floored to the minute.

The expected schedule is rebuilt from the rows themselves: after a settlement at nominal
time t with interval h, the next is due at t + h. When the next row comes later than that,
every due time in between is a missing settlement, reported as a one-minute gap at its
nominal minute. Before the first row of the window, due times are counted back from it;
after the last, forward to the end of the window. A schedule change is followed because
each row carries its own interval.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from candlelake.timeutil import MINUTE_MS, Window
from candlelake.validate.gaps import Gap

HOUR_MS = 3_600_000
DEFAULT_INTERVAL_HOURS = 8
# Binance's funding intervals; a REST row whose distance to the previous row is not one of
# them keeps the previous interval (the distance then spans missing settlements).
KNOWN_INTERVALS_HOURS = (1, 2, 4, 8)
FUNDING_SCHEMA = pa.schema(
    [
        ("timestamp", pa.int64()),  # settlement time as published, ms (not floored)
        ("funding_rate", pa.float64()),  # the published decimal string, parsed exactly
        ("funding_interval_hours", pa.int64()),
    ]
)
MISSING_SETTLEMENT = "no funding settlement published at its due time ({hours} h after the previous)"
NOT_LISTED = "not listed yet"


@dataclass(frozen=True)
class Settlement:
    time_ms: int
    rate: float
    interval_hours: int

    @property
    def nominal_ms(self) -> int:
        return self.time_ms - self.time_ms % MINUTE_MS


def settlements(table: pa.Table) -> list[Settlement]:
    """The rows of a funding table, sorted, one per nominal minute (the first published wins)."""
    rows = sorted(
        zip(
            table.column("timestamp").to_pylist(),
            table.column("funding_rate").to_pylist(),
            table.column("funding_interval_hours").to_pylist(),
            strict=True,
        )
    )
    seen: dict[int, Settlement] = {}
    for time_ms, rate, hours in rows:
        item = Settlement(int(time_ms), float(rate), int(hours))
        seen.setdefault(item.nominal_ms, item)
    return list(seen.values())


def to_table(items: Sequence[Settlement]) -> pa.Table:
    return pa.table(
        {
            "timestamp": [s.time_ms for s in items],
            "funding_rate": [s.rate for s in items],
            "funding_interval_hours": [s.interval_hours for s in items],
        },
        schema=FUNDING_SCHEMA,
    )


def infer_intervals(times_ms: Sequence[int], first_hours: int | None = None) -> list[int]:
    """Intervals for REST rows, which carry none, from the distances between them (hours).

    A row after a steady run (its distance to the previous row equals the one before) keeps
    that distance: this is how a schedule change shows. Otherwise the row takes the shorter
    of its distances to its neighbours, so a missing settlement (a double distance) does not
    pass for a longer schedule. Distances that are no Binance interval are skipped; the first
    row takes `first_hours` when given.
    """
    n = len(times_ms)
    gaps = [round((b - a) / HOUR_MS) for a, b in itertools.pairwise(times_ms)]
    out: list[int] = []
    for i in range(n):
        prev = gaps[i - 1] if i >= 1 else None
        before = gaps[i - 2] if i >= 2 else None
        following = gaps[i] if i < n - 1 else None
        if i == 0 and first_hours is not None:
            out.append(first_hours)
        elif prev is not None and prev == before and prev in KNOWN_INTERVALS_HOURS:
            out.append(prev)
        else:
            known = [g for g in (prev, following) if g in KNOWN_INTERVALS_HOURS]
            out.append(min(known) if known else (out[-1] if out else DEFAULT_INTERVAL_HOURS))
    return out


def missing_settlements(
    items: Sequence[Settlement], window: Window, listed_ms: int | None = None
) -> list[Gap]:
    """One gap per settlement due in `window` that `items` lack (see the module docstring).

    Due times before `listed_ms` are excluded (not listed yet). With no row at all in the
    window nothing can be inferred about the schedule but that one was due every 8 h from
    the UTC midnight grid; those due times are reported.
    """
    inside = [s for s in items if window.start_ms <= s.nominal_ms < window.end_ms]
    before = [s for s in items if s.nominal_ms < window.start_ms]
    gaps: list[Gap] = []

    def report(due_ms: int, hours: int) -> None:
        if not window.start_ms <= due_ms < window.end_ms:
            return
        if listed_ms is not None and due_ms < listed_ms:
            gaps.append(Gap(due_ms, due_ms + MINUTE_MS, "excluded", NOT_LISTED))
        else:
            gaps.append(Gap(due_ms, due_ms + MINUTE_MS, "missing", MISSING_SETTLEMENT.format(hours=hours)))

    if not inside:
        hours = before[-1].interval_hours if before else DEFAULT_INTERVAL_HOURS
        step = hours * HOUR_MS
        due = before[-1].nominal_ms + step if before else -(-window.start_ms // step) * step
        while due < window.end_ms:
            report(due, hours)
            due += step
        return gaps
    first = inside[0]
    previous = before[-1] if before else None
    if previous is None:
        # Count back from the first row on its own schedule.
        step = first.interval_hours * HOUR_MS
        due = first.nominal_ms - step
        while due >= window.start_ms:
            report(due, first.interval_hours)
            due -= step
    chain = ([previous] if previous else []) + inside
    for a, b in itertools.pairwise(chain):
        step = b.interval_hours * HOUR_MS
        due = a.nominal_ms + step
        while due < b.nominal_ms:
            report(due, b.interval_hours)
            due += step
    last = inside[-1]
    due = last.nominal_ms + last.interval_hours * HOUR_MS
    while due < window.end_ms:
        report(due, last.interval_hours)
        due += last.interval_hours * HOUR_MS
    return sorted(gaps, key=lambda g: g.start_ms)
