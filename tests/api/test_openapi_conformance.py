"""tests/openapi_conformance.py catches an answer the OpenAPI document does not describe: a wrong
type, a key it does not name, a status, media type or body it does not list, a path or method
it does not serve answered with anything but the error envelope."""

from django.http import HttpResponse, JsonResponse

from api import auth
from tests.openapi_conformance import documented_path, response_problems

CHECK = "api/v1/auth/check"
GOOD = {"ok": True, "tenantId": "loupe", "tenantSlug": "loupe", "tenantName": "Loupe", "userId": "1", "keyId": "2",
        "email": None, "name": "rita", "scope": ["reviewer"], "wildcardGranted": False}
ENVELOPE = {"issues": [{"field": "<root>", "message": "No.", "code": "not_found", "severity": "error"}],
            "requestId": "r-1"}


def test_routes_of_both_prefixes_map_to_the_documented_path():
    assert documented_path("api/v1/runs/<str:run_id>/artifacts/<path:path>") == "/api/v1/runs/{run_id}/artifacts/{path}"
    assert documented_path("v1/runs/<str:run_id>") == "/api/v1/runs/{run_id}"


def test_the_documented_answer_passes():
    assert response_problems("GET", CHECK, JsonResponse(GOOD)) == []
    assert response_problems("GET", CHECK, JsonResponse(ENVELOPE, status=401)) == []


def test_a_wrong_type_is_caught():
    problems = response_problems("GET", CHECK, JsonResponse({**GOOD, "ok": "yes"}))
    assert problems == ["ok: 'yes' is not of type 'boolean'"]


def test_a_missing_required_key_is_caught():
    body = {k: v for k, v in GOOD.items() if k != "keyId"}
    assert response_problems("GET", CHECK, JsonResponse(body)) == ["<root>: 'keyId' is a required property"]


def test_a_key_the_document_does_not_name_is_caught_at_any_depth():
    assert response_problems("GET", CHECK, JsonResponse({**GOOD, "tenant": 1})) == [
        "<root>: key 'tenant' is not in the document"]
    nested = {"runs": [], "nextCursor": None}
    assert response_problems("GET", "api/v1/runs", JsonResponse(nested)) == []
    health = {"policy": {"confidenceThreshold": 0.8, "fieldRules": {}, "unmatched": "skip", "missingConfidence": "skip",
                         "deadlineMinutes": None, "warningMinutes": 60, "extra": True}}
    assert response_problems("GET", "api/v1/automations/<str:automation_id>/review-policy", JsonResponse(health)) == [
        "/policy: key 'extra' is not in the document"]


def test_an_undocumented_status_media_type_or_body_is_caught():
    assert response_problems("GET", CHECK, JsonResponse(GOOD, status=418)) == [
        "status 418 is not documented (documented: ['200', '400', '401', '403', '404', '413', '429', '500'])"]
    assert response_problems("GET", CHECK, HttpResponse("<p>ok</p>")) == [
        "media type text/html not among the documented ['application/json']"]
    assert response_problems("GET", CHECK, HttpResponse("{oops", content_type="application/json")) == [
        "the body is not JSON"]
    delete = "api/v1/runs/<str:run_id>/reviews/expected/<path:filename>"
    assert response_problems("DELETE", delete, HttpResponse(status=204)) == []
    assert response_problems("DELETE", delete, HttpResponse("gone", status=204)) == [
        "a body (text/html) where the document says none"]


def test_answers_no_operation_owns_must_be_the_error_envelope():
    assert response_problems("GET", None, JsonResponse(ENVELOPE, status=404)) == []
    assert response_problems("GET", None, HttpResponse("<h1>Not Found</h1>", status=404)) == [
        "media type text/html not among the documented ['application/json']"]
    assert response_problems("GET", None, JsonResponse(GOOD)) != []
    assert response_problems("DELETE", CHECK, JsonResponse(ENVELOPE, status=405)) == []
    assert response_problems("DELETE", CHECK, JsonResponse(ENVELOPE, status=404)) != []


def test_a_wrong_answer_through_the_test_client_fails_the_test(api, documented_answers, monkeypatch):
    """The autouse fixture of tests/api/conftest.py sees what the client gets; here its list is
    read (and emptied, or this test would fail at teardown: the point of it)."""
    real = auth.api_response
    monkeypatch.setattr(auth, "api_response", lambda request, data: real(request, {**data, "ok": "yes"}))
    assert api.get("/api/v1/auth/check").status_code == 200
    found = list(documented_answers)
    documented_answers.clear()
    assert found == ["GET /api/v1/auth/check -> 200: ok: 'yes' is not of type 'boolean'"]
