"""The reviews generation (SDK 0.20.x, docs/api-reviews.md): /runs/{id}/reviews and the file
names of /reviews/expected. Same Review rows as the feedback generation (api/feedback.py),
another vocabulary (runs/chips.py); the mapping and every decision the SDK leaves open are in
docs/api-reviews.md. The expected-file writes and promote are api/expected.py."""

from django.http import HttpRequest, JsonResponse

from accounts.roles import REVIEWER
from api.expected import VIA, review_write, user_email, user_id
from api.support import api_response, api_view, bad_request, get_run, iso, json_body, not_found, reject_unknown, request_id
from review import services
from review.corrections import FILE, CorrectionError, apply_field_corrections, parse_corrections
from review.models import Correction, Review
from runs.chips import STATUS_IN, STATUS_OUT, VERDICT_IN, VERDICT_OUT, Rating, ReviewStatus
from runs.models import Run

CLOSED = (ReviewStatus.RESOLVED, ReviewStatus.IGNORED)

PUT_FIELDS = {"verdict", "status", "note", "correctedOutput", "corrections"}
PATCH_FIELDS = {"status", "closedNote"}


def correction_to_dict(correction: Correction) -> dict:
    return {
        "id": f"corr_{correction.pk}",
        "kind": correction.kind,
        "path": correction.path,
        "label": correction.label,
        "note": correction.note or "",
        "createdAt": iso(correction.created_at),
        "updatedAt": iso(correction.updated_at),
        "originalValue": correction.original_value,
        "correctedValue": correction.corrected_value,
        "correctedArtifactPath": f"expected/{correction.path}" if correction.kind == FILE else None,
    }


def review_to_dict(review: Review | None, corrections: list[Correction] | None = None) -> dict | None:
    """RunReview: every required key, null where unset (docs/api-reviews.md)."""
    if review is None:
        return None
    if corrections is None:
        corrections = list(review.corrections.all())
    closed = review.status in CLOSED
    last = review.updated_by or review.created_by
    return {
        "id": f"rev_{review.pk}",
        "verdict": VERDICT_OUT.get(review.rating),
        "status": STATUS_OUT.get(review.status, "open"),
        "note": review.body or "",
        "reviewedBy": user_id(last),
        "reviewedByEmail": user_email(last),
        "reviewedAt": iso(review.updated_at),
        "closedBy": user_id(review.resolved_by) if closed else None,
        "closedByEmail": user_email(review.resolved_by) if closed else None,
        "closedAt": iso(review.resolved_at) if closed else None,
        "closedNote": review.closed_note if closed else None,
        "createdAt": iso(review.created_at),
        "updatedAt": iso(review.updated_at),
        "corrections": [correction_to_dict(c) for c in corrections],
        "correctedOutput": review.expected,
        # Loupe's additions: the feedback generation's rating (a partial stays visible) and
        # the version that is also the ETag.
        "loupeRating": review.rating,
        "version": review.version,
    }


def review_summary(review: Review | None, *, has_note: bool | None = None) -> dict | None:
    """RunReviewSummary on list rows: read from the joined review row, no extra query
    (`has_note` computed in SQL when the note itself was not loaded)."""
    if review is None:
        return None
    return {
        "verdict": VERDICT_OUT.get(review.rating),
        "status": STATUS_OUT.get(review.status, "open"),
        "hasNote": bool(review.body) if has_note is None else has_note,
        "correctionCount": review.correction_count,
    }


def etag(review: Review | None) -> str:
    return f'"{review.version}"' if review is not None else '"0"'


def load_review(run: Run) -> Review | None:
    return (Review.objects.select_related("created_by", "updated_by", "resolved_by")
            .prefetch_related("corrections").filter(run_id=run.pk).first())


def _answer(request: HttpRequest, run: Run, status: int = 200):
    review = load_review(run)
    response = api_response(request, {"review": review_to_dict(review)}, status=status)
    response["ETag"] = etag(review)
    return response


def if_match_version(request: HttpRequest) -> int | None:
    """The version an If-Match header names (`"7"` or `W/"7"`), None without one or for `*`."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise bad_request("If-Match", 'Expected an ETag from a review read, such as "7".')
    return int(value)


def stale_response(request: HttpRequest, current: Review | None, to_dict=None) -> JsonResponse:
    """412: the error envelope plus the review as it is now (in the request's generation)."""
    to_dict = to_dict or (lambda review: {"review": review_to_dict(review)})
    body = {"issues": [{"field": "If-Match", "message": "The review changed since you read it; nothing was written. "
                        "The current review is attached.", "code": "precondition_failed", "severity": "error"}],
            "requestId": request_id(request), **to_dict(current)}
    response = JsonResponse(body, status=412, json_dumps_params={"ensure_ascii": False})
    response["x-request-id"] = request_id(request)
    response["ETag"] = etag(current)
    return response


def version_write(request: HttpRequest, run: Run, write, *, stale, answer):
    """A review write of either generation under the request's If-Match: `stale()`, the 412, when
    the review is no longer at the version it names (checked here, and again under lock by the
    service: api.expected.review_write); else `write(wanted)`, the service call with that
    version (None: no If-Match) as its base, then `answer()`."""
    wanted = if_match_version(request)
    if wanted is not None and (Review.objects.filter(run_id=run.pk).values_list("version", flat=True).first() or 0) != wanted:
        return stale()
    return review_write(lambda: write(wanted), stale) or answer()


def _write(request: HttpRequest, run: Run, write):
    """A write of this generation, answered with the review as it is then (version_write)."""
    return version_write(request, run, write, stale=lambda: stale_response(request, load_review(run)),
                         answer=lambda: _answer(request, run))


def _choice(body: dict, name: str, values: dict, *, nullable: bool):
    value = body[name]
    if value is None and nullable:
        return None
    if not isinstance(value, str) or value not in values:  # an object or a list is not hashable
        words = ", ".join(values) + (", or null" if nullable else "")
        raise bad_request(name, f"Expected one of {words}.")
    return values[value]


def _put_changes(body: dict, run: Run, current: Review | None) -> tuple[dict, dict | None]:
    """The service changes of a create-or-replace PUT and the correction notes, validated whole
    before anything is written."""
    reject_unknown(body, PUT_FIELDS)
    rating, status = _verdict_and_status(body, current)
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise bad_request("note", "Expected a string or null.")
    changes = {"rating": rating, "status": status, "body": note or ""}
    if "correctedOutput" in body:
        changes["expected"] = body["correctedOutput"]
    if "corrections" not in body:
        return changes, None
    try:
        items = parse_corrections(body["corrections"])
        changes["expected"] = _corrected(body, items, changes.get("expected"), run)
    except CorrectionError as exc:
        raise bad_request(exc.field, str(exc)) from None
    return changes, {(item.kind, item.path): (item.note, item.label) for item in items}


def _verdict_and_status(body: dict, current: Review | None) -> tuple:
    rating = _choice(body, "verdict", VERDICT_IN, nullable=True) if "verdict" in body else None
    if rating == Rating.FAIL and current is not None and current.rating == Rating.PARTIAL:
        rating = Rating.PARTIAL  # "incorrect" covers partial: a round trip must not downgrade it
    if "status" in body:
        return rating, _choice(body, "status", STATUS_IN, nullable=False)
    return rating, ReviewStatus.RESOLVED if rating == Rating.PASS else ReviewStatus.OPEN


def _corrected(body: dict, items: list, expected, run: Run):
    """The corrected output the field corrections make of `expected` (else the run's output);
    None for an empty set of field corrections without correctedOutput: nothing corrected."""
    if not any(item.kind != FILE for item in items) and "correctedOutput" not in body:
        return None
    return apply_field_corrections(expected if expected is not None else run.output, items)


@api_view()
def reviews_get(request: HttpRequest, run_id: str):
    return _answer(request, get_run(run_id))


@api_view(roles=(REVIEWER,), action="review runs")
def reviews_put(request: HttpRequest, run_id: str):
    """Create or replace the review (docs/api-reviews.md, decision 3)."""
    run = get_run(run_id)
    body = json_body(request)

    def put(wanted):
        changes, notes = _put_changes(body, run, Review.objects.filter(run_id=run.pk).only("rating").first())
        services.review_update(run=run, changes=changes, user=request.user, base_version=wanted, via=VIA,
                               action="review:put", correction_notes=notes)

    return _write(request, run, put)


def _close_changes(body: dict) -> dict:
    """The service changes of a close / reopen PATCH: the status, and the closing note where one
    was sent (reopening clears it)."""
    reject_unknown(body, PATCH_FIELDS)
    status = _choice(body, "status", STATUS_IN, nullable=False) if "status" in body else ReviewStatus.RESOLVED
    closed_note = body.get("closedNote")
    if closed_note is not None and not isinstance(closed_note, str):
        raise bad_request("closedNote", "Expected a string or null.")
    changes = {"status": status}
    if "closedNote" in body or status == ReviewStatus.OPEN:
        changes["closed_note"] = closed_note if status in CLOSED else None
    return changes


@api_view(roles=(REVIEWER,), action="review runs")
def reviews_patch(request: HttpRequest, run_id: str):
    """Close (default), close as won't fix, or reopen, with an optional closing note."""
    run = get_run(run_id)
    body = json_body(request, allow_empty=True)
    changes = _close_changes(body)
    status = changes["status"]
    if not Review.objects.filter(run_id=run.pk).exists():
        raise not_found("The run has no review to close; create one with PUT first.", field="review")
    action = "review:close" if status in CLOSED else "reopen"
    return _write(request, run, lambda wanted: services.review_update(run=run, changes=changes, user=request.user,
                                                                      base_version=wanted, via=VIA, action=action))


@api_view(roles=(REVIEWER,), action="review runs")
def reviews_delete(request: HttpRequest, run_id: str):
    """Deletes the review, its corrections and corrected files; repeating it is a no-op."""
    run = get_run(run_id)
    return _write(request, run, lambda wanted: services.review_clear(run=run, user=request.user, via=VIA,
                                                                     base_version=wanted))


@api_view()
def reviews_expected_list(request: HttpRequest, run_id: str):
    review = Review.objects.filter(run_id=get_run(run_id).pk).first()
    names = list(review.expected_files.values_list("name", flat=True)) if review is not None else []
    return api_response(request, {"files": [{"name": name} for name in names]})
