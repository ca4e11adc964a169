"""Proxy mode in the browser: the dataset review pages of a Loupe whose backend is the EigenPal
API of the same live server (the reviews generation only). A reviewer opens the inbox, a request
and an item, saves an edit, then meets an upstream failure that keeps what was typed.
Screenshots at 1280x720: dsreview-proxy-item.png, dsreview-proxy-fault.png."""

import pytest
from django.contrib.auth.models import Group, User

import backends
from backends.eigenpal import EigenpalBackend
from datasets.models import ExampleFolder
from datasets.services import example_file_store
from demo.files import pdf_document
from dsreview.services import review_create
from tests.browser.conftest import SCREENSHOTS, login
from tests.browser.test_dataset_reviews import small_page  # noqa: F401 (the 1280x720 page fixture)
from tests.dsreview.helpers import make_examples
from tests.factories import make_automation
from tests.proxy import Faults, install_backend, proxy_settings

pytestmark = [pytest.mark.browser, pytest.mark.proxy, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def proxied(live_server, settings, transactional_db):
    proxy_settings(settings, live_server.url, "reviews")
    faults = Faults("reviews")
    install_backend(EigenpalBackend(transport=faults, sleep=lambda seconds: None))
    yield faults
    backends.reset_backend()


def test_a_reviewer_works_an_item_over_the_upstream(small_page, proxied):  # noqa: F811 (the fixture)
    page = small_page
    lead = User.objects.create_user("leo", password="pw-leo")
    lead.groups.add(Group.objects.get_or_create(name="lead")[0])
    rita = User.objects.create_user("rita", password="pw-rita")
    rita.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    automation = make_automation()
    for example in make_examples(automation, 2):  # a real PDF: its pages render through the upstream
        example_file_store(example=example, folder=ExampleFolder.INPUT, path="invoice.pdf", content_type="application/pdf",
                           content=pdf_document([("F2", 18, "INVOICE 2024-0042"), ("F1", 11, "IBAN DE89 3704")],
                                                title="Invoice"))
    review = review_create(automation=automation, user=lead, title="Recheck over the API", status="open",
                           example_names=["ex-0", "ex-1"], focus_fields=[{"path": "vendor.iban", "reason": "moved"}])
    item = review.items.get(example_name="ex-0")
    login(page, "rita", "pw-rita")
    page.goto("/dataset-reviews/")
    page.get_by_role("link", name="Recheck over the API").click()
    page.locator("#dsr-items").get_by_role("link", name="ex-0").click()
    page.wait_for_selector("#dsr-fields")
    assert f"/dataset-reviews/{automation.pk}~{review.pk}/items/{item.pk}/" in page.url
    page.wait_for_function("() => { const i = document.querySelector('img.wb-page'); "
                           "return i && i.complete && i.naturalWidth > 0; }")
    page.locator('#pane-editor [name="v:/vendor/iban"]').fill("DE00 2222")
    page.screenshot(path=str(SCREENSHOTS / "dsreview-proxy-item.png"))
    page.get_by_role("button", name="Save edits").click()
    page.wait_for_url(f"**/items/{review.items.get(example_name='ex-1').pk}/")
    item.refresh_from_db()
    assert item.current_expected["vendor"]["iban"] == "DE00 2222"

    proxied.fail("PATCH", "/items/", 503, always=True)
    page.locator('#pane-editor [name="v:/total"]').fill("777")
    page.locator("#dsr-comment").fill("Total from page 2")
    page.get_by_role("button", name="Save edits").click()
    page.wait_for_selector("text=The EigenPal API failed (HTTP 503)")
    assert page.locator('#pane-editor [name="v:/total"]').input_value() == "777"
    assert page.locator("#dsr-comment").input_value() == "Total from page 2"
    page.screenshot(path=str(SCREENSHOTS / "dsreview-proxy-fault.png"))
    assert review.items.get(example_name="ex-1").status == "pending"
