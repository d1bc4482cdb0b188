"""A dependency-free SVG chart of a replay: equity (top) and drawdown from peak (bottom) over
the window, one line per run (baseline solid, what-if dashed), with UTC time ticks on both
panels, labelled value ticks, start/end values, and a marker at every kill-switch trip.

The first line is a marker comment: `replay --out --force` replaces only files that carry it,
i.e. files a replay wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

MARKER = "<!-- polytraders replay chart -->"
W, H = 960, 560
LEFT, RIGHT, TOP = 80, 170, 40
PANEL_H, GAP = 200, 70


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    equity: Sequence[tuple[int, Decimal]]
    performance: Sequence[tuple[int, Decimal]]  # equity less external flows: drawdown basis
    dashed: bool = False


@dataclass(frozen=True)
class TripMark:
    at_ms: int
    label: str
    colour: str
    dashed: bool = False


def drawdown_pct(points: Sequence[tuple[int, Decimal]]) -> list[tuple[int, float]]:
    out, peak = [], float("-inf")
    for t, v in points:
        x = float(v)
        peak = max(peak, x)
        out.append((t, 0.0 if peak <= 0 else (peak - x) / peak * 100))
    return out


def _hhmm(ms: int, span_ms: int) -> str:
    fmt = "%H:%M:%S" if span_ms < 10 * 60_000 else "%H:%M" if span_ms <= 2 * 86_400_000 else "%m-%d %H:%M"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime(fmt)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def render_chart(series: Sequence[Series], trips: Sequence[TripMark], title: str,
                 start_ms: int, end_ms: int) -> str:
    """The SVG text for `series` and `trips` over [start_ms, end_ms]. The caller writes it, so
    the rule about replacing files lives in one place (`replay/output.py`)."""
    span = max(end_ms - start_ms, 1)
    width = W - LEFT - RIGHT

    def x(t: int) -> float:
        return LEFT + (min(max(t, start_ms), end_ms) - start_ms) / span * width

    eq_all = [float(v) for s in series for _, v in s.equity] or [0.0]
    dds = [drawdown_pct(s.performance) for s in series]
    dd_max = max([d for dd in dds for _, d in dd] + [0.01])
    e_lo, e_hi = min(eq_all), max(eq_all)
    if e_hi - e_lo < 0.01:
        e_lo, e_hi = e_lo - 1, e_hi + 1
    top1, top2 = TOP + 20, TOP + 20 + PANEL_H + GAP

    def ye(v: float) -> float:
        return top1 + PANEL_H - (v - e_lo) / (e_hi - e_lo) * PANEL_H

    def yd(d: float) -> float:
        return top2 + d / dd_max * PANEL_H  # 0 % at the top, deeper drawdown further down

    out = [MARKER,
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" '
           f'font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="14">{escape(title)}</text>']
    for top, name in ((top1, "equity, pUSD"), (top2, "drawdown from peak, % (transfers excluded)")):
        out.append(f'<text x="{LEFT}" y="{top - 6}" font-weight="bold">{name}</text>')
        out.append(f'<rect x="{LEFT}" y="{top}" width="{width}" height="{PANEL_H}" fill="none" stroke="#999"/>')
        for i in range(7):  # time axis under each panel, UTC
            t = start_ms + span * i // 6
            xt = x(t)
            out.append(f'<line x1="{xt:.1f}" y1="{top + PANEL_H}" x2="{xt:.1f}" y2="{top + PANEL_H + 4}" '
                       f'stroke="#555"/>')
            out.append(f'<text x="{xt:.1f}" y="{top + PANEL_H + 16}" text-anchor="middle">{_hhmm(t, span)}</text>')
        out.append(f'<text x="{LEFT + width}" y="{top + PANEL_H + 30}" text-anchor="end">time (UTC)</text>')
    for v in _ticks(e_lo, e_hi):
        out.append(f'<text x="{LEFT - 6}" y="{ye(v) + 4:.1f}" text-anchor="end">{v:,.2f}</text>')
        out.append(f'<line x1="{LEFT}" y1="{ye(v):.1f}" x2="{LEFT + width}" y2="{ye(v):.1f}" stroke="#eee"/>')
    for d in _ticks(0.0, dd_max):
        out.append(f'<text x="{LEFT - 6}" y="{yd(d) + 4:.1f}" text-anchor="end">{d:.2f}%</text>')
        out.append(f'<line x1="{LEFT}" y1="{yd(d):.1f}" x2="{LEFT + width}" y2="{yd(d):.1f}" stroke="#eee"/>')
    legend_y = top1 + 10
    for s, dd in zip(series, dds, strict=True):
        dash = ' stroke-dasharray="6,4"' if s.dashed else ""
        if s.equity:
            pts = " ".join(f"{x(t):.1f},{ye(float(v)):.1f}" for t, v in s.equity)
            out.append(f'<polyline fill="none" stroke="{s.colour}" stroke-width="1.6"{dash} points="{pts}"/>')
        if dd:
            pts = " ".join(f"{x(t):.1f},{yd(d):.1f}" for t, d in dd)
            out.append(f'<polyline fill="none" stroke="{s.colour}" stroke-width="1.6"{dash} points="{pts}"/>')
        first = f"{float(s.equity[0][1]):,.2f}" if s.equity else "n/a"
        last = f"{float(s.equity[-1][1]):,.2f}" if s.equity else "n/a"
        worst = max((d for _, d in dd), default=0.0)
        lx = LEFT + width + 12
        out.append(f'<line x1="{lx}" y1="{legend_y}" x2="{lx + 20}" y2="{legend_y}" stroke="{s.colour}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 26}" y="{legend_y + 4}">{escape(s.label)}</text>')
        out.append(f'<text x="{lx + 26}" y="{legend_y + 18}">start {first}</text>')
        out.append(f'<text x="{lx + 26}" y="{legend_y + 32}">end {last}</text>')
        out.append(f'<text x="{lx + 26}" y="{legend_y + 46}">max drawdown {worst:.2f}%</text>')
        legend_y += 64
    for i, trip in enumerate(trips):
        xt = x(trip.at_ms)
        dash = ' stroke-dasharray="3,3"' if trip.dashed else ""
        out.append(f'<line x1="{xt:.1f}" y1="{top1}" x2="{xt:.1f}" y2="{top2 + PANEL_H}" stroke="{trip.colour}"'
                   f' stroke-width="1"{dash}/>')
        out.append(f'<text x="{xt + 3:.1f}" y="{top1 + 12 + 12 * (i % 4)}" fill="{trip.colour}">'
                   f'{escape(trip.label)} {_hhmm(trip.at_ms, span)}</text>')
    if not trips:
        out.append(f'<text x="{LEFT + 6}" y="{top1 + 14}" fill="#555">no kill-switch trip in this window</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
