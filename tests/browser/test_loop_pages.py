"""Browser: closing the loop and the evaluator pages, driven in Chromium (htmx swaps included)."""

from django.contrib.auth.models import Group

from datasets.services import example_promote
from review.services import review_update
from tests.browser.conftest import login, screenshot
from tests.factories import INVOICE_OUTPUT, make_automation, make_run

FIXED = {**INVOICE_OUTPUT, "total": 223.0}


def test_compare_rerun_refusal_and_assertion_form(page, browser_reviewer):
    automation = make_automation()
    run = make_run(automation)
    review_update(run=run, changes={"rating": "fail", "status": "open", "expected": FIXED}, user=browser_reviewer)
    example = example_promote(run=run, name="total-miss", user=browser_reviewer)
    make_run(automation, exampleId=str(example.pk), version="v4", output=FIXED)
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    page.locator("#compare-link").click()
    page.locator("#rerun").click()  # htmx POST: the fragment comes back with the refusal
    assert "does not execute them" in page.locator("#rerun-refused").inner_text()
    assert page.locator('[data-version="v4"] [data-testid="version-verdict"]').inner_text() == "passed"
    screenshot(page, "loop-compare")
    page.goto(f"/datasets/{automation.ref}/examples/{example.pk}/assertions/")
    page.locator("#new-kind").select_option("matches_regex")
    page.get_by_role("button", name="Add").click()
    page.get_by_label("Path").fill("invoice_number")
    page.get_by_label("Regular expression").fill("(INV")
    page.get_by_role("button", name="Save assertion").click()
    assert page.get_by_label("Regular expression").input_value() == "(INV"
    page.get_by_label("Regular expression").fill("^INV-")
    page.get_by_role("button", name="Save assertion").click()
    assert "invoice_number" in page.locator("#assertion-list").inner_text()


def test_evaluators_page_links_to_the_disagreements(page, browser_reviewer):
    browser_reviewer.groups.add(Group.objects.get_or_create(name="lead")[0])
    automation = make_automation()
    for passed, human in [(True, "pass"), (True, "fail"), (False, "fail"), (False, "pass"), (True, "pass")]:
        run = make_run(automation, scores=[{"name": "judge", "passed": passed}])
        review_update(run=run, changes={"rating": human}, user=browser_reviewer)
    login(page, "rita", "review-pass")
    page.goto("/evaluators/")
    screenshot(page, "evaluators")
    page.get_by_role("link", name="1").first.click()
    assert page.locator("#id_disagreement").input_value() in ("evaluator_failed_human_passed",
                                                              "evaluator_passed_human_failed")
