"""Request-wide rules: a request id on every request and log line (RequestIdMiddleware), and
input rules (docs/security.md): text no database column can hold never reaches
a view. A NUL character (PostgreSQL's text columns refuse it) or a lone surrogate in the path,
a query parameter or a form field is a 400 naming where, before any lookup."""

import logging
import time

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.html import escape

from api.support import API_PREFIX, error_response, issue, request_id
from config.logs import REQUEST_ID
from runs.jsonbounds import text_problem

request_logger = logging.getLogger("loupe.request")


class RequestIdMiddleware:
    """First of all: the request's id (the same `api.support.request_id` the API's error envelope
    shows) into the logging context, `x-request-id` on every response, and one `loupe.request`
    line per request at INFO (method, path, status, durationMs; LOG_LEVEL=INFO shows them)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request_id(request)
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            if not response.has_header("x-request-id"):
                response["x-request-id"] = rid
            request_logger.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "durationMs": round((time.perf_counter() - started) * 1000, 1)})
            return response
        finally:
            REQUEST_ID.reset(token)


def _problem(request: HttpRequest) -> tuple[str, str] | None:
    problem = text_problem(request.path)
    if problem:
        return "<path>", problem
    # Form posts, and multipart posts of the pages (their forms parse the body anyway); API
    # multipart bodies are left to the views, which bound their size before parsing them.
    form = request.content_type == "application/x-www-form-urlencoded" or (
        request.content_type == "multipart/form-data" and not request.path.startswith(API_PREFIX))
    return _field_problem(request.GET) or (_field_problem(request.POST) if request.method == "POST" and form else None)


def _field_problem(fields) -> tuple[str, str] | None:
    """The first name or value of a QueryDict that cannot be stored as text, with why."""
    for name, values in fields.lists():
        for value in (name, *values):
            problem = text_problem(value)
            if problem:
                return name, problem
    return None


class StorableTextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = _problem(request)
        if found is None:
            return self.get_response(request)
        field, message = found
        if request.path.startswith(API_PREFIX):
            return error_response(request, 400, [issue(field, message)])
        return HttpResponseBadRequest(f"<p>Bad request: {escape(field)} {escape(message)}</p>")
