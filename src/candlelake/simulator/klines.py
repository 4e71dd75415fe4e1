"""Kline selection with Binance's startTime/endTime/limit rules over cached, pre-encoded blocks."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from candlelake.simulator.encode import json_rows
from candlelake.simulator.intervals import Bucketing
from candlelake.simulator.market import MINUTE_MS, Frame, Market, aggregate
from candlelake.simulator.prices import TRADE_KLINES, derive, format_symbol
from candlelake.simulator.seconds import SECOND_MS, closed_seconds
from candlelake.simulator.symbols import Symbol

I64 = npt.NDArray[np.int64]
_SECOND_CHUNK_MS = 20 * MINUTE_MS  # 1200 seconds: more than one page of 1s candles
K = TypeVar("K")
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """A thread-safe LRU bounded by the total size in bytes of its values."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: K, value: V, size: int) -> None:
        with self._lock:
            if key in self._data:
                self.bytes -= self._data.pop(key)[1]
            self._data[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes and len(self._data) > 1:
                _, (_, dropped) = self._data.popitem(last=False)
                self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0


@dataclass(frozen=True)
class Block:
    """Encoded candles of one block: open/close times (ms), JSON rows and their offsets."""

    open_ms: I64
    close_ms: I64
    blob: bytes
    offs: I64

    @property
    def nbytes(self) -> int:
        return len(self.blob) + 3 * 8 * len(self.open_ms) + 200


def candles(
    market: Market, sym: Symbol, interval: str, m0: int, m1: int, kind: str = TRADE_KLINES
) -> tuple[Frame, I64]:
    """Complete candles whose bucket starts in [m0, m1) (m0, m1 on bucket edges of a block)."""
    minutes = derive(kind, sym, market.minutes(sym, m0, m1))[1]
    if interval == "1m":
        return minutes, (minutes.t + 1) * MINUTE_MS - 1
    edges = Bucketing(interval).edges(Bucketing(interval).block_of(m0))
    frame, ends = aggregate(minutes, edges)
    return frame, ends * MINUTE_MS - 1


class KlineService:
    """Answers klines queries for one Market, caching encoded blocks in a byte-bounded LRU."""

    def __init__(self, market: Market, cache_bytes: int, kind: str = TRADE_KLINES) -> None:
        self.market = market
        self.kind = kind  # klines, or a price kind (prices.py): mark, index, premium index
        self.cache: ByteLRU[tuple[str, str, str, int], Block] = ByteLRU(cache_bytes)

    def block(self, sym: Symbol, interval: str, index: int) -> Block:
        key = (sym.market, sym.symbol, interval, index)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        edges = Bucketing(interval).edges(index)
        frame, close_ms = candles(self.market, sym, interval, int(edges[0]), int(edges[-1]), self.kind)
        blob, offs = json_rows(format_symbol(self.kind, sym), frame, close_ms)
        block = Block(frame.t * MINUTE_MS, close_ms, blob, offs)
        self.cache.put(key, block, block.nbytes)
        return block

    def forming_row(self, sym: Symbol, interval: str, now_ms: int) -> tuple[int, bytes] | None:
        """The still-open candle containing now (open time, JSON row with trailing comma)."""
        now_min = now_ms // MINUTE_MS
        b = Bucketing(interval)
        edges = b.edges(b.block_of(now_min))
        i = int(np.searchsorted(edges, now_min, side="right")) - 1
        start, end = int(edges[i]), int(edges[i + 1])
        closed = self.market.minutes(sym, start, now_min)
        part = self.market.forming(sym, now_min, (now_ms % MINUTE_MS) / MINUTE_MS)
        fmt, minutes = derive(self.kind, sym, Frame.concat([closed, part]))
        frame, ends = aggregate(minutes, np.array([start, end], dtype=np.int64))
        if len(frame) == 0:
            return None
        blob, _ = json_rows(fmt, frame, ends * MINUTE_MS - 1)
        return start * MINUTE_MS, blob

    def select(
        self,
        sym: Symbol,
        interval: str,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        now_ms: int,
        include_forming: bool = True,
    ) -> tuple[bytes, int]:
        """The JSON array body and row count for a klines request (Binance selection rules)."""
        lo = max(start_ms if start_ms is not None else sym.listed_ms, sym.listed_ms, 0)
        hi = now_ms if end_ms is None else min(end_ms, now_ms)
        if sym.delisted_ms is not None:
            hi = min(hi, sym.delisted_ms - 1)
        pieces: list[bytes] = []
        count = 0
        if hi < lo or limit <= 0:
            return b"[]", 0
        if interval == "1s":
            return self._select_seconds(sym, lo, hi, limit, now_ms, forward=start_ms is not None)
        b = Bucketing(interval)
        want_forming = include_forming and lo <= self._bucket_start_ms(b, now_ms) <= hi
        first_block = b.block_of(lo // MINUTE_MS)
        last_block = b.block_of(hi // MINUTE_MS)
        if start_ms is not None:  # oldest first from startTime
            idx = first_block
            while count < limit and idx <= last_block:
                blk = self.block(sym, interval, idx)
                i0 = int(np.searchsorted(blk.open_ms, lo, side="left"))
                i1 = min(self._closed_end(blk, hi, now_ms), i0 + limit - count)
                if i1 > i0:
                    pieces.append(blk.blob[blk.offs[i0] : blk.offs[i1]])
                    count += i1 - i0
                idx += 1
            forming = None
            if want_forming and count < limit:
                forming = self.forming_row(sym, interval, now_ms)
            if forming is not None:
                pieces.append(forming[1])
                count += 1
        else:  # newest `limit` up to endTime / now
            forming = self.forming_row(sym, interval, now_ms) if want_forming else None
            if forming is not None:
                pieces.append(forming[1])
                count += 1
            idx = last_block
            while count < limit and idx >= first_block:
                blk = self.block(sym, interval, idx)
                i1 = self._closed_end(blk, hi, now_ms)
                i0 = max(int(np.searchsorted(blk.open_ms, lo, side="left")), i1 - (limit - count))
                if i1 > i0:
                    pieces.append(blk.blob[blk.offs[i0] : blk.offs[i1]])
                    count += i1 - i0
                idx -= 1
            pieces.reverse()
        body = b"".join(pieces)
        return b"[" + body[:-1] + b"]" if body else b"[]", count

    def _select_seconds(
        self, sym: Symbol, lo: int, hi: int, limit: int, now_ms: int, *, forward: bool
    ) -> tuple[bytes, int]:
        """1s candles, closed ones only (no forming second), a few minutes at a time."""
        chunk = _SECOND_CHUNK_MS
        pieces: list[bytes] = []
        count = 0
        cursor = lo if forward else hi
        while count < limit and lo <= cursor <= hi:
            a, b = (cursor, min(hi, cursor + chunk - 1)) if forward else (max(lo, cursor - chunk + 1), cursor)
            frame, open_ms = closed_seconds(self.market, sym, a, b, now_ms)
            take = limit - count
            keep = slice(0, take) if forward else slice(max(0, len(open_ms) - take), len(open_ms))
            frame, open_ms = frame.take(np.arange(len(open_ms))[keep]), open_ms[keep]
            blob, _ = json_rows(format_symbol(self.kind, sym), frame, open_ms + SECOND_MS - 1, open_ms)
            if blob:
                pieces.append(blob)
                count += len(open_ms)
            cursor = b + 1 if forward else a - 1
        if not forward:
            pieces.reverse()
        body = b"".join(pieces)
        return b"[" + body[:-1] + b"]" if body else b"[]", count

    @staticmethod
    def _bucket_start_ms(b: Bucketing, now_ms: int) -> int:
        now_min = now_ms // MINUTE_MS
        edges = b.edges(b.block_of(now_min))
        return int(edges[int(np.searchsorted(edges, now_min, side="right")) - 1]) * MINUTE_MS

    @staticmethod
    def _closed_end(blk: Block, hi: int, now_ms: int) -> int:
        """Index after the last candle with open <= hi that has closed by now."""
        by_open = int(np.searchsorted(blk.open_ms, hi, side="right"))
        by_close = int(np.searchsorted(blk.close_ms, now_ms, side="left"))
        return min(by_open, by_close)
