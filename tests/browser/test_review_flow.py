import re

import pytest
from playwright.sync_api import expect

from review.models import Review
from runs.models import Run
from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue_runs(transactional_db):
    automation = make_automation("workflows.extract-invoice", name="Extract invoice")
    return [make_run(automation) for _ in range(3)]


def test_reviewer_corrects_a_miss_and_promotes_it(page, browser_reviewer, queue_runs, tmp_path):
    run = queue_runs[0]
    login(page, "rita", "review-pass")
    page.goto("/queue/?automation=workflows.extract-invoice")
    expect(page.locator("#queue-table")).to_contain_text(run.pk)
    screenshot(page, "01-queue")

    page.get_by_role("link", name=run.pk).click()
    expect(page.get_by_role("heading", name=run.pk)).to_be_visible()
    page.get_by_role("button", name="Fail").click()
    expect(page.locator("#run-chip")).to_have_text("Open")

    # Edit a nested field in the records table: the second line item's amount.
    page.locator('[data-path="/line_items/1/amount"]').fill("187.5")
    page.locator("#save-btn").click()
    expect(page.locator("#corrections")).to_contain_text("/line_items/1/amount")
    expect(page.locator('del.was').first).to_have_text("178.0")
    expect(page.locator('[data-path="/line_items/1/amount"]')).to_have_value("187.5")

    # Add a row for a dropped line item and fill it.
    page.get_by_role("button", name="Add row to line_items").click()
    expect(page.locator('[data-row="/line_items/2"] .wb-input').first).to_be_focused()  # the new row's first cell
    page.locator('[data-path="/line_items/2/description"]').fill("Staples")
    page.locator('[data-path="/line_items/2/amount"]').fill("3.2")
    page.locator("#save-btn").click()
    # The added row was saved once when added (empty) and again here: wait for this save's swap
    # (its typed values), or the next click lands on the pane this swap then replaces.
    expect(page.locator("#corrections")).to_contain_text('"Staples"')
    screenshot(page, "02-run-corrected")

    corrected = tmp_path / "line_items.csv"
    corrected.write_text("description,amount\nPaper A4,45\nToner,187.5\nStaples,3.2\n")
    page.locator("#expected-files summary").click()
    page.locator("#id_file").set_input_files(str(corrected))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#expected-files .files")).to_contain_text("line_items.csv")

    page.get_by_label("Example name").fill("toner-amount-miss")
    page.get_by_role("button", name="Promote").click()
    expect(page.locator("#promoted-badge")).to_contain_text("toner-amount-miss")
    expect(page.locator("#run-chip")).to_have_text("Open")
    screenshot(page, "03-run-promoted")

    review = Review.objects.get(run_id=run.pk)
    assert review.expected["line_items"][1]["amount"] == 187.5 and review.expected["line_items"][-1]["description"] == "Staples"
    assert review.expected["line_items"][-1]["amount"] == 3.2
    assert review.promoted_example.files.get().path == "line_items.csv"


def test_thumbs_up_passes_and_leaves_the_unreviewed_filter(page, browser_reviewer, queue_runs):
    run = queue_runs[1]
    login(page, "rita", "review-pass")
    page.goto("/queue/?chip=unreviewed")
    expect(page.locator("#queue-table")).to_contain_text(run.pk)
    page.get_by_role("link", name=run.pk).click()
    page.get_by_role("button", name="Pass", exact=False).first.click()
    # Thumbs up moves on to the next run in the queue.
    expect(page.get_by_role("heading", name=queue_runs[2].pk)).to_be_visible()
    assert Run.objects.get(pk=run.pk).chip == "passed"

    page.goto(f"/runs/{run.pk}/")
    expect(page.locator("#run-chip")).to_have_text("Passed")
    page.goto("/queue/?chip=unreviewed")
    expect(page.locator("#queue-table")).not_to_contain_text(run.pk)
    page.goto("/queue/?chip=passed")
    expect(page.locator("#queue-table")).to_contain_text(run.pk)


def test_queue_filters_update_in_place_and_keep_a_real_url(page, browser_reviewer, queue_runs):
    login(page, "rita", "review-pass")
    page.goto("/queue/")
    page.locator('[data-chip="open"]').click()
    expect(page).to_have_url(re.compile(r"chip=open"))
    expect(page.locator("#queue-results")).to_contain_text("No runs match")
    page.go_back()
    expect(page.locator("#queue-table")).to_contain_text(queue_runs[0].pk)


def test_invalid_correction_shows_an_inline_error_and_keeps_the_text(page, browser_reviewer, queue_runs):
    run = queue_runs[0]
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    page.locator('[data-path="/total"]').fill("twelve")
    page.locator("#save-btn").click()
    expect(page.locator("#op-error")).to_contain_text("Expected a number")
    expect(page.locator('[data-path="/total"]')).to_have_value("twelve")
    expect(page.locator('[data-path="/total"]')).to_be_focused()


def test_keyboard_shortcuts_overlay_and_pass(page, browser_reviewer, queue_runs):
    run = queue_runs[2]
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    screenshot(page, "04-shortcuts")
    page.keyboard.press("Escape")
    page.keyboard.press("p")
    # Polled from Python: wait_for_function evaluates a string, which the Content-Security-Policy
    # (no 'unsafe-eval') refuses in the page.
    for _ in range(100):
        if run.pk not in page.url or "Passed" in (page.locator("#run-chip").text_content() or ""):
            break
        page.wait_for_timeout(100)
    assert Run.objects.get(pk=run.pk).chip == "passed"
