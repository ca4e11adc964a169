"""SDK 0.20.93, unchanged, against a live Loupe: auth, automations, the runs list with every
review filter, one run with expand, steps, trace and scores. Raw answers are parsed with the
SDK's generated models."""

import io
import zipfile

import pytest
from django.utils import timezone
from eigenpal import EigenpalForbiddenError, EigenpalValidationError
from eigenpal._generated.models import (
    AuthCheckResponse,
    AutomationDetail,
    DatasetExample,
    DatasetExampleList,
    ListAutomationsResponse,
    Run,
    RunScoresResponse,
    RunsListResponse,
    RunStepsResponse,
    RunTraceResponse,
    WorkflowRunExecution,
)

from review.services import review_update
from tests.factories import make_automation, make_run

pytestmark = pytest.mark.django_db(transaction=True)
WF = "workflows.extract-invoice"


@pytest.fixture
def runs(transactional_db, key_user):
    """Four runs: correct, incorrect with a corrected field and a note, partial, none."""
    automation = make_automation()
    correct, incorrect, partial, bare = (make_run(automation, metadata={"tags": ["eu", "pdf"]}) for _ in range(4))
    review_update(run=correct, changes={"rating": "pass", "status": "resolved"}, user=key_user)
    review_update(run=incorrect, changes={"rating": "fail", "status": "open", "body": "Total off",
                                          "expected": {**incorrect.output, "total": 1}}, user=key_user)
    review_update(run=partial, changes={"rating": "partial", "status": "open"}, user=key_user)
    return {"correct": correct, "incorrect": incorrect, "partial": partial, "bare": bare}


def ids(answer) -> set[str]:
    return {row["id"] for row in answer["runs"]}


def test_auth_check(sdk, http):
    assert sdk.auth.check().ok is True
    AuthCheckResponse.from_dict(http.get("/v1/auth/check").json())


def test_automations_list_and_get_with_folders(sdk, http, runs):
    assert [a.slug for a in sdk.automations.list(folder_id=None).data] == ["extract-invoice"]
    assert sdk.automations.list(folder_id="fld_1").data == []
    ListAutomationsResponse.from_dict(http.get("/v1/automations", params={"folderId": "null"}).json())
    AutomationDetail.from_dict(http.get(f"/v1/automations/{WF}").json())
    assert sdk.automations.get(WF).folderPath is None


def test_every_row_carries_tags_sample_rank_and_the_review_summary(sdk, http, runs):
    rows = {row["id"]: row for row in sdk.runs.list(limit=10)["runs"]}
    RunsListResponse.from_dict(http.get("/v1/runs", params={"limit": 10}).json())
    incorrect = rows[runs["incorrect"].id]
    assert incorrect.tags == ["eu", "pdf"] and 0 <= incorrect.sampleRank < 1
    assert incorrect.execution.review == {"verdict": "incorrect", "status": "open", "hasNote": True,
                                          "correctionCount": 1}
    assert rows[runs["bare"].id].execution.review is None


@pytest.mark.parametrize(("query", "expected"), [
    ({"hasReview": True}, {"correct", "incorrect", "partial"}),
    ({"noReview": True}, {"bare"}),
    ({"reviewStatus": "open"}, {"incorrect", "partial"}),
    ({"reviewStatus": "closed"}, {"correct"}),
    ({"reviewVerdict": "correct"}, {"correct"}),
    ({"reviewVerdict": "incorrect"}, {"incorrect", "partial"}),
    ({"hasCorrections": True}, {"incorrect"}),
    ({"reviewNoteContains": "total"}, {"incorrect"}),
    ({"reviewClosedAfter": "now()-1h"}, {"correct"}),
    ({"reviewCreatedBefore": "now()-1h"}, set()),
    ({"reviewUpdatedAfter": "now()-1h"}, {"correct", "incorrect", "partial"}),
    ({"sampleRate": 1}, {"correct", "incorrect", "partial", "bare"}),
    ({"sampleRate": 0}, set()),
    ({"tag": "eu"}, {"correct", "incorrect", "partial", "bare"}),
    ({"tag": "us"}, set()),
])
def test_review_filters(sdk, runs, query, expected):
    assert ids(sdk.runs.list(**query)) == {runs[name].id for name in expected}


def test_sample_rate_keeps_runs_below_their_rank(sdk, runs):
    ranks = {row["id"]: row["sampleRank"] for row in sdk.runs.list()["runs"]}
    cut = sorted(ranks.values())[2]
    assert ids(sdk.runs.list(sampleRate=cut)) == {i for i, rank in ranks.items() if rank < cut}


def test_since_last_closed(sdk, runs):
    later = make_run(runs["bare"].automation, createdAt=timezone.now().isoformat())
    assert ids(sdk.runs.list(sinceLastClosed=True)) == {later.id}


def test_sort_and_order(sdk, runs):
    newest = [row["id"] for row in sdk.runs.list()["runs"]]
    assert [row["id"] for row in sdk.runs.list(sort="createdAt", order="asc")["runs"]] == newest[::-1]


@pytest.mark.parametrize(("query", "field"), [
    ({"reviewStatuz": "open"}, "reviewStatuz"), ({"reviewVerdict": "partial"}, "reviewVerdict"),
    ({"hasReview": "maybe"}, "hasReview"), ({"sampleRate": 2}, "sampleRate"), ({"sort": "name"}, "sort"),
])
def test_an_unknown_or_malformed_parameter_is_refused_by_name(sdk, runs, query, field):
    with pytest.raises(EigenpalValidationError) as caught:
        sdk.runs.list(**query)
    assert caught.value.issues[0]["field"] == field


def test_get_with_expand_execution_and_input_embeds_the_review(sdk, http, runs):
    run = sdk.runs.get(runs["incorrect"].id, expand=["execution", "input"])
    assert run.execution.review.verdict == "incorrect" and run.execution.review.corrections[0].path == "/total"
    assert run.execution.expected.output["total"] == 1 and run.input.args["customer"] == "c-42"
    raw = http.get(f"/v1/runs/{runs['incorrect'].id}", params={"expand": "execution,input"}).json()
    assert WorkflowRunExecution.from_dict(raw["execution"]).review.verdict.value == "incorrect"
    Run.from_dict(raw)


def test_steps_trace_and_scores(sdk, http, runs):
    run_id = runs["bare"].id
    assert sdk.runs.steps(run_id) == {"steps": [], "total": 0}
    RunStepsResponse.from_dict(http.get(f"/v1/runs/{run_id}/steps").json())
    assert RunTraceResponse.from_dict(dict(sdk.runs.trace.get(run_id))).events[0].phase == "created"
    RunScoresResponse.from_dict(dict(sdk.runs.scores.list(run_id)))


def test_examples_with_metadata_only_export_and_import(sdk, http, runs):
    sdk.runs.promote(runs["incorrect"].id, {"name": "inv-1"})
    full = sdk.automations.examples.list(WF)
    assert full.data[0].expected["total"] == 1
    slim = http.get(f"/v1/automations/{WF}/examples", params={"include": "metadata"}).json()
    parsed = DatasetExampleList.from_dict(slim).data[0]
    assert parsed.input_ is None and parsed.expected is None and parsed.name == "inv-1"
    DatasetExample.from_dict(dict(sdk.automations.examples.get(WF, full.data[0].id)))
    archive = sdk.automations.dataset.export(WF)
    assert any(n.startswith("examples/inv-1/") for n in zipfile.ZipFile(io.BytesIO(archive)).namelist())
    imported = sdk.automations.dataset.import_(WF, io.BytesIO(archive), mode="replace")
    assert imported.mode == "replace" and imported.created == 1


def test_usage_events_and_rerun(sdk, runs):
    run_id = make_run(runs["bare"].automation, usage={"inputTokens": 7}).id
    assert sdk.runs.usage(run_id).tokens.input == 7
    assert sdk.runs.events(run_id)["events"][0]["phase"] == "created"
    with pytest.raises(EigenpalForbiddenError):
        sdk.runs.rerun(run_id)
