"""The error envelope of the API (docs/api-feedback.md#errors) and its answers: `ApiError`,
raised anywhere below an `api_view`; request ids; JSON and empty answers carrying them."""

import re
import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def issue(field: str, message: str, code: str = "invalid_value", severity: str = "error") -> dict:
    return {"field": field or "<root>", "message": message, "code": code, "severity": severity}


class ApiError(Exception):
    """An answer in the error envelope: raise it anywhere below an `api_view`."""

    def __init__(self, status: int, message: str = "", *, field: str = "<root>", code: str = "invalid_value",
                 issues: list[dict] | None = None, hint: str | None = None, headers: dict | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.extra = extra or {}  # more keys of the envelope (a 409's current `task`)
        self.status = status
        self.issues = issues if issues is not None else [issue(field, message, code)]
        self.hint = hint
        self.headers = headers or {}


def bad_request(field: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, field=field, code=code)


def not_found(message: str, field: str = "<root>") -> ApiError:
    return ApiError(404, message, field=field, code="not_found")


def request_id(request: HttpRequest) -> str:
    """The id of this request: the caller's X-Request-Id when sane, else a new one."""
    rid = getattr(request, "api_request_id", None)
    if rid is None:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if _REQUEST_ID_RE.match(incoming) else f"req_{uuid.uuid4().hex[:24]}"
        request.api_request_id = rid
    return rid


def error_response(request: HttpRequest, status: int, issues: list[dict], *, hint: str | None = None,
                   headers: dict | None = None, extra: dict | None = None) -> JsonResponse:
    """The one builder of the error envelope: {issues, requestId, hint?}, JSON, x-request-id."""
    rid = request_id(request)
    body = {"issues": issues, "requestId": rid}
    if hint:
        body["hint"] = hint
    body.update(extra or {})
    response = JsonResponse(body, status=status)
    response["x-request-id"] = rid
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_response(request: HttpRequest, data, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    response["x-request-id"] = request_id(request)
    return response


def empty_response(request: HttpRequest, status: int = 204) -> HttpResponse:
    response = HttpResponse(status=status)
    response["x-request-id"] = request_id(request)
    return response
