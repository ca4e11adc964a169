"""The plumbing every endpoint shares: keys, the envelope, request ids, handlers, rate limit."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import ApiKey, hash_key


def test_a_missing_key_is_401_in_the_envelope(client, db):
    response = client.get("/api/v1/runs")
    assert response.status_code == 401
    assert response.json()["issues"][0]["code"] == "unauthorized"


def test_a_wrong_key_is_401(db):
    response = Client(headers={"Authorization": "Bearer loupe_nope"}).get("/api/v1/auth/check")
    assert response.status_code == 401


def test_a_revoked_key_is_401(api):
    ApiKey.objects.update(revoked_at=timezone.now())
    assert api.get("/api/v1/auth/check").status_code == 401


def test_a_session_cookie_is_not_a_key(reviewer_client):
    assert reviewer_client.get("/api/v1/runs").status_code == 401


def test_the_request_id_is_in_the_body_and_the_header(client, db):
    response = client.get("/api/v1/runs")
    assert response.json()["requestId"] == response["x-request-id"]


def test_a_sane_incoming_request_id_is_kept(client, db):
    response = client.get("/api/v1/runs", headers={"X-Request-Id": "trace-123"})
    assert response["x-request-id"] == "trace-123"


def test_successes_carry_a_request_id_too(api):
    assert api.get("/api/v1/auth/check")["x-request-id"].startswith("req_")


def test_an_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/v1/nothing/here")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["issues"][0]["code"] == "not_found"


def test_other_paths_keep_the_html_404(reviewer_client):
    response = reviewer_client.get("/no-such-page/")
    assert response.status_code == 404 and "text/html" in response["Content-Type"]


def test_a_trailing_slash_is_not_redirected(api):
    response = api.get("/api/v1/runs/")
    assert response.status_code == 404 and response.json()["issues"]


def test_a_server_error_under_api_is_a_json_500(db, monkeypatch):
    from api import runs as runs_api

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(runs_api.RunList, "page", boom)
    _, raw = ApiKey.issue(user=_user())
    response = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/runs")
    assert response.status_code == 500 and response.json()["requestId"] == response["x-request-id"]


def _user():
    from django.contrib.auth.models import User

    return User.objects.create_user("errol", password="pw")


def test_a_wrong_method_is_405_in_the_envelope(api):
    response = api.delete("/api/v1/runs")
    assert (response.status_code, response["Allow"]) == (405, "GET, POST")


def test_writes_need_no_csrf_token(api, run):
    # `api` enforces CSRF checks like a browser would; the bearer key is what counts.
    response = api.put(f"/api/v1/runs/{run.id}/feedback", {"rating": "pass"}, content_type="application/json")
    assert response.status_code == 200


def test_invalid_json_is_a_400_naming_the_root(api, run):
    response = api.put(f"/api/v1/runs/{run.id}/feedback", "{nope", content_type="application/json")
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == "<root>"


@override_settings(LOUPE_API_RATE_LIMIT=2)
def test_the_third_request_in_a_minute_is_rate_limited(api):
    from django.core.cache import cache

    cache.clear()
    statuses = [api.get("/api/v1/auth/check").status_code for _ in range(3)]
    response = api.get("/api/v1/auth/check")
    assert statuses == [200, 200, 429] and int(response["Retry-After"]) >= 1


@override_settings(LOUPE_MAX_UPLOAD_BYTES=10)
def test_an_oversize_upload_is_413(api, run):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.post(f"/api/v1/runs/{run.id}/feedback/expected",
                        {"file": SimpleUploadedFile("big.json", b"x" * 100)})
    assert response.status_code == 413 and response.json()["issues"][0]["code"] == "payload_too_large"


def test_create_api_key_prints_the_key_alone_on_the_last_line(reviewer):
    out = StringIO()
    call_command("create_api_key", "rita", "--name", "ci", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert ApiKey.objects.get(name="ci").hashed == hash_key(raw) and raw.startswith("loupe_")


def test_create_api_key_refuses_an_unknown_user(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_key", "nobody")


def test_auth_check_lists_the_roles_of_the_key_user(admin_api):
    body = admin_api.get("/api/v1/auth/check").json()
    assert body["scope"] == ["lead", "ops", "reviewer"] and body["wildcardGranted"] is True
