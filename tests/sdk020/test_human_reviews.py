"""SDK 0.20.93's human_reviews resource, unchanged, against a live Loupe (docs/human-review.md):
list (pending, oldest first, automationId, waitingBefore, cursor paging), get, confirm_field,
approve, reject, download_file; runs.list(status="waiting") and runs.get carry
execution.humanReview while the task is pending and drop it once decided. Every answer is
parsed with the SDK's generated models."""

import pytest
from eigenpal import EigenpalError, EigenpalNotFoundError, EigenpalValidationError
from eigenpal._generated.models import (
    HumanReviewApproveResponse,
    HumanReviewFieldResponse,
    HumanReviewListResponse,
    HumanReviewRejectResponse,
    HumanReviewTaskResponse,
    Run,
    RunsListResponse,
)

from humanreview.models import Task
from tests.factories import make_automation, make_paused_run, make_run

pytestmark = pytest.mark.django_db(transaction=True)
PDF = b"%PDF-1.4 invoice 42"


@pytest.fixture
def paused(transactional_db, key_user):
    automation = make_automation()
    runs = [make_paused_run(automation, files=[{"name": "invoice.pdf", "role": "run_input"}]) for _ in range(3)]
    return automation, runs


def _with_file(automation, **review):
    from datasets.loop import runs_record_and_check
    from runs.records import parse_run_record
    from tests.factories import paused_record

    record = paused_record(automation, files=[{"name": "invoice.pdf", "role": "run_input"}], **review)
    record["files"] = [{"name": "invoice.pdf", "role": "input", "base64": "JVBERi0xLjQgaW52b2ljZSA0Mg==",
                        "contentType": "application/pdf"}]
    runs_record_and_check([parse_run_record(record)])
    return Task.objects.get(run_id=record["id"])


def test_list_is_pending_oldest_first_with_filters_and_cursor_paging(sdk, paused):
    automation, runs = paused
    other = make_paused_run(make_automation("workflows.other"))
    page = HumanReviewListResponse.from_dict(sdk.human_reviews.list(limit=2))
    # make_run stamps each new run a millisecond earlier: the oldest task is the last run made.
    ids = [t.id for t in page.tasks]
    assert len(ids) == 2 and page.next_cursor
    rest = HumanReviewListResponse.from_dict(sdk.human_reviews.list(limit=2, cursor=page.next_cursor))
    every = ids + [t.id for t in rest.tasks]
    assert rest.next_cursor is None and len(every) == 4
    created = [Task.objects.get(pk=i).created_at for i in every]
    assert created == sorted(created)
    mine = HumanReviewListResponse.from_dict(sdk.human_reviews.list(automationId=automation.ref))
    assert {t.execution_id for t in mine.tasks} == {r.pk for r in runs}
    assert mine.tasks[0].automation_name == automation.display_name and mine.tasks[0].required_count == 2
    oldest = min(created)
    before = HumanReviewListResponse.from_dict(sdk.human_reviews.list(waitingBefore=oldest.isoformat()))
    assert before.tasks == []
    assert other.pk not in {t.execution_id for t in mine.tasks}
    with pytest.raises(EigenpalValidationError):
        sdk.human_reviews.list(cursor="garbage!")


def test_get_confirm_approve_and_the_run_resumes(sdk, paused):
    automation, _ = paused
    task = _with_file(automation)
    detail = HumanReviewTaskResponse.from_dict(sdk.human_reviews.get(str(task.pk))).task
    assert detail.required_paths == ["/vendor/iban", "/total"] and detail.status.value == "pending"
    assert detail.selection_reasons.additional_properties["/total"].value == "low_confidence"
    assert detail.files[0].filename == "invoice.pdf" and detail.files[0].role.value == "run_input"
    assert sdk.human_reviews.download_file(str(task.pk), detail.files[0].file_id) == PDF
    # While pending, the run carries the summary in the list and in its detail.
    waiting = RunsListResponse.from_dict(sdk.runs.list(status="waiting"))
    row = next(r for r in waiting.runs if r.id == task.run_id)
    assert row.execution.human_review.task_id == str(task.pk) and row.execution.human_review.required_count == 2
    assert Run.from_dict(sdk.runs.get(task.run_id)).execution.human_review.version == 1

    with pytest.raises(EigenpalValidationError) as unconfirmed:
        sdk.human_reviews.approve(str(task.pk), {"expectedVersion": 1})
    assert [i["field"] for i in unconfirmed.value.envelope["issues"]] == ["/vendor/iban", "/total"]

    answer = sdk.human_reviews.confirm_field(str(task.pk), {"expectedVersion": 1, "idempotencyKey": "c1",
                                                            "path": "/total", "value": 1243.5})
    confirmed = HumanReviewFieldResponse.from_dict(answer).task
    assert confirmed.version == 2 and confirmed.confirmed_count == 1
    assert confirmed.decisions[0].current_value == 1243.5 and confirmed.decisions[0].confirmed_by == "sam"
    # The SDK's retry of the same request: the stored answer, not a second write.
    assert sdk.human_reviews.confirm_field(str(task.pk), {"expectedVersion": 1, "idempotencyKey": "c1",
                                                          "path": "/total", "value": 1243.5}) == answer
    with pytest.raises(EigenpalValidationError) as reused:
        sdk.human_reviews.confirm_field(str(task.pk), {"expectedVersion": 1, "idempotencyKey": "c1",
                                                       "path": "/total", "value": 9})
    assert reused.value.envelope["issues"][0]["field"] == "idempotencyKey"
    with pytest.raises(EigenpalError) as stale:
        sdk.human_reviews.confirm_field(str(task.pk), {"expectedVersion": 1, "idempotencyKey": "c2",
                                                       "path": "/vendor/iban", "value": "DE00"})
    assert stale.value.status == 409 and stale.value.envelope["issues"][0]["code"] == "version_conflict"
    current = HumanReviewTaskResponse.from_dict({"task": stale.value.envelope["task"]}).task
    assert current.version == 2
    with pytest.raises(EigenpalValidationError) as not_scalar:
        sdk.human_reviews.confirm_field(str(task.pk), {"expectedVersion": 2, "idempotencyKey": "c3",
                                                       "path": "/vendor", "value": "x"})
    assert not_scalar.value.envelope["issues"][0]["field"] == "path"
    sdk.human_reviews.confirm_field(str(task.pk), {"expectedVersion": 2, "idempotencyKey": "c4",
                                                   "path": "/vendor/iban", "value": "DE00"})
    approved = HumanReviewApproveResponse.from_dict(sdk.human_reviews.approve(str(task.pk), {"expectedVersion": 3}))
    assert approved.task.status.value == "approved" and approved.task.completed_by == "sam"
    assert approved.task.draft_data.additional_properties["total"] == 1243.5

    run = Run.from_dict(sdk.runs.get(task.run_id))
    assert run.execution.status.value == "running" and run.execution.human_review is None
    assert task.run_id not in {r.id for r in RunsListResponse.from_dict(sdk.runs.list(status="waiting")).runs}
    with pytest.raises(EigenpalError) as decided:
        sdk.human_reviews.approve(str(task.pk), {"expectedVersion": 4})
    assert decided.value.status == 409 and decided.value.envelope["issues"][0]["code"] == "task_decided"
    assert HumanReviewListResponse.from_dict(sdk.human_reviews.list(automationId=automation.ref)).tasks


def test_reject_fails_the_run_with_the_reason(sdk, paused):
    _, runs = paused
    task = Task.objects.get(run=runs[0])
    body = {"expectedVersion": 1, "idempotencyKey": "r1", "reason": "Not our vendor"}
    rejected = HumanReviewRejectResponse.from_dict(sdk.human_reviews.reject(str(task.pk), body))
    assert rejected.task.status.value == "rejected" and rejected.task.outcome_reason == "Not our vendor"
    assert sdk.human_reviews.reject(str(task.pk), body)["task"] == rejected.to_dict()["task"]
    run = Run.from_dict(sdk.runs.get(task.run_id, expand=["execution"]))
    assert run.execution.status.value == "failed" and run.error == "Not our vendor"
    assert run.execution.human_review is None


def test_unknown_task_and_file_are_404_and_runs_without_tasks_parse(sdk, paused):
    with pytest.raises(EigenpalNotFoundError):
        sdk.human_reviews.get("999999")
    with pytest.raises(EigenpalNotFoundError):
        sdk.human_reviews.get("abc")
    task = Task.objects.first()
    with pytest.raises(EigenpalNotFoundError):
        sdk.human_reviews.download_file(str(task.pk), "123456")
    plain = make_run(make_automation())
    assert Run.from_dict(sdk.runs.get(plain.pk)).execution.human_review is None
