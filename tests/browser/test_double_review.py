"""Double review in the browser (docs/rules.md#double-review): ops set the share on the sampling
page; maya reviews a run first in the pane; sam, the second reviewer, sees neither her verdict
nor her correction (queue, pane, blind pane) and disagrees; the lead priya compares both side
by side and keeps one, which becomes the run's review. Screenshots at 1280x720."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import expect

from review.double import second_submit, second_take
from review.models import AuditEvent, Review, SecondReview
from runs.models import Automation, Run
from tests.browser.conftest import login, screenshot
from tests.factories import INVOICE_OUTPUT, make_automation, make_run
from tests.review.double_helpers import first_reviewed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZE = {"width": 1280, "height": 720}


def _person(name: str, *roles: str) -> User:
    user = User.objects.create_user(name, password="pw-" + name)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def _page_as(browser, live_server, user: User):
    context = browser.new_context(viewport=SIZE, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    login(page, user.username, "pw-" + user.username)
    return page


def test_two_reviewers_and_a_lead_through_double_review(page, browser, live_server, transactional_db):
    priya = _person("priya", "reviewer", "lead", "ops")
    maya, sam = _person("maya", "reviewer"), _person("sam", "reviewer")
    automation = make_automation("workflows.extract-invoice", rate_bp=10_000, name="Extract invoice")

    # Ops: the share, on the sampling page.
    page.set_viewport_size(SIZE)
    login(page, "priya", "pw-priya")
    page.goto("/sampling/")
    form = page.get_by_test_id("double-form")
    form.get_by_label("Double-review share (%)").fill("100")
    form.get_by_label("Reason").fill("Measure how often reviewers agree")
    form.get_by_role("button", name="Save share").click()
    expect(page.get_by_test_id("double-share")).to_have_text("100%")
    assert Automation.objects.get(pk=automation.pk).double_review_bp == 10_000

    run = make_run(automation, createdAt=(timezone.now() + timedelta(seconds=1)).isoformat())
    assert Run.objects.get(pk=run.pk).double_review == "wanted"

    # Maya gives the first review in the pane: fail, the total corrected.
    first = _page_as(browser, live_server, maya)
    first.goto(f"/runs/{run.pk}/")
    first.get_by_role("button", name="Fail").click()
    expect(first.locator("#run-chip")).to_have_text("Open")
    first.locator('[data-path="/total"]').fill("1243.5")
    first.locator("#save-btn").click()
    expect(first.locator("#corrections")).to_contain_text("/total")
    first.context.close()

    # Sam: the queue does not tell him her verdict, the pane hides her review.
    second = _page_as(browser, live_server, sam)
    second.goto(f"/queue/?automation={automation.ref}&chip=all")
    row = second.locator(f'tr[data-run="{run.pk}"]')
    expect(row).to_contain_text("Second review pending")
    expect(row).not_to_contain_text("Open")
    screenshot(second, "double-01-queue-masked", full_page=False)
    second.goto(f"/runs/{run.pk}/")
    expect(second.locator("#first-hidden")).to_be_visible()
    expect(second.locator("body")).not_to_contain_text("1243.5")
    second.get_by_role("link", name="Double review").first.click()
    expect(second.get_by_test_id("second-queue")).to_contain_text(run.pk)
    screenshot(second, "double-02-second-queue", full_page=False)
    second.get_by_role("button", name="Take second review").click()
    expect(second.get_by_role("heading", name=f"Second review {run.pk}")).to_be_visible()
    expect(second.get_by_test_id("original-output")).to_contain_text("1234.5")
    expect(second.locator("body")).not_to_contain_text("1243.5")
    second.locator(".verdict-choice label", has_text="Fail").click()
    second.get_by_label("Note").fill("Total should include the shipping line")
    second.get_by_label("Corrected output (JSON)").fill(json.dumps({**INVOICE_OUTPUT, "total": 1264.5}, indent=2))
    screenshot(second, "double-03-blind-pane", full_page=False)
    second.get_by_role("button", name="Save second review").click()
    expect(second.locator(".message-success")).to_contain_text("Second review of")
    second.context.close()
    assert Run.objects.get(pk=run.pk).double_review == "disputed"

    # Priya, the lead: the adjudication queue, both reviews side by side, keeps the second.
    page.goto("/queue/")
    page.get_by_role("link", name="Double review").first.click()
    page.get_by_role("link", name="Adjudication: 1 disagreement to decide").click()
    expect(page.get_by_test_id("adjudication-queue")).to_contain_text("/total")
    screenshot(page, "double-04-adjudication-queue", full_page=False)
    page.get_by_role("link", name="Decide").click()
    expect(page.get_by_test_id("side-first")).to_contain_text("1243.5")
    expect(page.get_by_test_id("side-second")).to_contain_text("1264.5")
    screenshot(page, "double-05-side-by-side", full_page=False)
    page.get_by_role("button", name="Keep the second review").click()
    expect(page.locator(".message-success")).to_contain_text("the decision is now the run's review")
    review = Review.objects.get(run_id=run.pk)
    assert (review.rating, review.expected["total"], review.updated_by) == ("fail", 1264.5, priya)
    assert AuditEvent.objects.filter(run_id=run.pk, action="adjudicate:second", user=priya).exists()
    assert SecondReview.objects.get(run_id=run.pk).decision == "second"

    # More double reviews (through the services), then the agreement on the sampling page.
    for index in range(14):
        other = first_reviewed(automation, maya, verdict="pass" if index % 4 else "fail")
        second_take(run_id=other.pk, user=sam)
        second_submit(run_id=other.pk, user=sam, verdict="pass" if index % 5 else "fail")
    page.goto("/sampling/")
    expect(page.get_by_test_id("human-kappa-interval")).to_be_visible()
    page.get_by_test_id(f"double-review-{automation.pk}").scroll_into_view_if_needed()
    screenshot(page, "double-06-sampling-agreement", full_page=False)
