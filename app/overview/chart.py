"""A KPI's monthly trend as a picture the Prefect UI shows inside a markdown artifact.

The UI renders markdown images but not inline HTML, so the chart is an SVG in a `data:` URI: no file,
no server, nothing to host, and the artifact stays one self-contained document. Bars per month (the
month the measured period started), the norm as a dashed line where there is one, the highest value
and the first and last month written on it. Process figures only: months, medians, counts.
"""

from __future__ import annotations

import base64
from xml.sax.saxutils import escape

from app.overview.words import number

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 28
_MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def month_label(month: str) -> str:
    """`2026-03` -> `mrt 2026`."""
    year, m = month.split("-")
    return f"{_MONTHS[int(m) - 1]} {year}"


def trend_svg(trend: list[tuple[str, float, int]], unit: str, target: float | None = None) -> str:
    """An SVG bar chart of (month, value, cases) points, with an optional norm line at `target`."""
    top = max([v for _, v, _ in trend] + ([target] if target is not None else [])) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(trend), 1)
    bar_w = max(step * 0.7, 1.0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - max(value, 0.0) / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#888"/>',
             f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" fill="#333">{escape(number(top))}</text>',
             f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" fill="#333">0</text>']
    for i, (month, value, cases) in enumerate(trend):
        x = LEFT + i * step + (step - bar_w) / 2
        parts.append(f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{bar_w:.1f}" height="{TOP + plot_h - y(value):.1f}" '
                     f'fill="#2f6fb3"><title>{escape(month_label(month))}: {escape(number(value))} {escape(unit)} '
                     f'({cases} {"zaak" if cases == 1 else "zaken"})</title></rect>')
    if target is not None:
        parts.append(f'<line x1="{LEFT}" y1="{y(target):.1f}" x2="{WIDTH - RIGHT}" y2="{y(target):.1f}" '
                     'stroke="#c0392b" stroke-dasharray="5,4"/>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{y(target) - 3:.1f}" text-anchor="end" fill="#c0392b">'
                     f'norm {escape(number(target))}</text>')
    if trend:
        parts.append(f'<text x="{LEFT}" y="{HEIGHT - 8}" fill="#333">{escape(month_label(trend[0][0]))}</text>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end" fill="#333">'
                     f'{escape(month_label(trend[-1][0]))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend_image(name: str, trend: list[tuple[str, float, int]], unit: str, target: float | None = None) -> str:
    """The chart as a markdown image (`![…](data:image/svg+xml;base64,…)`), its alt text the figures in words."""
    data = base64.b64encode(trend_svg(trend, unit, target).encode("utf-8")).decode("ascii")
    alt = f"{name}: " + ", ".join(f"{month_label(m)} {number(v)}" for m, v, _ in trend)
    alt = alt.replace("[", "(").replace("]", ")")
    return f"![{alt}](data:image/svg+xml;base64,{data})"
