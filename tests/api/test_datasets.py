"""Dataset examples, their files, export and import through the API (test client)."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.models import Example

BASE = "/api/v1/automations/workflows.extract-invoice"


def create(client, body):
    return client.post(f"{BASE}/examples", body, content_type="application/json")


def test_create_answers_201_with_every_required_key(api, automation):
    data = create(api, {"name": "inv-1", "input": {"a": 1}}).json()
    assert set(data) >= {"id", "name", "automationId", "automationType", "input", "expected", "expectedFiles",
                         "metadata", "annotation", "rowOrder", "overrides", "latestRunId"}


def test_a_create_without_a_name_gets_one_and_a_retry_finds_it(api, automation):
    first, again = create(api, {"input": {"a": 1}}), create(api, {"input": {"a": 1}})
    assert first.json()["id"] == again.json()["id"] and first.json()["name"].startswith("example-")


def test_the_same_name_with_other_content_is_a_400(api, automation):
    create(api, {"name": "inv-1", "input": {"a": 1}})
    response = create(api, {"name": "inv-1", "input": {"a": 2}})
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == "name"


@pytest.mark.parametrize(("body", "field"), [({"name": "x", "rowOrder": -1}, "rowOrder"),
                                             ({"name": "x", "input": [1]}, "input"),
                                             ({"name": "x", "annotation": "a" * 2001}, "annotation"),
                                             ({"name": "x", "extra": 1}, "extra")])
def test_invalid_fields_are_named(api, automation, body, field):
    assert create(api, body).json()["issues"][0]["field"] == field


def test_update_is_partial_and_null_clears(api, automation):
    example = create(api, {"name": "inv-1", "input": {"a": 1}, "annotation": "x", "rowOrder": 3}).json()
    data = api.patch(f"{BASE}/examples/{example['id']}", {"annotation": None}, content_type="application/json").json()
    assert (data["annotation"], data["rowOrder"], data["input"]) == (None, 3, {"a": 1})


def test_an_example_is_found_by_name_too(api, automation):
    create(api, {"name": "inv-1"})
    assert api.get(f"{BASE}/examples/inv-1").json()["name"] == "inv-1"


def test_delete_answers_the_deleted_example(api, automation):
    example = create(api, {"name": "inv-1"}).json()
    assert api.delete(f"{BASE}/examples/{example['id']}").json()["name"] == "inv-1" and not Example.objects.exists()


def test_a_lead_may_edit_the_dataset(lead_api, automation):
    assert create(lead_api, {"name": "inv-1"}).status_code == 201


def test_a_user_without_a_role_may_only_read_the_dataset(viewer_api, automation):
    assert viewer_api.get(f"{BASE}/examples").status_code == 200
    assert create(viewer_api, {"name": "x"}).status_code == 403


def test_run_is_refused_with_not_supported(api, automation):
    example = create(api, {"name": "inv-1"}).json()
    response = api.post(f"{BASE}/examples/{example['id']}/run")
    assert response.status_code == 403 and response.json()["issues"][0]["code"] == "not_supported"


def test_the_examples_list_has_a_fixed_query_budget(api, automation, django_assert_num_queries):
    for n in range(12):
        create(api, {"name": f"inv-{n}"})
    for limit in (2, 10):
        with django_assert_num_queries(5):  # key, automation, page, files of the page, count
            api.get(f"{BASE}/examples?limit={limit}")


@pytest.fixture
def example(api, automation) -> dict:
    return create(api, {"name": "inv-1"}).json()


def test_several_files_upload_at_once(api, example):
    response = api.post(f"{BASE}/examples/{example['id']}/expected",
                        {"file": [SimpleUploadedFile("a.json", b"{}"), SimpleUploadedFile("b.pdf", b"%PDF")]})
    assert (response.status_code, response.json()) == (201, {"uploaded": ["a.json", "b.pdf"]})


def test_files_list_per_folder(api, example):
    api.post(f"{BASE}/examples/{example['id']}/input", {"file": SimpleUploadedFile("doc.txt", b"d")})
    assert api.get(f"{BASE}/examples/{example['id']}/input").json() == {"files": ["doc.txt"]}
    assert api.get(f"{BASE}/examples/{example['id']}/expected").json() == {"files": []}


def test_a_retried_file_rename_and_delete_answer_success(api, example):
    api.post(f"{BASE}/examples/{example['id']}/expected", {"file": SimpleUploadedFile("a.json", b"{}")})
    url = f"{BASE}/examples/{example['id']}/expected/a.json"
    renames = [api.patch(url, {"newFilename": "b.json"}, content_type="application/json").json() for _ in range(2)]
    deletes = [api.delete(f"{BASE}/examples/{example['id']}/expected/b.json").status_code for _ in range(2)]
    assert renames == [{"ok": True, "filename": "b.json", "path": "b.json"}] * 2 and deletes == [200, 200]


def test_a_rename_with_a_slash_is_a_400(api, example):
    api.post(f"{BASE}/examples/{example['id']}/expected", {"file": SimpleUploadedFile("a.json", b"{}")})
    response = api.patch(f"{BASE}/examples/{example['id']}/expected/a.json", {"newFilename": "x/b.json"},
                         content_type="application/json")
    assert response.json()["issues"][0]["field"] == "newFilename"


def test_expected_files_appear_on_the_example_with_a_download_url(api, example):
    api.post(f"{BASE}/examples/{example['id']}/expected", {"file": SimpleUploadedFile("a b.json", b"{}")})
    files = api.get(f"{BASE}/examples/{example['id']}").json()["expectedFiles"]
    assert files[0]["name"] == "a b.json" and b"".join(api.get(files[0]["url"]).streaming_content) == b"{}"


def _zip(entries: dict) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return SimpleUploadedFile("d.zip", buffer.getvalue(), content_type="application/zip")


def test_export_picks_examples_by_id(api, automation):
    create(api, {"name": "inv-a"})
    b = create(api, {"name": "inv-b"}).json()
    response = api.get(f"{BASE}/dataset/export?exampleIds={b['id']}")
    assert response["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == ["examples/inv-b/input.json"]


def test_import_append_answers_only_the_append_keys(api, automation):
    response = api.post(f"{BASE}/dataset/import", {"mode": "append", "file": _zip({"examples/x/input.json": "{}"})})
    assert response.json() == {"mode": "append", "created": 1, "expectedSet": 0, "skipped": 0, "issues": []}


def test_import_defaults_to_append(api, automation):
    response = api.post(f"{BASE}/dataset/import", {"file": _zip({"examples/x/input.json": "{}"})})
    assert response.json()["mode"] == "append"


def test_a_legacy_archive_is_a_400(api, automation):
    response = api.post(f"{BASE}/dataset/import", {"file": _zip({"input/arguments.json": "{}"})})
    assert response.status_code == 400 and response.json()["issues"]


def test_an_unknown_mode_is_a_400(api, automation):
    response = api.post(f"{BASE}/dataset/import", {"mode": "merge", "file": _zip({"examples/x/input.json": "{}"})})
    assert response.json()["issues"][0]["field"] == "mode"
