"""Charts drawn on the server as inline SVG: no script, no external file, readable in text.

Colours come from CSS classes (``series-0``…), so the light and dark themes restyle them;
each bar has a <title> (a tooltip, and what a screen reader reads), and the whole chart an
``aria-label`` that says what it shows in one sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH = 600
HEIGHT = 160
AXIS = 18  # room for the date labels under the bars


@dataclass(frozen=True)
class Column:
    day: date
    values: tuple[int, ...]  # one per series, stacked bottom to top


def stacked_bars(columns: Sequence[Column], series: Sequence[str], label: str) -> Markup:
    """A stacked bar per day; an empty chart still draws its baseline."""
    plot_h = HEIGHT - AXIS
    top = max((sum(c.values) for c in columns), default=0) or 1
    step = WIDTH / max(len(columns), 1)
    bar_w = max(step * 0.8, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">',
        f'<line class="axis" x1="0" y1="{plot_h}" x2="{WIDTH}" y2="{plot_h}"/>',
    ]
    for i, col in enumerate(columns):
        x = i * step + (step - bar_w) / 2
        y = float(plot_h)
        title = ", ".join(f"{v} {escape(name)}" for name, v in zip(series, col.values, strict=True))
        parts.append(f"<g><title>{col.day.isoformat()}: {title}</title>")
        for k, value in enumerate(col.values):
            if value <= 0:
                continue
            h = value / top * (plot_h - 4)
            y -= h
            parts.append(
                f'<rect class="series-{k}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}"/>'
            )
        parts.append("</g>")
    if columns:
        first, last = columns[0].day, columns[-1].day
        parts.append(f'<text class="tick" x="0" y="{HEIGHT - 4}">{first.isoformat()}</text>')
        parts.append(
            f'<text class="tick" x="{WIDTH}" y="{HEIGHT - 4}" text-anchor="end">'
            f"{last.isoformat()}</text>"
        )
    parts.append(f'<text class="tick" x="2" y="10">max {top} a day</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(series: Sequence[str]) -> Markup:
    items = "".join(
        f'<li><span class="swatch series-{k}" aria-hidden="true"></span>{escape(name)}</li>'
        for k, name in enumerate(series)
    )
    return Markup(f'<ul class="legend">{items}</ul>')
