"""Hostile and careless input through the API: a 4xx naming the field, never a 500, and the
good runs of a batch stored (docs/security.md)."""

import json

import pytest

from datasets.models import Example
from runs.models import Automation, Run
from tests.factories import make_run, run_record

INGEST = "/api/v1/ingest/runs"
BASE = "/api/v1/automations/workflows.extract-invoice"


def deep(levels: int):
    value = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def deep_text(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def test_every_bad_item_of_a_batch_is_reported_by_index_and_every_good_one_stored(ops_api, automation):
    good = [run_record(automation) for _ in range(3)]
    bad = [
        {**run_record(automation), "output": {"note": "a\x00b"}},          # NUL: PostgreSQL refuses it
        {**run_record(automation), "id": "run/with/slashes"},              # unreachable as a URL
        {**run_record(automation), "output": deep(100)},                   # past the nesting bound
        {**run_record(automation), "status": {"a": 1}},                    # wrong type
        {**run_record(automation), "createdAt": "99999-01-01T00:00:00Z"},  # out of range
        {**run_record(automation), "durationMs": 2**70},                   # past bigint
        {**run_record(automation), "version": "\ud800"},                   # lone surrogate
    ]
    body = [good[0], *bad[:4], good[1], *bad[4:], good[2]]
    text = json.dumps(body)  # json.dumps writes \u0000 and \ud800 escapes, as a client would
    response = ops_api.post(INGEST, text, content_type="application/json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert sorted(data["created"]) == sorted(r["id"] for r in good)
    assert [r["index"] for r in data["rejected"]] == [1, 2, 3, 4, 6, 7, 8]
    assert [r["field"] for r in data["rejected"]] == ["output.note", "id", "output", "status", "createdAt",
                                                      "durationMs", "version"]
    assert Run.objects.count() == 3


def test_nan_is_rejected_by_index(ops_api, automation):
    good, bad = run_record(automation), run_record(automation)
    text = "[" + json.dumps(good) + "," + json.dumps(bad)[:-1] + ', "usage": {"cost": NaN}}]'
    data = ops_api.post(INGEST, text, content_type="application/json").json()
    assert data["created"] == [good["id"]]
    assert data["rejected"][0]["index"] == 1 and data["rejected"][0]["field"] == "usage.cost"


def test_json_ten_thousand_deep_is_a_400_not_a_500(ops_api, automation, api, run):
    body = '{"id": "x", "automation": "workflows.extract-invoice", "output": ' + deep_text(10_000) + "}"
    assert ops_api.post(INGEST, body, content_type="application/json").status_code == 400
    response = api.put(f"/api/v1/runs/{run.pk}/feedback", '{"expected": ' + deep_text(10_000) + "}",
                       content_type="application/json")
    assert response.status_code == 400
    response = api.post(f"{BASE}/examples", '{"name": "d", "input": ' + deep_text(10_000) + "}",
                        content_type="application/json")
    assert response.status_code == 400
    assert not Example.objects.exists()


def test_ndjson_keeps_the_good_lines_around_a_deep_one(ops_api, automation):
    good = run_record(automation)
    lines = [json.dumps(good), '{"id": "deep", "output": ' + deep_text(10_000) + "}"]
    data = ops_api.post(INGEST, "\n".join(lines), content_type="application/x-ndjson").json()
    assert data["created"] == [good["id"]] and data["rejected"][0]["line"] == 2


@pytest.mark.parametrize("levels, status", [(63, 200), (70, 400)])
def test_the_nesting_bound_names_the_field_in_api_bodies(api, run, levels, status):
    response = api.put(f"/api/v1/runs/{run.pk}/feedback", {"expected": deep(levels)}, content_type="application/json")
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["issues"][0]["field"] == "expected"


def test_the_nesting_bound_is_a_setting(api, run, settings):
    settings.LOUPE_MAX_JSON_DEPTH = 5
    response = api.put(f"/api/v1/runs/{run.pk}/feedback", {"expected": deep(6)}, content_type="application/json")
    assert response.status_code == 400 and "5 levels" in response.json()["issues"][0]["message"]


@pytest.mark.parametrize("field, value", [("body", "a\x00b"), ("body", "\ud800")])
def test_unstorable_text_in_a_body_is_a_400_naming_the_field(api, run, field, value):
    text = json.dumps({field: value})
    response = api.put(f"/api/v1/runs/{run.pk}/feedback", text, content_type="application/json")
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == field


@pytest.mark.parametrize("path", [
    "/api/v1/automations/%C2%B2",                                      # superscript two: isdigit() but not int()
    "/api/v1/automations/99999999999999999999999",                    # past bigint
    f"{BASE}/examples/%C2%B2",
    f"{BASE}/examples/99999999999999999999999",
])
def test_odd_numeric_ids_are_a_404(api, automation, path):
    assert api.get(path).status_code == 404


def test_run_file_keys_that_are_not_plain_numbers_are_a_404(client, reviewer, run):
    client.force_login(reviewer)
    for key in ("%C2%B2", "99999999999999999999999"):
        assert client.get(f"/runs/{run.pk}/files/{key}/").status_code == 404


@pytest.mark.parametrize("run_id", ["a/b", "../x", ".hidden", "-x", "x" * 101, "tab\there", "é"])
def test_run_ids_outside_the_documented_set_are_rejected(ops_api, automation, run_id):
    data = ops_api.post(INGEST, {**run_record(automation), "id": run_id}, content_type="application/json").json()
    assert data["issues"][0]["field"] == "0.id"
    assert not Run.objects.exists()


def test_run_ids_in_the_documented_set_are_reachable(ops_api, automation, client, reviewer):
    ids = ["run_1", "2026-11-25T10:00:00.123Z", "a.b:c-d_e", "R" * 100]
    data = ops_api.post(INGEST, [{**run_record(automation), "id": i} for i in ids], content_type="application/json").json()
    assert sorted(data["created"]) == sorted(ids)
    client.force_login(reviewer)
    for run_id in ids:
        assert client.get(f"/runs/{run_id}/").status_code == 200, run_id
        assert ops_api.get(f"/api/v1/runs/{run_id}").status_code == 200, run_id


def test_a_mistyped_automation_is_rejected_naming_the_close_match(ops_api, automation):
    record = {**run_record(automation), "automation": "workflows.extract-invoce"}
    data = ops_api.post(INGEST, [record], content_type="application/json").json()
    issue = data["issues"][0]
    assert issue["field"] == "0.automation" and "'workflows.extract-invoice'" in issue["message"]
    assert "createAutomation" in issue["message"]
    assert Automation.objects.count() == 1 and not Run.objects.exists()


def test_a_new_automation_is_created_when_asked(ops_api, automation):
    record = {**run_record(automation), "automation": "agents.triage-email", "createAutomation": True}
    data = ops_api.post(INGEST, record, content_type="application/json").json()
    assert data["created"] == [record["id"]]
    assert Automation.objects.filter(slug="triage-email").exists()


def test_a_deep_stored_output_renders_its_review_page(client, reviewer, automation):
    # Stored before the bound existed (or by a direct database write): pages still render.
    run = make_run(automation)
    Run.objects.filter(pk=run.pk).update(output=deep(400))
    client.force_login(reviewer)
    response = client.get(f"/runs/{run.pk}/")
    assert response.status_code == 200
    assert "too deep to show" in response.content.decode()
