"""Sampling by risk in the browser: ops define a stratum on the sampling page, runs recorded
afterwards land in it, the page lists it with its own numbers and the queue says why each run
was sampled (screenshots at 1280x720)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from datasets.loop import runs_record_and_check
from review.services import review_update
from runs.models import Automation, Run
from runs.records import parse_run_record
from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, run_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STRATUM = '[{"name": "judge failed", "when": {"kind": "score", "evaluator": "judge", "failed": true}, "rate": 100}]'


def test_ops_define_a_stratum_and_see_it_on_the_sampling_page_and_in_the_queue(page, browser_reviewer):
    browser_reviewer.groups.add(Group.objects.get_or_create(name="ops")[0])
    automation = make_automation("workflows.extract-invoice", rate_bp=1000, name="Extract invoice")
    login(page, "rita", "review-pass")
    page.goto("/sampling/")
    card = page.locator(f"#sampling-{automation.pk}")
    card.get_by_text("Sampling by risk: 0 strata").click()
    card.get_by_label("Strata (JSON)").fill(STRATUM)
    card.locator(".strata-editor").get_by_label("Reason").fill("Review every run the judge failed")
    card.get_by_role("button", name="Save strata").click()
    expect(page.locator(f"#sampling-{automation.pk}")).to_contain_text("1 strata saved")
    assert Automation.objects.get(pk=automation.pk).sampling_strata[0]["rate_bp"] == 10_000

    later = timezone.now() + timedelta(seconds=1)
    records = [run_record(automation, createdAt=(later + timedelta(seconds=i)).isoformat(),
                          scores=[{"name": "judge", "passed": i % 5 != 0}]) for i in range(60)]
    runs_record_and_check([parse_run_record(r) for r in records])
    for run in Run.objects.filter(automation=automation, sampled=True):
        review_update(run=run, changes={"rating": "fail" if run.stratum else "pass"}, user=browser_reviewer)
    page.goto("/sampling/")
    table = page.get_by_test_id("strata-table")
    expect(table).to_contain_text("judge failed")
    expect(table).to_contain_text("everything else (default rate)")
    page.set_viewport_size({"width": 1280, "height": 720})
    table.scroll_into_view_if_needed()
    screenshot(page, "21-sampling-strata", full_page=False)

    page.goto(f"/queue/?automation={automation.ref}&scope=sampled&chip=failed")
    expect(page.get_by_test_id("sampled-why").first).to_contain_text("judge failed · 100%")
    screenshot(page, "22-queue-why-sampled", full_page=False)
