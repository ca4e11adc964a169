"""Browser tests: Playwright driving a real Chromium against pytest-django's live server.

Chromium comes from the OS (Debian's `chromium`); Playwright cannot download browsers here.
Where it is missing the tests are skipped with the reason, unless LOUPE_REQUIRE_BROWSER=1
(CI), where a missing browser is a failure.
"""

import os
import shutil
from pathlib import Path
from weakref import WeakKeyDictionary

import pytest
from django.contrib.auth.models import Group, User

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-dev-shm-usage", "--no-first-run"]


def _chromium_path() -> str | None:
    for candidate in (os.environ.get("LOUPE_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    path = _chromium_path()
    required = os.environ.get("LOUPE_REQUIRE_BROWSER") == "1"
    if not path:
        message = "Chromium not found (install Debian's chromium or set LOUPE_CHROMIUM)"
        if required:
            pytest.fail(message + "; LOUPE_REQUIRE_BROWSER=1")
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; Django's guard against ORM
    # calls from async contexts would otherwise refuse the test's own setup queries.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 950}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    _SESSIONS_SET_BY_COOKIE[page] = live_server.url
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    # Leave the app's page before the test's database goes away: where the page holds a claim,
    # its pagehide handler sends the release (a beacon the live server then writes), which must
    # not meet the flush. A page without a claim of its own sends nothing and is left at once.
    try:
        holds_claim = page.evaluate("!!document.querySelector('[data-claim-mine]')")
        page.goto("about:blank")
        if holds_claim:
            page.wait_for_timeout(250)
    except Exception:  # noqa: BLE001 (a page already closed or crashed has nothing left to send)
        pass
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def browser_reviewer(transactional_db) -> User:
    user = User.objects.create_user("rita", password="review-pass", email="rita@example.com")
    user.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    return user


# Pages of the `page` fixture, whose server (this process's live server) shares the test's database.
_SESSIONS_SET_BY_COOKIE: WeakKeyDictionary = WeakKeyDictionary()


def login(page, username: str, password: str) -> None:
    """Signs the page's browser in. A page of the `page` fixture gets the session a sign-in makes
    as its cookie, after the password is checked: the form's three page loads took 0.5 s a test
    (the form itself: login_by_form, test_tour, tests/browser/test_signin_lockout.py and the
    tests of accounts/). Any other page (a second reviewer's context, a proxy-mode server started
    as a subprocess with a database of its own) signs in through the form."""
    server = _SESSIONS_SET_BY_COOKIE.get(page)
    if server is None:
        login_by_form(page, username, password)
        return
    from django.conf import settings
    from django.test import Client

    user = User.objects.get(username=username)
    assert user.check_password(password), f"not the password of {username}"
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": server,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


def login_by_form(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def screenshot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
