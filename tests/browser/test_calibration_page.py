"""Calibrated confidence in the browser: from the sampling page to an automation's calibration
page, whose table and reliability chart show how often reviewers changed each field per
confidence level, the flag on a field whose "high" is changed more than its "low", and the
suggested review rule (screenshot at 1280x720)."""

import copy
import random
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from datasets.loop import runs_record_and_check
from review.services import review_save, review_verdict
from runs.models import Run
from runs.records import parse_run_record
from tests.browser.conftest import login, screenshot
from tests.factories import INVOICE_OUTPUT, make_automation, run_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _runs(automation, count: int) -> list[Run]:
    rng = random.Random(21)
    records = []
    for i in range(count):
        wrong_total = i % 4 == 0
        confidence = {
            # Miscalibrated: a wrong total says "high" more often than a right one.
            "/total": "high" if (wrong_total or i % 3 == 0) else "low",
            "/currency": "high",
            "/vendor/name": round(rng.uniform(0.5, 1.0) if i % 7 else rng.uniform(0.0, 0.5), 2),
        }
        records.append(run_record(automation, fieldMetadata=confidence,
                                  createdAt=(timezone.now() - timedelta(hours=i)).isoformat()))
    runs_record_and_check([parse_run_record(r) for r in records])
    return list(Run.objects.filter(automation=automation).order_by("created_at"))


def test_the_calibration_page_flags_a_miscalibrated_field(page, browser_reviewer):
    browser_reviewer.groups.add(Group.objects.get_or_create(name="ops")[0])
    automation = make_automation("workflows.extract-invoice", rate_bp=10_000, name="Extract invoice")
    for run in _runs(automation, 120):
        if run.field_confidence["/vendor/name"] < 0.5 or run.field_confidence["/total"] == "high" and \
                int(run.pk[-3:]) % 4 == 0:
            expected = copy.deepcopy(INVOICE_OUTPUT)
            if run.field_confidence["/total"] == "high":
                expected["total"] = 1243.5
            if run.field_confidence["/vendor/name"] < 0.5:
                expected["vendor"]["name"] = "ACME Supplies GmbH"
            review_save(run=run, user=browser_reviewer, verdict="fail", expected=expected)
        else:
            review_verdict(run=run, verdict="pass", user=browser_reviewer)
    login(page, "rita", "review-pass")
    page.goto("/sampling/")
    page.locator(f"#sampling-{automation.pk}").get_by_test_id("calibration-link").click()
    expect(page.get_by_role("heading", name="Confidence calibration")).to_be_visible()
    total = page.locator('section[data-path="/total"]')
    expect(total.get_by_test_id("flag")).to_contain_text("Fisher exact")
    expect(total.get_by_test_id("flag")).to_contain_text("significant at 5 %")
    expect(total.get_by_test_id("suggestion")).to_contain_text("review: always")
    currency = page.locator('section[data-path="/currency"]')
    expect(currency.get_by_test_id("suggestion")).to_contain_text("review: auto")
    expect(page.locator('section[data-path="/vendor/name"] svg.reliability polyline.reference')).to_have_count(1)
    assert page.locator("svg.reliability").count() == 3
    page.set_viewport_size({"width": 1280, "height": 720})
    screenshot(page, "23-calibration", full_page=False)
    total.scroll_into_view_if_needed()
    screenshot(page, "24-calibration-flag", full_page=False)
