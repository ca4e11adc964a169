"""The review pane's one save (web/run_pane.py run_save), for every backend: the typed
correction, the raw JSON box and the pressed button's editor operation applied to the document;
the verdict mapped (review.services.VERDICTS); verdict, note, correction and status saved in one
`review_update`; then promote when that was the button.

`pane_save` raises `SaveRefused` carrying what the page needs to show the refusal with
everything the reviewer typed kept; nothing is saved when the document did not fit."""

import json
from dataclasses import dataclass, field
from typing import Any

from backends.base import Backend, BackendError, ChangeRefused, ReviewConflict, RunInfo
from review.jsondiff import EditError, parse_json
from review.services import STATUS_ACTIONS, VERDICTS
from review.workbench import EditErrors, apply_op, apply_typed, first_leaf, typed_values
from runs import jsonbounds

# Editor operations the pane form's buttons send as `op` (see review.workbench.apply_op).
EDITOR_OPS = ("add", "remove", "up", "down", "key", "start", "raw")
STATUS_OPS = tuple(STATUS_ACTIONS)
NO_GROUND_TRUTH = ("This run has no expected output or files yet, so the example would have no ground truth. "
                   "Correct the output first, or tick the box to promote anyway.")


def pretty(value) -> str:
    """A document as the raw JSON box shows it."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@dataclass
class SaveInput:
    """The pane form's cleaned fields, and the posted `v:`/`k:` fields the editor reads."""

    verdict: str
    body: str
    version: int
    op: str
    raw: str
    example_name: str
    confirm_no_expected: bool
    replace_example: bool
    post: Any  # the request's POST (typed values `v:<pointer>`, new keys `k:<pointer>`)

    @classmethod
    def from_form(cls, data: dict, post) -> "SaveInput":
        return cls(verdict=data["verdict"], body=data["body"], version=data["version"], op=data["op"],
                   raw=data["raw"] or "", example_name=data["example_name"] or "",
                   confirm_no_expected=data["confirm_no_expected"], replace_example=data["replace_example"], post=post)


class SaveRefused(Exception):
    """Nothing (or, when `promoting`, only the save before promote) was stored.

    `field_errors` {pointer: message} for typed values that do not fit; `field` the pane form's
    field at fault (promote); `shown` the correction as typed; `conflict` the review as it is now
    and what was submitted; `error` the backend's failure."""

    def __init__(self, message: str, *, field: str | None = None, field_errors: dict | None = None,
                 shown: Any = None, conflict: dict | None = None, error: BackendError | None = None,
                 promoting: bool = False):
        super().__init__(message)
        self.message, self.field, self.field_errors = message, field, field_errors
        self.shown, self.conflict, self.error, self.promoting = shown, conflict, error, promoting


@dataclass
class SaveResult:
    changes: dict = field(default_factory=dict)
    saved: RunInfo | None = None  # the run as the backend saved it, when it returned one
    focus: str | None = None  # the pointer whose field gets the focus after an editor operation
    has_expected: bool = False
    promoted: RunInfo | None = None  # the run as promoted, when the backend returned it
    example_name: str = ""  # the example promoted to


def _current(run: RunInfo):
    review = run.review
    return review.expected if review and review.expected is not None else run.output


def _raw_changed(raw: str, current, doc) -> bool:
    """The raw-JSON box holds something other than the document before or after the typed fields."""
    return bool(raw.strip()) and raw != pretty(current) and raw != pretty(doc)


def edited_document(backend: Backend, run: RunInfo, save: SaveInput) -> tuple[Any, str | None]:
    """The correction the form carries: the typed fields, the raw JSON box, then the button's
    editor operation. Returns (document, focus pointer); EditErrors / EditError when it does not fit."""
    current = _current(run)
    typed = typed_values(save.post)
    doc = apply_typed(current, typed) if current is not None and typed else current
    raw_changed = _raw_changed(save.raw, current, doc)
    if save.op == "raw" or (raw_changed and doc == current):
        return parse_json(save.raw, "The JSON"), first_leaf(current)
    if raw_changed:
        raise EditError("You changed both the fields and the raw JSON; apply one of them (the other is kept below).")
    if save.op.partition(":")[0] in EDITOR_OPS:
        last = backend.last_output(run) if save.op == "start:shape" else None
        result = apply_op(doc, save.op, post=save.post, last_output=last)
        return result.doc, result.focus
    return doc, None


def save_changes(run: RunInfo, save: SaveInput, edited) -> dict:
    """The review changes one save makes: the verdict mapped, a changed note, the correction, a status."""
    review = run.review
    changes = {}
    if save.verdict:
        changes.update(VERDICTS[save.verdict])
    if save.body != (review.body if review else ""):
        changes["body"] = save.body
    if save.op == "reset":
        changes["expected"] = None
    elif edited != _current(run) or (save.op.startswith("start:") and edited is not None):
        changes["expected"] = edited
    if save.op in STATUS_OPS:
        changes["status"] = STATUS_ACTIONS[save.op]
    return changes


def _checked(edited) -> None:
    """The corrected document within the nesting bound and with storable text (runs.jsonbounds),
    like every other way a document comes in."""
    try:
        jsonbounds.check_json(edited)
    except jsonbounds.JsonRefused as exc:
        where = "" if exc.field == "<root>" else f" (at {exc.field})"
        reason = exc.reason[:1].upper() + exc.reason[1:]
        raise EditError(f"The corrected output would not be stored: {reason}{where}") from None


def pane_save(*, backend: Backend, run: RunInfo, user, save: SaveInput) -> SaveResult:
    """Save what the pane's one form carries, then promote when that was the button."""
    try:
        edited, focus = edited_document(backend, run, save)
        changes = save_changes(run, save, edited)
        if changes.get("expected") is not None:
            _checked(changes["expected"])
    except EditErrors as exc:
        raise SaveRefused("Not saved: " + str(exc) + ".", field_errors=exc.errors) from None
    except EditError as exc:
        raise SaveRefused(f"Not saved: {exc}") from None
    result = SaveResult(changes=changes, focus=focus)
    if result.changes:
        result.saved = _save_review(backend, run, user, save, changes, edited)
    changed = result.changes.get("expected", True)
    result.has_expected = (edited is not None and "expected" in result.changes and changed is not None) or bool(
        run.review and run.review.has_expected and changed is not None)
    if save.op == "promote":
        # The version the promote is based on: the save's, or the reviewer's when nothing was
        # saved (checked under the run's lock: docs/rules.md#concurrent-writes).
        saved_review = result.saved.review if result.saved is not None else None
        base = saved_review.version if saved_review else None if result.changes else save.version
        example = _promote(backend, result.saved or run, user, save, result.has_expected, base)
        result.promoted, result.example_name = example.run, example.name
    return result


def _save_review(backend: Backend, run: RunInfo, user, save: SaveInput, changes: dict, edited) -> RunInfo | None:
    action = f"save:{save.verdict}" if save.verdict else f"save:{save.op}"
    try:
        return backend.review_update(run=run, changes=changes, user=user, base_version=save.version, action=action)
    except ReviewConflict as exc:
        submitted = {"verdict": save.verdict, "note": save.body, **({"edit": save.op} if save.op != "save" else {})}
        raise SaveRefused(str(exc), shown=edited, conflict={"current": exc.current, "submitted": submitted}) from None
    except BackendError as exc:
        raise SaveRefused(str(exc), shown=edited, error=exc) from None


def _promote(backend: Backend, run: RunInfo, user, save: SaveInput, has_expected: bool, base_version: int | None):
    if not has_expected and not save.confirm_no_expected:
        raise SaveRefused(NO_GROUND_TRUTH, field="confirm_no_expected", promoting=True)
    try:
        # A name held by another run's example is replaced only once the reviewer ticks the box.
        example = backend.promote(run=run, name=save.example_name, user=user, replace_other=save.replace_example,
                                  base_version=base_version)
    except ReviewConflict as exc:
        submitted = {"verdict": save.verdict, "note": save.body, "edit": "promote"}
        raise SaveRefused(str(exc), conflict={"current": exc.current, "submitted": submitted}) from None
    except ChangeRefused as exc:
        field = exc.field if exc.field == "replace_example" else "example_name" if exc.field in ("name", "<root>") else None
        raise SaveRefused(str(exc), field=field, promoting=True) from None
    except BackendError as exc:
        raise SaveRefused(str(exc), error=exc, promoting=True) from None
    return example
