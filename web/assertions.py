"""Assertions of a dataset example, one at a time, each kind with a form of its own
(web/forms/assertions.py). The raw JSON list on the example's edit page stays the fallback."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import role_required
from accounts.roles import LEAD, REVIEWER
from backends import get_backend
from backends.base import ChangeRefused
from web.backend_errors import backend_errors
from web.forms.assertions import FORMS, describe, form_for

EDIT_ROLES = (REVIEWER, LEAD)


def _example(ref: str, pk: str):
    backend = get_backend()
    automation = backend.automation(ref)
    return backend, automation, backend.example(automation, pk)


def _list_url(automation, example) -> str:
    return reverse("example_assertions", args=[automation.ref, example.id])


def _save(backend, automation, example, assertions: list, form, user) -> bool:
    try:
        backend.example_update(automation=automation, example=example, changes={"assertions": assertions}, user=user)
    except ChangeRefused as refused:
        form.add_error(None, str(refused))
        return False
    return True


@require_http_methods(["GET"])
@backend_errors
def example_assertions(request: HttpRequest, ref: str, pk: str) -> HttpResponse:
    _, automation, example = _example(ref, pk)
    rows = [{"index": i, "text": describe(a), "has_form": (a.get("condition") or {}).get("kind") in FORMS}
            for i, a in enumerate(example.assertions or []) if isinstance(a, dict)]
    return render(request, "datasets/assertions.html", {
        "nav": "datasets", "automation": automation, "example": example, "rows": rows,
        "kinds": [(kind, form.title) for kind, form in FORMS.items()]})


def _form_page(request, automation, example, form, *, index=None, status=200) -> HttpResponse:
    return render(request, "datasets/assertion_form.html", {
        "nav": "datasets", "automation": automation, "example": example, "form": form, "index": index},
        status=status)


@require_http_methods(["GET", "POST"])
@role_required(*EDIT_ROLES, action="edit dataset examples")
@backend_errors
def assertion_new(request: HttpRequest, ref: str, pk: str) -> HttpResponse:
    backend, automation, example = _example(ref, pk)
    kind = (request.POST or request.GET).get("kind", "")
    form = form_for(kind, request.POST if request.method == "POST" else None)
    if form is None:
        messages.error(request, f"kind: {kind[:40]!r} has no form; choose one of the listed kinds, or edit the raw "
                                "JSON on the example's edit page.")
        return redirect(_list_url(automation, example)) if request.method == "GET" else \
            HttpResponse(f"kind: unknown assertion kind {kind[:40]!r}.", status=400, content_type="text/plain")
    if request.method == "POST" and form.is_valid():
        assertions = [*(example.assertions or []), form.to_assertion()]
        if _save(backend, automation, example, assertions, form, request.user):
            messages.success(request, "Assertion added.")
            return redirect(_list_url(automation, example))
    return _form_page(request, automation, example, form)


@require_http_methods(["GET", "POST"])
@role_required(*EDIT_ROLES, action="edit dataset examples")
@backend_errors
def assertion_edit(request: HttpRequest, ref: str, pk: str, index: int) -> HttpResponse:
    backend, automation, example = _example(ref, pk)
    assertions = list(example.assertions or [])
    if not 0 <= index < len(assertions) or not isinstance(assertions[index], dict):
        raise Http404("No such assertion.")
    kind = (assertions[index].get("condition") or {}).get("kind", "")
    form = form_for(kind, request.POST if request.method == "POST" else None, assertion=assertions[index])
    if form is None:
        messages.error(request, f"The {kind} kind has no form: edit it in the raw JSON on the example's edit page.")
        return redirect(_list_url(automation, example))
    if request.method == "POST" and form.is_valid():
        assertions[index] = form.to_assertion()
        if _save(backend, automation, example, assertions, form, request.user):
            messages.success(request, "Assertion saved.")
            return redirect(_list_url(automation, example))
    return _form_page(request, automation, example, form, index=index)


@require_POST
@role_required(*EDIT_ROLES, action="edit dataset examples")
@backend_errors
def assertion_delete(request: HttpRequest, ref: str, pk: str, index: int) -> HttpResponse:
    backend, automation, example = _example(ref, pk)
    assertions = list(example.assertions or [])
    if not 0 <= index < len(assertions):
        raise Http404("No such assertion.")
    del assertions[index]
    backend.example_update(automation=automation, example=example, changes={"assertions": assertions},
                           user=request.user)
    messages.success(request, "Assertion removed.")
    return redirect(_list_url(automation, example))
