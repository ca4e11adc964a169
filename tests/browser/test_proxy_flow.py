"""A second Loupe, in proxy mode, driven through the browser: its own process and database
(users, sampling mirrors, audit), reading and writing runs through the HTTP API of the Loupe
that pytest-django's live server runs over the test database."""

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from datasets.models import Example
from review.models import Review
from tests.browser.conftest import screenshot
from tests.factories import make_automation, make_run
from tests.proxy import service_key

pytestmark = [pytest.mark.browser, pytest.mark.proxy, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["feedback", "reviews"])
def proxy_loupe(request, browser, live_server, tmp_path, settings, migrated_sqlite):
    """`manage.py runserver` of a proxy-mode Loupe on its own SQLite file; yields (url, db path).
    feedback: the proxy is told the generation; reviews: the upstream serves only the reviews
    generation (its feedback routes switched off) and the proxy finds that out by its probe."""
    if request.param == "reviews":
        settings.LOUPE_API_GENERATIONS = ["reviews"]  # the live server runs in this process
    db = tmp_path / "proxy.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOUPE_VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{db}", "LOUPE_BACKEND": "backends.eigenpal.EigenpalBackend",
           "EIGENPAL_BASE_URL": live_server.url, "EIGENPAL_API_KEY": service_key(),
           "EIGENPAL_API_GENERATION": "feedback" if request.param == "feedback" else "auto",
           "EIGENPAL_RETRY_BACKOFF": "0"}
    env.pop("DATABASE_TEST_NAME", None)

    def manage(*args):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)

    migrated_sqlite(db)
    manage("shell", "-c", "from django.contrib.auth.models import Group, User; "
                          "u = User.objects.create_user('pia', password='proxy-pass'); "
                          "u.groups.add(Group.objects.get(name='reviewer'))")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/accounts/login/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, db, request.param
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_proxy_loupe_reviews_corrects_and_promotes_through_the_api(browser, proxy_loupe, transactional_db):
    url, db, generation = proxy_loupe
    automation = make_automation("workflows.extract-invoice", name="Extract invoice")
    run = make_run(automation)
    context = browser.new_context(viewport={"width": 1400, "height": 950}, base_url=url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("pia")
        page.get_by_label("Password").fill("proxy-pass")
        page.get_by_role("button", name="Sign in").click()
        # All runs: the proxy samples with its own rate history (a fresh mirror starts at 15 %),
        # and whether this run's id falls under that depends on the ids handed out so far.
        page.goto("/queue/?automation=workflows.extract-invoice&scope=all")
        expect(page.locator("#queue-table")).to_contain_text(run.pk)
        expect(page.locator(f'tr[data-run="{run.pk}"] .chip')).to_have_text("Unreviewed")
        screenshot(page, f"10-proxy-queue-{generation}")

        page.get_by_role("link", name=run.pk).click()
        expect(page.get_by_role("heading", name=run.pk)).to_be_visible()
        page.get_by_label("Note").fill("Toner amount is wrong")
        page.get_by_role("button", name="Fail").click()
        expect(page.locator("#run-chip")).to_have_text("Open")

        page.locator('[data-path="/line_items/1/amount"]').fill("187.5")
        page.locator("#save-btn").click()
        expect(page.locator('[data-path="/line_items/1/amount"]')).to_have_value("187.5")
        expect(page.locator("#corrections")).to_contain_text("/line_items/1/amount")

        page.get_by_label("Example name").fill("proxy-toner-miss")
        page.get_by_role("button", name="Promote").click()
        expect(page.locator("#promoted-badge")).to_contain_text("proxy-toner-miss")
        expect(page.locator("#audit")).to_contain_text("pia")
        screenshot(page, f"11-proxy-run-promoted-{generation}")

        # The backlog: the upstream's review health (reviews), or a note that there is none.
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto("/backlog/")
        if generation == "reviews":
            expect(page.locator(f'#backlog-health tr[data-ref="{automation.ref}"] td').nth(0)).to_have_text("1")
            expect(page.locator("#proxy-note")).to_contain_text("review health")
        else:
            expect(page.locator("#proxy-note")).to_contain_text("has no review health")
        screenshot(page, f"12-proxy-backlog-{generation}")
    finally:
        context.close()

    review = Review.objects.get(run_id=run.pk)  # upstream: what the API stored
    assert (review.rating, review.status, review.body) == ("fail", "open", "Toner amount is wrong")
    assert Example.objects.get(name="proxy-toner-miss").expected["line_items"][1]["amount"] == 187.5
    with sqlite3.connect(db) as proxy_db:  # the proxy's own database: no runs, reviews or examples
        counts = {table: proxy_db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                  for table in ("runs_run", "review_review", "datasets_example", "review_auditevent")}
    assert counts == {"runs_run": 0, "review_review": 0, "datasets_example": 0, "review_auditevent": 3}
