import io
import json
import re
import zipfile
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from datasets.archive import export_dataset
from datasets.models import Example
from datasets.services import example_create, example_file_store, example_promote
from tests.factories import make_automation
from tests.proxy import DECIDED_BEFORE_THE_BACKEND, RENDERED_FROM_WHAT_WAS_READ


@pytest.fixture
def example(automation, run):
    made = example_create(automation=automation, name="invoice-001", input={"customer": "c-42"},
                          expected={"total": 10}, metadata={"note": "kept", "sourceRunId": run.pk},
                          annotation="VAT case")
    made.source_run = run
    made.save()
    example_file_store(example=made, folder="expected", path="out/result.csv", content=b"a,b\n",
                       content_type="text/csv")
    return made


def _detail(example):
    return reverse("example_detail", args=[example.automation.ref, example.pk])


def _edit(example):
    return reverse("example_edit", args=[example.automation.ref, example.pk])


def _edit_data(**overrides):
    data = {"name": "invoice-001", "expected": '{"total": 12}', "metadata": '{"note": "kept"}', "annotation": ""}
    data.update(overrides)
    return data


@DECIDED_BEFORE_THE_BACKEND
def test_anonymous_is_sent_to_login(backend, client, automation):
    response = client.get("/datasets/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_index_lists_automations_with_example_counts(backend, client, viewer, example):
    client.force_login(viewer)
    content = client.get("/datasets/").content.decode()
    assert "Extract Invoice" in content and '<td class="num">1</td>' in content


def test_dataset_page_lists_examples(backend, client, viewer, example):
    client.force_login(viewer)
    content = client.get("/datasets/workflows.extract-invoice/").content.decode()
    assert "invoice-001" in content and "Export ZIP" in content


@RENDERED_FROM_WHAT_WAS_READ
def test_viewer_does_not_see_the_import_form(backend, client, viewer, example):
    client.force_login(viewer)
    assert b"Import ZIP</button>" not in client.get("/datasets/workflows.extract-invoice/").content


@RENDERED_FROM_WHAT_WAS_READ
def test_reviewer_sees_the_import_form(backend, client, reviewer, example):
    client.force_login(reviewer)
    assert b"Import ZIP</button>" in client.get("/datasets/workflows.extract-invoice/").content


@RENDERED_FROM_WHAT_WAS_READ
def test_htmx_page_request_returns_the_list_fragment(backend, client, viewer, example):
    client.force_login(viewer)
    response = client.get("/datasets/workflows.extract-invoice/", HTTP_HX_REQUEST="true")
    assert response.content.decode().startswith('<section id="example-list"')


def test_unknown_dataset_is_404(backend, client, viewer, db):
    client.force_login(viewer)
    assert client.get("/datasets/workflows.nope/").status_code == 404


def test_example_page_shows_input_expected_files_and_source_run(backend, client, viewer, example, run):
    client.force_login(viewer)
    content = client.get(_detail(example)).content.decode()
    assert "c-42" in content and "out/<wbr>result.<wbr>csv" in content and f"/runs/{run.id}/" in content


def test_example_file_downloads(backend, client, viewer, example):
    client.force_login(viewer)
    page = client.get(_detail(example)).content.decode()
    url = re.search(r'href="(/datasets/[^"]+/files/[^"]+)"', page).group(1)
    assert b"".join(client.get(url).streaming_content) == b"a,b\n"


def test_example_of_another_dataset_is_404(backend, client, viewer, example):
    client.force_login(viewer)
    assert client.get(reverse("example_detail", args=["agents.other", example.pk])).status_code == 404


def test_edit_form_shows_the_current_json(backend, client, reviewer, example):
    client.force_login(reviewer)
    content = client.get(_edit(example)).content.decode()
    assert "Expected output (JSON)" in content and '"total": 10' in unescape(content)  # any entity for the quotes


def test_edit_saves_and_redirects(backend, client, reviewer, example):
    client.force_login(reviewer)
    response = client.post(_edit(example), _edit_data(name="invoice-renamed", annotation="new note"))
    example.refresh_from_db()
    assert response.status_code == 302 and (example.name, example.expected, example.annotation) == (
        "invoice-renamed", {"total": 12}, "new note")


@pytest.mark.backends("local", reason="the save is test_edit_saves_and_redirects's; the htmx answer is the page's")
def test_htmx_edit_redirects_the_client(backend, client, lead, example):
    client.force_login(lead)
    response = client.post(_edit(example), _edit_data(), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == _detail(example)


@DECIDED_BEFORE_THE_BACKEND
def test_invalid_json_is_refused_and_kept(backend, client, reviewer, example):
    client.force_login(reviewer)
    response = client.post(_edit(example), _edit_data(expected='{"total": 12,'))
    content = response.content.decode()
    assert response.status_code == 200 and "Not valid JSON" in content and '{"total": 12,' in unescape(content)
    example.refresh_from_db()
    assert example.expected == {"total": 10}


@DECIDED_BEFORE_THE_BACKEND
def test_htmx_invalid_edit_returns_the_form_fragment(backend, client, reviewer, example):
    client.force_login(reviewer)
    response = client.post(_edit(example), _edit_data(metadata="[1]"), HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200 and content.startswith('<form id="example-form"') and "JSON object" in content


def test_rename_to_a_taken_name_is_refused(backend, client, reviewer, example, automation):
    example_create(automation=automation, name="taken")
    client.force_login(reviewer)
    response = client.post(_edit(example), _edit_data(name="taken"))
    assert response.status_code == 200 and b"already exists" in response.content


@DECIDED_BEFORE_THE_BACKEND
def test_bad_name_is_refused(backend, client, reviewer, example):
    client.force_login(reviewer)
    response = client.post(_edit(example), _edit_data(name="Bad Name"))
    assert response.status_code == 200 and b"lowercase letters" in response.content


@DECIDED_BEFORE_THE_BACKEND
def test_ops_may_not_edit(backend, client, ops, example):
    client.force_login(ops)
    response = client.post(_edit(example), _edit_data())
    assert response.status_code == 403 and b"reviewer or lead" in response.content


@RENDERED_FROM_WHAT_WAS_READ
def test_viewer_sees_no_edit_buttons(backend, client, viewer, example):
    client.force_login(viewer)
    content = client.get(_detail(example)).content.decode()
    assert ">Edit</a>" not in content and ">Delete</a>" not in content


@RENDERED_FROM_WHAT_WAS_READ
def test_delete_asks_for_confirmation_first(backend, client, reviewer, example):
    client.force_login(reviewer)
    response = client.get(reverse("example_delete", args=[example.automation.ref, example.pk]))
    assert b"Delete example" in response.content and Example.objects.filter(pk=example.pk).exists()


def test_delete_removes_the_example(backend, client, reviewer, example):
    client.force_login(reviewer)
    response = client.post(reverse("example_delete", args=[example.automation.ref, example.pk]))
    assert response.status_code == 302 and not Example.objects.filter(pk=example.pk).exists()


@DECIDED_BEFORE_THE_BACKEND
def test_viewer_may_not_delete(backend, client, viewer, example):
    client.force_login(viewer)
    assert client.post(reverse("example_delete", args=[example.automation.ref, example.pk])).status_code == 403


def test_export_returns_the_zip(backend, client, viewer, example):
    client.force_login(viewer)
    response = client.get(reverse("dataset_export", args=[example.automation.ref]))
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert response["Content-Type"] == "application/zip" and "examples/invoice-001/input.json" in names


def test_export_selected_examples(backend, client, viewer, example, automation):
    example_create(automation=automation, name="other")
    client.force_login(viewer)
    response = client.get(reverse("dataset_export", args=[automation.ref]), {"ids": [example.pk]})
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert all("/invoice-001/" in name for name in names)


def _upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("dataset.zip", content, content_type="application/zip")


def test_import_into_an_empty_automation(backend, client, lead, example):
    empty = make_automation("agents.empty")
    client.force_login(lead)
    archive = export_dataset(automation=example.automation)
    response = client.post(reverse("dataset_import", args=[empty.ref]), {"file": _upload(archive), "mode": "append"})
    assert response.status_code == 302 and empty.examples.get().expected == {"total": 10}


def test_import_replace_reports_what_it_deleted(backend, client, lead, example):
    client.force_login(lead)
    archive = export_dataset(automation=example.automation)
    response = client.post(reverse("dataset_import", args=[example.automation.ref]),
                           {"file": _upload(archive), "mode": "replace"}, follow=True)
    assert b"replaced 1 earlier example(s) and 1 file(s)" in response.content


def test_legacy_archive_is_refused_with_a_clear_message(backend, client, lead, automation):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps({}))
    client.force_login(lead)
    response = client.post(reverse("dataset_import", args=[automation.ref]),
                           {"file": _upload(buffer.getvalue()), "mode": "replace"})
    content = response.content.decode()
    assert response.status_code == 200 and "legacy layout" in content
    assert response.context["import_form"]["mode"].value() == "replace"


@DECIDED_BEFORE_THE_BACKEND
def test_viewer_may_not_import(backend, client, viewer, automation):
    client.force_login(viewer)
    response = client.post(reverse("dataset_import", args=[automation.ref]), {"file": _upload(b"x")})
    assert response.status_code == 403


@DECIDED_BEFORE_THE_BACKEND
def test_get_on_import_is_not_allowed(backend, client, lead, automation):
    client.force_login(lead)
    assert client.get(reverse("dataset_import", args=[automation.ref])).status_code == 405


def _examples(automation, count):
    for n in range(count):
        example_create(automation=automation, name=f"ex-{n:03d}", input={"n": n}, expected={"n": n})


@pytest.mark.parametrize("count", [2, 30])
def test_dataset_page_query_count_is_fixed(client, viewer, automation, django_assert_num_queries, count):
    _examples(automation, count)
    client.force_login(viewer)
    # session, the user with their roles (one query: accounts/backends.py), the automation, the
    # examples' count, the examples page.
    with django_assert_num_queries(5):
        client.get(f"/datasets/{automation.ref}/")


@pytest.mark.parametrize("count", [1, 5])
def test_index_query_count_is_fixed(client, viewer, django_assert_num_queries, count):
    for n in range(count):
        _examples(make_automation(f"workflows.w{n}"), 2)
    client.force_login(viewer)
    with django_assert_num_queries(3):
        client.get("/datasets/")


def test_promoted_example_links_back_to_its_run(backend, client, viewer, run, reviewer):
    example = example_promote(run=run, name="from-run", user=reviewer)
    client.force_login(viewer)
    assert f'href="/runs/{run.id}/"' in client.get(_detail(example)).content.decode()
