"""Vectorised formatting of candle frames into Binance JSON rows and archive CSV lines."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from candlelake.simulator.market import MINUTE_MS, Frame
from candlelake.simulator.symbols import Symbol

I64 = npt.NDArray[np.int64]


def fixed(units: I64, dec: int) -> pa.Array:
    """Integers in units of 10**-dec -> decimal strings with exactly `dec` decimals."""
    if dec == 0:
        return pc.cast(pa.array(units), pa.string())
    negative = units < 0
    if negative.any():  # a premium index can be below zero: "-0.00001234"
        text = fixed(np.abs(units), dec)
        return pc.if_else(pa.array(negative), pc.binary_join_element_wise("-", text, ""), text)
    scale = 10**dec
    whole = pc.cast(pa.array(units // scale), pa.string())
    frac = pc.utf8_slice_codeunits(pc.cast(pa.array(units % scale + scale), pa.string()), start=1)
    return pc.binary_join_element_wise(whole, frac, ".")


def _columns(
    sym: Symbol, frame: Frame, close_ms: I64, time_scale: int, open_ms: I64 | None = None
) -> list[pa.Array]:
    # `open_ms` is given for 1s candles, whose open times are not whole minutes (seconds.py).
    open_ms = frame.t * MINUTE_MS if open_ms is None else open_ms
    if time_scale == 1000:  # microseconds: close time gets the extra 999 µs, as Binance writes it
        opens, closes = open_ms * 1000, close_ms * 1000 + 999
    else:
        opens, closes = open_ms, close_ms
    return [
        pc.cast(pa.array(opens), pa.string()),
        fixed(frame.open, sym.price_dec),
        fixed(frame.high, sym.price_dec),
        fixed(frame.low, sym.price_dec),
        fixed(frame.close, sym.price_dec),
        fixed(frame.volume, sym.qty_dec),
        pc.cast(pa.array(closes), pa.string()),
        fixed(frame.quote, sym.quote_dec),
        pc.cast(pa.array(frame.trades), pa.string()),
        fixed(frame.taker_base, sym.qty_dec),
        fixed(frame.taker_quote, sym.quote_dec),
    ]


def _blob(rows: pa.Array) -> tuple[bytes, I64]:
    """The concatenated UTF-8 of a string array and its row offsets (relative to the blob)."""
    rows = rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset : rows.offset + len(rows) + 1]
    offs = offsets.astype(np.int64) - int(offsets[0])
    data = rows.buffers()[2]
    blob = data.to_pybytes()[int(offsets[0]) : int(offsets[-1])] if data is not None else b""
    return blob, offs


def json_rows(sym: Symbol, frame: Frame, close_ms: I64, open_ms: I64 | None = None) -> tuple[bytes, I64]:
    """Rows as ``[t,"o",…,"0"],`` each (trailing comma included) + offsets of each row."""
    if len(frame) == 0:
        return b"", np.zeros(1, dtype=np.int64)
    t, o, h, lo, c, v, ct, q, n, tb, tq = _columns(sym, frame, close_ms, 1, open_ms)
    rows = pc.binary_join_element_wise(
        "[", t, ',"', o, '","', h, '","', lo, '","', c, '","', v, '",', ct, ',"', q, '",', n,
        ',"', tb, '","', tq, '","0"],', "",
    )  # fmt: skip
    return _blob(rows)


def csv_bytes(
    sym: Symbol, frame: Frame, close_ms: I64, microseconds: bool, header: bool, open_ms: I64 | None = None
) -> bytes:
    """Archive CSV text: Binance's 12 columns, LF line ends, optional futures header."""
    head = (
        b"open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        b"taker_buy_volume,taker_buy_quote_volume,ignore\n"
        if header
        else b""
    )
    if len(frame) == 0:
        return head
    cols = _columns(sym, frame, close_ms, 1000 if microseconds else 1, open_ms)
    rows = pc.binary_join_element_wise(*cols, "0\n", ",")
    return head + _blob(rows)[0]
