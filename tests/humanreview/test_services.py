"""Opening tasks from paused runs, the policy's picks, and the decisions (humanreview/services.py)."""

import pytest

from datasets.loop import runs_record_and_check
from humanreview.models import Decision, IdempotencyRecord, ReviewPolicy, Task
from humanreview.services import TaskError, policy_set, task_approve, task_confirm_field, task_reject
from runs.models import Run
from runs.records import RecordError, parse_run_record
from tests.factories import make_automation, make_paused_run, paused_record

pytestmark = pytest.mark.django_db


def test_a_paused_run_opens_one_task_with_paths_picked_by_the_default_policy(automation):
    run = make_paused_run(automation)
    task = Task.objects.get(run=run)
    assert run.status == "waiting" and task.status == "pending" and task.version == 1
    # Default policy: threshold 0.8; "low" counts 0, "high" 1.
    assert task.required_paths == ["/vendor/iban", "/total"]
    assert task.selection_reasons == {"/vendor/name": "threshold_met", "/vendor/iban": "low_confidence",
                                      "/total": "low_confidence", "/currency": "threshold_met"}
    assert task.draft_data == task.machine_data and task.required_count == 2
    # Recording the same run again (even paused again) never opens a second task.
    runs_record_and_check([parse_run_record(paused_record(automation) | {"id": run.pk})])
    assert Task.objects.filter(run=run).count() == 1


def test_the_policy_rules_name_why_each_field_was_picked(automation, ops):
    policy_set(automation=automation, user=ops, confidence_threshold=0.99, field_rules={"/total": "never",
               "/currency": "always"}, unmatched="require", missing_confidence="skip")
    run = make_paused_run(automation, fieldMetadata={"/vendor/name": {"confidence": 0.97}, "/total": {},
                                                     "/currency": {"confidence": "high"}, "/vendor": {}})
    task = Task.objects.get(run=run)
    reasons = task.selection_reasons
    assert reasons["/vendor/name"] == "low_confidence"  # 0.97 < 0.99
    assert reasons["/total"] == "never" and reasons["/currency"] == "always"
    assert reasons["/vendor"] == "excluded"  # an object is never a field to confirm
    assert reasons["/vendor/iban"] == "unmatched" and reasons["/lines/0/amount"] == "unmatched"
    assert set(task.required_paths) == {"/vendor/name", "/currency", "/vendor/iban", "/lines/0/amount",
                                        "/lines/1/amount"}


def test_explicit_required_paths_win_and_the_rest_is_excluded(automation):
    task = Task.objects.get(run=make_paused_run(automation, requiredPaths=["/currency"]))
    assert task.required_paths == ["/currency"]
    assert task.selection_reasons["/currency"] == "explicit" and task.selection_reasons["/total"] == "excluded"


@pytest.mark.parametrize("review, field", [
    ({"color": "red"}, "humanReview.color"),
    ({"fieldMetadata": {"/nope": {"confidence": 0.5}}}, "humanReview.fieldMetadata./nope"),
    ({"fieldMetadata": {"/total": {"confidence": 1.5}}}, "humanReview.fieldMetadata./total.confidence"),
    ({"fieldMetadata": {"/total": {"confidence": 0.5, "weight": 2}}}, "humanReview.fieldMetadata./total.weight"),
    ({"requiredPaths": ["/vendor"]}, "humanReview.requiredPaths.0"),
    ({"requiredPaths": ["/lines/7/amount"]}, "humanReview.requiredPaths.0"),
    ({"machineData": "text"}, "humanReview.machineData"),
    ({"sourceKind": "robot"}, "humanReview.sourceKind"),
])
def test_a_human_review_that_does_not_fit_is_refused_naming_the_field(automation, review, field):
    with pytest.raises(RecordError) as refused:
        parse_run_record(paused_record(automation, **review))
    assert str(refused.value).startswith(f"{field}: ")


def test_human_review_only_on_a_waiting_run(automation):
    with pytest.raises(RecordError, match="^humanReview: only a run recorded with"):
        parse_run_record(paused_record(automation) | {"status": "completed"})


def _task(automation):
    return Task.objects.get(run=make_paused_run(automation))


def test_confirm_sets_the_draft_and_counts_required_fields(automation, reviewer):
    task = _task(automation)
    answer = task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=1243.5, expected_version=1,
                                idempotency_key="k1")
    assert answer["version"] == 2 and answer["confirmedCount"] == 1
    assert answer["draftData"]["total"] == 1243.5 and answer["machineData"]["total"] == 1234.5
    decision = answer["decisions"][0]
    assert decision | {"id": None, "confirmedAt": None} == {
        "id": None, "path": "/total", "originalValue": 1234.5, "currentValue": 1243.5, "required": True,
        "reason": "low_confidence", "confirmedBy": "rita", "confirmedAt": None, "version": 2}
    # A field nobody required: the decision says the reviewer chose to edit it.
    answer = task_confirm_field(task_id=task.pk, user=reviewer, path="/lines/1/amount", value=170,
                                expected_version=2, idempotency_key="k2")
    assert answer["decisions"][1]["reason"] == "reviewer_edit" and answer["confirmedCount"] == 1


def test_the_same_key_and_body_answers_the_stored_answer_another_body_is_refused(automation, reviewer):
    task = _task(automation)
    first = task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=1, expected_version=1,
                               idempotency_key="k")
    again = task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=1, expected_version=1,
                               idempotency_key="k")
    assert again == first and Decision.objects.filter(task=task).count() == 1
    assert Task.objects.get(pk=task.pk).version == 2
    with pytest.raises(TaskError) as refused:
        task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=2, expected_version=1,
                           idempotency_key="k")
    assert refused.value.status == 400 and refused.value.issues[0][0] == "idempotencyKey"
    assert IdempotencyRecord.objects.filter(task=task).count() == 1


def test_a_stale_version_is_a_conflict_carrying_the_current_task(automation, reviewer):
    task = _task(automation)
    task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=1, expected_version=1, idempotency_key="a")
    with pytest.raises(TaskError) as conflict:
        task_confirm_field(task_id=task.pk, user=reviewer, path="/vendor/iban", value="X", expected_version=1,
                           idempotency_key="b")
    assert conflict.value.status == 409 and conflict.value.code == "version_conflict"
    assert conflict.value.task["version"] == 2 and conflict.value.task["draftData"]["total"] == 1


@pytest.mark.parametrize("path, value, field", [
    ("/vendor", "x", "path"), ("/nope", "x", "path"), ("total", 1, "path"), ("/total", {"a": 1}, "value"),
    ("/total", [1], "value"),
])
def test_values_are_scalars_at_existing_scalar_paths(automation, reviewer, path, value, field):
    task = _task(automation)
    with pytest.raises(TaskError) as refused:
        task_confirm_field(task_id=task.pk, user=reviewer, path=path, value=value, expected_version=1,
                           idempotency_key="k")
    assert refused.value.status == 400 and refused.value.issues[0][0] == field
    assert Task.objects.get(pk=task.pk).version == 1


def test_approve_needs_every_required_path_then_resumes_the_run(automation, reviewer):
    task = _task(automation)
    with pytest.raises(TaskError) as refused:
        task_approve(task_id=task.pk, user=reviewer, expected_version=1)
    assert refused.value.status == 400 and [f for f, _ in refused.value.issues] == ["/vendor/iban", "/total"]
    task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=1, expected_version=1, idempotency_key="a")
    task_confirm_field(task_id=task.pk, user=reviewer, path="/vendor/iban", value="DE00", expected_version=2,
                       idempotency_key="b")
    emitted = []
    answer = task_approve(task_id=task.pk, user=reviewer, expected_version=3,
                          emit=lambda **event: emitted.append(event))
    assert answer["status"] == "approved" and answer["completedBy"] == "rita" and answer["version"] == 4
    assert Run.objects.get(pk=task.run_id).status == "running"
    assert [e["type"] for e in emitted] == ["human_review.approved"]
    assert emitted[0]["data"]["draftData"]["vendor"]["iban"] == "DE00" and emitted[0]["data"]["runId"] == task.run_id
    # Decided: every further write is a 409.
    for write in (lambda: task_approve(task_id=task.pk, user=reviewer, expected_version=4),
                  lambda: task_reject(task_id=task.pk, user=reviewer, expected_version=4, reason="no",
                                      idempotency_key="r"),
                  lambda: task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=3,
                                             expected_version=4, idempotency_key="c")):
        with pytest.raises(TaskError) as decided:
            write()
        assert decided.value.status == 409 and decided.value.code == "task_decided"


def test_reject_fails_the_run_with_the_reason(automation, reviewer):
    task = _task(automation)
    with pytest.raises(TaskError):
        task_reject(task_id=task.pk, user=reviewer, expected_version=1, reason="  ", idempotency_key="r")
    answer = task_reject(task_id=task.pk, user=reviewer, expected_version=1, reason="Not our vendor",
                         idempotency_key="r")
    assert answer["status"] == "rejected" and answer["outcomeReason"] == "Not our vendor"
    run = Run.objects.get(pk=task.run_id)
    assert run.status == "failed" and run.error == "Not our vendor"
    # The retry of the same request gets the same answer, not a 409.
    assert task_reject(task_id=task.pk, user=reviewer, expected_version=1, reason="Not our vendor",
                       idempotency_key="r") == answer


def test_policy_values_are_checked(automation, ops):
    with pytest.raises(TaskError) as refused:
        policy_set(automation=automation, user=ops, confidence_threshold=2)
    assert refused.value.issues[0][0] == "confidenceThreshold"
    with pytest.raises(TaskError) as refused:
        policy_set(automation=automation, user=ops, field_rules={"/a": "sometimes"})
    assert refused.value.issues[0][0] == "fieldRules./a"
    policy = policy_set(automation=automation, user=ops, deadline_minutes=30)
    assert ReviewPolicy.objects.get(pk=policy.pk).deadline_minutes == 30
    task = Task.objects.get(run=make_paused_run(make_automation("workflows.other")))
    assert task.deadline_at is None
    task = Task.objects.get(run=make_paused_run(automation))
    assert (task.deadline_at - task.created_at).total_seconds() == 1800
