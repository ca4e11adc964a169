"""How pages answer when the backend fails: one page (or htmx fragment) with the message, and
for a POST the submitted fields in a form that sends them again."""

from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from backends.base import BackendError, ChangeRefused, NotFound, StorageFull

# What a reviewer typed, shown as editable boxes on the retry page (the rest rides along hidden).
_TYPED = {"body": "Note", "value": "Correction", "example_name": "Example name", "name": "Name",
          "new_name": "New name", "raw": "Expected output (JSON)", "expected_name": "Save as",
          "reason": "Reason"}


def _shown(name: str) -> tuple[str, str]:
    if name in _TYPED:
        return _TYPED[name], "text"
    if name.startswith("v:"):
        return f"Correction of {name[2:] or '/'}", "text"
    if name in ("verdict", "op"):
        return {"verdict": "Verdict", "op": "Action"}[name], "shown"
    if name.startswith("k:"):
        return f"New key in {name[2:] or '/'}", "text"
    return name, "hidden"


def backend_unavailable(request: HttpRequest, error: BackendError) -> HttpResponse:
    """The page for a backend failure with nothing else to show. A POST's fields come back in a
    form that sends them again, so nothing typed is lost (files excepted: browsers forbid that).
    htmx gets status 200, since htmx does not swap error responses."""
    fields = [(k, v, *_shown(k)) for k, values in request.POST.lists() if k != "csrfmiddlewaretoken" for v in values]
    context = {"error": error, "fields": fields, "retry_url": request.get_full_path(),
               "is_post": request.method == "POST", "lost_files": bool(request.FILES)}
    status = 200 if request.htmx else (404 if isinstance(error, NotFound) else
                                       400 if isinstance(error, ChangeRefused) else
                                       507 if isinstance(error, StorageFull) else 502)
    template = "backends/partials/unavailable.html" if request.htmx else "backends/unavailable.html"
    response = render(request, template, context, status=status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def backend_errors(view):
    """Any BackendError a view lets through becomes `backend_unavailable`; NotFound of a GET a 404."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            if request.method == "GET":
                raise Http404(str(exc)) from None
            return backend_unavailable(request, exc)
        except BackendError as exc:
            return backend_unavailable(request, exc)

    return wrapped
