"""Cross-check two datasets of a lake where both hold a (symbol, day): archive vs REST, spot vs futures.

Two datasets of one market (e.g. vendor `binance` from the archive and vendor `ccxt` from REST)
must agree exactly on every common column. Two markets (spot vs futures) trade different
instruments, so only their close prices are compared, within a relative tolerance.
"""

from __future__ import annotations

import posixpath

import pyarrow.parquet as pq

from candlelake.errors import UsageError
from candlelake.lake import layout
from candlelake.lake.storage import DatasetLocation
from candlelake.quality.crosscheck import ROW, compare_days
from candlelake.quality.qa import QaRequest, run_qa
from candlelake.signature import DatasetSignature
from candlelake.validate.checks import Finding

MARKET_TOLERANCE = 0.02  # spot and futures closes rarely part by more than this in a minute


def cross_check_datasets(request: QaRequest, other: DatasetLocation) -> list[Finding]:
    """One `cross_check` finding per (symbol, day) whose two files disagree."""
    mine = run_qa(request)
    theirs = run_qa(
        QaRequest(
            other,
            symbols=tuple(mine.symbols()),
            first_day=mine.first_day,
            last_day=mine.last_day,
            grid=request.grid,
        )
    )
    paths = {(d.symbol, d.day): d.path for d in theirs.days if d.path and d.state != "corrupt"}
    same_market = _market(request.location) == _market(other)
    fs_a, _ = request.location.filesystem()
    fs_b, _ = other.filesystem()
    found = []
    for status in mine.days:
        other_path = paths.get((status.symbol, status.day))
        if status.path is None or other_path is None or status.state == "corrupt":
            continue
        a = _read(fs_a, status.path)
        b = _read(fs_b, other_path)
        if same_market:
            diffs = compare_days(a, b)
        else:
            diffs = [
                d for d in compare_days(a.select(["timestamp", "close"]), b.select(["timestamp", "close"]),
                                        rel_tol=MARKET_TOLERANCE)
                if d.field != ROW
            ]  # fmt: skip
        if diffs:
            detail = f"{len(diffs)} difference(s) with {posixpath.basename(other.url)}; first: {diffs[0]}"
            found.append(
                Finding(status.symbol, status.day.isoformat(), "cross_check", "fail", len(diffs),
                        diffs[0].timestamp, detail)
            )  # fmt: skip
    return found


def _read(fs, path: str):  # type: ignore[no-untyped-def]
    with fs.open(path, "rb") as handle:
        table = pq.read_table(handle)
    keep = [
        c
        for c in table.column_names
        if c not in ("exchange_id", "knowledge_timestamp", *layout.PARTITION_COLUMNS)
    ]
    return table.select(keep)


def _market(location: DatasetLocation) -> str | None:
    try:
        return DatasetSignature.from_path(location.url).asset_type
    except UsageError:
        return None
