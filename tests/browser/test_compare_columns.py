"""Browser: the comparison shows each version as a column at 1280x720; with many versions the
table scrolls sideways inside its box while the row labels stay in view."""

from datetime import timedelta

from django.utils import timezone

from datasets.services import example_promote
from review.services import review_update
from tests.browser.conftest import login, screenshot
from tests.factories import INVOICE_OUTPUT, make_automation, make_run

FIXED = {**INVOICE_OUTPUT, "total": 223.0}


def test_versions_side_by_side_scroll_with_sticky_labels(page, browser_reviewer):
    page.set_viewport_size({"width": 1280, "height": 720})
    automation = make_automation()
    run = make_run(automation)
    review_update(run=run, changes={"rating": "fail", "status": "open", "expected": FIXED}, user=browser_reviewer)
    example = example_promote(run=run, name="total-miss", user=browser_reviewer)
    start = timezone.now() - timedelta(days=6)
    for day, version in enumerate(["v1", "v2", "v3", "v4", "v5"]):
        output = FIXED if version in ("v2", "v5") else INVOICE_OUTPUT
        make_run(automation, exampleId=str(example.pk), version=version, output=output,
                 createdAt=(start + timedelta(days=day)).isoformat())
    login(page, "rita", "review-pass")
    page.goto(f"/datasets/{automation.ref}/examples/{example.pk}/compare/")
    headers = page.locator(".compare-table thead th").all_inner_texts()
    assert [h.split()[1] for h in headers[3:]] == ["v1", "v2", "v3", "v4", "v5"]
    verdicts = page.locator('[data-testid="version-verdict"]').all_inner_texts()
    assert verdicts == ["failed", "passed", "failed", "failed", "passed"]
    box = page.locator(".compare-scroll")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")  # more columns than fit
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # the page itself does not scroll sideways
    label = page.locator("tbody .compare-label", has_text="Output")
    before = label.bounding_box()["x"]
    screenshot(page, "compare-columns-1280")
    box.evaluate("el => el.scrollLeft = el.scrollWidth")
    page.wait_for_timeout(100)
    assert abs(label.bounding_box()["x"] - before) < 1  # the row label stays put
    assert page.locator('thead th[data-version="v5"]').is_visible()
    screenshot(page, "compare-columns-1280-scrolled")
