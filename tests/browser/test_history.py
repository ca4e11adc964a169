"""The pane's history: the latest changes, and the whole history on demand (web/panes.py)."""

import pytest
from playwright.sync_api import expect

from review.services import review_update
from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, make_run
from web.panes import HISTORY_SHOWN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_whole_history_opens_in_place_and_as_a_page(page, browser_reviewer):
    run = make_run(make_automation("workflows.extract-invoice", name="Extract invoice"))
    for n in range(HISTORY_SHOWN + 4):
        review_update(run=run, changes={"body": f"note number {n}"}, user=browser_reviewer, action="note")
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    items = page.locator("#audit-list > li")
    expect(items).to_have_count(HISTORY_SHOWN)
    page.locator("#history-all").click()
    expect(items).to_have_count(HISTORY_SHOWN + 4)
    expect(page.locator("#history-all")).to_have_count(0)
    page.locator("#audit-list > li").last.scroll_into_view_if_needed()
    screenshot(page, "history-expanded-1280", full_page=False)
    page.goto(f"/runs/{run.pk}/history/")  # without JavaScript the link is a page of its own
    expect(page.locator("#audit-list > li")).to_have_count(HISTORY_SHOWN + 4)
    expect(page.get_by_role("link", name="Back to the run")).to_be_visible()
    screenshot(page, "history-page-1280", full_page=False)
