"""The Waiting inbox and the task page in Chromium at 1280x720: the source PDF beside the fields,
required fields first, confirmed by keyboard (Enter confirms and moves to the next required
field), Approve counting what is left, a 409 that shows what changed and keeps the input, and
Reject asking for a reason. Screenshots in test-artifacts/screenshots/40-human-review-*.png."""

import base64

import pytest
from playwright.sync_api import expect

from datasets.loop import runs_record_and_check
from demo.files import pdf_document
from humanreview.models import Task
from humanreview.services import task_confirm_field
from runs.models import Run
from runs.records import parse_run_record
from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, paused_record

pytestmark = pytest.mark.django_db(transaction=True)


def _paused_with_pdf(automation, n: int) -> Task:
    record = paused_record(automation, sourceLabel="Check the invoice", files=[{"name": "invoice.pdf",
                                                                               "role": "run_input"}])
    pdf = pdf_document([("F2", 18, "INVOICE 2026-0042"), ("F1", 12, "ACME GmbH"),
                        ("F3", 11, "IBAN DE89 3704 0044 0532 0130 00"), ("F1", 12, "Total EUR 1,243.50")],
                       title=f"Invoice {n}")
    record["files"] = [{"name": "invoice.pdf", "role": "input", "base64": base64.b64encode(pdf).decode(),
                        "contentType": "application/pdf"}]
    runs_record_and_check([parse_run_record(record)])
    return Task.objects.get(run_id=record["id"])


@pytest.fixture
def tasks(browser_reviewer):
    automation = make_automation(name="Invoice extraction")
    return [_paused_with_pdf(automation, n) for n in range(3)]


def test_a_reviewer_confirms_by_keyboard_and_approves(page, browser_reviewer, tasks):
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, "rita", "review-pass")
    page.goto("/waiting/")
    expect(page.locator("#nav-waiting .nav-count")).to_have_text("3")
    expect(page.locator("#waiting-list tbody tr")).to_have_count(3)
    screenshot(page, "40-human-review-inbox-1280", full_page=False)
    oldest = tasks[0]  # tasks wait from when Loupe recorded the pause
    page.locator("#waiting-list tbody tr").first.get_by_role("link").first.click()
    page.wait_for_url(f"**/waiting/{oldest.pk}/")
    expect(page.locator(".wb-source img.wb-page")).to_be_visible()  # the PDF beside the fields
    expect(page.locator("#hr-approve")).to_be_disabled()
    expect(page.locator("#hr-remaining")).to_have_text("2 required fields left to confirm")
    iban = page.locator('.hr-field[data-path="/vendor/iban"] input[name="value"]')
    expect(iban).to_be_focused()
    screenshot(page, "41-human-review-task-1280", full_page=False)
    page.keyboard.press("Enter")  # confirms the IBAN as read, moves on
    total = page.locator('.hr-field[data-path="/total"] input[name="value"]')
    expect(total).to_be_focused()
    expect(page.locator("#hr-remaining")).to_have_text("1 required field left to confirm")
    # Meanwhile someone else edits a field: the next Enter is refused and shows the change.
    task_confirm_field(task_id=oldest.pk, user=browser_reviewer, path="/currency", value="CHF", expected_version=2,
                       idempotency_key="elsewhere")
    total.fill("1243.50")
    page.keyboard.press("Enter")
    expect(page.locator("#hr-conflict")).to_contain_text("/currency")
    expect(page.locator("#hr-conflict")).to_contain_text("CHF")
    expect(total).to_have_value("1243.50")  # what was typed is still there
    screenshot(page, "42-human-review-conflict-1280", full_page=False)
    page.locator('.hr-field[data-path="/total"] input[name="value"]').press("Enter")
    expect(page.locator("#hr-remaining")).to_have_text("every required field confirmed")
    expect(page.locator("#hr-approve")).to_be_focused()  # the next Enter approves
    screenshot(page, "43-human-review-ready-1280", full_page=False)
    page.keyboard.press("Enter")
    page.wait_for_url("**/waiting/?decided=*")
    expect(page.locator("#waiting-list tbody tr")).to_have_count(2)
    assert Task.objects.get(pk=oldest.pk).draft_data["total"] == 1243.5
    assert Run.objects.get(pk=oldest.run_id).status == "running"


def test_reject_asks_for_a_reason(page, browser_reviewer, tasks):
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, "rita", "review-pass")
    page.goto(f"/waiting/{tasks[0].pk}/")
    page.locator(".hr-reject summary").click()
    page.get_by_label("Why is this run rejected?").fill("Not our vendor")
    screenshot(page, "44-human-review-reject-1280", full_page=False)
    page.get_by_role("button", name="Reject the run").click()
    page.wait_for_url("**/waiting/?decided=*")
    run = Run.objects.get(pk=tasks[0].run_id)
    assert run.status == "failed" and run.error == "Not our vendor"
