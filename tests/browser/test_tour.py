"""Visits every page as a signed-in user and saves a screenshot of each (test-artifacts/screenshots)."""

import pytest
from playwright.sync_api import expect

from datasets.services import example_promote
from review.services import review_update
from tests.browser.conftest import login_by_form, screenshot
from tests.factories import make_automation, make_runs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_page_renders_for_a_reviewer(page, browser_reviewer):
    automation = make_automation("workflows.extract-invoice", name="Extract invoice")
    runs = make_runs(12, automation)
    review_update(run=runs[0], changes={"rating": "fail", "status": "open", "expected": {"total": 1}},
                  user=browser_reviewer)
    example = example_promote(run=runs[0], name="total-miss", user=browser_reviewer)
    page.goto("/accounts/login/")
    screenshot(page, "00-login")
    login_by_form(page, "rita", "review-pass")
    pages = [
        ("10-queue-all", "/queue/", "All automations"),
        ("11-run", f"/runs/{runs[0].pk}/", runs[0].pk),
        ("12-datasets", "/datasets/", "Extract invoice"),
        ("13-dataset", f"/datasets/{automation.ref}/", "total-miss"),
        ("14-example", f"/datasets/{automation.ref}/examples/{example.pk}/", "total-miss"),
        ("15-backlog", "/backlog/", "Extract invoice"),
        ("16-sampling", "/sampling/", "Extract invoice"),
        ("17-api-docs", "/api/v1/docs", "runs"),
    ]
    for name, url, text in pages:
        response = page.goto(url)
        assert response.status == 200, url
        expect(page.locator("main")).to_contain_text(text)
        screenshot(page, name)
    response = page.goto("/sampling/")
    expect(page.get_by_role("button", name="Save rate")).to_have_count(0)  # a reviewer is not ops
