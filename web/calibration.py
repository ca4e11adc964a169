"""The calibration page (docs/calibration.md): per field an automation reports a confidence
for, how often people changed it at each confidence level, as a table and a reliability chart
drawn here as SVG (no script, no external file: CSP-safe). Numbers from insights.calibration,
read from rollups."""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from backends import get_backend
from insights.calibration import MIN_REVIEWED, SUGGESTION_RULE, TARGET_CHANGE_RATE, FieldCalibration, calibration
from web.html import format_html, format_html_join
from web.sampling import _automation_or_404 as automation_or_404

WIDTH, HEIGHT = 420, 210
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 34


def _y_max(field: FieldCalibration) -> float:
    """The chart's top: the next 10 % step above every interval (at least 10 %)."""
    top = max((row.interval.high for row in field.levels if row.interval), default=0.1)
    return min(1.0, max(0.1, (int(top * 10) + 1) / 10))


@dataclass
class ReliabilityChart:
    """One field's change rate per confidence level: dots with 95 % whiskers; for numeric
    confidences, the dashed line a calibrated automation would follow (changed 1 - confidence)."""

    field: FieldCalibration
    id: str

    def svg(self):
        levels, top = self.field.levels, _y_max(self.field)
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        step = plot_w / max(1, len(levels))

        def y(rate: float) -> float:
            return round(TOP + plot_h * (1 - min(rate, top) / top), 1)

        ticks = [i / 4 * top for i in range(5)]
        grid = format_html_join("", '<line x1="{}" x2="{}" y1="{}" y2="{}"/><text x="{}" y="{}" dy="4" '
                                    'text-anchor="end" class="tick">{}%</text>',
                                ((LEFT, WIDTH - RIGHT, y(t), y(t), LEFT - 6, y(t), f"{t * 100:g}") for t in ticks))
        marks = []
        reference = []
        for i, row in enumerate(levels):
            x = round(LEFT + step * (i + 0.5), 1)
            marks.append(format_html('<text x="{}" y="{}" text-anchor="middle" class="tick">{}</text>',
                                     x, HEIGHT - BOTTOM + 16, row.level))
            if not self.field.labelled:
                reference.append(f"{x},{y(max(0.0, 1 - (float(row.level) + 0.05)))}")
            if row.interval is None:
                continue
            marks.append(format_html(
                '<line class="whisker" x1="{x}" x2="{x}" y1="{lo}" y2="{hi}"/>'
                '<line class="whisker-cap" x1="{a}" x2="{b}" y1="{hi}" y2="{hi}"/>'
                '<line class="whisker-cap" x1="{a}" x2="{b}" y1="{lo}" y2="{lo}"/>'
                '<circle class="dot" cx="{x}" cy="{cy}" r="4"><title>{title}</title></circle>'
                '<text class="value" x="{tx}" y="{cy}" dy="4">{label}</text>',
                x=x, lo=y(row.interval.low), hi=y(row.interval.high), a=x - 4, b=x + 4, cy=y(row.rate), tx=x + 7,
                title=f"{row.level}: {row.changed} of {row.reviewed} changed", label=f"{row.rate * 100:.1f}%"))
        line = format_html('<polyline class="reference" points="{}"/>', " ".join(reference)) if len(reference) > 1 else ""
        axis = format_html('<text class="axis-label" transform="translate(11 {}) rotate(-90)" text-anchor="middle">'
                           'changed</text><text class="axis-label" x="{}" y="{}" text-anchor="end">confidence</text>',
                           TOP + plot_h / 2, WIDTH - RIGHT, HEIGHT - 4)
        return format_html('<svg viewBox="0 0 {} {}" class="chart-svg reliability" role="img" aria-labelledby="{}">'
                           '<g class="grid">{}</g>{}{}{}</svg>', WIDTH, HEIGHT, f"{self.id}-title",
                           grid, axis, line, format_html_join("", "{}", ((m,) for m in marks)))


@require_GET
def calibration_page(request: HttpRequest, ref: str) -> HttpResponse:
    automation = automation_or_404(ref)
    local = get_backend().name == "local"
    fields = calibration(automation.pk) if local else []
    return render(request, "insights/calibration.html", {
        "nav": "sampling", "automation": automation, "needs_local": not local,
        "fields": [(f, ReliabilityChart(f, f"field-{i}")) for i, f in enumerate(fields, 1)],
        "flagged": sum(1 for f in fields if f.flag), "rule": SUGGESTION_RULE,
        "target": TARGET_CHANGE_RATE, "min_reviewed": MIN_REVIEWED})
