"""The sampling and backlog pages in proxy mode take their figures from the upstream's reviews
health (reviews generation), against a live Loupe serving only that generation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backends.eigenpal import EigenpalBackend
from backends.eigenpal.client import metered
from review.services import review_verdict
from tests.factories import make_automation, make_run
from tests.proxy import Faults, install_backend, proxy_settings


@pytest.fixture
def reviewed(transactional_db, reviewer):
    """Four runs of the last days, none sampled (rate 0): Loupe's own sampling figures count
    only sampled runs, the upstream's health counts every reviewed run."""
    automation = make_automation("workflows.extract-invoice", rate_bp=0, name="Extract invoice")
    now = timezone.now()
    runs = [make_run(automation, createdAt=(now - timedelta(days=d, minutes=5)).isoformat()) for d in (0, 1, 2, 3)]
    review_verdict(run=runs[0], verdict="pass", user=reviewer)
    review_verdict(run=runs[1], verdict="pass", user=reviewer)
    review_verdict(run=runs[2], verdict="fail", user=reviewer)
    return automation, runs


def test_the_sampling_page_shows_the_upstreams_health(live_server, settings, client, ops, reviewed):
    proxy_settings(settings, live_server.url, "reviews")
    client.force_login(ops)
    with metered() as meter:
        response = client.get("/sampling/")
    body = response.content.decode()
    [card] = response.context["cards"]
    assert (card.stats.runs_recent, card.stats.passed, card.stats.rated) == (4, 2, 3)
    assert card.stats.sampled_recent is None and 'data-health="upstream"' in body
    assert card.stats.interval is not None and card.stats.interval.low < 2 / 3 < card.stats.interval.high
    assert any("/v1/automations/" in r and "/reviews/health?bucket=day" in r for r in meter.requests)


def test_the_backlog_page_shows_the_upstreams_health(live_server, settings, client, reviewer, reviewed):
    automation, _ = reviewed
    proxy_settings(settings, live_server.url, "reviews")
    client.force_login(reviewer)
    response = client.get("/backlog/")
    body = response.content.decode()
    [row] = response.context["summary"]
    assert (row.health.total_runs, row.health.reviewed_runs, row.health.correct, row.health.incorrect) == (4, 3, 2, 1)
    assert row.unreviewed == 1 and 'id="backlog-health"' in body and 'data-health="upstream"' in body
    chart = response.context["detail"].pass_chart
    assert sum(r[2] for r in chart.rows) == 3 and sum(r[1] for r in chart.rows) == 2  # reviewed, passed by day


def test_the_feedback_generation_has_no_health_and_the_pages_say_so(live_server, settings, client, ops, reviewed):
    proxy_settings(settings, live_server.url, "feedback")
    client.force_login(ops)
    with metered() as meter:
        body = client.get("/sampling/").content.decode()
        backlog = client.get("/backlog/").content.decode()
    assert "has no review health" in body
    assert "has no review health" in backlog
    assert not any("/health" in r for r in meter.requests)


def test_an_upstream_failing_the_health_call_gets_the_pages_message(live_server, settings, client, ops, reviewed):
    proxy_settings(settings, live_server.url, "reviews")
    settings.EIGENPAL_MAX_RETRIES = 0
    faults = Faults().fail("GET", "/reviews/health", 503, always=True)
    install_backend(EigenpalBackend(transport=faults))
    client.force_login(ops)
    response = client.get("/sampling/")
    assert response.status_code == 502 and "The EigenPal API failed (HTTP 503)" in response.content.decode()
    assert client.get("/backlog/").status_code == 502
