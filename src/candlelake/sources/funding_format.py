"""Binance funding rates as published: the archive's monthly CSV and REST's JSON rows. Pure.

Archive (binance.md §4.2): `calc_time,funding_interval_hours,last_funding_rate`, one row per
settlement, `calc_time` in ms and a few ms past the hour. REST `GET /fapi/v1/fundingRate`
(§2.4): `{"symbol", "fundingRate", "fundingTime", "markPrice"}` (`/dapi/v1/fundingRate`: no
`markPrice`), no interval; the interval is inferred from the settlement times
(validate/funding.py `infer_intervals`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from candlelake.validate.funding import FUNDING_SCHEMA, infer_intervals

CSV_HEADER = ("calc_time", "funding_interval_hours", "last_funding_rate")


def parse_funding_csv(data: bytes) -> pa.Table:
    """The archive CSV as a funding table; ValueError naming what is wrong."""
    first = data.split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    if tuple(first.split(",")) != CSV_HEADER:
        raise ValueError(f"funding CSV header is {first[:80]!r}, expected {','.join(CSV_HEADER)}")
    types = {"calc_time": pa.int64(), "funding_interval_hours": pa.int64(), "last_funding_rate": pa.float64()}
    try:
        table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(column_types=types))
    except pa.ArrowInvalid as exc:
        raise ValueError(f"bad funding CSV: {exc}") from None
    if table.num_rows and any(table.column(name).null_count for name in CSV_HEADER):
        raise ValueError("funding CSV has empty values")
    return pa.table(
        [
            table.column("calc_time"),
            table.column("last_funding_rate"),
            table.column("funding_interval_hours"),
        ],
        schema=FUNDING_SCHEMA,
    )


def rest_funding_table(rows: Sequence[Mapping[str, Any]], first_hours: int | None = None) -> pa.Table:
    """REST rows (sorted by time) as a funding table, intervals inferred from the times."""
    times = [int(r["fundingTime"]) for r in rows]
    # float() of the decimal string is the nearest double, which prints back as the string.
    rates = [float(r["fundingRate"]) for r in rows]
    hours = infer_intervals(times, first_hours) if times else []
    return pa.table(
        {"timestamp": times, "funding_rate": rates, "funding_interval_hours": hours}, schema=FUNDING_SCHEMA
    )
