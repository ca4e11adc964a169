"""The Waiting inbox and the task page of a proxy-mode Loupe (its own process and database) over
the upstream's /v1/human-reviews: the upstream is pytest-django's live server serving only the
reviews generation. Inbox, task page with the source PDF, confirm by keyboard, an upstream 409
that keeps the input, approve; screenshots 45-47 at 1280x720."""

import sqlite3

import pytest
from playwright.sync_api import expect

from humanreview.models import Task
from humanreview.services import task_confirm_field
from runs.models import Run
from tests.browser.conftest import login, screenshot
from tests.browser.test_human_review import _paused_with_pdf
from tests.browser.test_proxy_flow import proxy_loupe  # noqa: F401 (the fixture)
from tests.factories import make_automation

pytestmark = [pytest.mark.browser, pytest.mark.proxy, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("proxy_loupe", ["reviews"], indirect=True)
def test_proxy_inbox_task_confirm_and_approve(browser, proxy_loupe, transactional_db, django_user_model):  # noqa: F811
    url, db, _ = proxy_loupe
    automation = make_automation(name="Invoice extraction")
    tasks = [_paused_with_pdf(automation, n) for n in range(3)]
    oldest = tasks[0]
    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        login(page, "pia", "proxy-pass")
        page.goto("/waiting/")
        expect(page.locator("#proxy-note")).to_be_visible()
        expect(page.locator("#nav-waiting .nav-count")).to_have_text("3")
        expect(page.locator("#waiting-list tbody tr")).to_have_count(3)
        screenshot(page, "45-human-review-proxy-inbox-1280", full_page=False)

        page.locator("#waiting-list tbody tr").first.get_by_role("link").first.click()
        page.wait_for_url(f"**/waiting/{oldest.pk}/")
        expect(page.locator(".wb-source img.wb-page")).to_be_visible()  # the run's PDF, read through the upstream
        expect(page.locator("#hr-remaining")).to_have_text("2 required fields left to confirm")
        iban = page.locator('.hr-field[data-path="/vendor/iban"] input[name="value"]')
        expect(iban).to_be_focused()
        screenshot(page, "46-human-review-proxy-task-1280", full_page=False)
        page.keyboard.press("Enter")
        total = page.locator('.hr-field[data-path="/total"] input[name="value"]')
        expect(total).to_be_focused()
        # Someone confirms a field upstream meanwhile: the upstream's 409 keeps what was typed.
        task_confirm_field(task_id=oldest.pk, user=django_user_model.objects.get(username="loupe-proxy"),
                           path="/currency", value="CHF", expected_version=2)
        total.fill("1243.50")
        page.keyboard.press("Enter")
        expect(page.locator("#hr-conflict")).to_contain_text("CHF")
        expect(total).to_have_value("1243.50")
        screenshot(page, "47-human-review-proxy-conflict-1280", full_page=False)
        total.press("Enter")
        expect(page.locator("#hr-remaining")).to_have_text("every required field confirmed")
        expect(page.locator("#hr-approve")).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url("**/waiting/?decided=*")
        expect(page.locator("#waiting-list tbody tr")).to_have_count(2)
    finally:
        context.close()
    task = Task.objects.get(pk=oldest.pk)
    assert (task.status, task.draft_data["total"]) == ("approved", 1243.5)
    assert Run.objects.get(pk=oldest.run_id).status == "running"
    # The upstream recorded Loupe's key user; the proxy's own audit names the person.
    with sqlite3.connect(db) as proxy_db:
        actions = proxy_db.execute("SELECT a.action, u.username FROM review_auditevent a JOIN auth_user u "
                                   "ON u.id = a.user_id WHERE a.run_id = ? ORDER BY a.id", [oldest.run_id]).fetchall()
    assert actions == [("human_review.confirm", "pia")] * 2 + [("human_review.approve", "pia")]
