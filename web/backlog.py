from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from backends import get_backend
from insights.charts import Chart, bar_chart, rate_chart
from insights.queries import (
    THROUGHPUT_DAYS,
    WINDOW_DAYS,
    AutomationBacklog,
    Throughput,
    backlog_summary,
    corrected_paths_recent,
    most_corrected_fields,
    open_backlog_per_day,
    pass_counts_per_day,
    reviewer_throughput,
    window_days,
)
from insights.stats import wilson_interval

ALL = "all"


@dataclass
class BacklogDetail:
    """The charts and tables of the selected automation (or of all of them)."""

    label: str
    backlog_chart: Chart
    pass_chart: Chart
    throughput: Throughput
    fields: list[tuple[str, int]]
    corrected_reviews: int

    @property
    def top_field_count(self) -> int:
        return self.fields[0][1] if self.fields else 0


def _rate_points(counts: dict, days: list) -> list:
    points = []
    for day in days:
        passed, total = counts.get(day, (0, 0))
        interval = wilson_interval(passed, total)
        points.append(None if interval is None else (passed / total, interval.low, interval.high, passed, total))
    return points


def _detail(selected: list[AutomationBacklog]) -> BacklogDetail:
    ids = [item.automation.pk for item in selected]
    days = window_days(timezone.localdate())
    one = selected[0].automation if len(selected) == 1 else None
    backlog = open_backlog_per_day(automation_ids=ids, current=sum(i.backlog_sampled for i in selected), days=days)
    points = _rate_points(pass_counts_per_day(automation_ids=ids, days=days), days)
    fields, corrected = most_corrected_fields(corrected_paths_recent(automation_ids=ids, days=days))
    return BacklogDetail(
        label=one.display_name if one else "All automations",
        backlog_chart=bar_chart(chart_id="chart-backlog", title="Open backlog at the end of each day", days=days,
                                values=backlog, y_axis_label="Runs", unit="runs waiting"),
        pass_chart=rate_chart(chart_id="chart-pass-rate", title="Pass rate of reviewed sampled runs, by run day",
                              days=days, points=points, threshold=one.step_down_threshold if one else None),
        throughput=reviewer_throughput(automation_ids=ids, days=days[-THROUGHPUT_DAYS:]),
        fields=fields, corrected_reviews=corrected,
    )


@require_GET
def backlog(request: HttpRequest) -> HttpResponse:
    summary = backlog_summary()
    choice = request.GET.get("automation") or ALL
    selected = [item for item in summary if item.automation.ref == choice] or summary
    context = {
        "nav": "backlog", "summary": summary, "choice": choice if len(selected) == 1 else ALL,
        "detail": _detail(selected) if selected else None,
        "window_days": WINDOW_DAYS, "throughput_days": THROUGHPUT_DAYS,
        "proxy": get_backend().name != "local",
    }
    fragment = request.htmx and not request.htmx.history_restore_request
    template = "insights/partials/backlog_detail.html" if fragment else "insights/backlog.html"
    return render(request, template, context)
