"""Every page runs under the Content-Security-Policy with no violation: htmx and Loupe's own
script work without inline script or injected styles (docs/security.md)."""

import pytest
from playwright.sync_api import expect

from datasets.models import Example
from tests.browser.conftest import login
from tests.factories import make_automation, make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));"""


def test_main_pages_have_a_policy_and_no_violation(page, browser_reviewer, django_user_model):
    automation = make_automation("workflows.extract-invoice", name="Extract invoice")
    runs = [make_run(automation) for _ in range(3)]
    example = Example.objects.create(automation=automation, name="inv-1", input={"a": 1}, expected={"b": 2})
    django_user_model.objects.create_superuser("root", "root@example.com", "root-pass")
    console = []
    page.on("console", lambda message: console.append(message.text) if "Content Security Policy" in message.text else None)
    page.add_init_script(RECORD)
    login(page, "rita", "review-pass")
    pages = ["/queue/", f"/runs/{runs[0].pk}/", "/datasets/", f"/datasets/{automation.ref}/",
             f"/datasets/{automation.ref}/examples/{example.pk}/", "/backlog/", "/sampling/", "/api/v1/docs"]
    for url in pages:
        response = page.goto(url)
        assert response.status == 200, url
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert page.evaluate("window.__csp") == [], url
    # htmx swaps under the policy: a verdict re-renders the pane in place.
    page.goto(f"/runs/{runs[1].pk}/")
    page.get_by_role("button", name="Fail").click()
    expect(page.locator("#run-chip")).to_have_text("Open")
    page.keyboard.press("?")
    assert page.evaluate("window.__csp") == []
    # The admin too (Django's own pages).
    page.context.clear_cookies()
    login(page, "root", "root-pass")
    for url in ("/admin/", "/admin/review/auditevent/", "/admin/runs/run/"):
        response = page.goto(url)
        assert response.status == 200 and "content-security-policy" in response.headers
        assert page.evaluate("window.__csp") == [], url
    assert console == []
