"""A lead sends examples for review from the dataset page; a reviewer works an item with the
keyboard; a write that crossed another shows what changed and keeps what was typed. Screenshots
at 1280x720 in test-artifacts/screenshots/ (dsreview-*.png)."""

import pytest
from django.contrib.auth.models import Group, User

from datasets.models import ExampleCheck, ExampleFolder
from datasets.services import example_file_store
from demo.files import pdf_document
from dsreview.models import DatasetReview
from dsreview.services import item_update
from tests.browser.conftest import SCREENSHOTS, login
from tests.dsreview.helpers import make_examples
from tests.factories import make_automation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def small_page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.goto("about:blank")
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def dataset(transactional_db):
    automation = make_automation()
    examples = make_examples(automation, 4)
    for example in examples:
        pdf = pdf_document([("F2", 18, "INVOICE 2024-0042"), ("F1", 11, "ACME GmbH"),
                            ("F1", 11, "IBAN DE89 3704 0044 0532 0130 00"), ("F1", 11, f"Total EUR {100 + int(example.name[-1])}.00")],
                           title="Invoice")
        example_file_store(example=example, folder=ExampleFolder.INPUT, path="invoice.pdf", content=pdf,
                           content_type="application/pdf")
    ExampleCheck.objects.create(example=examples[3], run_id="r-9", verdict="failed")
    return automation


def _user(name: str, role: str) -> User:
    user = User.objects.create_user(name, password="pw-" + name, email=f"{name}@example.com")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def test_send_review_and_decide_by_keyboard(small_page, dataset):
    page = small_page
    _user("leo", "lead")
    login(page, "leo", "pw-leo")
    page.goto(f"/datasets/{dataset.ref}/")
    page.get_by_role("link", name="Send for review").click()
    page.get_by_label("Title").fill("Recheck bank details")
    page.get_by_label("Instructions").fill("Customers moved banks in May; compare the IBAN with the PDF.")
    page.get_by_label("Focus fields").fill("vendor.iban: new format since May")
    page.get_by_label("Ignored fields").fill("lines")
    page.get_by_label("Notes per example").fill("ex-0: the customer wrote about this one")
    page.get_by_role("checkbox", name="ex-0").check()
    page.get_by_role("checkbox", name="ex-1").check()
    page.get_by_label("Every example whose last check failed").check()
    page.screenshot(path=str(SCREENSHOTS / "dsreview-new.png"))
    page.get_by_role("button", name="Send for review").click()
    page.wait_for_url("**/dataset-reviews/*/")
    review = DatasetReview.objects.get()
    assert review.example_names == ["ex-0", "ex-1", "ex-3"]
    assert "3 of 3 left" in page.locator("#dsr-progress").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "dsreview-request.png"))

    page.get_by_role("link", name="Dataset reviews").first.click()
    page.wait_for_selector("#dsreview-inbox")
    page.screenshot(path=str(SCREENSHOTS / "dsreview-inbox.png"))

    page.goto(f"/dataset-reviews/{review.pk}/")
    page.locator("#dsr-items").get_by_role("link", name="ex-0").click()
    page.wait_for_selector("#dsr-fields")
    assert page.locator('#pane-editor [data-path="/vendor/iban"]').evaluate("e => e.classList.contains('dsr-focus')")
    assert page.locator("img.wb-page").count() == 1  # the input PDF rendered as in the run pane
    page.wait_for_function("() => { const i = document.querySelector('img.wb-page'); "
                           "return i.complete && i.naturalWidth > 0; }")
    page.screenshot(path=str(SCREENSHOTS / "dsreview-item.png"))

    # j moves through the field rows; a approves the focused one.
    rows = page.locator("#dsr-fields .dsr-field")
    target = [rows.nth(i).get_attribute("data-path") for i in range(rows.count())].index("/vendor/iban")
    rows.first.focus()
    for _ in range(target):
        page.keyboard.press("j")
    assert page.evaluate("document.activeElement.dataset.path") == "/vendor/iban"
    page.keyboard.press("a")
    page.wait_for_selector('#dsr-fields li[data-path="/vendor/iban"] .dsr-d-approved')
    item = review.items.get(example_name="ex-0")
    assert item.field_decisions["vendor.iban"]["decision"] == "approved"
    assert page.evaluate("document.activeElement.dataset.path") == "/vendor/iban"  # the focus stays on the row
    page.keyboard.press("Shift+A")  # approve the whole example: on to the next pending one
    page.wait_for_url(f"**/items/{review.items.get(example_name='ex-1').pk}/")
    assert review.items.get(example_name="ex-0").status == "approved"


def test_a_crossed_write_shows_what_changed_and_keeps_the_typing(small_page, dataset):
    from dsreview.services import review_create

    page = small_page
    lead = _user("leo", "lead")
    _user("rita", "reviewer")
    review = review_create(automation=dataset, user=lead, title="Recheck", status="open", example_names=["ex-0"],
                           focus_fields=[{"path": "vendor.iban"}])
    item = review.items.get()
    login(page, "rita", "pw-rita")
    page.goto(f"/dataset-reviews/{review.pk}/items/{item.pk}/")
    page.locator('#pane-editor [name="v:/vendor/iban"]').fill("DE00 1234")
    page.locator("#dsr-comment").fill("Checked against page 1")
    item_update(review=review, item_id=item.pk, user=lead, action="edit", expected_updated_at=item.updated_at.isoformat(),
                expected={**item.current_expected, "total": 555})
    page.get_by_role("button", name="Save edits").click()
    page.wait_for_selector("#dsr-conflict")
    assert page.locator('#pane-editor [name="v:/vendor/iban"]').input_value() == "DE00 1234"
    assert page.locator("#dsr-comment").input_value() == "Checked against page 1"
    assert "total" in page.locator("#dsr-conflict").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "dsreview-conflict.png"))
    page.get_by_role("button", name="Save edits").click()  # sent again, now on the current version
    page.wait_for_selector("#dsr-item-status")
    item.refresh_from_db()
    assert item.current_expected["vendor"]["iban"] == "DE00 1234" and item.current_expected["total"] == 555


def test_a_corrected_file_survives_a_crossed_write(small_page, dataset):
    """The reviewer picks a corrected CSV and types a comment; the lead writes first: the page
    shows the conflict, keeps the comment and the file (staged), and the second click saves it."""
    from dsreview.services import review_create

    page = small_page
    lead = _user("leo", "lead")
    _user("rita", "reviewer")
    review = review_create(automation=dataset, user=lead, title="Recheck files", status="open",
                           example_names=["ex-0"])
    item = review.items.get()
    login(page, "rita", "pw-rita")
    page.goto(f"/dataset-reviews/{review.pk}/items/{item.pk}/")
    page.locator("#dsr-upload summary").click()
    page.locator("#dsr-upload-file").set_input_files(
        files=[{"name": "result.csv", "mimeType": "text/csv", "buffer": b"a,b\n3,4\n"}])
    page.get_by_label("Replaces").select_option("result.csv")
    page.locator("#dsr-comment").fill("Row 2 was wrong in the source")
    item_update(review=review, item_id=item.pk, user=lead, action="comment", comment="Look at row 2",
                expected_updated_at=item.updated_at.isoformat())
    page.get_by_role("button", name="Upload the file").click()
    page.wait_for_selector("#dsr-conflict")
    assert page.locator("#dsr-comment").input_value() == "Row 2 was wrong in the source"
    assert "result.csv" in page.locator("#dsr-staged").inner_text()
    page.locator("#dsr-upload").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "dsreview-upload-staged.png"))
    page.get_by_role("button", name="Upload the file").click()  # the staged file, on the current version
    page.wait_for_selector("#dsr-files .badge:text('corrected')")
    item.refresh_from_db()
    assert item.status == "edited" and item.current_files[0]["origin"] == "corrected"
    page.screenshot(path=str(SCREENSHOTS / "dsreview-upload-saved.png"))
