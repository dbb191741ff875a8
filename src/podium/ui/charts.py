"""Small charts drawn on the server as inline SVG: bars (a count per time slice, part of each
highlighted) and a line (a rate per time slice, gaps where there is no data).

No script and no library: the page stays server-rendered and the chart is there before any script
runs. Colours are the stylesheet's (`svg.chart` classes over its variables), so a chart follows the
light and dark themes; every chart carries a `<title>` and a `<desc>` with its figures for screen
readers, and the page shows the same figures as a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 150  # the viewBox; the SVG scales to its box's width
LEFT, BOTTOM, TOP = 54, 22, 10  # room for the y labels, the x labels and the top label
_ids = count(1)


@dataclass(frozen=True, slots=True)
class Point:
    """One slice: its label, its value (None: no data), and the part of it to highlight."""

    label: str
    value: float | None
    part: float = 0.0


def bars(title: str, points: Sequence[Point], *, part_name: str = "") -> Markup:
    """A bar per point, its `part` drawn over it in the highlight colour (e.g. failed of finished)."""
    top = max([p.value or 0 for p in points] + [1])
    slot = (WIDTH - LEFT) / max(len(points), 1)
    shapes = []
    for i, p in enumerate(points):
        x, width = LEFT + i * slot + slot * 0.1, slot * 0.8
        for value, kind in ((p.value or 0, "bar"), (p.part, "part")):
            if value > 0:
                height = _y(0, top) - _y(value, top)
                shapes.append(f'<rect class="{kind}" x="{x:.1f}" y="{_y(value, top):.1f}" width="{width:.1f}" '
                              f'height="{height:.1f}"/>')
    described = ", ".join(f"{p.label}: {_number(p.value)}" + (f" ({_number(p.part)} {part_name})" if p.part else "")
                          for p in points)
    return _svg(title, described, points, _number(top), "".join(shapes))


def line(title: str, points: Sequence[Point], *, percent: bool = True) -> Markup:
    """A line through the points' values (0..1 as percentages when `percent`); a point without a
    value breaks the line, and a lone point shows as a dot."""
    top = max([p.value or 0 for p in points] + [0]) or 1.0
    top = 1.0 if percent and top > 0.5 else top
    slot = (WIDTH - LEFT) / max(len(points), 1)
    runs: list[list[str]] = [[]]
    for i, p in enumerate(points):
        if p.value is None:
            runs.append([])
            continue
        runs[-1].append(f"{LEFT + (i + 0.5) * slot:.1f},{_y(p.value, top):.1f}")
    shapes = "".join(f'<polyline class="line" points="{" ".join(run)}"/>' if len(run) > 1 else
                     f'<circle class="dot" cx="{run[0].split(",")[0]}" cy="{run[0].split(",")[1]}" r="3"/>'
                     for run in runs if run)
    shown = _percent if percent else _number
    described = ", ".join(f"{p.label}: {shown(p.value) if p.value is not None else 'no data'}" for p in points)
    return _svg(title, described, points, shown(top), shapes)


def _svg(title: str, described: str, points: Sequence[Point], top_label: str, shapes: str) -> Markup:
    n = next(_ids)
    axis = (f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}"/>'
            f'<line class="grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH}" y2="{TOP}"/>'
            f'<text class="label" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(top_label)}</text>'
            f'<text class="label" x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">0</text>')
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart{n}t chart{n}d" '
        f'preserveAspectRatio="xMidYMid meet"><title id="chart{n}t">{escape(title)}</title>'
        f'<desc id="chart{n}d">{escape(described)}</desc>{axis}{shapes}{_x_labels(points)}</svg>')


def _x_labels(points: Sequence[Point]) -> str:
    """The first, middle and last slices' labels (more would overlap on a phone), the outer two
    flush with the plot's edges."""
    if not points:
        return ""
    last = len(points) - 1
    placed: dict[int, tuple[float, str]] = {0: (LEFT, "start"), last: (WIDTH, "end")}
    placed.setdefault(len(points) // 2, (LEFT + (len(points) // 2 + 0.5) * (WIDTH - LEFT) / len(points), "middle"))
    return "".join(f'<text class="label" x="{x:.1f}" y="{HEIGHT - 5}" text-anchor="{anchor}">'
                   f"{escape(points[i].label)}</text>" for i, (x, anchor) in sorted(placed.items()))


def _y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * (value / top)


def _number(value: float | None) -> str:
    value = value or 0
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _percent(value: float | None) -> str:
    return f"{(value or 0) * 100:.0f} %"
