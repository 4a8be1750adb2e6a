"""Tiny server-side SVG charts for the scorecard: a KPI trend line and paired bars.

Why our own ~200 lines instead of a charting library: the page must render with no network
(no CDN, no JS), the output must pass a strict CSP (no inline `style` attributes, colours
come from the page's classes so light/dark themes work) and must be accessible (`role="img"`,
`<title>`, `<desc>`). A library that writes its own styles and scripts fights all three.

Every piece of text that reaches the SVG goes through `escape`, so a KPI called
`<script>` is shown, never run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 360
HEIGHT = 180
PAD_LEFT = 44
PAD_RIGHT = 10
PAD_TOP = 12
PAD_BOTTOM = 30


def fmt_number(value: Decimal) -> str:
    """`2.1000000000` → `2.1`, `1500000` → `1,500,000` (no exponent notation)."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class TrendChart:
    """What to draw: values on an evenly spaced period axis, plus reference lines."""

    chart_id: str
    title: str
    periods: Sequence[str]  # the x axis, in order (gaps included, so time is honest)
    values: Sequence[tuple[int, Decimal]]  # (index into periods, value)
    baseline: Decimal | None = None
    target: Decimal | None = None
    target_index: int | None = None  # the period holding the target date, if on the axis
    target_label: str | None = None  # the target date as text
    unit: str = ""
    description: str = ""


def _nice_step(span: float) -> float:
    if span <= 0:
        return 1.0
    raw = span / 4
    mag = float(10 ** math.floor(math.log10(raw)))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return float(m * mag)
    return 10 * mag


def _num(x: float) -> str:
    return f"{x:.1f}"


def trend_svg(c: TrendChart) -> Markup:
    refs = [float(v) for _, v in c.values]
    refs += [float(x) for x in (c.baseline, c.target) if x is not None]
    lo, hi = (min(refs), max(refs)) if refs else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1), hi + (abs(hi) * 0.1 or 1)
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo)
    lo_t = math.floor(lo / step) * step
    hi_t = math.ceil(hi / step) * step
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(len(c.periods), 1)

    def x(i: int) -> float:
        return PAD_LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return PAD_TOP + plot_h * (1 - (v - lo_t) / (hi_t - lo_t))

    title_id, desc_id = f"{c.chart_id}-t", f"{c.chart_id}-d"
    out: list[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{escape(title_id)}">{escape(c.title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(c.description)}</desc>',
    ]
    # grid and y ticks
    tick = lo_t
    guard = 0
    while tick <= hi_t + step / 1000 and guard < 12:
        ty = y(tick)
        out.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
            f'y1="{_num(ty)}" y2="{_num(ty)}"/>'
        )
        label = fmt_number(Decimal(str(round(tick, 10))))
        out.append(
            f'<text class="tick" x="{PAD_LEFT - 4}" y="{_num(ty + 3)}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        tick += step
        guard += 1
    # x labels: first, last and (when room) the middle
    if c.periods:
        shown = sorted({0, n - 1, (n - 1) // 2} if n > 4 else set(range(n)))
        for i in shown:
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            out.append(
                f'<text class="tick" x="{_num(x(i))}" y="{HEIGHT - PAD_BOTTOM + 14}" '
                f'text-anchor="{anchor}">{escape(c.periods[i])}</text>'
            )
    # target date marker
    if c.target_index is not None and 0 <= c.target_index < n:
        tx = x(c.target_index)
        out.append(
            f'<line class="due" x1="{_num(tx)}" x2="{_num(tx)}" y1="{PAD_TOP}" '
            f'y2="{HEIGHT - PAD_BOTTOM}"><title>{escape("Target date " + (c.target_label or ""))}'
            "</title></line>"
        )
        out.append(
            f'<text class="due-label" x="{_num(min(tx, WIDTH - PAD_RIGHT - 2))}" '
            f'y="{HEIGHT - 2}" text-anchor="end">'
            f"{escape('due ' + (c.target_label or ''))}</text>"
        )
    # reference lines
    for cls, ref, word in (("baseline", c.baseline, "baseline"), ("target", c.target, "target")):
        if ref is None:
            continue
        ry = y(float(ref))
        out.append(
            f'<line class="{cls}" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
            f'y1="{_num(ry)}" y2="{_num(ry)}"><title>{escape(word)} {escape(fmt_number(ref))}'
            "</title></line>"
        )
        out.append(
            f'<text class="{cls}-label" x="{PAD_LEFT + 3}" y="{_num(ry - 3)}">{escape(word)}</text>'
        )
    # the series
    if c.values:
        pts = " ".join(f"{_num(x(i))},{_num(y(float(v)))}" for i, v in c.values)
        if len(c.values) > 1:
            out.append(f'<polyline class="series" points="{pts}"/>')
        for i, v in c.values:
            out.append(
                f'<circle class="point" cx="{_num(x(i))}" cy="{_num(y(float(v)))}" r="3">'
                f"<title>{escape(c.periods[i])}: {escape(fmt_number(v))}</title></circle>"
            )
    else:
        out.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            "No measurements yet</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class BarPair:
    label: str
    planned: Decimal | None
    realized: Decimal | None


def bars_svg(chart_id: str, title: str, description: str, rows: Sequence[BarPair]) -> Markup:
    """Planned (outline) vs realized (filled) per row, on one shared scale."""
    row_h = 26
    label_w = 70
    height = 8 + row_h * max(len(rows), 1)
    values = [float(v) for r in rows for v in (r.planned, r.realized) if v is not None]
    top = max(values) if values else 1.0
    top = top or 1.0
    plot_w = WIDTH - label_w - PAD_RIGHT
    title_id, desc_id = f"{chart_id}-t", f"{chart_id}-d"
    out = [
        f'<svg class="chart bars" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
    ]
    for k, r in enumerate(rows):
        y0 = 4 + k * row_h
        out.append(
            f'<text class="tick" x="{label_w - 4}" y="{y0 + 15}" text-anchor="end">'
            f"{escape(r.label[:12])}</text>"
        )
        if r.planned is not None:
            w = max(plot_w * float(r.planned) / top, 1)
            out.append(
                f'<rect class="planned" x="{label_w}" y="{y0 + 2}" width="{_num(w)}" '
                f'height="{row_h - 8}"><title>planned {escape(fmt_number(r.planned))}'
                "</title></rect>"
            )
        if r.realized is not None and r.realized > 0:
            w = max(plot_w * float(r.realized) / top, 1)
            out.append(
                f'<rect class="realized" x="{label_w}" y="{y0 + 6}" width="{_num(w)}" '
                f'height="{row_h - 16}"><title>realized {escape(fmt_number(r.realized))}'
                "</title></rect>"
            )
    out.append("</svg>")
    return Markup("".join(out))
