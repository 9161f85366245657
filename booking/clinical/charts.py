"""The geometry of a progress chart: scales, points and polylines for a server-drawn SVG, and
the table of values that is the chart's text alternative. PURE.

A chart has one x position per visit (the intake first) and a fixed y range (0-10 for pain and
activities, 0-7 for bad days) so that charts of different patients read alike. Missing values
leave a gap in the line rather than a line drawn through a value nobody recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 560
HEIGHT = 260
MARGIN_LEFT = 44
MARGIN_RIGHT = 20
MARGIN_TOP = 16
MARGIN_BOTTOM = 44


@dataclass(frozen=True)
class SeriesData:
    """One measure to draw: a value (or None when not recorded) per x label."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    label: str  # the x label this point belongs to, e.g. "Visit 3"


@dataclass(frozen=True)
class Line:
    name: str
    style: int  # 1, 2, 3 ...: picks colour, dash and marker shape, so colour is never alone
    points: tuple[Point, ...]
    segments: tuple[str, ...]  # SVG polyline "points" attributes; a gap splits the line


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Guide:
    """A horizontal reference line, e.g. the meaningful-change threshold from baseline."""

    y: float
    value: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    guide: Guide | None


@dataclass(frozen=True)
class ChartView:
    """One chart, its caption and the table of its values (the chart's text alternative)."""

    title: str
    unit: str
    chart: Chart
    rows: tuple[tuple[str, tuple[float | None, ...]], ...]


def linear_scale(
    domain: tuple[float, float], span: tuple[float, float]
) -> Callable[[float], float]:
    """Map the domain linearly onto the span (which may run backwards, as SVG's y does)."""
    (d0, d1), (r0, r1) = domain, span
    if d0 == d1:
        raise ValueError("an empty domain cannot be scaled")
    ratio = (r1 - r0) / (d1 - d0)
    return lambda value: r0 + (value - d0) * ratio


def x_positions(count: int, left: float, right: float) -> list[float]:
    """Evenly spaced x positions from left to right; a single one sits in the middle."""
    if count <= 0:
        return []
    if count == 1:
        return [(left + right) / 2]
    step = (right - left) / (count - 1)
    return [left + index * step for index in range(count)]


def runs(values: Sequence[float | None]) -> list[list[int]]:
    """Indexes of the consecutive recorded values: each run is drawn as one polyline."""
    found: list[list[int]] = []
    current: list[int] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                found.append(current)
            current = []
        else:
            current.append(index)
    if current:
        found.append(current)
    return found


def polyline(points: Sequence[Point]) -> str:
    """The SVG `points` attribute for these points, to one decimal place."""
    return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in points)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def build_chart(
    labels: Sequence[str],
    series: Sequence[SeriesData],
    y_max: int,
    y_step: int = 1,
    guide: tuple[float, str] | None = None,
) -> Chart:
    """The chart for these x labels and series on a 0..y_max scale, with an optional guide."""
    if y_max <= 0 or y_step <= 0:
        raise ValueError("y_max and y_step must be positive")
    for data in series:
        if len(data.values) != len(labels):
            raise ValueError(f"{data.name}: {len(data.values)} values for {len(labels)} labels")
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    y_of = linear_scale((0, y_max), (bottom, top))
    xs = x_positions(len(labels), left + 12, right - 12)  # keep end markers off the axes
    lines = tuple(
        _line(data, style, xs, labels, y_of, y_max)
        for style, data in enumerate(series, start=1)
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        x_ticks=tuple(Tick(x, label) for x, label in zip(xs, labels, strict=True)),
        y_ticks=tuple(Tick(y_of(v), str(v)) for v in range(0, y_max + 1, y_step)),
        lines=lines,
        guide=_guide(guide, y_of, y_max),
    )


def _line(
    data: SeriesData,
    style: int,
    xs: Sequence[float],
    labels: Sequence[str],
    y_of: Callable[[float], float],
    y_max: int,
) -> Line:
    points: dict[int, Point] = {
        index: Point(xs[index], y_of(clamp(value, 0, y_max)), value, labels[index])
        for index, value in enumerate(data.values)
        if value is not None
    }
    segments = tuple(
        polyline([points[index] for index in run]) for run in runs(data.values) if len(run) > 1
    )
    return Line(data.name, style, tuple(points.values()), segments)


def _guide(
    guide: tuple[float, str] | None, y_of: Callable[[float], float], y_max: int
) -> Guide | None:
    if guide is None:
        return None
    value, label = guide
    if not 0 <= value <= y_max:
        return None  # a threshold off the scale (e.g. below 0) cannot be reached: draw none
    return Guide(y_of(value), value, label)


def chart_view(
    title: str,
    unit: str,
    labels: Sequence[str],
    series: Sequence[SeriesData],
    y_max: int,
    guide: tuple[float, str] | None = None,
) -> ChartView:
    """The chart of these series with a table row per x label, for reading without the SVG."""
    rows = tuple(
        (label, tuple(data.values[index] for data in series))
        for index, label in enumerate(labels)
    )
    return ChartView(title, unit, build_chart(labels, series, y_max, guide=guide), rows)
