"""Browser: a save from the run pane is one request. The steps and evaluator scores the pane
loaded after it opened stay in place across the swap (hx-preserve), not fetched again
(docs/workbench.md#steps)."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEPS = [{"name": "ocr", "type": "tool", "status": "completed", "output": {"pages": 1}},
         {"name": "extract fields", "type": "llm", "status": "completed", "output": {"total": 1}}]


def test_a_save_is_one_request_and_keeps_the_loaded_steps_and_scores(page, browser_reviewer):
    run = make_run(make_automation("workflows.extract-invoice"), steps=STEPS,
                   scores=[{"name": "judge", "passed": False, "source": "llm"}])
    login(page, "rita", "review-pass")
    sent: list[tuple[str, str]] = []
    page.on("request", lambda request: sent.append((request.method, urlparse(request.url).path)))
    pane = f"/runs/{run.pk}/"

    page.goto(pane)
    expect(page.locator('#run-scores [data-testid="scores"]')).to_contain_text("judge")
    expect(page.locator("#steps")).to_contain_text("extract fields")
    page.wait_for_load_state("networkidle")
    opened = [r for r in sent if r[1].startswith(pane)]
    assert opened == [("GET", pane), ("GET", pane + "steps/"), ("GET", pane + "scores/")] or \
        opened == [("GET", pane), ("GET", pane + "scores/"), ("GET", pane + "steps/")], opened
    # Mark the loaded nodes: a swap that re-created them would lose the mark.
    page.evaluate("for (const id of ['run-steps', 'run-scores']) document.getElementById(id).dataset.kept = 'yes'")

    for save in (lambda: page.get_by_role("button", name="Fail").click(),
                 lambda: (page.locator('[data-path="/total"]').fill("99"), page.locator("#save-btn").click())):
        sent.clear()
        save()
        expect(page.locator("#run-chip")).to_have_text("Open")
        page.wait_for_load_state("networkidle")
        assert [r for r in sent if r[1].startswith(pane)] == [("POST", pane + "save/")], sent
        assert page.locator("#run-steps").get_attribute("data-kept") == "yes"
        assert page.locator("#run-scores").get_attribute("data-kept") == "yes"
    expect(page.locator("#corrections")).to_contain_text("/total")
    expect(page.locator('#run-scores [data-testid="scores"]')).to_contain_text("judge")
    expect(page.locator("#steps")).to_contain_text("extract fields")
    screenshot(page, "run-pane-after-two-saves")


def test_sections_the_reviewer_opened_stay_open_across_a_save(page, browser_reviewer):
    """Expected files and the raw editor render closed on a run without files or errors; a
    reviewer who opened them and saved finds them still open in the swapped pane."""
    run = make_run(make_automation("workflows.extract-invoice"))
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    expected = page.locator("#expected-files > details")
    raw = page.locator("details.raw-editor")
    expect(expected).not_to_have_attribute("open", "")
    page.locator("#expected-files summary").click()
    page.get_by_text("Edit as raw JSON").click()
    page.evaluate("document.getElementById('pane-form').dataset.before = 'yes'")

    page.locator('[data-path="/total"]').fill("99")
    page.locator("#save-btn").click()
    expect(page.locator("#corrections")).to_contain_text("/total")
    assert page.locator("#pane-form").get_attribute("data-before") is None  # the pane was swapped
    expect(expected).to_have_attribute("open", "")
    expect(raw).to_have_attribute("open", "")
    expect(page.get_by_role("button", name="Upload", exact=True)).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 720})
    page.locator("#expected-files").scroll_into_view_if_needed()
    screenshot(page, "run-pane-sections-kept-open-1280", full_page=False)
