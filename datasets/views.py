from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import BooleanField as BooleanExpression
from django.db.models import Count, ExpressionWrapper, F, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import role_required
from accounts.roles import LEAD, REVIEWER, has_role
from datasets.archive import ArchiveError, ImportResult, export_dataset, import_dataset
from datasets.forms import ExampleForm, ImportForm
from datasets.models import Example, ExampleFile, ExampleFolder
from datasets.services import ExampleError, automation_set_auto_resolve, example_delete, example_update
from review.jsontree import render_tree
from runs.models import Automation

EDIT_ROLES = (REVIEWER, LEAD)
PAGE_SIZE = 50
LIST_DEFERRED = ("input", "output", "expected", "overrides", "assertions", "metadata")


def _automation_or_404(ref: str) -> Automation:
    try:
        return Automation.objects.by_ref(ref)
    except Automation.DoesNotExist as missing:
        raise Http404(f"No automation {ref}.") from missing


def _example_or_404(ref: str, pk: int) -> Example:
    example = get_object_or_404(Example.objects.select_related("automation"), pk=pk)
    if example.automation.ref != ref:
        raise Http404("No such example in this dataset.")
    return example


def _fragment(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
def dataset_index(request: HttpRequest) -> HttpResponse:
    automations = Automation.objects.annotate(n_examples=Count("examples"))
    return render(request, "datasets/index.html", {"nav": "datasets", "automations": automations})


def _list_context(request: HttpRequest, automation: Automation, import_form: ImportForm | None = None) -> dict:
    examples = (
        automation.examples.defer(*LIST_DEFERRED)
        .annotate(n_files=Count("files"),
                  has_expected=ExpressionWrapper(Q(expected__isnull=False), output_field=BooleanExpression()))
        .order_by(F("row_order").asc(nulls_last=True), "name")
    )
    page = Paginator(examples, PAGE_SIZE).get_page(request.GET.get("page"))
    return {"nav": "datasets", "automation": automation, "page": page, "can_edit": has_role(request.user, *EDIT_ROLES),
            "import_form": import_form or ImportForm()}


@require_GET
def dataset_detail(request: HttpRequest, ref: str) -> HttpResponse:
    context = _list_context(request, _automation_or_404(ref))
    template = "datasets/partials/example_list.html" if _fragment(request) else "datasets/dataset.html"
    return render(request, template, context)


@require_POST
@role_required(*EDIT_ROLES, action="change how the dataset closes the loop")
def dataset_auto_resolve(request: HttpRequest, ref: str) -> HttpResponse:
    """Turn automatic resolution on or off: an open review is resolved when a later run of
    its promoted example passes the example's check."""
    automation = _automation_or_404(ref)
    enabled = request.POST.get("auto_resolve") == "on"
    automation_set_auto_resolve(automation=automation, enabled=enabled)
    messages.success(request, "Open reviews are now resolved automatically when their example passes."
                     if enabled else "Open reviews now wait for someone to resolve them.")
    return redirect("dataset_detail", ref=automation.ref)


@require_GET
def dataset_export(request: HttpRequest, ref: str) -> HttpResponse:
    automation = _automation_or_404(ref)
    ids = [part for value in request.GET.getlist("ids") for part in value.split(",") if part.strip()] or None
    response = HttpResponse(export_dataset(automation=automation, example_ids=ids), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{automation.ref}-dataset.zip"'
    return response


def _import_message(result: ImportResult) -> str:
    plural = "s" if result.created != 1 else ""
    text = f"Imported {result.created} example{plural} ({result.expected_set} with expected output)"
    if result.mode == "replace":
        return f"{text}; replaced {result.deleted} earlier example(s) and {result.files_deleted} file(s)."
    skipped = f"; skipped {result.skipped} whose name was already taken" if result.skipped else ""
    return f"{text}{skipped}."


@require_POST
@role_required(*EDIT_ROLES, action="import examples")
def dataset_import(request: HttpRequest, ref: str) -> HttpResponse:
    automation = _automation_or_404(ref)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = import_dataset(automation=automation, fileobj=form.cleaned_data["file"],
                                    mode=form.cleaned_data["mode"], user=request.user)
        except ArchiveError as error:
            form.add_error("mode" if error.field == "mode" else "file", str(error))
        else:
            messages.success(request, _import_message(result))
            for issue in result.issues[:20]:
                messages.warning(request, f"{issue['example']}: {issue['message']}")
            return redirect("dataset_detail", ref=automation.ref)
    return render(request, "datasets/dataset.html", _list_context(request, automation, form))


@require_GET
def example_detail(request: HttpRequest, ref: str, pk: int) -> HttpResponse:
    example = _example_or_404(ref, pk)
    files = list(example.files.all())
    has_diff = example.output is not None and example.expected is not None
    context = {
        "nav": "datasets", "automation": example.automation, "example": example,
        "can_edit": has_role(request.user, *EDIT_ROLES),
        "input_files": [f for f in files if f.folder == ExampleFolder.INPUT],
        "expected_files": [f for f in files if f.folder == ExampleFolder.EXPECTED],
        "input_tree": render_tree(example.input),
        "expected_tree": render_tree(example.expected, original=example.output, diff=has_diff),
        "expected_is_diff": has_diff,
        "metadata_tree": render_tree(example.metadata) if example.metadata else "",
        "checks": list(example.checks.order_by("-created_at", "-id")[:20]),
    }
    return render(request, "datasets/example.html", context)


@require_http_methods(["GET", "POST"])
@role_required(*EDIT_ROLES, action="edit dataset examples")
def example_edit(request: HttpRequest, ref: str, pk: int) -> HttpResponse:
    example = _example_or_404(ref, pk)
    form = ExampleForm.for_example(example, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            example_update(example=example, user=request.user, **form.changes())
        except ExampleError as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, f"Saved example {example.name}.")
            url = reverse("example_detail", args=[example.automation.ref, example.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {"nav": "datasets", "automation": example.automation, "example": example, "form": form}
    template = "datasets/partials/example_form.html" if _fragment(request) else "datasets/example_edit.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@role_required(*EDIT_ROLES, action="delete dataset examples")
def example_delete_view(request: HttpRequest, ref: str, pk: int) -> HttpResponse:
    example = _example_or_404(ref, pk)
    if request.method == "POST":
        example_delete(example=example, user=request.user)
        messages.success(request, f"Deleted example {example.name}.")
        return redirect("dataset_detail", ref=example.automation.ref)
    context = {"nav": "datasets", "automation": example.automation, "example": example}
    return render(request, "datasets/example_delete.html", context)


@require_GET
def example_file_download(request: HttpRequest, ref: str, pk: int, file_id: int) -> FileResponse:
    example = _example_or_404(ref, pk)
    example_file = get_object_or_404(ExampleFile, pk=file_id, example=example)
    return FileResponse(example_file.file.open("rb"), as_attachment=request.GET.get("inline") != "1",
                        filename=example_file.path.rsplit("/", 1)[-1],
                        content_type=example_file.content_type or None)
