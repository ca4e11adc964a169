"""The review pane (the queue page is web/queue.py). Every POST works without JavaScript (post/redirect/get); with htmx it
returns the `#run-pane` fragment, so the version every form carries stays in step.

Runs and reviews come from the configured backend (backends.get_backend()). When it fails, the
page says what went wrong and keeps what the reviewer typed: the pane re-renders with the bound
forms when the run could be loaded, else `backend_unavailable` (web/backend_errors.py) offers the same POST again."""


from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import role_required
from accounts.roles import REVIEWER, has_role
from backends import get_backend
from backends.base import BackendError, ChangeRefused, NotFound, RunInfo, StorageFull
from backends.saves import EDITOR_OPS, STATUS_OPS, SaveInput, SaveRefused, SaveResult, pane_save
from datasets.services import default_example_name
from review.claims import Hold, claim_holder, claim_holders, claim_next, claim_release, claim_renew, claim_take
from review.double_queries import first_review_hidden
from review.workbench import typed_values
from runs.ids import run_id_problem
from web.backend_errors import backend_errors
from web.forms.review import (
    ExpectedCopyForm,
    ExpectedDeleteForm,
    ExpectedRenameForm,
    ExpectedUploadForm,
    PaneForm,
)
from web.panes import PaneState, history_html, pane_context
from web.queue_list import RunQueue

reviewer_only = role_required(REVIEWER, action="review runs")
HISTORY_ALL = 1000  # the most a run's whole history shows


def _queue_qs(request: HttpRequest) -> str:
    qs = RunQueue(request.GET, page_size=1).querystring()
    return "" if qs == "?" else qs


def _run_url(request: HttpRequest, run_id: str, anchor: str = "") -> str:
    return reverse("run_detail", args=[run_id]) + _queue_qs(request) + anchor


def _render_pane(request: HttpRequest, run: RunInfo, state: PaneState | None = None, *,
                 status: int = 200) -> HttpResponse:
    """The whole page, or the #run-pane fragment for htmx (status 200 keeps typed input: htmx
    swaps no error answer, so `status` applies to the whole page only)."""
    context = pane_context(request, run, state)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "review/partials/run_pane.html", context)
    return render(request, "review/run.html", context, status=status)


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
    if _first_hidden(request, run):
        return _first_hidden_page(request, run)
    return _render_pane(request, run, PaneState(hold=_hold(request, run)))


def _first_hidden(request: HttpRequest, run: RunInfo) -> bool:
    """The run waits for its blind second review and this user may not see its first review yet."""
    return first_review_hidden(double_review=run.double_review, review=run.review,
                               username=request.user.get_username())


def _first_hidden_page(request: HttpRequest, run: RunInfo) -> HttpResponse:
    return render(request, "review/first_hidden.html", {"run": run, "nav": "queue",
                                                        "can_review": has_role(request.user, REVIEWER)})


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
    """A run's whole history (the pane shows its latest changes): the list for htmx, else a page.
    Hidden like the pane while the run waits for a blind second review (docs/rules.md#double-review)."""
    backend = get_backend()
    run = backend.run(run_id)
    if _first_hidden(request, run):
        return _first_hidden_page(request, run)
    events = backend.audit_trail(run_id, limit=HISTORY_ALL)
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


def _default_name(run: RunInfo) -> str:
    review = run.review
    return review.promoted_example_name if review and review.promoted_example_name else default_example_name(run)


def _kept(request: HttpRequest, run: RunInfo) -> PaneState:
    """With htmx, file forms send the pane's fields along (hx-include): keep them as typed.
    Fields that only repeat what is saved are not kept, or the pane would count as unsaved
    and leaving it would ask about input nobody typed."""
    post = request.POST
    if "body" not in post and not any(k.startswith("v:") for k in post):
        return PaneState()
    review = run.review
    if (not any(k.startswith("v:") for k in post) and "raw" not in post
            and post.get("example_name", "") in ("", _default_name(run)) and not post.get("confirm_no_expected")
            and post.get("body", "") == (review.body if review else "")
            and post.get("verdict", "") in ("", (review.rating if review else None) or "")):
        return PaneState()
    data = request.POST.copy()
    data.setdefault("version", "0")
    return PaneState(pane_form=PaneForm(data), typed=typed_values(request.POST))


def _file_saved_message(form, name: str) -> str:
    data = form.cleaned_data
    asked = data.get("name") or getattr(data.get("file"), "name", None) or data.get("expected_name") \
        or data.get("output_name")
    if isinstance(form, ExpectedUploadForm | ExpectedCopyForm) and asked and name != asked:
        return (f"Expected file saved as {name}: a file named {asked} is already there and was kept. "
                "Delete one of them if you meant to replace it.")
    return f"Expected file {name} deleted." if isinstance(form, ExpectedDeleteForm) else f"Expected file {name} saved."


def _file_action(request: HttpRequest, run_id: str, form_class, action) -> HttpResponse:
    backend = get_backend()
    run = backend.run(run_id)
    form = form_class(request.POST, request.FILES)
    state = _kept(request, run)
    kept = state.pane_form is not None
    state.upload_form = form if form_class is ExpectedUploadForm else None
    if not form.is_valid():
        state.file_error = " ".join(e for errors in form.errors.values() for e in errors)
        return _render_pane(request, run, state)
    try:
        name = action(backend, run, form.cleaned_data)
    except (ChangeRefused, NotFound) as exc:
        state.file_error = str(exc)
        return _render_pane(request, run, state)
    except StorageFull as exc:  # 507, the pane with what was typed and the message
        state.file_error = str(exc)
        return _render_pane(request, run, state, status=507)
    except BackendError as exc:
        state.file_error, state.error = f"Not saved: {exc}", exc
        return _render_pane(request, run, state)
    messages.success(request, _file_saved_message(form, name))
    if request.htmx and kept:
        return _render_pane(request, backend.run(run_id), PaneState(pane_form=state.pane_form, typed=state.typed,
                                                                   focus="#expected-h"))
    return _done(request, run_id, "#expected-files")


@require_POST
@reviewer_only
@backend_errors
def expected_upload(request: HttpRequest, run_id: str) -> HttpResponse:
    """A file named like one already there is kept beside it (`name-2.csv`), never silently
    replacing it (docs/security.md); the message says so."""
    return _file_action(request, run_id, ExpectedUploadForm, lambda backend, run, d: backend.expected_file_upload(
        run=run, upload=d["file"], name=d["name"] or d["file"].name, user=request.user))


@require_POST
@reviewer_only
@backend_errors
def expected_copy(request: HttpRequest, run_id: str) -> HttpResponse:
    return _file_action(request, run_id, ExpectedCopyForm, lambda backend, run, d: backend.expected_file_copy(
        run=run, output_name=d["output_name"], expected_name=d["expected_name"] or d["output_name"],
        user=request.user))


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


# -- the workbench: one form, one save --------------------------------------------------------


def _refused(request: HttpRequest, run: RunInfo, form: PaneForm, exc: SaveRefused) -> HttpResponse:
    """The pane again after a refused save, keeping everything the reviewer typed. A refused
    promote follows a save that may have stored: the run is read again, the form kept."""
    if exc.promoting:
        if exc.error is None:
            form.add_error(exc.field, exc.message)
        focus = {"confirm_no_expected": "#id_confirm_no_expected", "replace_example": "#id_replace_example"}.get(
            exc.field or "", "#id_example_name")
        return _render_pane(request, get_backend().run(run.pk), PaneState(
            pane_form=form, hold=_hold(request, run), focus=None if exc.error else focus, error=exc.error))
    return _render_pane(request, run, PaneState(
        pane_form=form, typed=typed_values(request.POST), field_errors=exc.field_errors, shown=exc.shown,
        op_error=None if exc.conflict or exc.error else exc.message, conflict=exc.conflict, error=exc.error,
        hold=_hold(request, run)))


def _hold(request: HttpRequest, run: RunInfo, *, take: bool = True):
    """Claim the run for the reviewer (or renew their claim); who holds it for anyone else."""
    if has_role(request.user, REVIEWER) and take:
        return claim_take(run_id=run.pk, user=request.user)
    holder = claim_holder(run.pk)
    return None if holder is None else Hold(run_id=run.pk, holder=holder.user.get_username(),
                                           expires_at=holder.expires_at, mine=holder.user_id == request.user.pk)


def _after_save_focus(save: SaveInput, result: SaveResult) -> str:
    if result.focus is not None and save.op.partition(":")[0] in EDITOR_OPS:
        return f'[data-path="{result.focus}"]' if result.focus else "#output-h"
    if save.op == "promote":
        return "[data-next]"
    if save.verdict in ("fail", "partial") and not result.has_expected:
        return "#pane-editor .wb-input"
    if result.has_expected and save.verdict != "pass":
        return "#promote-btn"
    return "#save-btn"


@require_POST
@reviewer_only
@backend_errors
def run_save(request: HttpRequest, run_id: str) -> HttpResponse:
    """The pane's one form: verdict, note and correction saved in one request, then the pressed
    button's action (an editor operation, a status change, promote): backends.saves.pane_save."""
    backend = get_backend()
    run = backend.run(run_id)
    form = PaneForm(request.POST)
    if not form.is_valid():
        errors = " ".join(e for es in form.errors.values() for e in es)
        return _refused(request, run, form, SaveRefused(errors))
    save = SaveInput.from_form(form.cleaned_data, request.POST)
    try:
        result = pane_save(backend=backend, run=run, user=request.user, save=save)
    except SaveRefused as exc:
        return _refused(request, run, form, exc)
    return _after_save(request, run, save, result)


def _after_save(request: HttpRequest, run: RunInfo, save: SaveInput, result: SaveResult) -> HttpResponse:
    """A final verdict (pass, ignore, resolve) ends the work and moves on: the claim goes. After
    fail or partial the reviewer goes on correcting, so the claim is renewed instead."""
    if save.op == "promote":
        messages.success(request, f"Promoted to dataset example {result.example_name}.")
    hold = None
    if save.verdict == "pass" or save.op in ("ignore", "resolve"):
        claim_release(run_id=run.pk, user=request.user)
    else:
        hold = claim_take(run_id=run.pk, user=request.user)
    if save.verdict == "pass" or save.op == "ignore":
        return _to_next(request, run, f"Run {run.pk} {'passed' if save.verdict == 'pass' else 'ignored'}.")
    messages.success(request, _saved_message(save.op, save.verdict, result.changes))
    if not request.htmx:
        return redirect(_run_url(request, run.pk, "#pane-form"))
    # The run as saved: promote changed it again (reload); a save returns it; no change, as loaded.
    if save.op == "promote":
        fresh = result.promoted or get_backend().run(run.pk)
    else:
        fresh = get_backend().run(run.pk) if result.changes and result.saved is None else result.saved or run
    return _render_pane(request, fresh, PaneState(focus=_after_save_focus(save, result),
                                                  hold=hold or _hold(request, run, take=False)))


def _saved_message(op: str, verdict: str, changes: dict) -> str:
    if op == "promote":
        return "Saved and promoted."
    parts = [f"marked {verdict}" if verdict else "", "note" if "body" in changes else "",
             "correction" if "expected" in changes else "", op if op in STATUS_OPS else ""]
    parts = [p for p in parts if p]
    return ("Saved: " + ", ".join(parts) + ".") if parts else "Nothing to save: no changes."


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
    204 when the run is theirs, 409 naming the holder otherwise, 404 for a run that does not
    exist (no claim is stored for it). Renewing costs one UPDATE; only taking a claim anew
    looks the run up."""
    if run_id_problem(run_id):
        return HttpResponse("No such run.", status=404, content_type="text/plain")
    if claim_renew(run_id=run_id, user=request.user):
        return HttpResponse(status=204)
    try:
        get_backend().run(run_id)
    except NotFound:
        return HttpResponse("No such run.", status=404, content_type="text/plain")
    except BackendError as exc:
        return HttpResponse(str(exc), status=502, content_type="text/plain")
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
