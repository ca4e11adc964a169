"""User files never run script in Loupe's origin, and every page runs under its
Content-Security-Policy with no violation (docs/security.md)."""

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from datasets.models import Example, ExampleFile
from datasets.services import example_file_store
from review.models import ExpectedFile
from runs.files import INLINE_IMAGE_TYPES
from runs.models import RunFile
from runs.services import run_file_store
from tests.browser.conftest import login, screenshot
from tests.factories import make_automation, make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XML_XHTML = (b'<?xml version="1.0"?><root><x:script xmlns:x="http://www.w3.org/1999/xhtml">'
             b'alert("xml")</x:script></root>')
XHTML = (b'<html xmlns="http://www.w3.org/1999/xhtml"><body><script>alert("xhtml")</script></body></html>')
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert("svg")</script><circle r="5"/></svg>'
HTML = b'<html><body><img src=x onerror="alert(\'html\')"><script>alert("html")</script></body></html>'
# (name, declared content type, bytes): declared types as a client might send them, also lying ones.
HOSTILE = [
    ("report.xml", "application/xml", XML_XHTML),
    ("report2.xml", "text/xml", XML_XHTML),
    ("page.xhtml", "application/xhtml+xml", XHTML),
    ("chart.svg", "image/svg+xml", SVG),
    ("page.html", "text/html", HTML),
    ("looks-like.png", "text/html", HTML),
    ("notes.txt", "text/html", HTML),
    ("data.json", "text/html", HTML),
]


def _collect_dialogs(page):
    dialogs = []

    def on_dialog(dialog):
        dialogs.append((page.url, dialog.message))
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def test_no_hostile_file_runs_script_on_any_inline_url(page, browser_reviewer, tmp_path):
    automation = make_automation("workflows.extract-invoice", name="Extract invoice")
    run = make_run(automation)
    example = Example.objects.create(automation=automation, name="hostile", input={})
    for name, content_type, content in HOSTILE:
        run_file_store(run_id=run.pk, name=name, role="output", content=content, content_type=content_type)
        example_file_store(example=example, folder="input", path=name, content=content, content_type=content_type)
    dialogs = _collect_dialogs(page)
    login(page, "rita", "review-pass")

    # Expected files go through the review pane's upload form, as a reviewer would.
    page.goto(f"/runs/{run.pk}/")
    page.locator("#expected-files summary").click()  # the section starts closed while it holds no files
    for name, _, content in HOSTILE:
        path = tmp_path / name
        path.write_bytes(content)
        page.locator("#id_file").set_input_files(str(path))
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page.locator("#expected-files .files")).to_contain_text(name)
    screenshot(page, "hostile-files-pane")

    urls = [f"/runs/{run.pk}/files/{f.pk}/" for f in RunFile.objects.filter(run_id=run.pk)]
    urls += [f"/runs/{run.pk}/expected-files/{f.pk}/" for f in ExpectedFile.objects.filter(review__run_id=run.pk)]
    urls += [f"/datasets/{automation.ref}/examples/{example.pk}/files/{f.pk}/" for f in ExampleFile.objects.all()]
    assert len(urls) == 3 * len(HOSTILE)
    for url in urls:
        response = page.request.get(url + "?inline=1")
        assert response.status == 200, url
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in headers["content-security-policy"]
        disposition = headers["content-disposition"]
        content_type = headers["content-type"]
        # Shown inline only as plain text or a raster image (nosniff: a browser never renders it as
        # anything else); everything else is a download with a neutral type.
        assert (disposition.startswith("inline") and (content_type.startswith("text/plain")
                                                      or content_type in INLINE_IMAGE_TYPES)) or (
            disposition.startswith("attachment") and content_type == "application/octet-stream"), (url, headers)
        if disposition.startswith("inline"):
            page.goto(url + "?inline=1")
            page.wait_for_timeout(150)
        else:
            with page.expect_download() as download:
                try:
                    page.goto(url + "?inline=1")
                except PlaywrightError as error:  # navigating to a download is reported as an error
                    assert "Download is starting" in str(error)
            assert download.value.suggested_filename
    # The pages that embed previews render them without running anything either.
    page.goto(f"/runs/{run.pk}/")
    page.goto(f"/datasets/{automation.ref}/examples/{example.pk}/")
    page.wait_for_timeout(300)
    assert dialogs == []


def test_safe_types_still_preview_inline(page, browser_reviewer):
    automation = make_automation("workflows.extract-invoice")
    run = make_run(automation)
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
           b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
    image = run_file_store(run_id=run.pk, name="p.png", role="output", content=png, content_type="image/png")
    pdf = run_file_store(run_id=run.pk, name="d.pdf", role="output", content=b"%PDF-1.4\n%%EOF\n",
                         content_type="application/pdf")
    login(page, "rita", "review-pass")
    for stored, expected_type in ((image, "image/png"), (pdf, "application/pdf")):
        response = page.request.get(f"/runs/{run.pk}/files/{stored.pk}/?inline=1")
        assert response.headers["content-type"] == expected_type
        assert response.headers["content-disposition"].startswith("inline")


def test_svg_gets_no_preview_box_only_a_download(page, browser_reviewer):
    automation = make_automation("workflows.extract-invoice")
    run = make_run(automation)
    run_file_store(run_id=run.pk, name="chart.svg", role="output", content=SVG, content_type="image/svg+xml")
    login(page, "rita", "review-pass")
    page.goto(f"/runs/{run.pk}/")
    row = page.locator("li", has_text="chart.svg").first
    expect(row.get_by_role("link", name="Download")).to_be_visible()
    assert row.locator("details.preview").count() == 0
