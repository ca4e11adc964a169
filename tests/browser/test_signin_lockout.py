"""The sign-in page of a locked-out account, in Chromium at 1280x720 (screenshot): the reason,
how long, the user name kept, and the right password refused until an admin unlocks it."""

from django.core.management import call_command

from tests.browser.conftest import screenshot


def test_a_locked_out_sign_in_says_why_and_keeps_the_name(page, browser_reviewer, settings):
    settings.AXES_FAILURE_LIMIT = 3  # the default is 10; three keep the test short
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto("/accounts/login/")
    for attempt in range(3):
        page.get_by_label("Username").fill("rita")
        page.get_by_label("Password").fill(f"guess-{attempt}")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("review-pass")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Too many failed sign-ins" in alert.inner_text() and "15 minutes" in alert.inner_text()
    assert page.get_by_label("Username").input_value() == "rita"
    assert "/accounts/login/" in page.url
    screenshot(page, "signin-locked-out", full_page=False)
    call_command("axes_reset_username", "rita")
    page.get_by_label("Password").fill("review-pass")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
