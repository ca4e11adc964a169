"""How pages answer when the backend fails: one page (or htmx fragment) with the message, and
for a POST the submitted fields in a form that sends them again."""

from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from backends.base import BackendError, ChangeRefused, NotFound


def backend_unavailable(request: HttpRequest, error: BackendError) -> HttpResponse:
    """The page for a backend failure with nothing else to show. A POST's fields come back in a
    form that sends them again, so nothing typed is lost (files excepted: browsers forbid that).
    htmx gets status 200, since htmx does not swap error responses."""
    fields = [(k, v) for k, values in request.POST.lists() if k != "csrfmiddlewaretoken" for v in values]
    context = {"error": error, "fields": fields, "retry_url": request.get_full_path(),
               "is_post": request.method == "POST", "lost_files": bool(request.FILES)}
    status = 200 if request.htmx else (404 if isinstance(error, NotFound) else
                                       400 if isinstance(error, ChangeRefused) else 502)
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
