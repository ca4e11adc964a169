"""The review pane (the queue page is web/queue.py). Every POST works without JavaScript (post/redirect/get); with htmx it
returns the `#run-pane` fragment, so the version every form carries stays in step.

Runs and reviews come from the configured backend (backends.get_backend()). When it fails, the
page says what went wrong and keeps what the reviewer typed: the pane re-renders with the bound
forms when the run could be loaded, else `backend_unavailable` (web/backend_errors.py) offers the same POST again."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import role_required
from accounts.roles import REVIEWER
from backends import get_backend
from backends.base import BackendError, ChangeRefused, NotFound, ReviewConflict, RunInfo
from review.jsondiff import EditError, apply_edit
from review.services import STATUS_ACTIONS, VERDICTS
from runs.files import download_response
from web.backend_errors import backend_errors
from web.forms.review import (
    CorrectionForm,
    ExpectedCopyForm,
    ExpectedDeleteForm,
    ExpectedRenameForm,
    ExpectedUploadForm,
    PromoteForm,
    StatusForm,
    VerdictForm,
)
from web.panes import pane_context
from web.queue_list import RunQueue

reviewer_only = role_required(REVIEWER, action="review runs")


def _queue_qs(request: HttpRequest) -> str:
    qs = RunQueue(request.GET, page_size=1).querystring()
    return "" if qs == "?" else qs


def _run_url(request: HttpRequest, run_id: str, anchor: str = "") -> str:
    return reverse("run_detail", args=[run_id]) + _queue_qs(request) + anchor


def _render_pane(request: HttpRequest, run: RunInfo, **extra) -> HttpResponse:
    """The whole page, or the #run-pane fragment for htmx (status 200 keeps typed input)."""
    context = pane_context(request, run, **extra)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "review/partials/run_pane.html", context)
    return render(request, "review/run.html", context)


def _done(request: HttpRequest, run_id: str, anchor: str = "") -> HttpResponse:
    if request.htmx:
        return _render_pane(request, get_backend().run(run_id))
    return redirect(_run_url(request, run_id, anchor))


@require_GET
@backend_errors
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    return _render_pane(request, get_backend().run(run_id))


@require_GET
@backend_errors
def run_editor(request: HttpRequest, run_id: str) -> HttpResponse:
    """The correction editor alone (htmx opens and closes inline edit forms with it)."""
    return render(request, "review/partials/editor.html", pane_context(request, get_backend().run(run_id)))


@require_GET
@backend_errors
def run_scores(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run's evaluator scores, fetched after the pane (htmx `load`): in proxy mode they cost
    an upstream call the rest of the pane does not wait for."""
    return render(request, "review/partials/scores.html",
                  {"run_id": run_id, "scores": get_backend().run_scores(run_id), "loaded": True})


@require_GET
@backend_errors
def run_step(request: HttpRequest, run_id: str, direction: str) -> HttpResponse:
    """Previous/next in the queue, resolved on click (backends whose neighbours cost calls)."""
    backend = get_backend()
    target = RunQueue(request.GET, page_size=1).neighbour(backend.run(run_id), direction)
    if target is None:
        edge = "newest" if direction == "previous" else "last"
        messages.info(request, f"That was the {edge} run in this queue.")
        target = run_id
    return redirect(_run_url(request, target))


@require_POST
@reviewer_only
@backend_errors
def run_verdict(request: HttpRequest, run_id: str) -> HttpResponse:
    backend = get_backend()
    run = backend.run(run_id)
    form = VerdictForm(request.POST)
    if not form.is_valid():
        return _render_pane(request, run, verdict_form=form)
    verdict = form.cleaned_data["verdict"]
    changes = {"body": form.cleaned_data["body"]}
    if verdict:
        changes.update(VERDICTS[verdict])
    try:
        backend.review_update(run=run, changes=changes, user=request.user, base_version=form.cleaned_data["version"],
                              action=f"verdict:{verdict}" if verdict else "note")
    except ReviewConflict as exc:
        # `run` was loaded for this request: it is the current version the conflict shows.
        form = VerdictForm(initial={**form.cleaned_data, "version": exc.current.version})
        return _render_pane(request, run, verdict_form=form,
                            conflict={"current": exc.current, "submitted": {"verdict": verdict, **changes}})
    except BackendError as exc:
        return _render_pane(request, run, verdict_form=form, error=exc)
    if verdict == "pass":
        following = RunQueue(request.GET, page_size=1).neighbour(run, "next")
        messages.success(request, f"Run {run.pk} passed.")
        target = _run_url(request, following or run.pk)
        return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    if verdict in ("fail", "partial"):
        messages.warning(request, f"Marked as {verdict}. Correct the output below: click any value to edit it.")
        if request.htmx:
            return _render_pane(request, backend.run(run_id), message=None)
        return redirect(_run_url(request, run.pk, "#editor"))
    messages.success(request, "Note saved.")
    return _done(request, run_id)


@require_POST
@reviewer_only
@backend_errors
def run_status(request: HttpRequest, run_id: str) -> HttpResponse:
    backend = get_backend()
    run = backend.run(run_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _render_pane(request, run, status_form=form)
    action = form.cleaned_data["action"]
    try:
        backend.review_update(run=run, changes={"status": STATUS_ACTIONS[action]}, user=request.user,
                              base_version=form.cleaned_data["version"], action=action)
    except ReviewConflict as exc:
        return _render_pane(request, run, conflict={"current": exc.current, "submitted": {"action": action}})
    except BackendError as exc:
        return _render_pane(request, run, status_form=form, error=exc)
    messages.success(request, {"resolve": "Review resolved.", "ignore": "Review ignored.",
                               "reopen": "Review reopened."}[action])
    return _done(request, run_id)


@require_POST
@reviewer_only
@backend_errors
def run_correct(request: HttpRequest, run_id: str) -> HttpResponse:
    """One correction-editor operation; errors re-render the editor with what was typed."""
    backend = get_backend()
    run = backend.run(run_id)
    form = CorrectionForm(request.POST)
    if not form.is_valid():
        return _render_pane(request, run, editor_state={"op": request.POST.get("op", ""), "error": "Invalid edit."})
    data = form.cleaned_data
    review = run.review
    current = review.expected if review and review.expected is not None else run.output
    state = {"op": data["op"], "path": data["path"], "value": data["value"], "key": data["key"]}
    try:
        expected = None if data["op"] == "reset" else apply_edit(
            current, op=data["op"], path=data["path"], value=data["value"], key=data["key"])
        backend.review_update(run=run, changes={"expected": expected}, user=request.user,
                              base_version=data["version"], action=f"correct:{data['op']}")
    except EditError as exc:
        return _render_pane(request, run, editor_state={**state, "error": str(exc)})
    except ReviewConflict as exc:
        return _render_pane(request, run, editor_state=state,
                            conflict={"current": exc.current, "submitted": {"edit": state}})
    except BackendError as exc:
        return _render_pane(request, run, editor_state={**state, "error": f"Not saved: {exc}"}, error=exc)
    return _done(request, run_id, "#editor")


def _file_action(request: HttpRequest, run_id: str, form_class, action) -> HttpResponse:
    backend = get_backend()
    run = backend.run(run_id)
    form = form_class(request.POST, request.FILES)
    upload_form = form if form_class is ExpectedUploadForm else None
    if not form.is_valid():
        return _render_pane(request, run, upload_form=upload_form,
                            file_error=" ".join(e for errors in form.errors.values() for e in errors))
    try:
        name = action(backend, run, form.cleaned_data)
    except (ChangeRefused, NotFound) as exc:
        return _render_pane(request, run, upload_form=upload_form, file_error=str(exc))
    except BackendError as exc:
        return _render_pane(request, run, upload_form=upload_form, file_error=f"Not saved: {exc}", error=exc)
    asked = (form.cleaned_data.get("name") or getattr(form.cleaned_data.get("file"), "name", None)
             or form.cleaned_data.get("expected_name") or form.cleaned_data.get("output_name"))
    if form_class in (ExpectedUploadForm, ExpectedCopyForm) and asked and name != asked:
        messages.success(request, f"Expected file saved as {name}: a file named {asked} is already there and was "
                                  "kept. Delete one of them if you meant to replace it.")
    else:
        messages.success(request, f"Expected file {name} saved." if form_class is not ExpectedDeleteForm
                         else f"Expected file {name} deleted.")
    return _done(request, run_id, "#expected-files")


@require_POST
@reviewer_only
@backend_errors
def expected_upload(request: HttpRequest, run_id: str) -> HttpResponse:
    """A file named like one already there is kept beside it (`name-2.csv`), never silently
    replacing it (docs/security.md); the message says so."""
    return _file_action(request, run_id, ExpectedUploadForm, lambda backend, run, d: backend.expected_file_upload(
        run=run, upload=d["file"], name=_free_expected_name(run, d["name"] or d["file"].name), user=request.user))


@require_POST
@reviewer_only
@backend_errors
def expected_copy(request: HttpRequest, run_id: str) -> HttpResponse:
    return _file_action(request, run_id, ExpectedCopyForm, lambda backend, run, d: backend.expected_file_copy(
        run=run, output_name=d["output_name"], expected_name=_free_expected_name(run, d["expected_name"] or d["output_name"]),
        user=request.user))


def _free_expected_name(run, name: str) -> str:
    """`name`, or `stem-2.ext`, `stem-3.ext`… when the run already has an expected file so named."""
    taken = {f.name for f in (run.review.expected_files if run.review else [])}
    if name not in taken:
        return name
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".") if "." in base.lstrip(".") else (base, "", "")
    for number in range(2, 10_000):
        candidate = f"{folder + '/' if folder else ''}{stem}-{number}{dot}{ext}"
        if candidate not in taken:
            return candidate
    return name


@require_POST
@reviewer_only
@backend_errors
def expected_rename(request: HttpRequest, run_id: str) -> HttpResponse:
    return _file_action(request, run_id, ExpectedRenameForm, lambda backend, run, d: backend.expected_file_rename(
        run=run, name=d["name"], new_name=d["new_name"], user=request.user))


@require_POST
@reviewer_only
@backend_errors
def expected_delete(request: HttpRequest, run_id: str) -> HttpResponse:
    return _file_action(request, run_id, ExpectedDeleteForm, lambda backend, run, d: backend.expected_file_delete(
        run=run, name=d["name"], user=request.user))


@require_GET
@xframe_options_sameorigin  # the review pane previews PDFs in an iframe of its own origin
@backend_errors
def run_file_download(request: HttpRequest, run_id: str, key: str) -> HttpResponse:
    """A run's input/output file; `?inline=1` for previews (images, PDF), else an attachment."""
    return download_response(get_backend().run_file(run_id, key), inline=request.GET.get("inline") == "1")


@require_GET
@xframe_options_sameorigin  # the review pane previews PDFs in an iframe of its own origin
@backend_errors
def expected_download(request: HttpRequest, run_id: str, key: str) -> HttpResponse:
    return download_response(get_backend().expected_file(run_id, key), inline=request.GET.get("inline") == "1")


@require_POST
@reviewer_only
@backend_errors
def run_promote(request: HttpRequest, run_id: str) -> HttpResponse:
    """Promote to the dataset; without an expected output, ask to confirm first."""
    backend = get_backend()
    run = backend.run(run_id)
    form = PromoteForm(request.POST)
    if not form.is_valid():
        return _render_pane(request, run, promote_form=form)
    if not (run.review and run.review.has_expected) and not form.cleaned_data["confirm_no_expected"]:
        form.add_error("confirm_no_expected", "This run has no expected output or files yet, so the example would "
                       "have no ground truth. Correct the output first, or tick the box to promote anyway.")
        return _render_pane(request, run, promote_form=form)
    try:
        example = backend.promote(run=run, name=form.cleaned_data["name"], user=request.user,
                                  replace_other=form.cleaned_data["replace_example"])
    except ChangeRefused as exc:
        field = exc.field if exc.field in ("name", "replace_example") else "name" if exc.field == "<root>" else None
        form.add_error(field, str(exc))
        return _render_pane(request, run, promote_form=form)
    except BackendError as exc:
        return _render_pane(request, run, promote_form=form, error=exc)
    messages.success(request, f"Promoted to dataset example {example.name}.")
    return _done(request, run_id, "#promote")
