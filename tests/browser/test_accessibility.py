"""Every page at 1440x900 and 1280x720: a screenshot (test-artifacts/screenshots/a11y-*) and
axe-core (the axe-playwright-python package's bundled axe.min.js, pinned in requirements-dev.txt)
reporting no serious or critical violation. Every rule axe runs by default, and one more:
label-content-name-mismatch (WCAG 2.5.3), which axe tags experimental and leaves off by default,
but which a reviewer's own axe run reports (a button's name must contain its visible text). No
rule is disabled. Axe details the violations only (resultTypes): every rule still runs and every
violating node is listed, but passing and inapplicable checks are not collected node by node
(the test took 26 s a size without it, 19 s with it)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group

from datasets.services import example_promote
from demo.files import pdf_document
from review.services import review_update
from runs.services import run_file_store
from tests.browser.conftest import login, screenshot
from tests.factories import INVOICE_OUTPUT, make_automation, make_run, make_runs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = [(1440, 900), (1280, 720)]
AXE_OPTIONS = {"rules": {"label-content-name-mismatch": {"enabled": True}}, "resultTypes": ["violations"]}
STEPS = [{"name": "ocr", "type": "tool", "status": "completed", "output": {"pages": 1}},
         {"name": "extract fields", "type": "llm", "status": "failed", "error": "Timeout after 30 s\nretries: 2"},
         {"name": "validate", "type": "code", "status": "skipped"}]


@pytest.fixture
def site(browser_reviewer):
    browser_reviewer.groups.add(Group.objects.get_or_create(name="ops")[0], Group.objects.get_or_create(name="lead")[0])
    automation = make_automation("workflows.extract-invoice", name="Extract invoice")
    runs = make_runs(6, automation)
    corrected = {**INVOICE_OUTPUT, "total": 1300.0, "notes": "Paid by card\nreference 42"}
    review_update(run=runs[0], changes={"rating": "fail", "status": "open", "expected": corrected,
                                        "body": "Total misses shipping.\nSecond line."}, user=browser_reviewer)
    run_file_store(run_id=runs[0].pk, name="input/invoices/2026/a-very-long-supplier-invoice-file-name-INV-2026-0042.pdf",
                   role="input", content=pdf_document([("F2", 16, "Acme Supplies GmbH"), ("F1", 11, "Total 1,234.50 EUR")],
                                                      title="Invoice"), content_type="application/pdf")
    example = example_promote(run=runs[0], name="total-miss", user=browser_reviewer)
    failed = make_run(automation, status="failed", output=None, error="OCR crashed on page 2", steps=STEPS)
    email = make_run(make_automation("agents.triage-email", name="Triage e-mail"), output={"intent": "refund"})
    run_file_store(run_id=email.pk, name="thread.eml", role="input", content_type="message/rfc822",
                   content=b"From: Ana <ana@example.com>\r\nTo: support@example.com\r\nSubject: Refund please\r\n\r\n"
                           b"Hello,\r\nI was charged twice.\r\n")
    make_run(make_automation("workflows.brand-new", name="Brand new", rate_bp=0))
    return {"automation": automation, "run": runs[0], "failed": failed, "email": email, "example": example}


# One test per window size, so that the parallel suite runs the two sizes side by side.
@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_page_has_no_serious_accessibility_violation(page, site, width, height):
    a = site["automation"]
    pages = [
        ("queue", "/queue/"),
        ("queue-filtered", f"/queue/?automation={a.ref}&chip=all&status=completed"),
        ("run-corrected", f"/runs/{site['run'].pk}/"),
        ("run-failed-steps", f"/runs/{site['failed'].pk}/"),
        ("run-email", f"/runs/{site['email'].pk}/"),
        ("datasets", "/datasets/"),
        ("dataset", f"/datasets/{a.ref}/"),
        ("example", f"/datasets/{a.ref}/examples/{site['example'].pk}/"),
        ("example-edit", f"/datasets/{a.ref}/examples/{site['example'].pk}/edit/"),
        ("backlog", "/backlog/"),
        ("sampling", "/sampling/"),
        ("api-docs", "/api/v1/docs"),
        ("not-found", "/runs/no-such-run/"),
    ]
    axe = Axe()
    found = {}
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/accounts/login/")
    screenshot(page, f"a11y-login-{width}", full_page=False)
    found[f"login-{width}"] = _serious(axe.run(page, options=AXE_OPTIONS))
    login(page, "rita", "review-pass")
    for name, url in pages:
        page.goto(url)
        page.wait_for_load_state("load")
        screenshot(page, f"a11y-{name}-{width}", full_page=False)
        found[f"{name}-{width}"] = _serious(axe.run(page, options=AXE_OPTIONS))
    page.goto(f"/runs/{site['run'].pk}/")
    page.keyboard.press("?")
    screenshot(page, f"a11y-shortcuts-{width}", full_page=False)
    found[f"shortcuts-{width}"] = _serious(axe.run(page, options=AXE_OPTIONS))
    page.keyboard.press("Escape")
    report = "\n".join(f"{where}: {issue}" for where, issues in found.items() for issue in issues)
    assert not report, report


def _serious(results) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['help']}" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]
