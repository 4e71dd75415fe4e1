"""The QA report as one self-contained HTML page: a coverage heatmap and charts of problem days.

Hand-written SVG rather than a plotting library: the page must open offline (no CDN, no
script), stay small for 300 symbols x 365 days, and need nothing beyond the standard library
to build. The PNG is a screenshot of that page by headless Chromium.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow.parquet as pq

from candlelake.bars import BarGrid, grid_of
from candlelake.errors import UsageError
from candlelake.lake.storage import DatasetLocation
from candlelake.quality.qa import DayStatus, QaReport
from candlelake.timeutil import fmt_ms

COLORS: Final = {
    "complete": ("#2e7d32", "complete"),
    "explained": ("#90caf9", "explained gaps only (not listed, delisted, maintenance)"),
    "problem": ("#ef6c00", "unexplained gap or bad rows"),
    "missing_file": ("#c62828", "missing file"),
    "corrupt": ("#6a1b9a", "corrupt file"),
}
MAX_CHARTS: Final = 40  # beyond this the page gets heavy; the table and JSON list every day
CHROMIUM_ENV: Final = "CANDLELAKE_CHROMIUM"
_CHART_W, _PRICE_H, _VOLUME_H = 1200, 220, 70


def render_html(report: QaReport, location: DatasetLocation) -> str:
    """The whole page."""
    problems = [d for d in report.days if d.state in ("problem", "corrupt", "missing_file")]
    # Candles are drawn for bar datasets; a funding month has no candles to draw.
    grid = None if report.interval is None else grid_of(report.interval)
    drawable = [d for d in problems if d.path and d.state != "corrupt" and grid is not None]
    charts = [_chart(location, d, grid) for d in drawable[:MAX_CHARTS] if grid is not None]
    part = "month" if report.monthly else "day"
    verdict = "OK" if report.ok else f"{len(report.failures)} problem(s)"
    findings = "".join(f'<li class="{f.severity}">{html.escape(str(f))}</li>' for f in report.findings)
    more = len(drawable) - len(charts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>candlelake QA: {html.escape(verdict)}</title>
<style>
body{{font-family:sans-serif;margin:16px;background:#fff;color:#111}}
h1{{font-size:20px}} h2{{font-size:16px;margin-top:24px}}
.fail{{color:#b71c1c}} .flag{{color:#8d6e00}}
.legend span{{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}}
svg text{{font-size:11px;font-family:sans-serif}}
</style></head><body>
<h1>candlelake QA: {html.escape(verdict)}</h1>
<p>{html.escape(report.dataset)}<br>{report.first_day} .. {report.last_day}, {len(report.days)} symbol-{part}s
({report.from_ledger} from the ledger, {report.from_files} read from files); missing counts are
{html.escape(report.unit)}</p>
<h2>Coverage</h2>
<div class="legend">{_legend()}</div>
{_heatmap(report)}
<h2>Findings</h2>
<ul>{findings or "<li>none</li>"}</ul>
<h2>Problem {part}s</h2>
{"".join(charts) or "<p>none with data to draw</p>"}
{f"<p>{more} more problem {part}(s) not drawn.</p>" if more > 0 else ""}
</body></html>
"""


def _legend() -> str:
    return "".join(
        f'<span style="background:{color}"></span>{html.escape(label)}' for color, label in COLORS.values()
    )


def _heatmap(report: QaReport) -> str:
    symbols = report.symbols()
    days = sorted({d.day for d in report.days})
    if not symbols or not days:
        return "<p>no data</p>"
    cell = max(3, min(18, 1100 // len(days)))
    left, top = 90, 16
    width = left + cell * len(days) + 10
    height = top + cell * len(symbols) + 10
    col = {d: i for i, d in enumerate(days)}
    row = {s: i for i, s in enumerate(symbols)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for symbol, i in row.items():
        y = top + i * cell + cell - 1
        parts.append(f'<text x="{left - 4}" y="{y}" text-anchor="end">{html.escape(symbol)}</text>')
    # The first and last day above the grid; one label when they would overlap.
    labels = [(days[0], left, "start")]
    if cell * len(days) >= 180:
        labels.append((days[-1], left + cell * len(days), "end"))
    for label_day, tx, anchor in labels:
        parts.append(f'<text x="{tx}" y="11" text-anchor="{anchor}">{label_day}</text>')
    for status in report.days:
        color = COLORS[status.state][0]
        x, y = left + col[status.day] * cell, top + row[status.symbol] * cell
        missing = ", ".join(f"{k} {v}" for k, v in status.account.bars.items())
        text = f"{status.symbol} {status.day}: {status.state}, {status.account.rows} rows"
        tip = html.escape(text + (f"; missing {report.unit}: {missing}" if missing else ""))
        size = cell - 1
        parts.append(
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{color}"><title>{tip}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _chart(location: DatasetLocation, status: DayStatus, grid: BarGrid) -> str:
    """Candles and volume of one problem day (month), with its findings marked."""
    fs, _ = location.filesystem()
    assert status.path is not None
    with fs.open(status.path, "rb") as handle:
        table = pq.read_table(handle, columns=["timestamp", "open", "high", "low", "close", "volume"])
    ts, o, h, lo, c, v = (np.asarray(table.column(i).to_numpy(), dtype=np.float64) for i in range(6))
    good = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
    window = grid.partition_window(status.day)
    title = html.escape(f"{status.symbol} {status.day}: " + "; ".join(f.check for f in status.findings))
    if not good.any():
        return f"<h3>{title}</h3><p>no drawable rows</p>"
    p_lo, p_hi = float(np.min(lo[good])), float(np.max(h[good]))
    span = (p_hi - p_lo) or 1.0
    v_max = float(np.max(np.where(np.isfinite(v), np.abs(v), 0))) or 1.0
    step = _CHART_W / (window.end_ms - window.start_ms)

    def x(ms: float) -> float:
        return round((ms - window.start_ms) * step, 2)

    def y(price: float) -> float:
        return round(_PRICE_H - (price - p_lo) / span * (_PRICE_H - 4) - 2, 2)

    bar_ms = grid.step_ms or grid.next_open(window.start_ms) - window.start_ms
    width = max(1.0, bar_ms * step * 0.7)
    full_h = _PRICE_H + _VOLUME_H
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_CHART_W}" height="{full_h + 14}">']
    parts.append(f'<rect width="{_CHART_W}" height="{full_h}" fill="#fafafa"/>')
    for f in status.findings:  # where each problem starts
        if f.first_ms is not None:
            fx = x(f.first_ms)
            parts.append(f'<line x1="{fx}" x2="{fx}" y1="0" y2="{full_h}" stroke="#d50000" '
                         f'stroke-width="2"><title>{html.escape(f.check)}</title></line>')  # fmt: skip
    for i in np.flatnonzero(good):
        color = "#26a69a" if c[i] >= o[i] else "#ef5350"
        cx = x(ts[i])
        parts.append(f'<line x1="{cx}" x2="{cx}" y1="{y(h[i])}" y2="{y(lo[i])}" stroke="{color}"/>')
        top, bottom = y(max(o[i], c[i])), y(min(o[i], c[i]))
        parts.append(f'<rect x="{cx - width / 2:.2f}" y="{top}" width="{width:.2f}" '
                     f'height="{max(1.0, bottom - top):.2f}" fill="{color}"/>')  # fmt: skip
        if np.isfinite(v[i]) and v[i] != 0:
            bar = abs(v[i]) / v_max * (_VOLUME_H - 4)
            parts.append(f'<rect x="{cx - width / 2:.2f}" y="{_PRICE_H + _VOLUME_H - bar:.2f}" '
                         f'width="{width:.2f}" height="{bar:.2f}" fill="#78909c"/>')  # fmt: skip
    label_y = _PRICE_H + _VOLUME_H + 12
    parts.append(f'<text x="2" y="{label_y}">{fmt_ms(window.start_ms)}</text>')
    parts.append(f'<text x="{_CHART_W - 2}" y="{label_y}" text-anchor="end">{fmt_ms(window.end_ms)}</text>')
    parts.append(f'<text x="4" y="12">{p_hi:g}</text><text x="4" y="{_PRICE_H - 4}">{p_lo:g}</text></svg>')
    return f"<h3>{title}</h3>" + "".join(parts)


def find_chromium() -> str:
    """The Chromium binary: $CANDLELAKE_CHROMIUM, else the first on PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    for name in ([configured] if configured else []) + ["chromium", "chromium-browser", "google-chrome"]:
        found = shutil.which(name)
        if found:
            return found
    raise UsageError(
        f"--png needs Chromium: install it (Debian: apt-get install chromium) or set {CHROMIUM_ENV}"
    )


def screenshot(page: Path, png: Path, *, width: int = 1400, height: int | None = None) -> None:
    """Render `page` in headless Chromium and save the screenshot as `png`."""
    if height is None:
        charts = page.read_text().count("<h3>")
        height = min(16_000, 900 + charts * (_PRICE_H + _VOLUME_H + 60))
    argv = [
        find_chromium(),
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        # The page is our own file with no script; Chromium refuses to sandbox as root.
        *(["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        f"--window-size={width},{height}",
        f"--screenshot={png.resolve()}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not png.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"chromium could not screenshot {page}: {tail[0]}")
