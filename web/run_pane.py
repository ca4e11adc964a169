"""The review pane (the queue page is web/queue.py). Every POST works without JavaScript (post/redirect/get); with htmx it
returns the `#run-pane` fragment, so the version every form carries stays in step.

Runs and reviews come from the configured backend (backends.get_backend()). When it fails, the
page says what went wrong and keeps what the reviewer typed: the pane re-renders with the bound
forms when the run could be loaded, else `backend_unavailable` (web/backend_errors.py) offers the same POST again."""

import itertools

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import role_required
from accounts.roles import REVIEWER, has_role
from backends import get_backend
from backends.base import BackendError, ChangeRefused, NotFound, ReviewConflict, RunInfo
from datasets.services import default_example_name
from review.claims import Hold, claim_holder, claim_holders, claim_next, claim_release, claim_take
from review.jsondiff import EditError, apply_edit, parse_json
from review.services import STATUS_ACTIONS, VERDICTS, free_name
from review.workbench import EditErrors, apply_op, apply_typed, first_leaf, typed_values
from runs.files import download_response
from runs.pdf import PdfUnreadable, page_png
from web.backend_errors import backend_errors
from web.forms.review import (
    EDITOR_OPS,
    STATUS_OPS,
    CorrectionForm,
    ExpectedCopyForm,
    ExpectedDeleteForm,
    ExpectedRenameForm,
    ExpectedUploadForm,
    PaneForm,
    PromoteForm,
    StatusForm,
    VerdictForm,
    pretty,
)
from web.panes import history_html, pane_context
from web.queue_list import RunQueue

reviewer_only = role_required(REVIEWER, action="review runs")
HISTORY_ALL = 1000  # the most a run's whole history shows


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


def _done(request: HttpRequest, run_id: str, anchor: str = "", saved: RunInfo | None = None) -> HttpResponse:
    """After a change: the pane again for htmx (`saved`, the run as the backend saved it, spares
    reading it again), else a redirect to it."""
    if request.htmx:
        return _render_pane(request, saved or get_backend().run(run_id))
    return redirect(_run_url(request, run_id, anchor))


@require_GET
@backend_errors
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    """The pane; opening it claims the run for a reviewer (review.claims) unless someone else holds it."""
    run = get_backend().run(run_id)
    return _render_pane(request, run, hold=_hold(request, run))


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
def run_history(request: HttpRequest, run_id: str) -> HttpResponse:
    """A run's whole history (the pane shows its latest changes): the list for htmx, else a page."""
    events = get_backend().audit_trail(run_id, limit=HISTORY_ALL)
    template = "review/partials/history.html" if request.htmx else "review/history.html"
    return render(request, template, {"run_id": run_id, "audit": history_html(events), "audit_more": False,
                                      "nav": "queue"})


@require_GET
@backend_errors
def run_steps(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run's steps as a timeline, fetched after the pane (htmx `load`), like the scores."""
    backend = get_backend()
    return render(request, "review/partials/steps.html",
                  {"run_id": run_id, "steps": backend.run_steps(backend.run(run_id)), "loaded": True})


@require_GET
@backend_errors
def run_step(request: HttpRequest, run_id: str, direction: str) -> HttpResponse:
    """Previous/next in the queue, resolved on click (backends whose neighbours cost calls)."""
    backend = get_backend()
    run = backend.run(run_id)
    if direction == "next" and has_role(request.user, REVIEWER):
        # "Next" hands out the next run nobody else holds, claimed for this reviewer.
        claim_release(run_id=run.pk, user=request.user)
        target = _next_unclaimed(request, run)
    else:
        target = RunQueue(request.GET, page_size=1).neighbour(run, direction)
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
        saved = backend.review_update(run=run, changes=changes, user=request.user,
                                      base_version=form.cleaned_data["version"],
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
            return _render_pane(request, saved or backend.run(run_id), message=None)
        return redirect(_run_url(request, run.pk, "#editor"))
    messages.success(request, "Note saved.")
    return _done(request, run_id, saved=saved)


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
        saved = backend.review_update(run=run, changes={"status": STATUS_ACTIONS[action]}, user=request.user,
                                      base_version=form.cleaned_data["version"], action=action)
    except ReviewConflict as exc:
        return _render_pane(request, run, conflict={"current": exc.current, "submitted": {"action": action}})
    except BackendError as exc:
        return _render_pane(request, run, status_form=form, error=exc)
    messages.success(request, {"resolve": "Review resolved.", "ignore": "Review ignored.",
                               "reopen": "Review reopened."}[action])
    return _done(request, run_id, saved=saved)


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
        saved = backend.review_update(run=run, changes={"expected": expected}, user=request.user,
                                      base_version=data["version"], action=f"correct:{data['op']}")
    except EditError as exc:
        return _render_pane(request, run, editor_state={**state, "error": str(exc)})
    except ReviewConflict as exc:
        return _render_pane(request, run, editor_state=state,
                            conflict={"current": exc.current, "submitted": {"edit": state}})
    except BackendError as exc:
        return _render_pane(request, run, editor_state={**state, "error": f"Not saved: {exc}"}, error=exc)
    return _done(request, run_id, "#editor", saved=saved)


def _default_name(run: RunInfo) -> str:
    review = run.review
    return review.promoted_example_name if review and review.promoted_example_name else default_example_name(run)


def _kept(request: HttpRequest, run: RunInfo) -> dict:
    """With htmx, file forms send the pane's fields along (hx-include): keep them as typed.
    Fields that only repeat what is saved are not kept, or the pane would count as unsaved
    and leaving it would ask about input nobody typed."""
    post = request.POST
    if "body" not in post and not any(k.startswith("v:") for k in post):
        return {}
    review = run.review
    if (not any(k.startswith("v:") for k in post) and "raw" not in post
            and post.get("example_name", "") in ("", _default_name(run)) and not post.get("confirm_no_expected")
            and post.get("body", "") == (review.body if review else "")
            and post.get("verdict", "") in ("", (review.rating if review else None) or "")):
        return {}
    data = request.POST.copy()
    data.setdefault("version", "0")
    return {"pane_form": PaneForm(data), "typed": typed_values(request.POST)}


def _file_action(request: HttpRequest, run_id: str, form_class, action) -> HttpResponse:
    backend = get_backend()
    run = backend.run(run_id)
    form = form_class(request.POST, request.FILES)
    upload_form = form if form_class is ExpectedUploadForm else None
    kept = _kept(request, run)
    if not form.is_valid():
        return _render_pane(request, run, **kept, upload_form=upload_form,
                            file_error=" ".join(e for errors in form.errors.values() for e in errors))
    try:
        name = action(backend, run, form.cleaned_data)
    except (ChangeRefused, NotFound) as exc:
        return _render_pane(request, run, **kept, upload_form=upload_form, file_error=str(exc))
    except BackendError as exc:
        return _render_pane(request, run, **kept, upload_form=upload_form, file_error=f"Not saved: {exc}", error=exc)
    asked = (form.cleaned_data.get("name") or getattr(form.cleaned_data.get("file"), "name", None)
             or form.cleaned_data.get("expected_name") or form.cleaned_data.get("output_name"))
    if form_class in (ExpectedUploadForm, ExpectedCopyForm) and asked and name != asked:
        messages.success(request, f"Expected file saved as {name}: a file named {asked} is already there and was "
                                  "kept. Delete one of them if you meant to replace it.")
    else:
        messages.success(request, f"Expected file {name} saved." if form_class is not ExpectedDeleteForm
                         else f"Expected file {name} deleted.")
    if request.htmx and kept:
        return _render_pane(request, backend.run(run_id), **kept, focus="#expected-h")
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
    """`name`, or `stem-2.ext`… when the run already has an expected file so named (the local
    backend checks again under the run's lock)."""
    return free_name((f.name for f in (run.review.expected_files if run.review else [])), name)


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
    return _done(request, run_id, "#promote", saved=example.run)


# -- the workbench: one form, one save --------------------------------------------------------


def _typed_state(request: HttpRequest, run: RunInfo, pane_form, *, field_errors=None, typed=None, shown=None,
                 **extra) -> HttpResponse:
    """Re-render the pane keeping everything the reviewer typed (fields, note, verdict, name)."""
    typed = typed if typed is not None else typed_values(request.POST)
    return _render_pane(request, run, pane_form=pane_form, typed=typed, field_errors=field_errors, shown=shown,
                        hold=_hold(request, run), **extra)


def _hold(request: HttpRequest, run: RunInfo, *, take: bool = True):
    """Claim the run for the reviewer (or renew their claim); who holds it for anyone else."""
    if has_role(request.user, REVIEWER) and take:
        return claim_take(run_id=run.pk, user=request.user)
    holder = claim_holder(run.pk)
    return None if holder is None else Hold(run_id=run.pk, holder=holder.user.get_username(),
                                           expires_at=holder.expires_at, mine=holder.user_id == request.user.pk)


def _edited(run: RunInfo, request: HttpRequest, op: str, raw: str):
    """The correction the form carries: the typed fields, the raw JSON box, then the button's
    editor operation. Returns (document, focus path); EditErrors / EditError when it does not fit."""
    review = run.review
    current = review.expected if review and review.expected is not None else run.output
    typed = typed_values(request.POST)
    doc = apply_typed(current, typed) if current is not None and typed else current
    raw_changed = bool(raw.strip()) and raw != pretty(current) and raw != pretty(doc)
    if op == "raw" or (raw_changed and doc == current):
        return parse_json(raw, "The JSON"), first_leaf(current)
    if raw_changed:
        raise EditError("You changed both the fields and the raw JSON; apply one of them (the other is kept below).")
    verb = op.partition(":")[0]
    if verb in EDITOR_OPS:
        last = get_backend().last_output(run) if op == "start:shape" else None
        result = apply_op(doc, op, post=request.POST, last_output=last)
        return result.doc, result.focus
    return doc, None


def _save_changes(run: RunInfo, data: dict, op: str, edited) -> dict:
    review = run.review
    current = review.expected if review and review.expected is not None else run.output
    changes = {}
    if data["verdict"]:
        changes.update(VERDICTS[data["verdict"]])
    if data["body"] != (review.body if review else ""):
        changes["body"] = data["body"]
    if op == "reset":
        changes["expected"] = None
    elif edited != current or (op.startswith("start:") and edited is not None):
        changes["expected"] = edited
    if op in STATUS_OPS:
        changes["status"] = STATUS_ACTIONS[op]
    return changes


def _after_save_focus(op: str, verdict: str, focus: str | None, has_expected: bool) -> str:
    if focus is not None and op.partition(":")[0] in EDITOR_OPS:
        return f'[data-path="{focus}"]' if focus else "#output-h"
    if op == "promote":
        return "[data-next]"
    if verdict in ("fail", "partial") and not has_expected:
        return "#pane-editor .wb-input"
    if has_expected and verdict != "pass":
        return "#promote-btn"
    return "#save-btn"


@require_POST
@reviewer_only
@backend_errors
def run_save(request: HttpRequest, run_id: str) -> HttpResponse:
    """The pane's one form: verdict, note and correction saved in one request (one service call),
    then the pressed button's action (an editor operation, a status change, promote)."""
    backend = get_backend()
    run = backend.run(run_id)
    form = PaneForm(request.POST)
    if not form.is_valid():
        return _typed_state(request, run, form, op_error=" ".join(e for es in form.errors.values() for e in es))
    data = form.cleaned_data
    op = data["op"]
    try:
        edited, focus = _edited(run, request, op, data["raw"] or "")
    except EditErrors as exc:
        return _typed_state(request, run, form, field_errors=exc.errors, op_error="Not saved: " + str(exc) + ".")
    except EditError as exc:
        return _typed_state(request, run, form, op_error=f"Not saved: {exc}")
    changes = _save_changes(run, data, op, edited)
    saved = None
    if changes:
        try:
            saved = backend.review_update(run=run, changes=changes, user=request.user, base_version=data["version"],
                                  action=f"save:{data['verdict']}" if data["verdict"] else f"save:{op}")
        except ReviewConflict as exc:
            submitted = {"verdict": data["verdict"], "note": data["body"], **({"edit": op} if op != "save" else {})}
            return _typed_state(request, run, form, shown=edited, conflict={"current": exc.current,
                                                                            "submitted": submitted})
        except BackendError as exc:
            return _typed_state(request, run, form, shown=edited, error=exc)
    has_expected = (edited is not None and "expected" in changes and changes["expected"] is not None) or bool(
        run.review and run.review.has_expected and changes.get("expected", True) is not None)
    if op == "promote":
        # The version the promote is based on: the save's, or the reviewer's when nothing was saved.
        base = saved.review.version if saved is not None and saved.review else None if changes else data["version"]
        response, promoted = _promote_from_pane(request, saved or run, form, has_expected, base_version=base)
        if response is not None:
            return response
    # A final verdict (pass, ignore, resolve) ends the work and moves on: the claim goes. After
    # fail or partial the reviewer goes on correcting, so the claim is renewed instead.
    hold = None
    if data["verdict"] == "pass" or op in ("ignore", "resolve"):
        claim_release(run_id=run.pk, user=request.user)
    else:
        hold = claim_take(run_id=run.pk, user=request.user)
    if data["verdict"] == "pass" or op == "ignore":
        return _to_next(request, run, f"Run {run.pk} {'passed' if data['verdict'] == 'pass' else 'ignored'}.")
    messages.success(request, _saved_message(op, data["verdict"], changes))
    focus_on = _after_save_focus(op, data["verdict"], focus, has_expected)
    if request.htmx:
        # The run as saved: promote changed it again (reload); a save returns it; no change, as loaded.
        if op == "promote":
            fresh = promoted or backend.run(run_id)
        else:
            fresh = backend.run(run_id) if changes and saved is None else saved or run
        return _render_pane(request, fresh, focus=focus_on, hold=hold or _hold(request, run, take=False))
    return redirect(_run_url(request, run.pk, "#pane-form"))


def _saved_message(op: str, verdict: str, changes: dict) -> str:
    if op == "promote":
        return "Saved and promoted."
    parts = [f"marked {verdict}" if verdict else "", "note" if "body" in changes else "",
             "correction" if "expected" in changes else "", op if op in STATUS_OPS else ""]
    parts = [p for p in parts if p]
    return ("Saved: " + ", ".join(parts) + ".") if parts else "Nothing to save: no changes."


def _promote_from_pane(request: HttpRequest, run: RunInfo, form, has_expected: bool, *,
                       base_version: int | None = None) -> tuple[HttpResponse | None, RunInfo | None]:
    """(the page to show instead when promoting was refused, else None; the run as promoted
    when the backend returned it)."""
    data = form.cleaned_data
    if not has_expected and not data["confirm_no_expected"]:
        form.add_error("confirm_no_expected", "This run has no expected output or files yet, so the example would "
                       "have no ground truth. Correct the output first, or tick the box to promote anyway.")
        return _render_pane(request, get_backend().run(run.pk), pane_form=form, hold=_hold(request, run),
                            focus="#id_confirm_no_expected"), None
    try:
        # A name held by another run's example is replaced only once the reviewer ticks the box.
        example = get_backend().promote(run=run, name=data["example_name"], user=request.user,
                                        replace_other=data["replace_example"], base_version=base_version)
    except ReviewConflict as exc:
        submitted = {"verdict": data["verdict"], "note": data["body"], "edit": "promote"}
        return _typed_state(request, get_backend().run(run.pk), form,
                            conflict={"current": exc.current, "submitted": submitted}), None
    except ChangeRefused as exc:
        field = exc.field if exc.field == "replace_example" else "example_name" if exc.field in ("name", "<root>") else None
        form.add_error(field, str(exc))
        return _render_pane(request, get_backend().run(run.pk), pane_form=form, hold=_hold(request, run),
                            focus="#id_replace_example" if field == "replace_example" else "#id_example_name"), None
    except BackendError as exc:
        return _render_pane(request, get_backend().run(run.pk), pane_form=form, hold=_hold(request, run),
                            error=exc), None
    messages.success(request, f"Promoted to dataset example {example.name}.")
    return None, example.run


def _next_unclaimed(request: HttpRequest, run: RunInfo) -> str | None:
    """The next run in the queue that nobody else holds, claimed for this reviewer."""
    queue = RunQueue(request.GET, page_size=20)
    backend = get_backend()

    def candidates():
        cursor = (run.created_at, run.pk)
        for _ in range(5):
            page = backend.queue_page(queue.query(before=cursor, after=None, page_size=20))
            if not page.rows:
                return
            held = claim_holders([r.pk for r in page.rows])
            for row in page.rows:
                if held.get(row.pk) in (None, request.user.get_username()):
                    yield row.pk
            cursor = (page.rows[-1].created_at, page.rows[-1].pk)

    def still_wanted(run_id: str) -> bool:
        page = backend.queue_page(queue.query(run_id=run_id, before=None, after=None, page_size=1))
        return any(row.pk == run_id for row in page.rows)

    hold = claim_next(candidates=candidates(), user=request.user, still_wanted=still_wanted)
    return hold.run_id if hold else None


def _to_next(request: HttpRequest, run: RunInfo, message: str) -> HttpResponse:
    claim_release(run_id=run.pk, user=request.user)
    following = _next_unclaimed(request, run) if has_role(request.user, REVIEWER) else \
        RunQueue(request.GET, page_size=1).neighbour(run, "next")
    messages.success(request, message)
    target = _run_url(request, following or run.pk)
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


@require_POST
@reviewer_only
def run_claim(request: HttpRequest, run_id: str) -> HttpResponse:
    """Renew (or take) the claim while the reviewer works: the pane calls this every minute.
    204 when the run is theirs, 409 naming the holder otherwise."""
    hold = claim_take(run_id=run_id, user=request.user)
    if hold.mine:
        return HttpResponse(status=204)
    return HttpResponse(f"{hold.holder} holds this run.", status=409, content_type="text/plain")


@require_POST
@reviewer_only
def run_release(request: HttpRequest, run_id: str) -> HttpResponse:
    """Give the run back (the pane sends this when the reviewer leaves the page)."""
    claim_release(run_id=run_id, user=request.user)
    return HttpResponse(status=204)


@require_GET
@backend_errors
def run_file_page(request: HttpRequest, run_id: str, key: str, number: int) -> HttpResponse:
    """Page `number` of a run's PDF file as a PNG (runs.pdf), for the pane's source column."""
    download = get_backend().run_file(run_id, key)
    data = b"".join(itertools.islice(download.chunks, 0, None))
    try:
        png = page_png(data, number, width=min(int(request.GET.get("w", 1000) or 1000), 2000)
                       if str(request.GET.get("w", "1000")).isdigit() else 1000)
    except PdfUnreadable as exc:
        return HttpResponse(str(exc), status=404, content_type="text/plain")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
