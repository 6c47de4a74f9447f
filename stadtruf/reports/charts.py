"""Small inline SVG charts for the HTML report: bars (stacked), a line against a target.

Our own few lines instead of a chart library: the report must work offline and print on A4,
so every chart is plain SVG in the page, sized by its `viewBox` (it scales to the column),
with German labels. Every drawn datum carries `data-value` (tests and curious admins read it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 230
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 14, 34
FONT = 'font-family="inherit" font-size="11"'

# Colours that print on a black-and-white laser printer as three distinct greys, too.
ANSWERED = "#1f5f99"
ABANDONED = "#d0522d"
OTHER = "#b9c2cc"
TARGET = "#2b8a3e"
LINE = "#1f5f99"


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    """A round top for the axis: four grid steps of 1, 2 or 5 × 10^n, at or above `value`."""
    if value <= 0:
        return 4.0
    quarter = value / 4
    step = 1.0
    while step * 10 <= quarter:
        step *= 10
    while step > quarter:
        step /= 10
    for factor in (1, 2, 2.5, 5, 10):
        if factor == 2.5 and step < 10:
            continue  # 2.5 steps only where the labels stay whole numbers (25, 50, 75)
        if step * factor >= quarter:
            return 4 * max(step * factor, 1.0)
    return 4 * step * 10


def _number(value: float) -> str:
    text = f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    return text.replace(",", ".")


def _frame(title: str, body: list[str], legend: Sequence[tuple[str, str]]) -> str:
    items = []
    x = LEFT
    for name, colour in legend:
        items.append(
            f'<rect x="{x}" y="{HEIGHT - 12}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 3}" {FONT}>{escape(name)}</text>'
        )
        x += 34 + 7 * len(name)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}{''.join(items)}</svg>"
    )


def _axis(top: float, unit: str = "") -> list[str]:
    """Horizontal grid lines with labels at 0, ¼, ½, ¾ and the top of the axis."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#d8dde3" stroke-width="{1 if i else 1.5}"/>'
            f'<text x="{LEFT - 5}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
            f"{_number(value)}{unit}</text>"
        )
    return parts


def _x_labels(labels: Sequence[str], slot: float, every: int) -> list[str]:
    y = HEIGHT - BOTTOM + 13
    return [
        f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{y}" text-anchor="middle" {FONT}>'
        f"{escape(label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def bars(title: str, labels: Sequence[str], series: Sequence[Series], every: int = 1) -> str:
    """Stacked bars, one per label; `every`: label every n-th bar only."""
    count = len(labels)
    totals = [sum(s.values[i] for s in series) for i in range(count)]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(count, 1)
    width = max(slot * 0.72, 1.0)
    body = _axis(top)
    for i in range(count):
        base = 0.0
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            y = TOP + plot_h - plot_h * base / top - h
            x = LEFT + slot * i + (slot - width) / 2
            body.append(
                f'<rect class="bar" data-value="{value:g}" x="{x:.1f}" '
                f'y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{s.colour}">'
                f"<title>{escape(labels[i])}: {_number(value)} {escape(s.name)}</title></rect>"
            )
            base += value
    body += _x_labels(labels, slot, every)
    return _frame(title, body, [(s.name, s.colour) for s in series])


def line_with_target(
    title: str, labels: Sequence[str], values: Sequence[float | None], target: float, name: str
) -> str:
    """Percentages (0..100, None = no calls) as points joined per run, and the target line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    body = _axis(100, " %")

    def y_of(value: float) -> float:
        return TOP + plot_h - plot_h * value / 100

    ty = y_of(target)
    body.append(
        f'<line class="target" data-value="{target:g}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{ty:.1f}" y2="{ty:.1f}" stroke="{TARGET}" stroke-width="2" stroke-dasharray="6 4"/>'
    )
    runs: list[list[str]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        x, y = LEFT + slot * (i + 0.5), y_of(value)
        runs[-1].append(f"{x:.1f},{y:.1f}")
    for run in runs:
        if len(run) > 1:
            body.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE}" stroke-width="2"/>'
            )
    for i, value in enumerate(values):
        if value is None:
            continue
        colour = LINE if value >= target else ABANDONED
        body.append(
            f'<circle class="point" data-value="{value:.1f}" cx="{LEFT + slot * (i + 0.5):.1f}" '
            f'cy="{y_of(value):.1f}" r="3.5" fill="{colour}">'
            f"<title>{escape(labels[i])}: {value:.1f} %</title></circle>"
        )
    every = 1 if len(labels) <= 31 else 7
    body += _x_labels(labels, slot, every)
    legend = [(name, LINE), (f"Ziel {target:g} %", TARGET), ("unter Ziel", ABANDONED)]
    return _frame(title, body, legend)
