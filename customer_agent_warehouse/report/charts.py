"""Inline SVG charts drawn in Python: no JavaScript library, no network, the same picture in every browser.

Three shapes cover the dashboard: columns per day (stacked by series), lines per day, and horizontal bars per
label (grouped by series). Every data mark carries `class="mark"`, `data-series`, `data-category` and
`data-value` (the exact number) and a `<title>` tooltip, so a person can hover it and a test can check it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

Number = int | float | Decimal
Formatter = Callable[[Number], str]

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#bab0ac")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 34, 28
CHAR_WIDTH = 6.6  # average advance of the 11px sans-serif text, to lay out legends and labels
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number | None]  # one per category; None: no value (a gap in a line)
    color: str


def palette(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_scale(largest: float, ticks: int = 4) -> list[float]:
    """Tick values from 0 to a round top (steps of 1, 2, 2.5 or 5 times 10^k) that covers `largest`."""
    if largest <= 0:
        return [0.0, 1.0]
    raw_step = largest / ticks
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    count = math.ceil(largest / step - 1e-9)
    return [round(step * index, 10) for index in range(count + 1)]


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(chart_id: str, title: str, body: list[str], height: int = HEIGHT) -> str:
    return (f'<svg class="chart" data-chart="{escape(chart_id)}" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">{"".join(body)}</svg>')


def _empty(chart_id: str, title: str) -> str:
    return _svg(chart_id, title, [f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
                                  "No data in the mart</text>"])


def _legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    items, x = [], float(LEFT)
    for item in series:
        items.append(f'<g class="legend-item"><rect x="{_f(x)}" y="8" width="10" height="10" rx="2" '
                     f'fill="{item.color}"/><text x="{_f(x + 14)}" y="17">{escape(item.name)}</text></g>')
        x += 14 + CHAR_WIDTH * len(item.name) + 16
    return items


def _mark(shape: str, attributes: str, series: str, category: str, value: Number, label: str) -> str:
    return (f'<{shape} class="mark" data-series="{escape(series)}" data-category="{escape(category)}" '
            f'data-value="{value}" {attributes}><title>{escape(label)}</title></{shape}>')


def _y_axis(ticks: list[float], y: Callable[[float], float], tick_text: Formatter) -> list[str]:
    parts = []
    for tick in ticks:
        position = _f(y(tick))
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{position}" y2="{position}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{position}" dy="0.32em" text-anchor="end">'
                     f"{escape(tick_text(tick))}</text>")
    return parts


def _x_labels(labels: Sequence[str], x_center: Callable[[int], float], baseline: float) -> list[str]:
    step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    return [f'<text class="tick" x="{_f(x_center(index))}" y="{_f(baseline + 16)}" text-anchor="middle">'
            f"{escape(label)}</text>" for index, label in enumerate(labels) if index % step == 0]


def _frame(series: Sequence[Series], largest: float, tick_text: Formatter,
           top_value: float | None) -> tuple[list[str], Callable[[float], float], float]:
    ticks = nice_scale(largest) if top_value is None else nice_scale(top_value)
    top, baseline = ticks[-1], HEIGHT - BOTTOM

    def y(value: float) -> float:
        return baseline - (baseline - TOP) * value / top

    return _legend(series) + _y_axis(ticks, y, tick_text), y, baseline


def column_chart(chart_id: str, title: str, categories: Sequence[str], labels: Sequence[str],
                 series: Sequence[Series], value_text: Formatter, tick_text: Formatter) -> str:
    """Columns per category, the series stacked in order (first at the bottom)."""
    totals = [sum(float(item.values[index] or 0) for item in series) for index in range(len(categories))]
    if not categories or max(totals, default=0) <= 0:
        return _empty(chart_id, title)
    body, y, baseline = _frame(series, max(totals), tick_text, None)
    band = (WIDTH - LEFT - RIGHT) / len(categories)

    def x_center(index: int) -> float:
        return LEFT + band * (index + 0.5)

    for index, category in enumerate(categories):
        stacked = 0.0
        for item in series:
            value = item.values[index] or 0
            if value <= 0:
                continue
            top, bottom = y(stacked + float(value)), y(stacked)
            stacked += float(value)
            attributes = (f'x="{_f(x_center(index) - band * 0.36)}" y="{_f(top)}" width="{_f(band * 0.72)}" '
                          f'height="{_f(bottom - top)}" fill="{item.color}"')
            body.append(_mark("rect", attributes, item.name, category, value,
                              f"{labels[index]} · {item.name}: {value_text(value)}"))
    body += _x_labels(labels, x_center, baseline)
    body.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{baseline}" y2="{baseline}"/>')
    return _svg(chart_id, title, body)


def line_chart(chart_id: str, title: str, categories: Sequence[str], labels: Sequence[str],
               series: Sequence[Series], value_text: Formatter, tick_text: Formatter,
               top_value: float | None = None) -> str:
    """One line per series over the categories; a None value is a gap. `top_value` fixes the y scale (e.g. 1)."""
    values = [float(value) for item in series for value in item.values if value is not None]
    if not categories or not values:
        return _empty(chart_id, title)
    body, y, baseline = _frame(series, max(values), tick_text, top_value)
    band = (WIDTH - LEFT - RIGHT) / len(categories)

    def x_center(index: int) -> float:
        return LEFT + band * (index + 0.5)

    for item in series:
        commands, pen_down = [], False
        for index, value in enumerate(item.values):
            if value is None:
                pen_down = False
                continue
            commands.append(f"{'L' if pen_down else 'M'}{_f(x_center(index))},{_f(y(float(value)))}")
            pen_down = True
        body.append(f'<path class="line" data-series="{escape(item.name)}" d="{" ".join(commands)}" '
                    f'stroke="{item.color}"/>')
        for index, value in enumerate(item.values):
            if value is not None:
                attributes = f'cx="{_f(x_center(index))}" cy="{_f(y(float(value)))}" r="3" fill="{item.color}"'
                body.append(_mark("circle", attributes, item.name, categories[index], value,
                                  f"{labels[index]} · {item.name}: {value_text(value)}"))
    body += _x_labels(labels, x_center, baseline)
    body.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{baseline}" y2="{baseline}"/>')
    return _svg(chart_id, title, body)


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series],
              value_text: Formatter) -> str:
    """Horizontal bars: one row per label, the series side by side in it, the value written after each bar."""
    values = [float(value or 0) for item in series for value in item.values]
    if not labels or max(values, default=0) <= 0:
        return _empty(chart_id, title)
    label_width = min(200.0, CHAR_WIDTH * max(len(label) for label in labels) + 12)
    bar, gap = (12 if len(series) > 1 else 16), 10
    row = bar * len(series) + gap
    top = TOP if len(series) > 1 else 8
    height = int(top + row * len(labels) + 8)
    left, right = label_width + 8, WIDTH - 70
    largest = max(values)
    body = _legend(series)
    for index, label in enumerate(labels):
        row_top = top + row * index
        body.append(f'<text class="label" x="{_f(left - 8)}" y="{_f(row_top + bar * len(series) / 2)}" '
                    f'dy="0.32em" text-anchor="end">{escape(label)}</text>')
        for position, item in enumerate(series):
            value = item.values[index] or 0
            length = (right - left) * float(value) / largest
            bar_top = row_top + bar * position
            attributes = (f'x="{_f(left)}" y="{_f(bar_top)}" width="{_f(length)}" height="{bar - 2}" '
                          f'fill="{item.color}"')
            body.append(_mark("rect", attributes, item.name, label, value, f"{label} · {item.name}: "
                              f"{value_text(value)}"))
            body.append(f'<text class="value" x="{_f(left + length + 4)}" y="{_f(bar_top + (bar - 2) / 2)}" '
                        f'dy="0.32em">{escape(value_text(value))}</text>')
    body.append(f'<line class="axis" x1="{_f(left)}" x2="{_f(left)}" y1="{top - 4}" y2="{height - 6}"/>')
    return _svg(chart_id, title, body, height)
