"""The official eigenpal 0.9.1 SDK (facade and generated client) against a live Loupe server:
real HTTP, no mocks. Every method of docs/api-feedback.md#sdk-methods is driven here."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from eigenpal import (
    EigenpalAuthError,
    EigenpalClient,
    EigenpalForbiddenError,
    EigenpalNotFoundError,
    EigenpalValidationError,
)
from eigenpal._generated.api.evaluation import (
    automations_dataset_import,
    automations_examples_expected_file_delete,
    automations_examples_expected_file_get,
    automations_examples_expected_file_update,
    automations_examples_expected_files_create,
    automations_examples_expected_files_list,
    automations_examples_get,
    automations_examples_input_file_delete,
    automations_examples_input_file_get,
    automations_examples_input_file_update,
    automations_examples_input_files_create,
    automations_examples_input_files_list,
    runs_scores_list,
)
from eigenpal._generated.api.metadata import auth_check
from eigenpal._generated.api.runs import runs_feedback_get, runs_get, runs_list, runs_promote
from eigenpal._generated.client import AuthenticatedClient
from eigenpal._generated.models import (
    AuthCheckResponse,
    AutomationDatasetImportMultipartRequest,
    DatasetExample,
    DatasetExampleExpectedFileRenameRequest,
    DatasetExampleExpectedFileUploadRequest,
    DatasetExampleInputFileRenameRequest,
    DatasetExampleInputFileUploadRequest,
    DatasetImportResponseType0,
    PromoteRunRequest,
    PromoteRunResponse,
    Run,
    RunFeedbackDetail,
    RunScoresResponse,
    RunsListResponse,
)
from eigenpal._generated.models.automation_dataset_import_multipart_request_mode import (
    AutomationDatasetImportMultipartRequestMode,
)
from eigenpal._generated.types import File

from accounts.models import ApiKey
from review.models import AuditEvent
from tests.factories import make_automation, make_run, make_runs

pytestmark = pytest.mark.django_db(transaction=True)
WF = "workflows.extract-invoice"


@pytest.fixture
def key_user(transactional_db) -> User:
    # Built here, not by the shared fixtures: a transactional test flushes the role groups.
    user = User.objects.create_user("sam", email="sam@example.com", password="pw")
    user.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    return user


@pytest.fixture
def raw_key(key_user) -> str:
    return ApiKey.issue(user=key_user, name="sdk")[1]


@pytest.fixture
def client(live_server, raw_key) -> EigenpalClient:
    with EigenpalClient(api_key=raw_key, base_url=live_server.url + "/") as sdk:
        yield sdk


@pytest.fixture
def gen(live_server, raw_key) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=live_server.url, token=raw_key)


@pytest.fixture
def run(transactional_db):
    files = [{"name": "out.csv", "role": "output", "text": "a,b\n1,2\n"},
             {"name": "docs/scan 1.txt", "role": "output", "text": "scanned"},
             {"name": "invoice.pdf", "role": "input", "base64": "JVBERi0="}]
    return make_run(make_automation(WF), files=files, usage={"tokens": {"input": 10, "output": 5}})


def test_auth_check_names_the_user_of_the_key(client, gen, key_user):
    check = client.auth.check()
    assert (check.ok, check.userId, check.email, check.scope) == (True, str(key_user.pk), "sam@example.com",
                                                                  ["reviewer"])
    assert isinstance(auth_check.sync_detailed(client=gen).parsed, AuthCheckResponse)


def test_a_wrong_key_raises_auth_error_with_a_request_id(live_server):
    with EigenpalClient(api_key="loupe_wrong", base_url=live_server.url, max_retries=0) as sdk:
        with pytest.raises(EigenpalAuthError) as caught:
            sdk.runs.list()
    assert caught.value.request_id.startswith("req_")


def test_runs_get_with_every_expansion_and_typed_errors(client, gen, run):
    detail = client.runs.get(run.id, expand=["input", "usage", "execution", "debug"])
    assert detail.output["total"] == 1234.5 and detail.input.args["customer"] == "c-42"
    assert detail.usage.tokens.input == 10 and detail.execution.steps == [] and detail.execution.feedback is None
    assert {f.path for f in detail.files} == {"output/out.csv", "output/docs/scan 1.txt", "input/invoice.pdf"}
    assert isinstance(runs_get.sync_detailed(run.id, client=gen, expand="input,usage,debug").parsed, Run)
    with pytest.raises(EigenpalNotFoundError):
        client.runs.get("no such run")
    with pytest.raises(EigenpalValidationError, match="expand"):
        client.runs.get(run.id, expand="everything")


def test_runs_list_filters_by_status_list_feedback_and_snake_case(client, gen, run):
    failed = make_run(run.automation, status="failed", error="boom")
    client.runs.feedback.update(run.id, {"rating": "fail", "status": "open"})
    assert [r.id for r in client.runs.list(status=["failed", "cancelled"]).runs] == [failed.id]
    assert [r.id for r in client.runs.list(status="failed,cancelled", type="workflow").runs] == [failed.id]
    page = client.runs.list(hasFeedback=True, feedbackStatus="open", feedbackRating="fail", cursor=None)
    assert [r.id for r in page.runs] == [run.id] and page.nextCursor is None
    assert [r.id for r in client.runs.list(no_feedback=True).runs] == [failed.id]
    assert isinstance(runs_list.sync_detailed(client=gen, status="failed", source=WF).parsed, RunsListResponse)


def test_pagination_over_250_runs_by_cursor_and_by_offset(client, transactional_db):
    automation = make_automation(WF)
    make_runs(250, automation)
    seen, cursor = [], None
    while True:
        page = client.runs.list(limit=100, cursor=cursor)
        seen += [r.id for r in page.runs]
        cursor = page.nextCursor
        if cursor is None:
            break
    by_offset, offset = [], 0
    while True:
        page = client.runs.list(limit=100, offset=offset, hasFeedback=False)
        by_offset += [r.id for r in page.runs]
        offset += 100
        if len(page.runs) < 100:
            break
    assert len(seen) == 250 and len(set(seen)) == 250 and by_offset == seen


def test_feedback_update_merges_and_is_attributed_to_the_key_user(client, gen, run, key_user):
    client.runs.feedback.update(run.id, {"rating": "fail", "status": "open", "body": "total wrong"})
    merged = client.runs.feedback.update(run.id, {"expected": {"total": 1}, "body": None})
    assert (merged.feedback.rating, merged.feedback.body, merged.expected) == ("fail", "", {"total": 1})
    assert merged.feedback.createdBy == str(key_user.pk)
    event = AuditEvent.objects.filter(run=run).first()
    assert (event.via, event.user_id) == ("api", key_user.pk)
    assert isinstance(runs_feedback_get.sync_detailed(run.id, client=gen).parsed, RunFeedbackDetail)
    with pytest.raises(EigenpalValidationError, match="rating"):
        client.runs.feedback.update(run.id, {"rating": "great"})
    cleared = client.runs.feedback.clear(run.id)
    assert (cleared.feedback, cleared.expected, cleared.expectedFiles) == (None, None, [])


def test_expected_files_copy_upload_download_rename_delete_with_a_slash_and_a_space(client, run):
    copied = client.runs.feedback.copy_output_to_expected(run.id, "out.csv", expected_name="fixed.csv")
    assert copied.name == "fixed.csv"
    uploaded = client.runs.feedback.upload_expected(run.id, {"content": b'{"a": 1}', "filename": "e.json"},
                                                    name="sub/e 1.json")
    assert uploaded.name == "sub/e 1.json"
    assert client.runs.feedback.download_expected(run.id, "sub/e 1.json") == b'{"a": 1}'
    listed = client.runs.feedback.list_expected(run.id)
    assert [f.name for f in listed.files] == ["fixed.csv", "sub/e 1.json"]
    assert client.runs.feedback.rename_expected(run.id, "sub/e 1.json", "sub/e 2.json").name == "sub/e 2.json"
    assert client.runs.feedback.delete_expected(run.id, "sub/e 2.json") is None
    assert [f.name for f in client.runs.feedback.get(run.id).expectedFiles] == ["fixed.csv"]
    with pytest.raises(EigenpalNotFoundError):
        client.runs.feedback.copy_output_to_expected(run.id, "missing.csv")


def test_artifacts_scores_and_promote(client, gen, run):
    artifacts = client.runs.artifacts.list(run.id).artifacts
    assert {a.path for a in artifacts} >= {"output/out.csv", "output/docs/scan 1.txt"}
    assert client.runs.artifacts.download(run.id, "output/docs/scan 1.txt") == b"scanned"
    assert client.runs.artifacts.download(run.id, "out.csv") == b"a,b\n1,2\n"
    assert client.runs.scores.list(run.id).scores == []
    assert isinstance(runs_scores_list.sync_detailed(run.id, client=gen).parsed, RunScoresResponse)
    first = client.runs.promote(run.id)
    again = client.runs.promote(run.id, {"name": first.name})
    assert (again.exampleId, again.automationType) == (first.exampleId, "workflow")
    named = runs_promote.sync_detailed(run.id, client=gen, body=PromoteRunRequest(name="invoice-42")).parsed
    assert isinstance(named, PromoteRunResponse) and named.name == "invoice-42"
    assert client.runs.feedback.get(run.id).feedback.promotedExampleName == "invoice-42"


def test_automations_list_and_get_by_alias_or_id(client, run):
    listed = client.automations.list(search="invoice", type="workflow", limit=10, offset=0)
    assert (listed.total, listed.data[0].slug) == (1, "extract-invoice")
    assert client.automations.get(WF).id == client.automations.get(listed.data[0].id).id
    with pytest.raises(EigenpalNotFoundError):
        client.automations.get("workflows.nope")


def test_examples_create_list_get_update_delete_and_run_is_refused(client, gen, run):
    created = client.automations.examples.create(WF, {"name": "inv-1", "input": {"x": 1}, "expected": {"y": 2}})
    assert client.automations.examples.create(WF, {"name": "inv-1", "input": {"x": 1}, "expected": {"y": 2}}).id \
        == created.id  # a retried create returns the same example
    listed = client.automations.examples.list(WF, limit=10, offset=0)
    assert (listed.total, listed.data[0].name) == (1, "inv-1")
    updated = client.automations.examples.update(WF, created.id, {"annotation": "tricky", "expected": None})
    assert (updated.annotation, updated.expected, updated.input) == ("tricky", None, {"x": 1})
    parsed = automations_examples_get.sync_detailed(WF, created.id, client=gen).parsed
    assert isinstance(parsed, DatasetExample) and parsed.annotation == "tricky"
    with pytest.raises(EigenpalForbiddenError, match="does not execute"):
        client.automations.examples.run(WF, created.id)
    with pytest.raises(EigenpalForbiddenError, match="does not execute"):
        client.run_and_wait(WF, {"x": 1})
    with pytest.raises(EigenpalValidationError, match="name"):
        client.automations.examples.create(WF, {"name": "Not Valid!"})
    assert client.automations.examples.delete(WF, created.id).name == "inv-1"
    with pytest.raises(EigenpalNotFoundError):
        client.automations.examples.get(WF, created.id)


def _upload(payload: bytes, name: str, mime: str = "application/json") -> File:
    return File(payload=io.BytesIO(payload), file_name=name, mime_type=mime)


def test_example_files_through_the_generated_client(client, gen, run):
    example = client.automations.examples.create(WF, {"name": "inv-2", "input": {}})
    expected = automations_examples_expected_files_create.sync_detailed(
        WF, example.id, client=gen,
        body=DatasetExampleExpectedFileUploadRequest(file=[_upload(b"{}", "a.json"), _upload(b"pdf", "b 1.pdf")]))
    assert (expected.status_code, expected.parsed.uploaded) == (201, ["a.json", "b 1.pdf"])
    inputs = automations_examples_input_files_create.sync_detailed(
        WF, example.id, client=gen, body=DatasetExampleInputFileUploadRequest(file=[_upload(b"in", "doc.txt")]))
    assert inputs.parsed.uploaded == ["doc.txt"]
    listed = automations_examples_expected_files_list.sync_detailed(WF, example.id, client=gen).parsed
    assert listed.files == ["a.json", "b 1.pdf"]
    assert automations_examples_input_files_list.sync_detailed(WF, example.id, client=gen).parsed.files == ["doc.txt"]
    got = automations_examples_expected_file_get.sync_detailed(WF, example.id, "b 1.pdf", client=gen).parsed
    assert got.payload.read() == b"pdf"
    assert automations_examples_input_file_get.sync_detailed(WF, example.id, "doc.txt", client=gen).parsed \
        .payload.read() == b"in"
    renamed = automations_examples_expected_file_update.sync_detailed(
        WF, example.id, "b 1.pdf", client=gen,
        body=DatasetExampleExpectedFileRenameRequest(new_filename="c.pdf")).parsed
    assert (renamed.ok, renamed.filename, renamed.path) == (True, "c.pdf", "c.pdf")
    automations_examples_input_file_update.sync_detailed(
        WF, example.id, "doc.txt", client=gen, body=DatasetExampleInputFileRenameRequest(new_filename="d.txt"))
    assert automations_examples_expected_file_delete.sync_detailed(WF, example.id, "a.json", client=gen) \
        .status_code == 200
    assert automations_examples_input_file_delete.sync_detailed(WF, example.id, "d.txt", client=gen).status_code == 200
    detail = client.automations.examples.get(WF, example.id)
    assert [f.name for f in detail.expectedFiles] == ["c.pdf"]


def test_example_file_paths_with_a_slash_route_both_encoded_and_raw(client, gen, run):
    example = client.automations.examples.create(WF, {"name": "inv-3"})
    from datasets.models import Example
    from datasets.services import example_file_store

    example_file_store(example=Example.objects.get(pk=example.id), folder="expected", path="sub/e 1.json",
                       content=b"[1]", content_type="application/json")
    got = automations_examples_expected_file_get.sync_detailed(WF, example.id, "sub/e 1.json", client=gen)
    assert got.parsed.payload.read() == b"[1]"  # the generated client sends sub%2Fe%201.json
    renamed = automations_examples_expected_file_update.sync_detailed(
        WF, example.id, "sub/e 1.json", client=gen, body=DatasetExampleExpectedFileRenameRequest(new_filename="f.json"))
    assert renamed.parsed.path == "sub/f.json"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_dataset_export_then_import_round_trip(client, gen, run):
    client.automations.examples.create(WF, {"name": "inv-a", "input": {"x": 1}, "expected": {"y": 1}})
    second = client.automations.examples.create(WF, {"name": "inv-b", "input": {"x": 2}})
    make_automation("agents.copy-target")
    zipped = client.automations.dataset.export(WF)
    assert sorted(n for n in zipfile.ZipFile(io.BytesIO(zipped)).namelist() if n.endswith("input.json")) == \
        ["examples/inv-a/input.json", "examples/inv-b/input.json"]
    appended = client.automations.dataset.import_("agents.copy-target", {"content": zipped, "filename": "d.zip"})
    assert (appended.mode, appended.created, appended.expectedSet, appended.skipped) == ("append", 2, 1, 0)
    again = automations_dataset_import.sync_detailed("agents.copy-target", client=gen, body=(
        AutomationDatasetImportMultipartRequest(file=_upload(zipped, "d.zip", "application/zip"),
                                                mode=AutomationDatasetImportMultipartRequestMode.APPEND))).parsed
    assert isinstance(again, DatasetImportResponseType0) and again.skipped == 2
    only_b = client.automations.dataset.export(WF, example_ids=[second.id])
    replaced = client.automations.dataset.import_("agents.copy-target", {"content": only_b, "filename": "b.zip"},
                                                  mode="replace")
    assert (replaced.mode, replaced.created, replaced.deleted) == ("replace", 1, 2)
    assert [e.name for e in client.automations.examples.list("agents.copy-target").data] == ["inv-b"]
    legacy = _zip({"manifest.json": b"{}", "examples/x/input.json": b"{}"})
    with pytest.raises(EigenpalValidationError):
        client.automations.dataset.import_(WF, {"content": legacy, "filename": "old.zip"})


def test_a_reader_without_a_role_is_refused_writes(live_server, transactional_db, run):
    viewer = User.objects.create_user("vic", password="pw")
    with EigenpalClient(api_key=ApiKey.issue(user=viewer)[1], base_url=live_server.url, max_retries=0) as sdk:
        assert sdk.runs.get(run.id).id == run.id
        with pytest.raises(EigenpalForbiddenError, match="reviewer"):
            sdk.runs.feedback.update(run.id, {"rating": "pass"})


def test_since_last_resolved_lists_only_newer_runs(client, transactional_db):
    automation = make_automation(WF)
    old = make_run(automation, createdAt=(timezone.now() - timedelta(days=2)).isoformat())
    client.runs.feedback.update(old.id, {"rating": "pass", "status": "resolved"})
    newer = make_run(automation, createdAt=(timezone.now() + timedelta(seconds=5)).isoformat())
    assert [r.id for r in client.runs.list(sinceLastResolved=True, source=WF).runs] == [newer.id]
    assert json.loads(json.dumps(client.runs.list(promotedToExample=False, limit=5)))["nextCursor"] is None
