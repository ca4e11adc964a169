"""Request-wide input rules (docs/security.md): text no database column can hold never reaches
a view. A NUL character (PostgreSQL's text columns refuse it) or a lone surrogate in the path,
a query parameter or a form field is a 400 naming where, before any lookup."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.html import escape

from api.support import API_PREFIX, error_response, issue
from runs.jsonbounds import text_problem


def _problem(request: HttpRequest) -> tuple[str, str] | None:
    problem = text_problem(request.path)
    if problem:
        return "<path>", problem
    for name, values in request.GET.lists():
        for value in (name, *values):
            problem = text_problem(value)
            if problem:
                return name, problem
    # Form posts, and multipart posts of the pages (their forms parse the body anyway); API
    # multipart bodies are left to the views, which bound their size before parsing them.
    form = request.content_type == "application/x-www-form-urlencoded" or (
        request.content_type == "multipart/form-data" and not request.path.startswith(API_PREFIX))
    if request.method == "POST" and form:
        for name, values in request.POST.lists():
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
