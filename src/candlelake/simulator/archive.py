"""data.binance.vision: kline zips + CHECKSUM files, publication delay, S3 v1 XML listings."""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from candlelake.simulator import funding
from candlelake.simulator.coinm import COIN_MARKET, index_source
from candlelake.simulator.encode import csv_bytes
from candlelake.simulator.intervals import MINUTES, MONDAY_MINUTE
from candlelake.simulator.klines import ByteLRU
from candlelake.simulator.market import MINUTE_MS, Market, aggregate, day_str
from candlelake.simulator.prices import INDEX, KINDS, TRADE_KLINES, derive
from candlelake.simulator.seconds import SECOND_MS, split_minutes
from candlelake.simulator.symbols import Symbol, matches

# The archive spells the month interval `1mo`; 3d, 1w and 1mo have monthly files only.
MONTHLY_ONLY_INTERVALS = ("3d", "1w", "1mo")
ARCHIVE_INTERVALS = (
    "1s",  # spot only
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    *MONTHLY_ONLY_INTERVALS,
)
MARKET_DIRS = {"spot": "spot", "futures": "futures/um", "coin_futures": "futures/cm"}
_DIR_MARKETS = {d: m for m, d in MARKET_DIRS.items()}
_KEY_RE = re.compile(
    r"^data/(?P<mdir>spot|futures/um|futures/cm)/(?P<period>daily|monthly)/(?P<kind>"
    + "|".join(KINDS)
    + r")/"
    r"(?P<symbol>[A-Z0-9_]+)/"
    r"(?P<interval>\w+)/(?P=symbol)-(?P=interval)-(?P<date>\d{4}-\d{2}(?:-\d{2})?)"
    r"\.zip(?P<checksum>\.CHECKSUM)?$"
)
_FUNDING_KEY_RE = re.compile(
    r"^data/(?P<mdir>futures/um|futures/cm)/monthly/fundingRate/(?P<symbol>[A-Z0-9_]+)/"
    r"(?P=symbol)-fundingRate-(?P<date>\d{4}-\d{2})\.zip(?P<checksum>\.CHECKSUM)?$"
)
FUNDING = "fundingRate"
REAL_ZIPS = {
    "data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2026-04.zip": (
        "real/futures-BTCUSDT-fundingRate-2026-04.zip"
    ),
    "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2020-01-01.zip": "real/spot-BTCUSDT-1m-2020-01-01.zip",
    "data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2020-01-02.zip": "real/spot-BTCUSDT-1m-2020-01-02.zip",
    # Recorded 1h files with µs timestamps; served as they are (REST for these days stays synthetic).
    "data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2026-05-08.zip": "real/spot-BTCUSDT-1h-2026-05-08.zip",
    "data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2026-05-09.zip": "real/spot-BTCUSDT-1h-2026-05-09.zip",
}
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


@dataclass(frozen=True)
class FileRef:
    """One archive zip (the CHECKSUM is its sidecar)."""

    market: str
    period: str
    symbol: str
    interval: str
    date: str
    kind: str = TRADE_KLINES  # or a futures price kind (prices.py)

    @property
    def name(self) -> str:
        if self.kind == FUNDING:  # monthly only, no interval: BTCUSDT-fundingRate-2026-04.zip
            return f"{self.symbol}-fundingRate-{self.date}.zip"
        return f"{self.symbol}-{self.interval}-{self.date}.zip"

    @property
    def key(self) -> str:
        if self.kind == FUNDING:
            return f"data/{MARKET_DIRS[self.market]}/monthly/{FUNDING}/{self.symbol}/{self.name}"
        return (
            f"data/{MARKET_DIRS[self.market]}/{self.period}/{self.kind}/{self.symbol}/{self.interval}/"
            + self.name
        )

    def span_minutes(self) -> tuple[int, int]:
        """[start, end) of the file's period in minutes since the epoch."""
        if self.period == "daily":
            start = int(np.datetime64(self.date, "D").astype("datetime64[m]").astype(np.int64))
            return start, start + 1440
        month = np.datetime64(self.date, "M")
        return (
            int(month.astype("datetime64[m]").astype(np.int64)),
            int((month + 1).astype("datetime64[m]").astype(np.int64)),
        )


def bar_edges(interval: str, start: int, end: int) -> np.ndarray:
    """Edges (minutes) of the bars opening in [start, end): the bars REST serves (intervals.py).

    A 3d or 1w bar that opens late in the month ends in the next one; the file still holds it,
    since a bar belongs to the period of its open time.
    """
    if interval == "1mo":
        return np.asarray([start, end], dtype=np.int64)
    step = MINUTES[interval]
    origin = MONDAY_MINUTE if interval == "1w" else 0
    first = start + (origin - start) % step
    return np.arange(first, end + step, step, dtype=np.int64)


def parse_key(key: str) -> tuple[FileRef, bool] | None:
    """An archive path -> (file, is_checksum), or None if it is not a kline file path."""
    funding = _FUNDING_KEY_RE.match(key)
    if funding is not None:
        market = _DIR_MARKETS[funding["mdir"]]
        ref = FileRef(market, "monthly", funding["symbol"], "", funding["date"], FUNDING)
        return ref, bool(funding["checksum"])
    m = _KEY_RE.match(key)
    if m is None:
        return None
    market = _DIR_MARKETS[m["mdir"]]
    date = m["date"]
    if (m["period"] == "daily") != (len(date) == 10) or (market == "spot" and m["kind"] != TRADE_KLINES):
        return None
    return FileRef(market, m["period"], m["symbol"], m["interval"], date, m["kind"]), bool(m["checksum"])


def _ms_to_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Archive:
    """Generates, caches and lists archive files for one Market."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.cfg = market.cfg
        self.cache: ByteLRU[str, tuple[bytes, bytes]] = ByteLRU(self.cfg.archive_cache_mb << 20)
        self._disk = Path(self.cfg.archive_cache_dir) if self.cfg.archive_cache_dir else None
        self._fingerprint = self._data_fingerprint()

    def _data_fingerprint(self) -> str:
        """Hash of every option that changes file bytes (names the on-disk cache folder)."""
        c = self.cfg
        data = [
            c.seed, c.replay_real_days, [vars(s) for s in c.symbols],
            [vars(m) for m in c.maintenance], c.futures_header_from, c.spot_microseconds_from,
            c.incomplete_archive_files, c.corrupt_archive_files, c.bad_checksum_files,
            c.archive_delay_hours, c.monthly_archive_delay_hours,
        ]  # fmt: skip
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    # --- publication ------------------------------------------------------------------------

    def published_ms(self, ref: FileRef) -> int:
        _, end = ref.span_minutes()
        hours = (
            self.cfg.archive_delay_hours if ref.period == "daily" else self.cfg.monthly_archive_delay_hours
        )
        return end * MINUTE_MS + int(hours * 3_600_000)

    def series(self, ref: FileRef) -> Symbol | None:
        """The symbol whose candles the file holds: a COIN-M index file is named by its pair
        (`indexPriceKlines/BTCUSD/`), never by a contract."""
        if ref.market == COIN_MARKET and ref.kind == INDEX:
            if "_" in ref.symbol:
                return None
            return self.market.symbols.get(ref.market, index_source(ref.market, ref.symbol))
        return self.market.symbols.get(ref.market, ref.symbol)

    def exists(self, ref: FileRef, now_ms: int) -> bool:
        """Published by now, not configured missing, and with at least one candle."""
        sym = self.series(ref)
        if sym is None or (ref.interval not in ARCHIVE_INTERVALS and ref.kind != FUNDING):
            return False
        if ref.period == "daily" and ref.interval in MONTHLY_ONLY_INTERVALS:
            return False
        if ref.interval == "1s" and ref.market != "spot":
            return False
        if now_ms < self.published_ms(ref):
            return False
        if matches(self.cfg.missing_archive_days, ref.market, ref.symbol, ref.date):
            return False
        start, end = ref.span_minutes()
        if end * MINUTE_MS <= sym.listed_ms:
            return False
        if sym.delisted_ms is not None and start * MINUTE_MS >= sym.delisted_ms:
            return False
        if ref.kind == FUNDING:
            return bool(funding.settlements(self.cfg, sym, start * MINUTE_MS, end * MINUTE_MS - 1))
        # a period fully inside maintenance has no candles and no file
        probe = np.arange(start, end, dtype=np.int64)
        return bool(self.market.present_mask(sym, probe).any())

    # --- content ----------------------------------------------------------------------------

    def csv_for(self, ref: FileRef) -> bytes:
        """The CSV member: exactly the REST candles of the period, in Binance's file format."""
        sym = self.series(ref)
        assert sym is not None
        start, end = ref.span_minutes()
        if ref.kind == FUNDING:
            return funding.csv_bytes(
                funding.settlements(self.cfg, sym, start * MINUTE_MS, end * MINUTE_MS - 1)
            )
        open_ms = None
        if ref.interval == "1s":  # spot only (exists)
            fmt, frame = derive(ref.kind, sym, self.market.minutes(sym, start, end))
            frame, open_ms = split_minutes(frame)
            close_ms = open_ms + SECOND_MS - 1
        else:
            edges = bar_edges(ref.interval, start, end)
            fmt, frame = derive(ref.kind, sym, self.market.minutes(sym, int(edges[0]), int(edges[-1])))
            if ref.interval == "1m":
                close_ms = (frame.t + 1) * MINUTE_MS - 1
            else:
                frame, ends = aggregate(frame, edges)
                close_ms = ends * MINUTE_MS - 1
        if matches(self.cfg.incomplete_archive_files, ref.market, ref.symbol, ref.date):
            frame = frame.take(np.arange(len(frame)) < max(1, int(len(frame) * 0.3)))
            close_ms = close_ms[: len(frame)]
            open_ms = None if open_ms is None else open_ms[: len(frame)]
        first_day = ref.date if len(ref.date) == 10 else ref.date + "-01"
        micro = ref.market == "spot" and first_day >= self.cfg.spot_microseconds_from
        header = ref.market != "spot" and first_day >= self.cfg.futures_header_from
        return csv_bytes(fmt, frame, close_ms, micro, header, open_ms)

    def _zip(self, ref: FileRef, csv: bytes) -> bytes:
        # fixed member timestamp (publication time) keeps the bytes deterministic
        stamp = datetime.fromtimestamp(self.published_ms(ref) / 1000, UTC)
        info = zipfile.ZipInfo(ref.name[:-4] + ".csv", date_time=stamp.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(info, csv, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        return buf.getvalue()

    def _generate(self, ref: FileRef) -> tuple[bytes, bytes]:
        real = REAL_ZIPS.get(ref.key) if self.cfg.replay_real_days else None
        if real is not None and not matches(
            self.cfg.incomplete_archive_files, ref.market, ref.symbol, ref.date
        ):
            data = resources.files("candlelake.simulator.data")
            zip_bytes = data.joinpath(real).read_bytes()
            checksum = data.joinpath(real + ".CHECKSUM").read_bytes()
        else:
            zip_bytes = self._zip(ref, self.csv_for(ref))
            checksum = f"{hashlib.sha256(zip_bytes).hexdigest()}  {ref.name}".encode()
        if matches(self.cfg.bad_checksum_files, ref.market, ref.symbol, ref.date):
            bad = hashlib.sha256(zip_bytes + b"stale").hexdigest()
            checksum = f"{bad}  {ref.name}".encode()
        if matches(self.cfg.corrupt_archive_files, ref.market, ref.symbol, ref.date):
            mid = len(zip_bytes) // 2
            damaged = bytes(b ^ 0xFF for b in zip_bytes[mid : mid + 64])
            zip_bytes = zip_bytes[:mid] + damaged + zip_bytes[mid + 64 :]
        return zip_bytes, checksum

    def files(self, ref: FileRef) -> tuple[bytes, bytes]:
        """(zip bytes, CHECKSUM bytes), from memory, the disk cache, or freshly generated."""
        hit = self.cache.get(ref.key)
        if hit is not None:
            return hit
        disk = self._disk / self._fingerprint / ref.key if self._disk else None
        if disk is not None and disk.exists():
            pair = (disk.read_bytes(), disk.with_name(disk.name + ".CHECKSUM").read_bytes())
        else:
            pair = self._generate(ref)
            if disk is not None:
                disk.parent.mkdir(parents=True, exist_ok=True)
                # Two requests may build the same file at once (zip and CHECKSUM are fetched
                # together): unique temp names, CHECKSUM first, the zip's rename publishes both.
                suffix = f".{os.getpid()}.{threading.get_ident()}.tmp"
                for target, data in ((disk.with_name(disk.name + ".CHECKSUM"), pair[1]), (disk, pair[0])):
                    tmp = target.with_name(target.name + suffix)
                    tmp.write_bytes(data)
                    tmp.replace(target)
        self.cache.put(ref.key, pair, len(pair[0]) + len(pair[1]))
        return pair

    # --- listing ----------------------------------------------------------------------------

    def _dates(self, sym: Symbol, period: str, now_ms: int) -> Iterator[str]:
        first = sym.listed_ms // MINUTE_MS
        last = now_ms // MINUTE_MS
        if sym.delisted_ms is not None:
            last = min(last, sym.delisted_ms // MINUTE_MS)
        if period == "daily":
            day = np.datetime64(day_str(first), "D")
            while day <= np.datetime64(day_str(last), "D"):
                yield str(day)
                day += 1
        else:
            month = np.datetime64(day_str(first), "M")
            while month <= np.datetime64(day_str(last), "M"):
                yield str(month)
                month += 1

    def _children(self, path: str, now_ms: int) -> tuple[list[str], list[str]]:
        """(sub-directories, files) directly under an archive directory path ending in '/'."""
        parts = path.strip("/").split("/") if path.strip("/") else []
        if parts == []:
            return ["data/"], []
        if parts == ["data"]:
            return ["data/futures/", "data/spot/"], []
        if parts == ["data", "futures"]:
            return ["data/futures/cm/", "data/futures/um/"], []
        mparts = 2 if parts[:2] == ["data", "spot"] else 3 if parts[:2] == ["data", "futures"] else 0
        market = _DIR_MARKETS.get("/".join(parts[1:mparts]), "")
        if not market:
            return [], []
        rest = parts[mparts:]
        if not rest:
            return [f"{path}daily/", f"{path}monthly/"], []
        if rest[0] not in ("daily", "monthly"):
            return [], []
        kinds = KINDS if market != "spot" else (TRADE_KLINES,)
        if len(rest) == 1:
            return [f"{path}{kind}/" for kind in sorted(kinds)], []
        if rest[1] not in kinds:
            return [], []
        if len(rest) == 2:
            visible = [s for s in self.market.symbols.market_symbols(market) if s.is_visible(now_ms)]
            names = {s.symbol for s in visible}
            if market == COIN_MARKET and rest[1] == INDEX:  # index folders are pairs
                names = {n.split("_", 1)[0] for n in names if n.endswith("_PERP")}
            return [f"{path}{s}/" for s in sorted(names)], []
        sym = self.series(FileRef(market, rest[0], rest[2], "", "", rest[1]))
        if sym is None or not sym.is_visible(now_ms):
            return [], []
        if len(rest) == 3:
            return [f"{path}{i}/" for i in sorted(ARCHIVE_INTERVALS)], []
        if len(rest) == 4 and rest[3] in ARCHIVE_INTERVALS:
            keys: list[str] = []
            for date in self._dates(sym, rest[0], now_ms):
                ref = FileRef(market, rest[0], rest[2], rest[3], date, rest[1])
                if self.exists(ref, now_ms):
                    keys += [ref.key, ref.key + ".CHECKSUM"]
            return [], keys
        return [], []

    def _walk(self, directory: str, now_ms: int) -> Iterator[str]:
        dirs, files = self._children(directory, now_ms)
        yield from files
        for d in dirs:
            yield from self._walk(d, now_ms)

    def list_xml(self, prefix: str, delimiter: str, marker: str, max_keys: int, now_ms: int) -> str:
        """S3 ListObjects (v1) result for the virtual bucket."""
        directory = prefix[: prefix.rfind("/") + 1]
        if delimiter == "/":
            dirs, files = self._children(directory, now_ms)
            entries = sorted([(d, True) for d in dirs] + [(f, False) for f in files])
            entries = [e for e in entries if e[0].startswith(prefix)]
        else:
            entries = sorted((k, False) for k in self._walk(directory, now_ms) if k.startswith(prefix))
        entries = [e for e in entries if e[0] > marker]
        page, truncated = entries[:max_keys], len(entries) > max_keys
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<ListBucketResult xmlns="{S3_NS}"><Name>data.binance.vision</Name>',
            f"<Prefix>{escape(prefix)}</Prefix><Marker>{escape(marker)}</Marker>",
            f"<MaxKeys>{max_keys}</MaxKeys>",
            f"<Delimiter>{escape(delimiter)}</Delimiter>" if delimiter else "",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
        ]
        if truncated:
            out.append(f"<NextMarker>{escape(page[-1][0])}</NextMarker>")
        for name, is_dir in page:
            if is_dir:
                continue
            parsed = parse_key(name)
            assert parsed is not None
            ref, is_sum = parsed
            modified = _ms_to_iso(self.published_ms(ref))
            etag = hashlib.md5(f"{self._fingerprint}{name}".encode(), usedforsecurity=False).hexdigest()
            size = (
                len(self.files(ref)[1 if is_sum else 0])
                if self.cache.get(ref.key) is not None
                else (92 if is_sum else 0)
            )
            out.append(
                f"<Contents><Key>{escape(name)}</Key><LastModified>{modified}</LastModified>"
                f"<ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>"
            )
        for name, is_dir in page:
            if is_dir:
                out.append(f"<CommonPrefixes><Prefix>{escape(name)}</Prefix></CommonPrefixes>")
        out.append("</ListBucketResult>")
        return "".join(out)

    def pregenerate(self, patterns: tuple[str, ...], now_ms: int) -> int:
        """Generate every published 1m file matching ``market:SYMBOL:period:date`` patterns."""
        count = 0
        for market in ("spot", "futures"):
            for sym in self.market.symbols.market_symbols(market):
                for period in ("daily", "monthly"):
                    for date in self._dates(sym, period, now_ms):
                        key = f"{market}:{sym.symbol}:{period}:{date}"
                        if not any(fnmatch.fnmatchcase(key, p) for p in patterns):
                            continue
                        ref = FileRef(market, period, sym.symbol, "1m", date)
                        if self.exists(ref, now_ms):
                            self.files(ref)
                            count += 1
        return count
