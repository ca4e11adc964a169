"""Small server-side SVG charts: geometry computed here, drawn by
templates/insights/partials/chart.html. Every chart carries value labels (readable
without hovering), axis labels, a one-sentence summary and rows for a data table."""

import math
from dataclasses import dataclass, field
from datetime import date

from django.utils.formats import localize
from django.utils.safestring import SafeString

from web.html import format_html_join

WIDTH, HEIGHT = 880, 250
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 34, 40


def nice_max(value: float) -> float:
    """The smallest 1-2-5 × 10^k at or above `value` (at least 1): 37 -> 50, 0 -> 1."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


@dataclass
class Mark:
    """One day's drawing: a bar (x, y, w, h) or a point (cx, cy) with its interval (y1..y2)."""

    x: float
    label: str  # the value label drawn above the mark
    y: float = 0
    w: float = 0
    h: float = 0
    y_low: float | None = None
    y_high: float | None = None

    @property
    def cx(self) -> float:
        return round(self.x + self.w / 2, 1)

    @property
    def caps(self) -> tuple[float, float]:
        return round(self.cx - 3, 1), round(self.cx + 3, 1)


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # "bars" | "rate"
    summary: str
    y_axis_label: str
    table_headers: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    line: str = ""  # polyline points joining the rate marks
    reference: tuple[float, str] | None = None  # (y, label) of a dashed reference line
    width: int = WIDTH
    height: int = HEIGHT

    def marks_svg(self) -> SafeString:
        """The marks as SVG, built once in Python: thirty days of marks through template tags
        were most of the backlog page's time (the markup is what chart.html used to loop).
        Coordinates are written as Python writes numbers (SVG wants '.', whatever the locale)."""
        if self.kind == "bars":
            return format_html_join(
                "\n", '<rect class="bar" x="{}" y="{}" width="{}" height="{}" rx="2"/>'
                       '<text class="value" x="{}" y="{}" dy="-4" text-anchor="middle">{}</text>',
                ((m.x, m.y, m.w, m.h, m.cx, m.y, m.label) for m in self.marks))
        return format_html_join(
            "\n", '<line class="whisker" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>'
                   '<line class="whisker-cap" x1="{3}" x2="{4}" y1="{2}" y2="{2}"/>'
                   '<line class="whisker-cap" x1="{3}" x2="{4}" y1="{1}" y2="{1}"/>'
                   '<circle class="dot" cx="{0}" cy="{5}" r="3.5"/>'
                   '<text class="value" x="{0}" y="{2}" dy="-5" text-anchor="middle">{6}</text>',
            ((m.x, m.y_low, m.y_high, m.caps[0], m.caps[1], m.y, m.label) for m in self.marks))

    def rows_html(self) -> SafeString:
        """The data table's body rows, built once in Python (values localized as the template would)."""
        return format_html_join("", "<tr>{}</tr>", (
            (format_html_join("", "<td>{}</td>", ((localize(cell),) for cell in row)),) for row in self.rows))

    @property
    def plot(self) -> dict:
        bottom = self.height - BOTTOM
        return {"left": LEFT, "right": self.width - RIGHT, "top": TOP, "bottom": bottom, "mid_y": (TOP + bottom) / 2,
                "mid_x": (LEFT + self.width - RIGHT) / 2, "tick_x": LEFT - 6, "x_label_y": bottom + 16,
                "axis_y": bottom + 34, "legend_x": self.width - RIGHT - 200}

    @property
    def empty(self) -> bool:
        return not self.marks


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def _x_slots(days: list[date]) -> tuple[list[float], float]:
    span = (WIDTH - LEFT - RIGHT) / max(1, len(days))
    return [LEFT + span * (i + 0.5) for i in range(len(days))], span


def _x_ticks(days: list[date], centres: list[float], every: int = 5) -> list[tuple[float, str]]:
    last = len(days) - 1
    picks = [i for i in range(last, -1, -every)]
    return [(centres[i], _day_label(days[i])) for i in sorted(picks)]


def _y(value: float, top_value: float) -> float:
    bottom = HEIGHT - BOTTOM
    return round(bottom - (bottom - TOP) * value / top_value, 1)


def bar_chart(*, chart_id: str, title: str, days: list[date], values: list[int], y_axis_label: str,
              unit: str) -> Chart:
    """One bar per day with its value on top."""
    top_value = nice_max(max(values, default=0))
    centres, span = _x_slots(days)
    bar_width = max(2.0, round(span * 0.7, 1))
    chart = Chart(id=chart_id, title=title, kind="bars", y_axis_label=y_axis_label, table_headers=("Day", unit),
                  summary=_trend_summary(days, values, unit))
    for centre, value in zip(centres, values, strict=True):
        y = _y(value, top_value)
        chart.marks.append(Mark(x=round(centre - bar_width / 2, 1), w=bar_width, y=y, h=round(HEIGHT - BOTTOM - y, 1),
                                label=str(value)))
    chart.y_ticks = [(_y(top_value * f, top_value), f"{top_value * f:g}") for f in (0, 0.5, 1)]
    chart.x_ticks = _x_ticks(days, centres)
    chart.rows = [(day.isoformat(), value) for day, value in zip(days, values, strict=True)]
    return chart


def _trend_summary(days: list[date], values: list[int], unit: str) -> str:
    if not values:
        return "No data."
    peak = max(range(len(values)), key=lambda i: values[i])
    return (f"{unit.capitalize()}: {values[0]} on {_day_label(days[0])}, {values[-1]} on {_day_label(days[-1])}; "
            f"highest {values[peak]} on {_day_label(days[peak])}.")


def rate_chart(*, chart_id: str, title: str, days: list[date], points: list, threshold: float | None) -> Chart:
    """A pass rate per day: a dot with its interval as a whisker, the value above it.
    `points[i]` is None (no reviews that day) or (rate, low, high, passed, total)."""
    centres, _ = _x_slots(days)
    chart = Chart(id=chart_id, title=title, kind="rate", y_axis_label="Pass rate",
                  table_headers=("Day", "Passed", "Reviewed", "Pass rate", "95 % interval"),
                  summary=_rate_summary(points))
    joined = []
    for day, centre, point in zip(days, centres, points, strict=True):
        if point is None:
            chart.rows.append((day.isoformat(), 0, 0, "—", "—"))
            continue
        rate, low, high, passed, total = point
        cy = _y(rate, 1)
        chart.marks.append(Mark(x=round(centre, 1), y=cy, y_low=_y(low, 1), y_high=_y(high, 1),
                                label=f"{rate * 100:.0f}"))
        joined.append(f"{centre:.1f},{cy}")
        chart.rows.append((day.isoformat(), passed, total, f"{rate:.1%}", f"{low:.1%} – {high:.1%}"))
    chart.line = " ".join(joined)
    chart.y_ticks = [(_y(f, 1), f"{f:.0%}") for f in (0, 0.25, 0.5, 0.75, 1)]
    chart.x_ticks = _x_ticks(days, centres)
    if threshold is not None:
        chart.reference = (_y(threshold, 1), f"step-down threshold {threshold:.0%}")
    return chart


def _rate_summary(points: list) -> str:
    seen = [p for p in points if p is not None]
    if not seen:
        return "No reviewed runs in this period."
    passed, total = sum(p[3] for p in seen), sum(p[4] for p in seen)
    return (f"{passed} of {total} reviewed runs passed over {len(seen)} days with reviews "
            f"({passed / total:.1%}); latest day {seen[-1][0]:.0%} of {seen[-1][4]}.")
