"""Browser: the review pane fills its evaluator scores block after loading (htmx)."""

from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, make_run


def test_pane_shows_the_evaluator_scores(page, browser_reviewer):
    page.set_viewport_size({"width": 1280, "height": 720})
    run = make_run(make_automation(), scores=[{"name": "judge", "passed": False, "source": "llm"},
                                              {"name": "f1", "value": 0.925, "source": "metric"}])
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    scores = page.locator('#run-scores [data-testid="scores"]')
    assert "judge" in scores.text_content() and "0.925" in scores.text_content()
    assert scores.locator(".chip-failed").count() == 1
    page.locator("#run-scores").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot(page, "run-scores-1280").with_name("run-scores-1280-view.png")))
