"""Sampling by risk on the pages: the queue says why each run was sampled; the sampling page
shows each stratum's traffic, rate, reviewed share, pass rate and its own step-down advice."""

from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from datasets.loop import runs_record_and_check
from review.services import review_update
from runs.models import Run
from runs.policy import sampling_policy_set
from runs.records import parse_run_record
from tests.factories import make_automation, run_record

pytestmark = pytest.mark.django_db

STRATA = [{"name": "judge failed", "when": {"kind": "score", "evaluator": "judge", "failed": True}, "rate": 100}]


@pytest.fixture
def risky(ops, reviewer):
    automation = make_automation("workflows.risk-pages", rate_bp=2000)
    sampling_policy_set(automation=automation, user=ops, reason="target failures", strata=STRATA,
                        threshold=0.5, now=timezone.now() - timedelta(days=3))
    created = timezone.now() - timedelta(days=1)
    records = [run_record(automation, createdAt=(created - timedelta(minutes=i)).isoformat(),
                          scores=[{"name": "judge", "passed": i % 4 != 0}]) for i in range(80)]
    runs_record_and_check([parse_run_record(r) for r in records])
    for run in Run.objects.filter(automation=automation, sampled=True):
        review_update(run=run, changes={"rating": "pass"}, user=reviewer)
    return automation


def test_the_queue_says_why_each_run_was_sampled(client, reviewer, risky):
    client.force_login(reviewer)
    page = client.get(f"/queue/?automation={risky.ref}&scope=all&chip=passed").content.decode()
    assert 'data-testid="sampled-why"' in page
    assert "judge failed · 100%" in page and "default rate · 20%" in page


def test_the_sampling_page_shows_each_stratum_and_its_advice(client, ops, risky):
    client.force_login(ops)
    page = client.get("/sampling/").content.decode()
    table = page[page.index('data-testid="strata-table"'):]
    table = table[:table.index("</table>")]
    assert "judge failed" in table and "evaluator judge failed" in table and "everything else" in table
    assert "100%" in table and "20%" in table
    # Every sampled run reviewed and passed; the risky stratum's 20 runs clear the 50 % threshold.
    assert "step down to 15%" in table
    assert "strata: 1" in page and "target failures" in page


def test_a_threshold_set_on_the_page_is_a_sampling_change_in_the_history(client, ops):
    automation = make_automation("workflows.threshold-page", rate_bp=1500)
    client.force_login(ops)
    client.post(f"/sampling/{automation.ref}/threshold/", {f"threshold-{automation.pk}-threshold_percent": "97"})
    automation.refresh_from_db()
    assert (automation.step_down_threshold, automation.sampling_version) == (0.97, 2)
    change = automation.rate_changes.latest("id")
    assert (change.step_down_threshold, change.changed_by, change.new_bp) == (0.97, ops, 1500)


def test_a_page_change_before_a_scheduled_one_is_refused_with_the_typed_value_kept(client, ops):
    automation = make_automation("workflows.scheduled-page", rate_bp=1500)
    sampling_policy_set(automation=automation, user=ops, reason="tonight", default_bp=500,
                        effective_at=timezone.now() + timedelta(hours=3))
    client.force_login(ops)
    prefix = f"rate-{automation.pk}"
    response = client.post(f"/sampling/{automation.ref}/rate/", {f"{prefix}-rate_percent": "10", f"{prefix}-reason": "now"})
    page = response.content.decode()
    assert response.status_code == 200 and "already scheduled" in page and 'value="10' in page
    assert automation.rate_changes.count() == 2


def test_ops_edit_strata_on_the_page_and_a_bad_one_names_its_field(client, ops):
    automation = make_automation("workflows.strata-page", rate_bp=500)
    client.force_login(ops)
    prefix = f"strata-{automation.pk}"
    bad = '[{"name": "vip", "when": {"kind": "tag"}, "rate": 100}]'
    page = client.post(f"/sampling/{automation.ref}/strata/", {f"{prefix}-strata": bad, f"{prefix}-reason": "vip"})
    text = page.content.decode()
    assert page.status_code == 200 and "strata[0].when.tag" in text and '"kind": "tag"' in unescape(text)
    automation.refresh_from_db()
    assert automation.sampling_strata == [] and automation.rate_changes.count() == 1
    good = '[{"name": "vip", "when": {"kind": "tag", "tag": "vip"}, "rate": 100}]'
    client.post(f"/sampling/{automation.ref}/strata/", {f"{prefix}-strata": good, f"{prefix}-reason": "vip"})
    automation.refresh_from_db()
    assert automation.sampling_strata[0]["rate_bp"] == 10_000 and automation.rate_changes.latest("id").reason == "vip"
