"""An expected-file upload on a full disk, in Chromium at 1280x720 (screenshot): the pane comes
back with the message, the note and the name typed are still there, nothing is stored. The
disk is a real 1 MB tmpfs (tests/runs/test_files_full_disk.py's fixture: needs root)."""

from review.models import ExpectedFile
from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, make_run
from tests.runs.test_files_full_disk import BIG, full_disk  # noqa: F401 (the fixture)


def test_an_upload_on_a_full_disk_keeps_what_was_typed(page, browser_reviewer, full_disk):  # noqa: F811
    run = make_run(make_automation("workflows.extract-invoice", name="Extract invoice"))
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    page.locator("#id_body").fill("Totals are off by one cent")
    page.locator("#upload-form").evaluate("form => form.closest('details').open = true")
    page.locator("#id_upload_name").fill("corrected/totals.csv")
    page.locator("#id_file").set_input_files({"name": "totals.csv", "mimeType": "text/csv", "buffer": BIG})
    page.locator("#upload-form").get_by_role("button", name="Upload", exact=True).click()
    error = page.locator("#file-error")
    error.wait_for()
    assert "file store is full" in error.inner_text()
    assert page.locator("#id_body").input_value() == "Totals are off by one cent"
    assert page.locator("#id_upload_name").input_value() == "corrected/totals.csv"
    error.scroll_into_view_if_needed()
    screenshot(page, "expected-upload-disk-full", full_page=False)
    assert not ExpectedFile.objects.exists() and full_disk.files() == []
