"""`--verify-sample N`, a step after the run: compare archive-sourced days with REST, field by field."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from candlelake.errors import CandlelakeError
from candlelake.quality.crosscheck import compare_days, pick_sample_days

log = logging.getLogger(__name__)

DayReader = Callable[[str, dt.date], Awaitable[pa.Table]]


@dataclass
class Verification:
    differences: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def verify_sample(
    sources: Mapping[str, Mapping[dt.date, str]],
    n: int,
    *,
    read_lake: DayReader,
    fetch_rest: DayReader,
) -> Verification:
    """Pick `n` archive-sourced days per symbol (`sources`: symbol -> day -> source label),
    read each from the lake and from REST, and list every field that differs."""
    result = Verification()
    for symbol, by_day in sources.items():
        archived = sorted(d for d, src in by_day.items() if src.startswith("archive:"))
        for day in pick_sample_days(archived, n, seed=len(archived)):
            try:
                lake_table = await read_lake(symbol, day)
                rest_table = await fetch_rest(symbol, day)
            except CandlelakeError as exc:
                result.errors.append(f"verify {symbol} {day}: {exc}")
                continue
            diffs = compare_days(lake_table.select(rest_table.column_names), rest_table)
            result.differences.extend(f"{symbol} {day}: {diff}" for diff in diffs)
            log.info("verify %s %s: %d differences", symbol, day, len(diffs))
    if result.differences:
        result.errors.append(f"archive and REST disagree in {len(result.differences)} places")
    return result
