"""A small, dependency-free SVG chart of equity and drawdown over a replay window."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

W, H, PAD = 800, 360, 50


def _scale(values: list[float], lo: float, hi: float, top: float, height: float) -> list[float]:
    span = (hi - lo) or 1.0
    return [top + height - (v - lo) / span * height for v in values]


def write_chart(path: Path, points: list[tuple[int, Decimal]], title: str) -> Path:
    """Equity (top panel) and drawdown from running peak in % (bottom panel)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not points:
        points = [(0, Decimal(0))]
    ts = [p[0] for p in points]
    eq = [float(p[1]) for p in points]
    peak, dd = float("-inf"), []
    for v in eq:
        peak = max(peak, v)
        dd.append(0.0 if peak <= 0 else (peak - v) / peak * 100)
    t0, t1 = ts[0], ts[-1] if ts[-1] > ts[0] else ts[0] + 1
    xs = [PAD + (t - t0) / (t1 - t0) * (W - 2 * PAD) for t in ts]
    half = (H - 3 * PAD) / 2
    ey = _scale(eq, min(eq), max(eq), PAD, half)
    dy = _scale([-d for d in dd], -max(dd + [0.01]), 0.0, 2 * PAD + half, half)

    def line(ys: list[float], colour: str) -> str:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>'

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{PAD}" y="20" font-size="14">{title}</text>',
        f'<text x="{PAD}" y="{PAD - 6}">equity pUSD (min {min(eq):.2f}, max {max(eq):.2f})</text>',
        line(ey, "#1f5fbf"),
        f'<text x="{PAD}" y="{2 * PAD + half - 6}">drawdown from peak % (max {max(dd):.2f})</text>',
        line(dy, "#c0392b"),
        "</svg>",
    ]
    path.write_text("\n".join(svg) + "\n", encoding="utf-8")
    return path
