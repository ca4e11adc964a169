"""Hostile documents in the review pane, as a reviewer sees them (docs/security.md#documents):
a PDF render bomb is a "could not render" page image, a CSV too large to parse says "preview
unavailable — download", and the pane works around them. Screenshot at 1280x720."""

import pytest
from playwright.sync_api import expect

from runs.services import run_file_store
from tests import hostile
from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_render_and_preview_bombs_show_placeholders(page, browser_reviewer, settings):
    settings.LOUPE_PDF_RENDER_SECONDS = 2.0
    run = make_run(make_automation("workflows.extract-invoice", name="Extract invoice"))
    run_file_store(run_id=run.pk, name="invoice.pdf", role="input", content=hostile.nested_forms_pdf(),
                   content_type="application/pdf")
    run_file_store(run_id=run.pk, name="lines.csv", role="input", content=hostile.csv_big_cell(),
                   content_type="text/csv")
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    image = page.get_by_alt_text("invoice.pdf, page 1 of 1")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=15_000)
    assert image.evaluate("img => img.naturalWidth") == 800  # the placeholder, not a 1000-pixel page
    expect(page.get_by_text("Preview unavailable — download the file to read it")).to_be_visible()
    expect(page.locator("#save-btn")).to_be_visible()
    screenshot(page, "hostile-documents-pane", full_page=False)
