"""SDK 0.20.93, unchanged, against a live Loupe: every dataset-review-request call. Answers are
parsed with the SDK's generated models (`from_dict` raises on a missing required key)."""

import hashlib

import pytest
from django.contrib.auth.models import Group
from eigenpal import EigenpalError, EigenpalNotFoundError, EigenpalValidationError
from eigenpal._generated.models import (
    DatasetReviewDetail,
    DatasetReviewEventList,
    DatasetReviewInboxList,
    DatasetReviewItem,
    DatasetReviewItemList,
    DatasetReviewItemResponse,
    DatasetReviewRequestList,
)

from datasets.models import Example, ExampleFolder
from datasets.services import example_file_store, example_update
from dsreview.models import DatasetReview
from dsreview.models import DatasetReviewItem as ItemRow
from tests.dsreview.helpers import EXPECTED, make_examples
from tests.factories import make_automation

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/v1/automations/{}/dataset-review-requests"


@pytest.fixture
def automation(transactional_db):
    return make_automation()


@pytest.fixture
def examples(automation):
    return make_examples(automation, 3)


@pytest.fixture
def lead(key_user):
    key_user.groups.add(Group.objects.get_or_create(name="lead")[0])
    return key_user


def create(sdk, automation, **body):
    body = {"title": "Recheck IBANs", "exampleNames": ["ex-0", "ex-1", "ex-2"], **body}
    return sdk.automations.dataset_review_requests.create(automation.ref, body)


def items_of(http, automation, review_id, query=""):
    response = http.get(f"{BASE.format(automation.ref)}/{review_id}/items{query}")
    assert response.status_code == 200
    return DatasetReviewItemList.from_dict(response.json()).items


def test_create_answers_201_with_the_detail_and_snapshots(sdk, http, automation, examples, lead):
    body = {"title": "Recheck IBANs", "exampleNames": ["ex-1", "ex-0"], "instructions": "Look at the bank data",
            "focusFields": [{"path": "vendor.iban", "reason": "new format"}], "ignoredFields": ["lines"],
            "itemNotes": [{"exampleName": "ex-1", "comment": "customer moved",
                           "fields": [{"path": "vendor.name", "comment": "renamed?"}]}], "status": "open"}
    response = http.post(BASE.format(automation.ref), json=body)
    assert response.status_code == 201
    detail = DatasetReviewDetail.from_dict(response.json())
    assert (detail.title, detail.status.value, detail.example_names) == ("Recheck IBANs", "open", ["ex-1", "ex-0"])
    assert detail.focus_fields[0].path == "vendor.iban" and detail.focus_fields[0].reason == "new format"
    assert detail.ignored_fields == ["lines"]
    assert (detail.progress.total, detail.progress.pending, detail.progress.complete) == (2, 2, False)
    item = detail.items[0]
    assert item.example_name == "ex-1" and item.status.value == "pending"
    assert item.snapshot_input_json.to_dict() == {"customer": "c-1"}
    assert item.snapshot_expected_json == {**EXPECTED, "total": 101} == item.current_expected_json
    assert [f.name for f in item.snapshot_manifest.expected_files] == ["result.csv"]
    hashes = item.snapshot_manifest.input_file_hashes
    assert [(h.path, h.sha256) for h in hashes] == [
        ("invoice.pdf", hashlib.sha256(b"%PDF-1.4 invoice 1").hexdigest())]
    assert item.current_expected_files is None and item.input_drifted is False
    events = sdk.automations.dataset_review_requests.events(automation.ref, detail.id)
    assert [e.action for e in events.events] == ["created", "commented", "commented"]
    assert events.events[2].diffSummary == {"comment": "renamed?", "fieldPath": "vendor.name"}


def test_get_list_and_inbox_parse(sdk, http, automation, examples, lead):
    first = create(sdk, automation)
    create(sdk, automation, title="Second", exampleNames=["ex-2"], status="open")
    got = http.get(f"{BASE.format(automation.ref)}/{first.id}")
    assert DatasetReviewDetail.from_dict(got.json()).id == first.id
    page = sdk.automations.dataset_review_requests.list(automation.ref)
    assert DatasetReviewRequestList.from_dict(page).total == 2 and page.data[0].title == "Second"
    only_open = sdk.automations.dataset_review_requests.list(automation.ref, status=["open"])
    assert [r.title for r in only_open.data] == ["Second"]
    inbox = sdk.dataset_review_requests.list(limit=1)
    parsed = DatasetReviewInboxList.from_dict(inbox)
    assert (parsed.total, parsed.limit, len(parsed.data)) == (2, 1, 1)
    assert parsed.data[0].automation_name == automation.name
    assert sdk.dataset_review_requests.list(status="draft").data[0].id == first.id


def test_lifecycle_and_frozen_requests(sdk, http, automation, examples, lead):
    review = create(sdk, automation)
    update = sdk.automations.dataset_review_requests.update
    assert update(automation.ref, review.id, {"status": "open"}).status == "open"
    assert update(automation.ref, review.id, {"status": "paused"}).status == "paused"
    assert update(automation.ref, review.id, {"status": "open", "title": "Renamed"}).title == "Renamed"
    closed = update(automation.ref, review.id, {"status": "closed"})
    assert closed.status == "closed" and closed.closedAt is not None
    with pytest.raises(EigenpalValidationError) as bad:
        update(automation.ref, review.id, {"status": "paused"})
    assert bad.value.envelope["issues"][0]["field"] == "status"
    with pytest.raises(EigenpalError) as frozen:
        update(automation.ref, review.id, {"title": "Changed while closed"})
    assert frozen.value.status == 409
    item = closed["items"][0]
    with pytest.raises(EigenpalError) as frozen_item:
        sdk.automations.dataset_review_requests.update_item(
            automation.ref, review.id, item.id, {"action": "approve", "expectedUpdatedAt": item.updatedAt})
    assert frozen_item.value.status == 409
    reopened = update(automation.ref, review.id, {"status": "open"})
    assert reopened.status == "open" and reopened.closedAt is None
    assert update(automation.ref, review.id, {"status": "cancelled"}).status == "cancelled"
    with pytest.raises(EigenpalValidationError):
        update(automation.ref, review.id, {"status": "closed"})
    DatasetReviewDetail.from_dict(update(automation.ref, review.id, {"status": "open"}))


def test_closing_changes_no_example(sdk, automation, examples, lead):
    review = create(sdk, automation, status="open")
    item = review["items"][0]
    sdk.automations.dataset_review_requests.update_item(automation.ref, review.id, item.id, {
        "action": "edit", "expectedUpdatedAt": item.updatedAt, "expected": {"total": 1}})
    before = list(Example.objects.order_by("name").values_list("name", "expected", "updated_at"))
    sdk.automations.dataset_review_requests.update(automation.ref, review.id, {"status": "closed"})
    assert list(Example.objects.order_by("name").values_list("name", "expected", "updated_at")) == before


def test_every_item_action_and_exact_progress(sdk, http, automation, examples, lead):
    review = create(sdk, automation, status="open")
    api = sdk.automations.dataset_review_requests
    items = {i.exampleName: i for i in review["items"]}

    def act(name, body):
        answer = api.update_item(automation.ref, review.id, items[name].id,
                                 {"expectedUpdatedAt": items[name].updatedAt, **body})
        DatasetReviewItemResponse.from_dict(answer)
        items[name] = answer.item
        return answer.item

    assert act("ex-0", {"action": "approve"}).status == "approved"
    assert act("ex-0", {"action": "comment", "comment": "looks right", "fieldPath": "vendor.iban"}).status == "approved"
    edited = act("ex-1", {"action": "edit", "expected": {**EXPECTED, "total": 999}})
    assert edited.status == "edited" and edited.currentExpectedJson["total"] == 999
    assert edited.snapshotExpectedJson["total"] == 101
    decided = act("ex-1", {"action": "field-decision", "fieldPath": "vendor.iban", "decision": "approved"})
    assert decided.fieldDecisions["vendor.iban"]["decision"] == "approved"
    assert decided.fieldDecisions["vendor.iban"]["reviewerId"] == str(lead.pk)
    noted = act("ex-1", {"action": "field-decision", "fieldPath": "vendor.iban", "comment": "checked on the PDF"})
    assert noted.fieldDecisions["vendor.iban"]["comment"] == "checked on the PDF"
    assert act("ex-1", {"action": "field-decision", "fieldPath": "vendor.iban", "decision": None}).fieldDecisions == {}
    filed = api.record_item_file_decision(automation.ref, review.id, items["ex-1"].id, {
        "filePath": "result.csv", "decision": "removed", "expectedUpdatedAt": items["ex-1"].updatedAt}).item
    items["ex-1"] = filed
    assert filed.fileDecisions["result.csv"]["decision"] == "removed"
    assert act("ex-2", {"action": "remove", "comment": "duplicate"}).status == "removed"

    progress = api.get(automation.ref, review.id).progress
    assert dict(progress) == {"total": 3, "pending": 0, "approved": 1, "edited": 1, "removed": 1, "remaining": 0,
                              "complete": True}
    assert act("ex-2", {"action": "reopen"}).status == "pending"
    progress = api.get(automation.ref, review.id).progress
    assert (progress.pending, progress.removed, progress.remaining, progress.complete) == (1, 0, 1, False)

    assert [i.example_name for i in items_of(http, automation, review.id, "?status=edited")] == ["ex-1"]
    both = api.list_items(automation.ref, review.id, status=["approved", "pending"])
    assert sorted(i.exampleName for i in both["items"]) == ["ex-0", "ex-2"]
    events = http.get(f"{BASE.format(automation.ref)}/{review.id}/events").json()
    actions = [e.action.value for e in DatasetReviewEventList.from_dict(events).events]
    assert actions == ["created", "approved", "commented", "edited", "field-decision", "field-decision",
                       "field-decision", "file-decision", "removed", "reopened"]


def test_a_stale_write_is_a_409_carrying_the_current_item(sdk, automation, examples, lead):
    review = create(sdk, automation, status="open")
    api = sdk.automations.dataset_review_requests
    item = review["items"][0]
    first = api.update_item(automation.ref, review.id, item.id,
                            {"action": "edit", "expectedUpdatedAt": item.updatedAt, "expected": {"total": 1}}).item
    with pytest.raises(EigenpalError) as stale:
        api.update_item(automation.ref, review.id, item.id, {"action": "approve", "expectedUpdatedAt": item.updatedAt})
    assert stale.value.status == 409
    current = DatasetReviewItem.from_dict(stale.value.envelope["item"])
    assert current.updated_at == first.updatedAt and current.current_expected_json == {"total": 1}
    assert ItemRow.objects.get(pk=item.id).status == "edited"  # nothing written


def test_edit_item_file_and_get_item_file(sdk, automation, examples, lead, tmp_path):
    review = create(sdk, automation, status="open")
    api = sdk.automations.dataset_review_requests
    item = review["items"][0]
    corrected = api.edit_item_file(automation.ref, review.id, item.id, {"filename": "result.csv", "content": b"a,b\n9,9\n"},
                                   file_path="result.csv", comment="fixed row", expected_updated_at=item.updatedAt).item
    DatasetReviewItem.from_dict(corrected)
    assert corrected.status == "edited"
    assert [(f.path, f.origin) for f in corrected.currentExpectedFiles] == [("result.csv", "corrected")]
    extra = tmp_path / "notes.txt"
    extra.write_bytes(b"new file")
    added = api.edit_item_file(automation.ref, review.id, item.id, extra, new_path="sub/notes.txt",
                               expected_updated_at=corrected.updatedAt).item
    assert [(f.path, f.origin) for f in added.currentExpectedFiles] == [("result.csv", "corrected"),
                                                                        ("sub/notes.txt", "uploaded")]
    get = api.get_item_file
    assert get(automation.ref, review.id, item.id, "result.csv", kind="expected") == b"a,b\n9,9\n"
    assert get(automation.ref, review.id, item.id, "sub/notes.txt", kind="expected") == b"new file"
    assert get(automation.ref, review.id, item.id, "invoice.pdf") == b"%PDF-1.4 invoice 0"
    with pytest.raises(EigenpalNotFoundError):
        get(automation.ref, review.id, item.id, "nope.pdf")
    # The example itself is untouched until a lead applies the outcome.
    example = Example.objects.get(name="ex-0")
    assert example.files.get(folder="expected", path="result.csv").file.read() == b"a,b\n1,2\n"
    events = api.events(automation.ref, review.id).events
    assert [e.diffSummary.get("filePath") for e in events if e.action == "file-edited"] == ["result.csv",
                                                                                              "sub/notes.txt"]


def test_edit_file_needs_exactly_one_path_and_multipart(sdk, http, automation, examples, lead):
    review = create(sdk, automation, status="open")
    api = sdk.automations.dataset_review_requests
    item = review["items"][0]
    upload = {"filename": "x.csv", "content": b"x"}
    for kwargs, field in (({}, "filePath"), ({"file_path": "result.csv", "new_path": "y.csv"}, "newPath"),
                          ({"file_path": "missing.csv"}, "filePath"), ({"new_path": "result.csv"}, "newPath")):
        with pytest.raises(EigenpalValidationError) as bad:
            api.edit_item_file(automation.ref, review.id, item.id, upload, expected_updated_at=item.updatedAt,
                               **kwargs)
        assert bad.value.envelope["issues"][0]["field"] == field
    with pytest.raises(EigenpalValidationError) as as_json:
        api.update_item(automation.ref, review.id, item.id, {"action": "edit-file", "expectedUpdatedAt": item.updatedAt,
                                                             "filePath": "result.csv"})
    assert as_json.value.envelope["issues"][0]["field"] == "action"
    assert "multipart" in as_json.value.envelope["issues"][0]["message"]
    assert ItemRow.objects.get(pk=item.id).updated_at.isoformat()[:23] == item.updatedAt.replace("Z", "")[:23]


def test_input_drift_is_reported(sdk, automation, examples, lead):
    review = create(sdk, automation, status="open")
    api = sdk.automations.dataset_review_requests
    assert [i.inputDrifted for i in api.list_items(automation.ref, review.id)["items"]] == [False, False, False]
    example_update(example=examples[0], input={"customer": "someone else"})
    example_file_store(example=examples[1], folder=ExampleFolder.INPUT, path="invoice.pdf", content=b"%PDF other",
                       content_type="application/pdf")
    drifted = {i.exampleName: i.inputDrifted for i in api.list_items(automation.ref, review.id)["items"]}
    assert drifted == {"ex-0": True, "ex-1": True, "ex-2": False}


@pytest.mark.parametrize("body, field", [
    ({"exampleNames": ["ex-0", "nope"]}, "exampleNames[1]"),
    ({"exampleNames": []}, "exampleNames"),
    ({"exampleNames": ["ex-0", "ex-0"]}, "exampleNames[1]"),
    ({"focusFields": [{"path": "vendor.bic"}]}, "focusFields[0].path"),
    ({"ignoredFields": ["lines.7"]}, "ignoredFields[0]"),
    ({"itemNotes": [{"exampleName": "ex-0", "fields": [{"path": "vendor..x", "comment": "c"}]}]},
     "itemNotes[0].fields[0].path"),
    ({"status": "closed"}, "status"),
    ({"title": " "}, "title"),
])
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(sdk, automation, examples, lead, body, field):
    with pytest.raises(EigenpalValidationError) as bad:
        create(sdk, automation, **body)
    assert bad.value.envelope["issues"][0]["field"] == field
    assert DatasetReview.objects.count() == 0 and ItemRow.objects.count() == 0


def test_item_writes_name_bad_fields(sdk, automation, examples, lead):
    review = create(sdk, automation, status="open")
    api = sdk.automations.dataset_review_requests
    item = review["items"][0]
    for body, field in (({"action": "field-decision", "fieldPath": "vendor.bic", "decision": "approved"}, "fieldPath"),
                        ({"action": "file-decision", "filePath": "nope.csv", "decision": "approved"}, "filePath"),
                        ({"action": "field-decision", "fieldPath": "total", "decision": "maybe"}, "decision"),
                        ({"action": "comment"}, "comment"), ({"action": "edit"}, "expected"),
                        ({"action": "shout"}, "action")):
        with pytest.raises(EigenpalValidationError) as bad:
            api.update_item(automation.ref, review.id, item.id, {"expectedUpdatedAt": item.updatedAt, **body})
        assert bad.value.envelope["issues"][0]["field"] == field, body
    with pytest.raises(EigenpalValidationError) as bad:
        api.update_item(automation.ref, review.id, item.id, {"action": "approve"})
    assert bad.value.envelope["issues"][0]["field"] == "expectedUpdatedAt"
    with pytest.raises(EigenpalNotFoundError):
        api.update_item(automation.ref, review.id, "999999", {"action": "approve", "expectedUpdatedAt": item.updatedAt})


def test_a_reviewer_reads_and_writes_items_but_only_a_lead_creates(sdk, automation, examples, key_user):
    from eigenpal import EigenpalForbiddenError

    with pytest.raises(EigenpalForbiddenError):
        create(sdk, automation)


def test_edit_file_over_the_limit_is_a_413_and_changes_nothing(sdk, automation, examples, lead, monkeypatch):
    from api import dataset_reviews

    monkeypatch.setattr(dataset_reviews, "EDIT_FILE_LIMIT", 1024)  # the live server runs in this process
    review = create(sdk, automation, status="open")
    item = review["items"][0]
    with pytest.raises(EigenpalError) as too_big:
        sdk.automations.dataset_review_requests.edit_item_file(
            automation.ref, review.id, item.id, {"filename": "result.csv", "content": b"x" * 4096},
            file_path="result.csv", expected_updated_at=item.updatedAt)
    assert too_big.value.status == 413 and too_big.value.envelope["issues"][0]["field"] == "file"
    assert ItemRow.objects.get(pk=item.id).current_files is None


def test_request_level_changes_are_events_the_sdk_parses(sdk, http, automation, examples, lead):
    review = create(sdk, automation, status="open")
    api = sdk.automations.dataset_review_requests
    api.update(automation.ref, review.id, {"title": "Renamed", "status": "closed"})
    api.update(automation.ref, review.id, {"status": "open"})
    events = DatasetReviewEventList.from_dict(
        http.get(f"{BASE.format(automation.ref)}/{review.id}/events").json()).events
    assert [(e.action.value, e.item_id) for e in events] == [("created", None), ("edited", None), ("reopened", None)]
    assert events[1].diff_summary["changed"] == ["status", "title"]
