from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from backends import get_backend
from humanreview.queries import backlog as tasks_backlog
from insights.estimates import Estimate
from insights.queries import (
    THROUGHPUT_DAYS,
    WINDOW_DAYS,
    AutomationBacklog,
    Throughput,
    backlog_summary,
    corrected_fields,
    corrected_paths_recent,
    most_corrected_fields,
    open_backlog_per_day,
    pass_counts_per_day,
    reviewer_throughput,
    window_bounds,
    window_days,
)
from insights.stats import pass_rate_estimates, wilson_interval
from insights.versions import version_estimates
from runs.models import Automation
from web.backend_errors import backend_errors
from web.charts import Chart, bar_chart, rate_chart
from web.queue_list import ago

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
    versions: list[tuple[str | None, Estimate]] = field(default_factory=list)  # local mode only

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
    fields, corrected = corrected_fields(automation_ids=ids, days=days)
    start, end = window_bounds(days[-1])
    versions = version_estimates(one, start=start, end=end) if one else []
    return BacklogDetail(
        label=one.display_name if one else "All automations",
        backlog_chart=bar_chart(chart_id="chart-backlog", title="Open backlog at the end of each day", days=days,
                                values=backlog, y_axis_label="Runs", unit="runs waiting"),
        pass_chart=rate_chart(chart_id="chart-pass-rate", title="Pass rate of reviewed sampled runs, by run day",
                              days=days, points=points, threshold=one.step_down_threshold if one else None),
        throughput=reviewer_throughput(automation_ids=ids, days=days[-THROUGHPUT_DAYS:]),
        fields=fields, corrected_reviews=corrected, versions=versions,
    )


@dataclass
class HealthRow:
    """One automation's line of the backlog page in proxy mode: the upstream's review health."""

    automation: Automation
    health: object  # backends.base.ReviewHealth

    @property
    def unreviewed(self) -> int:
        return max(0, self.health.total_runs - self.health.reviewed_runs - self.health.nits)

    @property
    def correctness(self) -> float | None:
        return self.health.correct / self.health.reviewed_runs if self.health.reviewed_runs else None


def _health_detail(selected: list[HealthRow]) -> BacklogDetail:
    """The detail charts from the upstream's day buckets, summed over the selected automations."""
    ids = [row.automation.pk for row in selected]
    days = window_days(timezone.localdate())
    one = selected[0].automation if len(selected) == 1 else None
    per_day = _day_totals(selected, days)
    points = _rate_points({day: (v[1], v[2]) for day, v in per_day.items()}, days)
    fields, corrected = most_corrected_fields(corrected_paths_recent(automation_ids=ids, days=days))
    return BacklogDetail(
        label=one.display_name if one else "All automations",
        backlog_chart=bar_chart(chart_id="chart-backlog", title="Runs without a review, by run day (EigenPal API)",
                                days=days, values=[per_day[day][0] for day in days], y_axis_label="Runs",
                                unit="runs without a review"),
        pass_chart=rate_chart(chart_id="chart-pass-rate", title="Correct share of reviewed runs, by run day "
                              "(EigenPal API)", days=days, points=points,
                              threshold=one.step_down_threshold if one else None),
        throughput=reviewer_throughput(automation_ids=ids, days=days[-THROUGHPUT_DAYS:]),
        fields=fields, corrected_reviews=corrected,
    )


def _day_totals(selected: list[HealthRow], days: list) -> dict:
    """{day: [unreviewed, correct, reviewed]} of the window's days, summed over the selected rows'
    day buckets."""
    per_day = {day: [0, 0, 0] for day in days}
    for row in selected:
        for bucket in row.health.days:
            if bucket.day in per_day:
                per_day[bucket.day][0] += max(0, bucket.total_runs - bucket.reviewed_runs - bucket.nits)
                per_day[bucket.day][1] += bucket.correct
                per_day[bucket.day][2] += bucket.reviewed_runs
    return per_day


def _health_rows() -> list[HealthRow] | None:
    """Proxy mode with an upstream that reports review health: one row per automation."""
    backend = get_backend()
    if backend.name == "local":
        return None
    automations = backend.automations()
    health = backend.review_health(automations)
    if health is None:
        return None
    return [HealthRow(automation=a, health=health[a.pk]) for a in automations if a.pk in health]


def _local_summary(*, estimates: bool) -> list:
    """The backlog summary of Loupe's own runs; with `estimates` each row's weighted pass-rate
    estimate (the summary table shows them; the htmx fragment has no summary table)."""
    summary = backlog_summary()
    if estimates:
        start, end = window_bounds(timezone.localdate())
        found = pass_rate_estimates([item.automation for item in summary], start=start, end=end)
        for item in summary:
            item.estimate = found[item.automation.pk]
    return summary


@require_GET
@backend_errors
def backlog(request: HttpRequest) -> HttpResponse:
    fragment = request.htmx and not request.htmx.history_restore_request
    choice = request.GET.get("automation") or ALL
    health_rows = _health_rows()
    if health_rows is not None:
        summary = health_rows
        selected = [row for row in summary if row.automation.ref == choice] or summary
        detail = _health_detail(selected) if selected else None
    else:
        summary = _local_summary(estimates=not fragment)
        selected = [item for item in summary if item.automation.ref == choice] or summary
        detail = _detail(selected) if selected else None
    # Runs paused for a person (human review tasks): how many, how long, how many overdue.
    waiting = tasks_backlog() if health_rows is None and not fragment else None
    if waiting is not None:
        waiting["oldest"] = ago(timezone.now() - waiting["oldest_age"], timezone.now()) if waiting["count"] else ""
    context = {
        "nav": "backlog", "summary": summary, "waiting": waiting, "choice": choice if len(selected) == 1 else ALL,
        "detail": detail, "health": health_rows is not None,
        "window_days": WINDOW_DAYS, "throughput_days": THROUGHPUT_DAYS,
        "proxy": get_backend().name != "local",
    }
    template = "insights/partials/backlog_detail.html" if fragment else "insights/backlog.html"
    return render(request, template, context)
