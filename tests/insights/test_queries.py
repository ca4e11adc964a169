from datetime import timedelta

from django.utils import timezone

from insights.queries import (
    backlog_summary,
    most_corrected_fields,
    open_backlog_per_day,
    pass_counts_per_day,
    reviewer_throughput,
    window_days,
)
from review.models import Review
from review.services import review_verdict
from tests.factories import make_automation, make_runs


def test_most_corrected_fields_counts_each_path_once_per_review():
    top, corrected = most_corrected_fields([
        ["/total", "/line_items/*/amount", "/line_items/*/amount"], ["/total"], [], ["/vendor/name", "/total"],
    ])
    assert top == [("/total", 3), ("/line_items/*/amount", 1), ("/vendor/name", 1)] and corrected == 3


def test_most_corrected_fields_keeps_the_top_ones():
    top, _ = most_corrected_fields([[f"/f{i}" for i in range(20)]], limit=3)
    assert [path for path, _ in top] == ["/f0", "/f1", "/f10"]


def test_summary_counts_chips_and_oldest_waiting(automation, reviewer):
    runs = make_runs(4, automation)
    review_verdict(run=runs[0], verdict="fail", user=reviewer)
    review_verdict(run=runs[1], verdict="pass", user=reviewer)
    item = backlog_summary()[0]
    assert (item.counts["unreviewed"], item.counts["open"], item.counts["passed"], item.backlog) == (2, 1, 1, 3)
    assert item.oldest_open_at is not None and item.oldest_unreviewed_at is not None


def test_oldest_open_is_each_automations_own_and_none_without_open_reviews(reviewer):
    """An automation without open reviews has no oldest open review (and is not asked for one:
    insights/queries.py); another's is its own oldest, not an older one of a third."""
    first, second, quiet = (make_automation(f"workflows.oldest-{n}") for n in range(3))
    old = make_runs(1, first)[0]
    review_verdict(run=old, verdict="fail", user=reviewer)
    newer = make_runs(2, second)
    for run in newer:
        review_verdict(run=run, verdict="fail", user=reviewer)
    make_runs(2, quiet)
    items = {item.automation.slug: item for item in backlog_summary()}
    opened = {r.run_id: r.created_at for r in Review.objects.filter(status="open")}
    assert items["oldest-0"].oldest_open_at == opened[old.pk]
    assert items["oldest-1"].oldest_open_at == min(opened[r.pk] for r in newer)
    assert items["oldest-2"].oldest_open_at is None and items["oldest-2"].oldest_unreviewed_at is not None


def test_open_backlog_walks_back_from_today(automation, reviewer):
    runs = make_runs(3, automation)
    review_verdict(run=runs[0], verdict="pass", user=reviewer)
    days = window_days(timezone.localdate(), 3)
    values = open_backlog_per_day(automation_ids=[automation.pk], current=2, days=days)
    assert values[-1] == 2 and values[-2] == 0  # three arrived today, one left today


def test_pass_counts_per_day(automation, reviewer):
    runs = make_runs(3, automation)
    review_verdict(run=runs[0], verdict="pass", user=reviewer)
    review_verdict(run=runs[1], verdict="partial", user=reviewer)
    days = window_days(timezone.localdate(), 3)
    counts = pass_counts_per_day(automation_ids=[automation.pk], days=days)
    assert sum(p for p, _ in counts.values()) == 1 and sum(n for _, n in counts.values()) == 2


def test_reviewer_throughput_counts_runs_per_reviewer(automation, reviewer, lead):
    runs = make_runs(3, automation)
    review_verdict(run=runs[0], verdict="fail", user=reviewer)
    review_verdict(run=runs[0], verdict="pass", user=reviewer)  # same run, same day: once
    review_verdict(run=runs[1], verdict="pass", user=lead)
    result = reviewer_throughput(automation_ids=[automation.pk], days=window_days(timezone.localdate(), 2))
    assert [(row.name, row.total) for row in result.rows] == [("leo", 1), ("rita", 1)]


def test_backlog_ignores_other_automations(automation, reviewer):
    other = make_automation("agents.other")
    make_runs(2, other, createdAt=(timezone.now() - timedelta(hours=1)).isoformat())
    days = window_days(timezone.localdate(), 2)
    assert open_backlog_per_day(automation_ids=[automation.pk], current=0, days=days) == [0, 0]
