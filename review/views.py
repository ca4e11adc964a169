"""Queue and review pane. Every POST works without JavaScript (post/redirect/get); with htmx it
returns the `#run-pane` fragment, so the version every form carries stays in step."""

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import role_required
from accounts.roles import REVIEWER
from datasets.services import PromoteError, example_promote
from review import services
from review.forms import (
    CorrectionForm,
    ExpectedCopyForm,
    ExpectedDeleteForm,
    ExpectedRenameForm,
    ExpectedUploadForm,
    PromoteForm,
    StatusForm,
    VerdictForm,
)
from review.jsondiff import EditError, apply_edit
from review.models import ExpectedFile
from review.panes import pane_context, review_of
from review.queries import RunQueue, run_for_pane
from runs.models import Run

reviewer_only = role_required(REVIEWER, action="review runs")


def _get_run(run_id: str) -> Run:
    try:
        return run_for_pane(run_id)
    except Run.DoesNotExist:
        raise Http404(f"No run {run_id!r}.") from None


def _queue_qs(request: HttpRequest) -> str:
    qs = RunQueue(request.GET, page_size=1).querystring()
    return "" if qs == "?" else qs


def _run_url(request: HttpRequest, run_id: str, anchor: str = "") -> str:
    return reverse("run_detail", args=[run_id]) + _queue_qs(request) + anchor


def _render_pane(request: HttpRequest, run: Run, **extra) -> HttpResponse:
    """The whole page, or the #run-pane fragment for htmx (status 200 keeps typed input)."""
    context = pane_context(request, run, **extra)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "review/partials/run_pane.html", context)
    return render(request, "review/run.html", context)


def _conflict(request, run, exc: services.StaleReview, submitted: dict) -> dict:
    return {"current": exc.current, "submitted": submitted}


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    run_queue = RunQueue(request.GET, page_size=settings.LOUPE_QUEUE_PAGE_SIZE)
    context = {"nav": "queue", "queue": run_queue, "page": run_queue.page()}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "review/partials/queue_results.html", context)
    return render(request, "review/queue.html", context)


@require_GET
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    return _render_pane(request, _get_run(run_id))


@require_GET
def run_editor(request: HttpRequest, run_id: str) -> HttpResponse:
    """The correction editor alone (htmx opens and closes inline edit forms with it)."""
    return render(request, "review/partials/editor.html", pane_context(request, _get_run(run_id)))


@require_POST
@reviewer_only
def run_verdict(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _get_run(run_id)
    form = VerdictForm(request.POST)
    if not form.is_valid():
        return _render_pane(request, run, verdict_form=form)
    verdict = form.cleaned_data["verdict"]
    changes = {"body": form.cleaned_data["body"]}
    if verdict:
        changes.update(services.VERDICTS[verdict])
    try:
        services.review_update(run=run, changes=changes, user=request.user, base_version=form.cleaned_data["version"],
                               action=f"verdict:{verdict}" if verdict else "note")
    except services.StaleReview as exc:
        form = VerdictForm(initial={**form.cleaned_data, "version": exc.current.version})
        return _render_pane(request, _get_run(run_id), verdict_form=form,
                            conflict=_conflict(request, run, exc, {"verdict": verdict, **changes}))
    if verdict == "pass":
        following = RunQueue(request.GET, page_size=1).neighbours(run)[1]
        messages.success(request, f"Run {run.pk} passed.")
        target = following.pk if following else run.pk
        if request.htmx:
            return _htmx_redirect(_run_url(request, target))
        return redirect(_run_url(request, target))
    if verdict in ("fail", "partial"):
        messages.warning(request, f"Marked as {verdict}. Correct the output below: click any value to edit it.")
        if request.htmx:
            return _render_pane(request, _get_run(run_id), message=None)
        return redirect(_run_url(request, run.pk, "#editor"))
    messages.success(request, "Note saved.")
    return _done(request, run_id)


def _htmx_redirect(url: str) -> HttpResponse:
    from django_htmx.http import HttpResponseClientRedirect

    return HttpResponseClientRedirect(url)


def _done(request: HttpRequest, run_id: str, anchor: str = "") -> HttpResponse:
    if request.htmx:
        return _render_pane(request, _get_run(run_id))
    return redirect(_run_url(request, run_id, anchor))


@require_POST
@reviewer_only
def run_status(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _get_run(run_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _render_pane(request, run, status_form=form)
    try:
        services.review_set_status(run=run, action=form.cleaned_data["action"], user=request.user,
                                   base_version=form.cleaned_data["version"])
    except services.StaleReview as exc:
        return _render_pane(request, _get_run(run_id),
                            conflict=_conflict(request, run, exc, {"action": form.cleaned_data["action"]}))
    messages.success(request, {"resolve": "Review resolved.", "ignore": "Review ignored.",
                               "reopen": "Review reopened."}[form.cleaned_data["action"]])
    return _done(request, run_id)


@require_POST
@reviewer_only
def run_correct(request: HttpRequest, run_id: str) -> HttpResponse:
    """One correction-editor operation; errors re-render the editor with what was typed."""
    run = _get_run(run_id)
    form = CorrectionForm(request.POST)
    if not form.is_valid():
        return _render_pane(request, run, editor_state={"op": request.POST.get("op", ""), "error": "Invalid edit."})
    data = form.cleaned_data
    review = review_of(run)
    current = review.expected if review and review.expected is not None else run.output
    state = {"op": data["op"], "path": data["path"], "value": data["value"], "key": data["key"]}
    try:
        expected = None if data["op"] == "reset" else apply_edit(
            current, op=data["op"], path=data["path"], value=data["value"], key=data["key"])
        services.review_update(run=run, changes={"expected": expected}, user=request.user,
                               base_version=data["version"], action=f"correct:{data['op']}")
    except EditError as exc:
        return _render_pane(request, run, editor_state={**state, "error": str(exc)})
    except services.StaleReview as exc:
        return _render_pane(request, _get_run(run_id), editor_state=state,
                            conflict=_conflict(request, run, exc, {"edit": state}))
    return _done(request, run_id, "#editor")


def _file_action(request: HttpRequest, run_id: str, form_class, action) -> HttpResponse:
    run = _get_run(run_id)
    form = form_class(request.POST, request.FILES)
    upload_form = form if form_class is ExpectedUploadForm else None
    if not form.is_valid():
        return _render_pane(request, run, upload_form=upload_form,
                            file_error=" ".join(e for errors in form.errors.values() for e in errors))
    try:
        change = action(run, form.cleaned_data)
    except services.ReviewError as exc:
        return _render_pane(request, run, upload_form=upload_form, file_error=str(exc))
    messages.success(request, f"Expected file {change.name} saved." if form_class is not ExpectedDeleteForm
                     else f"Expected file {change.name} deleted.")
    return _done(request, run_id, "#expected-files")


@require_POST
@reviewer_only
def expected_upload(request: HttpRequest, run_id: str) -> HttpResponse:
    return _file_action(request, run_id, ExpectedUploadForm, lambda run, d: services.expected_file_upload(
        run=run, upload=d["file"], name=d["name"] or None, user=request.user))


@require_POST
@reviewer_only
def expected_copy(request: HttpRequest, run_id: str) -> HttpResponse:
    return _file_action(request, run_id, ExpectedCopyForm, lambda run, d: services.expected_file_copy_output(
        run=run, output_name=d["output_name"], expected_name=d["expected_name"] or None, user=request.user))


@require_POST
@reviewer_only
def expected_rename(request: HttpRequest, run_id: str) -> HttpResponse:
    return _file_action(request, run_id, ExpectedRenameForm, lambda run, d: services.expected_file_rename(
        run=run, name=d["name"], new_name=d["new_name"], user=request.user))


@require_POST
@reviewer_only
def expected_delete(request: HttpRequest, run_id: str) -> HttpResponse:
    return _file_action(request, run_id, ExpectedDeleteForm, lambda run, d: services.expected_file_delete(
        run=run, name=d["name"], user=request.user))


@require_GET
@xframe_options_sameorigin
def expected_download(request: HttpRequest, run_id: str, file_id: int) -> FileResponse:
    expected = get_object_or_404(ExpectedFile, pk=file_id, review__run_id=run_id)
    return FileResponse(expected.file.open("rb"), as_attachment=request.GET.get("inline") != "1",
                        filename=expected.name.rsplit("/", 1)[-1], content_type=expected.content_type or None)


@require_POST
@reviewer_only
def run_promote(request: HttpRequest, run_id: str) -> HttpResponse:
    """Promote to the dataset; without an expected output, ask to confirm first."""
    run = _get_run(run_id)
    form = PromoteForm(request.POST)
    if not form.is_valid():
        return _render_pane(request, run, promote_form=form)
    review = review_of(run)
    if not (review and review.has_expected) and not form.cleaned_data["confirm_no_expected"]:
        form.add_error("confirm_no_expected", "This run has no expected output or files yet, so the example would "
                       "have no ground truth. Correct the output first, or tick the box to promote anyway.")
        return _render_pane(request, run, promote_form=form)
    try:
        example = example_promote(run=run, name=form.cleaned_data["name"], user=request.user)
    except PromoteError as exc:
        form.add_error("name", str(exc))
        return _render_pane(request, run, promote_form=form)
    messages.success(request, f"Promoted to dataset example {example.name}.")
    return _done(request, run_id, "#promote")
