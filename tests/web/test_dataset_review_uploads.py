"""The item page's corrected-file upload (web/dataset_review_items.item_upload): the same rules
as the API's edit-file, through the same service; a stale item, a refused path or a full disk
keeps everything typed, and the file itself stays staged so it is not chosen again."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dsreview import staging
from dsreview.models import DatasetReviewEvent
from dsreview.services import item_update, review_create
from tests.dsreview.helpers import make_examples
from tests.runs.test_files_full_disk import BIG, full_disk  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(automation, lead):
    make_examples(automation, 2)
    return review_create(automation=automation, user=lead, title="Files", status="open",
                         example_names=["ex-0", "ex-1"])


@pytest.fixture
def page(client, reviewer, review):
    client.force_login(reviewer)
    item = review.items.get(example_name="ex-0")
    return client, item, f"/dataset-reviews/{review.pk}/items/{item.pk}/"


def _stamp(html: str) -> str:
    return re.search(r'name="expected_updated_at" value="([^"]+)"', html).group(1)


def _token(html: str) -> str:
    return re.search(r'name="staged" value="([^"]+)"', html).group(1)


def test_the_page_offers_the_upload_inside_its_one_form(page):
    client, item, url = page
    html = client.get(url).content.decode()
    assert 'formaction="' + url + 'upload/"' in html and 'formenctype="multipart/form-data"' in html
    assert 'name="upload" form="pane-form"' in html and '<option value="result.csv"' in html


def test_a_corrected_file_replaces_the_expected_one(page):
    client, item, url = page
    stamp = _stamp(client.get(url).content.decode())
    response = client.post(url + "upload/", {"expected_updated_at": stamp, "upload_target": "result.csv",
                                             "upload": SimpleUploadedFile("fixed.csv", b"a,b\n9,9\n", "text/csv"),
                                             "comment": "totals were off"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "edited" and item.current_files[0]["origin"] == "corrected"
    download = client.get(url + "files/expected/result.csv")
    assert b"".join(download.streaming_content) == b"a,b\n9,9\n"
    event = DatasetReviewEvent.objects.filter(item=item).last()
    assert event.action == "file-edited" and event.diff_summary["comment"] == "totals were off"


def test_a_new_file_needs_its_path_and_keeps_what_was_typed(page):
    client, item, url = page
    stamp = _stamp(client.get(url).content.decode())
    response = client.post(url + "upload/", {"expected_updated_at": stamp, "upload_target": "__new__",
                                             "v:/vendor/iban": "typed iban", "comment": "why",
                                             "upload": SimpleUploadedFile("n.txt", b"x")})
    html = response.content.decode()
    assert response.status_code == 400 and "the new file&#x27;s path" in html.lower()
    assert 'value="typed iban"' in html and "why</textarea>" in html
    item.refresh_from_db()
    assert item.current_files is None


def test_an_unsafe_path_is_refused_naming_the_field_and_the_file_stays_staged(page, reviewer):
    client, item, url = page
    stamp = _stamp(client.get(url).content.decode())
    response = client.post(url + "upload/", {"expected_updated_at": stamp, "upload_target": "__new__",
                                             "upload_new_path": "../etc/passwd",
                                             "upload": SimpleUploadedFile("n.txt", b"kept bytes")})
    html = response.content.decode()
    assert response.status_code == 400 and 'id="dsr-staged"' in html and "n.txt" in html
    kept = staging.staged(_token(html), user_id=reviewer.pk, item_key=f"{item.review_id}/{item.pk}")
    assert kept is not None and kept.read() == b"kept bytes"


def test_a_too_large_file_is_refused_before_it_is_read(page, monkeypatch):
    client, item, url = page
    monkeypatch.setattr("web.forms.dataset_reviews.EDIT_FILE_LIMIT", 4)
    stamp = _stamp(client.get(url).content.decode())
    response = client.post(url + "upload/", {"expected_updated_at": stamp, "upload_target": "result.csv",
                                             "upload": SimpleUploadedFile("big.csv", b"12345")})
    assert response.status_code == 400 and "At most 50 MB" in response.content.decode()


def test_a_stale_upload_shows_what_changed_keeps_the_typed_and_the_file(page, lead, reviewer):
    client, item, url = page
    stamp = _stamp(client.get(url).content.decode())
    item_update(review=item.review, item_id=item.pk, user=lead, action="comment", comment="lead was here",
                expected_updated_at=stamp)
    response = client.post(url + "upload/", {"expected_updated_at": stamp, "upload_target": "result.csv",
                                             "v:/vendor/iban": "mine", "comment": "my reason",
                                             "upload": SimpleUploadedFile("fixed.csv", b"staged,bytes\n")})
    html = response.content.decode()
    assert response.status_code == 409 and 'id="dsr-conflict"' in html and "lead was here" in html
    assert 'value="mine"' in html and "my reason</textarea>" in html and 'id="dsr-staged"' in html
    token = _token(html)
    again = client.post(url + "upload/", {"expected_updated_at": _stamp(html), "upload_target": "result.csv",
                                          "staged": token})
    assert again.status_code == 302
    download = client.get(url + "files/expected/result.csv")
    assert b"".join(download.streaming_content) == b"staged,bytes\n"
    assert staging.staged(token, user_id=reviewer.pk, item_key=f"{item.review_id}/{item.pk}") is None  # used up


def test_a_staged_file_is_only_its_users(page, lead):
    client, item, url = page
    kept = staging.stage(content=b"x", filename="a.csv", content_type="text/csv", user_id=lead.pk,
                         item_key=f"{item.review_id}/{item.pk}")
    stamp = _stamp(client.get(url).content.decode())
    response = client.post(url + "upload/", {"expected_updated_at": stamp, "upload_target": "result.csv",
                                             "staged": kept.token})
    assert response.status_code == 400 and "Choose the corrected file" in response.content.decode()


@pytest.fixture
def full_review(full_disk, automation, lead):  # noqa: F811 (the fixture imported above)
    make_examples(automation, 1)
    return review_create(automation=automation, user=lead, title="Full", status="open", example_names=["ex-0"])


def test_a_full_disk_is_507_with_a_clear_message_and_nothing_typed_lost(client, reviewer, full_review):
    client.force_login(reviewer)
    item = full_review.items.get()
    url = f"/dataset-reviews/{full_review.pk}/items/{item.pk}/"
    stamp = _stamp(client.get(url).content.decode())
    response = client.post(url + "upload/", {"expected_updated_at": stamp, "upload_target": "result.csv",
                                             "comment": "kept comment",
                                             "upload": SimpleUploadedFile("big.csv", BIG)})
    html = response.content.decode()
    assert response.status_code == 507 and "The file store is full" in html and "kept comment</textarea>" in html
    item.refresh_from_db()
    assert item.current_files is None
