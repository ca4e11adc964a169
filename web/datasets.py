"""Dataset pages: index, one dataset's examples, one example, edit, delete, ZIP export and import.
Examples come from the configured backend (Loupe's database, or the upstream API in proxy mode)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import role_required
from accounts.roles import LEAD, REVIEWER, has_role
from backends import get_backend
from backends.base import BackendError, ChangeRefused, StorageFull
from datasets.archive import ImportResult
from datasets.compare import COMPARE_RUNS, example_compare
from datasets.services import automation_set_auto_resolve
from dsreview.queries import example_reviews
from runs.files import download_response
from runs.models import Automation
from web.backend_errors import backend_errors
from web.forms.datasets import ExampleCreateForm, ExampleForm, ImportForm
from web.jsontree import render_tree

EDIT_ROLES = (REVIEWER, LEAD)
PAGE_SIZE = 50


def _fragment(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _backend_for(ref: str):
    """The configured backend and the automation `ref` names (NotFound when there is none)."""
    backend = get_backend()
    return backend, backend.automation(ref)


def _example_for(ref: str, pk: str):
    """The backend, the automation and its example `pk` (NotFound when either is missing)."""
    backend, automation = _backend_for(ref)
    return backend, automation, backend.example(automation, pk)


@require_GET
@backend_errors
def dataset_index(request: HttpRequest) -> HttpResponse:
    return render(request, "datasets/index.html", {"nav": "datasets", "datasets": get_backend().datasets()})


def _list_context(request: HttpRequest, automation: Automation, import_form: ImportForm | None = None) -> dict:
    try:
        number = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        number = 1
    backend = get_backend()
    page = backend.examples_page(automation, number, PAGE_SIZE)
    # Closing the loop checks runs recorded in Loupe, so proxy mode has no automatic resolve.
    return {"nav": "datasets", "automation": automation, "page": page, "can_edit": has_role(request.user, *EDIT_ROLES),
            "can_lead": has_role(request.user, LEAD),
            "import_form": import_form or ImportForm(), "proxy": backend.name != "local"}


@require_GET
@backend_errors
def dataset_detail(request: HttpRequest, ref: str) -> HttpResponse:
    context = _list_context(request, get_backend().automation(ref))
    template = "datasets/partials/example_list.html" if _fragment(request) else "datasets/dataset.html"
    return render(request, template, context)


@require_POST
@role_required(*EDIT_ROLES, action="change how the dataset closes the loop")
@backend_errors
def dataset_auto_resolve(request: HttpRequest, ref: str) -> HttpResponse:
    """Turn automatic resolution on or off: an open review is resolved when a later run of
    its promoted example passes the example's check."""
    automation = get_backend().automation(ref)
    enabled = request.POST.get("auto_resolve") == "on"
    automation_set_auto_resolve(automation=automation, enabled=enabled)
    messages.success(request, "Open reviews are now resolved automatically when their example passes."
                     if enabled else "Open reviews now wait for someone to resolve them.")
    return redirect("dataset_detail", ref=automation.ref)


@require_GET
@backend_errors
def dataset_export(request: HttpRequest, ref: str) -> HttpResponse:
    backend = get_backend()
    ids = [part for value in request.GET.getlist("ids") for part in value.split(",") if part.strip()] or None
    return download_response(backend.dataset_export(backend.automation(ref), ids))


def _import_message(result: ImportResult) -> str:
    plural = "s" if result.created != 1 else ""
    text = f"Imported {result.created} example{plural} ({result.expected_set} with expected output)"
    if result.mode == "replace":
        return f"{text}; replaced {result.deleted} earlier example(s) and {result.files_deleted} file(s)."
    skipped = f"; skipped {result.skipped} whose name was already taken" if result.skipped else ""
    return f"{text}{skipped}."


@require_POST
@role_required(*EDIT_ROLES, action="import examples")
@backend_errors
def dataset_import(request: HttpRequest, ref: str) -> HttpResponse:
    backend, automation = _backend_for(ref)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = backend.dataset_import(automation=automation, upload=form.cleaned_data["file"],
                                            mode=form.cleaned_data["mode"], user=request.user)
        except ChangeRefused as error:
            form.add_error("mode" if error.field == "mode" else "file", str(error))
        except StorageFull as error:
            form.add_error("file", f"Not imported: {error}")
            return render(request, "datasets/dataset.html", _list_context(request, automation, form), status=507)
        except BackendError as error:
            form.add_error("file", f"Not imported: {error}")
        else:
            messages.success(request, _import_message(result))
            for issue in result.issues[:20]:
                messages.warning(request, f"{issue.get('example', '')}: {issue.get('message', '')}")
            return redirect("dataset_detail", ref=automation.ref)
    return render(request, "datasets/dataset.html", _list_context(request, automation, form))


@require_GET
@backend_errors
def example_detail(request: HttpRequest, ref: str, pk: str) -> HttpResponse:
    backend, automation, example = _example_for(ref, pk)
    has_diff = example.output is not None and example.expected is not None
    context = {
        "nav": "datasets", "automation": automation, "example": example,
        "can_edit": has_role(request.user, *EDIT_ROLES),
        "input_files": example.input_files,
        "expected_files": example.expected_files,
        "input_tree": render_tree(example.input),
        "expected_tree": render_tree(example.expected, original=example.output, diff=has_diff),
        "expected_is_diff": has_diff,
        "metadata_tree": render_tree(example.metadata) if example.metadata else "",
        "checks": example.checks,
        # The dataset review requests that hold this example (local backend: docs/dataset-reviews.md).
        "review_items": example_reviews(automation.pk, example.name) if backend.name == "local" else [],
    }
    return render(request, "datasets/example.html", context)


def _compare_context(request: HttpRequest, automation: Automation, example, notice: str = "",
                     refused: str = "") -> dict:
    original, runs = get_backend().example_runs(automation, example, COMPARE_RUNS)
    comparison = example_compare(original=original, expected=example.expected, assertions=example.assertions,
                                 runs=runs)
    for group in comparison.groups:
        for item in group.runs:  # the run's output, its differences from the expected output marked
            item.tree = render_tree(item.run.output, original=example.expected, diff=example.expected is not None)
    return {"nav": "datasets", "automation": automation, "example": example, "comparison": comparison,
            "original_tree": render_tree(original),
            "expected_tree": render_tree(example.expected, original=original, diff=original is not None),
            "can_rerun": has_role(request.user, *EDIT_ROLES), "notice": notice, "refused": refused}


@require_GET
@backend_errors
def example_compare_view(request: HttpRequest, ref: str, pk: str) -> HttpResponse:
    backend, automation = _backend_for(ref)
    context = _compare_context(request, automation, backend.example(automation, pk))
    template = "datasets/partials/compare.html" if _fragment(request) else "datasets/example_compare.html"
    return render(request, template, context)


@require_POST
@role_required(*EDIT_ROLES, action="rerun dataset examples")
@backend_errors
def example_rerun_view(request: HttpRequest, ref: str, pk: str) -> HttpResponse:
    """Start a run of the example upstream; it joins the comparison once listed (the fragment
    polls while a run is unfinished). Where runs are not executed, the page says so."""
    backend, automation, example = _example_for(ref, pk)
    notice = refused = ""
    try:
        run_id = backend.example_rerun(automation=automation, example=example, user=request.user)
    except ChangeRefused as failed:
        refused = str(failed)
    else:
        notice = f"Started run {run_id} of this example on the latest version; it appears below when listed."
    if not _fragment(request) and notice:
        messages.success(request, notice)
        return redirect(reverse("example_compare", args=[automation.ref, example.id]))
    context = _compare_context(request, automation, example, notice=notice, refused=refused)
    template = "datasets/partials/compare.html" if _fragment(request) else "datasets/example_compare.html"
    return render(request, template, context)


def _example_form_page(request: HttpRequest, automation, example, form, save, done: str, page: str) -> HttpResponse:
    """The example form (new or edit): `save()` returns the example's id; a refused field is
    shown on the form, a backend failure as a banner, with everything typed kept."""
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            pk = save()
        except ChangeRefused as refused:
            field = "name" if refused.field == "<root>" else refused.field
            form.add_error(field if field in form.fields else None, str(refused))
        except BackendError as failed:
            error = failed
        else:
            messages.success(request, f"{done} example {form.cleaned_data['name']}.")
            url = reverse("example_detail", args=[automation.ref, pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {"nav": "datasets", "automation": automation, "example": example, "form": form, "backend_error": error}
    template = "datasets/partials/example_form.html" if _fragment(request) else page
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@role_required(*EDIT_ROLES, action="create dataset examples")
@backend_errors
def example_new(request: HttpRequest, ref: str) -> HttpResponse:
    backend, automation = _backend_for(ref)
    form = ExampleCreateForm(request.POST if request.method == "POST" else None)
    return _example_form_page(
        request, automation, None, form,
        lambda: backend.example_create(automation=automation, fields=form.changes(), user=request.user),
        "Created", "datasets/example_new.html")


@require_http_methods(["GET", "POST"])
@role_required(*EDIT_ROLES, action="edit dataset examples")
@backend_errors
def example_edit(request: HttpRequest, ref: str, pk: str) -> HttpResponse:
    backend, automation, example = _example_for(ref, pk)
    form = ExampleForm.for_example(example, request.POST if request.method == "POST" else None)

    def save() -> str:
        backend.example_update(automation=automation, example=example, changes=form.changes(), user=request.user)
        return example.pk

    return _example_form_page(request, automation, example, form, save, "Saved", "datasets/example_edit.html")


@require_http_methods(["GET", "POST"])
@role_required(*EDIT_ROLES, action="delete dataset examples")
@backend_errors
def example_delete_view(request: HttpRequest, ref: str, pk: str) -> HttpResponse:
    backend, automation, example = _example_for(ref, pk)
    if request.method == "POST":
        backend.example_delete(automation=automation, example=example, user=request.user)
        messages.success(request, f"Deleted example {example.name}.")
        return redirect("dataset_detail", ref=automation.ref)
    context = {"nav": "datasets", "automation": automation, "example": example}
    return render(request, "datasets/example_delete.html", context)


@require_GET
@backend_errors
def example_file_download(request: HttpRequest, ref: str, pk: str, key: str) -> HttpResponse:
    backend = get_backend()
    download = backend.example_file(backend.automation(ref), pk, key)
    return download_response(download, inline=request.GET.get("inline") == "1")
