"""`candlelake repair`: download again exactly the partitions QA found broken, then check them again.

A partition is a UTC day, or a month (3d, 1w and 1M bars, funding settlements). A broken one
has an unexplained hole (a failed fetch or invalid row the ledger lists, bars or settlements no
footer explains), a missing or corrupt file, or rows that fail a check. Each symbol's broken
partitions are merged into contiguous spans, and symbols with the same span share one forced
download of the dataset with its interval, so complete partitions around them are not fetched
again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from candlelake.errors import UsageError
from candlelake.markets import MARKETS, VENDORS, parse_exchange, parse_market, parse_vendor
from candlelake.quality.qa import QaReport, QaRequest, failing_days, run_qa
from candlelake.settings import RestSettings
from candlelake.signature import DatasetSignature
from candlelake.timeutil import Window, month_window

Span = tuple[dt.date, dt.date]  # first and last day, both included


@dataclass(frozen=True)
class RepairSettings:
    """How to reach the exchange and the lake for the re-download."""

    lake_url: str
    signature: DatasetSignature
    rest: RestSettings = field(default_factory=RestSettings)
    archive_url: str | None = None
    aws_profile: str | None = None
    s3_endpoint_url: str | None = None
    concurrency: int = 8


@dataclass
class RepairOutcome:
    spans: dict[Span, list[str]]
    downloads: list[dict[str, Any]]  # each re-download's run report
    after: QaReport | None
    monthly: bool = False  # the spans are of month partitions (keys: first days)

    def describe(self, first: dt.date, last: dt.date) -> str:
        if self.monthly:
            return f"{first:%Y-%m}..{last:%Y-%m}"
        return f"{first}..{last}"

    @property
    def ok(self) -> bool:
        return self.after is None or self.after.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "repaired": [
                {"first_day": a.isoformat(), "last_day": b.isoformat(), "symbols": s}
                for (a, b), s in sorted(self.spans.items())
            ],
            "downloads": self.downloads,
            "qa_after": None if self.after is None else self.after.to_dict(),
        }


def plan_spans(broken: dict[str, list[dt.date]], *, monthly: bool = False) -> dict[Span, list[str]]:
    """Group each symbol's broken partitions (days, or months by their first day) into
    contiguous spans; symbols sharing a span go together."""
    spans: dict[Span, list[str]] = defaultdict(list)
    for symbol, days in sorted(broken.items()):
        ordered = sorted(set(days))
        start = prev = ordered[0]
        for day in [*ordered[1:], None]:
            if day is not None and day == _next(prev, monthly):
                prev = day
                continue
            spans[(start, prev)].append(symbol)
            if day is not None:
                start = prev = day
    return dict(spans)


def _next(key: dt.date, monthly: bool) -> dt.date:
    return (key + dt.timedelta(days=32)).replace(day=1) if monthly else key + dt.timedelta(days=1)


def span_window(first: dt.date, last: dt.date, request: QaRequest) -> Window:
    """The open times (settlement times) of the partitions `first` to `last`."""
    if request.funding:
        start, end = month_window(first.year, first.month), month_window(last.year, last.month)
        return Window(start.start_ms, end.end_ms)
    grid = request.grid
    return Window(grid.partition_window(first).start_ms, grid.partition_window(last).end_ms)


async def repair(report: QaReport, request: QaRequest, settings: RepairSettings) -> RepairOutcome:
    """Re-download the broken days of `report` and run QA on them again."""
    from candlelake.engine import download  # the engine loads pyarrow: only when repairing
    from candlelake.job import DownloadJob

    sig = settings.signature
    if sig.vendor not in VENDORS or sig.asset_type not in MARKETS:
        raise UsageError(
            f"cannot repair {sig}: only ccxt and binance spot/futures datasets can be downloaded"
        )
    spans = plan_spans(failing_days(report), monthly=request.monthly)
    outcome = RepairOutcome(spans, [], None, monthly=request.monthly)
    for (first, last), symbols in sorted(spans.items()):
        job = DownloadJob(
            market=parse_market(sig.asset_type),
            symbols=tuple(symbols),
            window=span_window(first, last, request),
            lake_url=settings.lake_url,
            signature=sig,
            vendor=parse_vendor(sig.vendor),
            exchange_id=parse_exchange(sig.exchange_id),
            explicit_symbols=True,
            rest=settings.rest,
            archive_url=settings.archive_url,
            aws_profile=settings.aws_profile,
            s3_endpoint_url=settings.s3_endpoint_url,
            concurrency=settings.concurrency,
            force=True,
            interval=request.grid.interval,
        )
        run = await download(job)
        outcome.downloads.append(run.to_dict())
    if spans:
        days = [d for span in spans for d in span]  # partition keys: a month's is its first day
        symbols = sorted({s for group in spans.values() for s in group})
        outcome.after = run_qa(
            replace(request, symbols=tuple(symbols), first_day=min(days), last_day=max(days), deep=True)
        )
    return outcome
