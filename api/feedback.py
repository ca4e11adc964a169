"""The feedback generation (SDK 0.9.1, docs/api-feedback.md): a run's feedback (Loupe's review
in its own words: rating pass/fail/partial, status open/resolved/ignored, body) and its
expected JSON. The expected-file routes and promote are api/expected.py; ETags and the 412 of
a stale If-Match are the reviews generation's (api/reviews.py)."""

from django.http import HttpRequest

from accounts.roles import REVIEWER
from api.expected import VIA, run_files_to_list, user_email, user_id
from api.reviews import etag, stale_response, version_write
from api.support import api_response, api_view, get_run, iso, json_body, reject_unknown
from review import services
from review.models import ExpectedFile, Review
from runs.models import Run

FEEDBACK_FIELDS = {"body", "rating", "status", "expected"}


def _review(run: Run) -> Review | None:
    return Review.objects.select_related("created_by", "resolved_by").filter(run_id=run.pk).first()


def _expected_files(review: Review | None) -> list[ExpectedFile]:
    return list(review.expected_files.all()) if review is not None else []


def feedback_to_dict(review: Review | None) -> dict | None:
    """RunFeedback: all 12 keys, null where unset; `body` is never null."""
    if review is None:
        return None
    return {
        "rating": review.rating,
        "status": review.status,
        "body": review.body or "",
        "createdAt": iso(review.created_at),
        "updatedAt": iso(review.updated_at),
        "createdBy": user_id(review.created_by),
        "createdByEmail": user_email(review.created_by),
        "resolvedAt": iso(review.resolved_at),
        "resolvedBy": user_id(review.resolved_by),
        "resolvedByEmail": user_email(review.resolved_by),
        "resolvedBySessionId": None,
        "promotedExampleName": review.promoted_example_name,
    }


def feedback_detail_to_dict(review: Review | None, files: list[ExpectedFile]) -> dict:
    """RunFeedbackDetail: {feedback, expected, expectedFiles}."""
    return {
        "feedback": feedback_to_dict(review),
        "expected": review.expected if review is not None else None,
        "expectedFiles": run_files_to_list(files),
    }


def _detail(request: HttpRequest, run: Run):
    review = _review(run)
    response = api_response(request, feedback_detail_to_dict(review, _expected_files(review)))
    response["ETag"] = etag(review)
    return response


def _feedback_stale(request: HttpRequest, run: Run):
    """The 412 of a stale If-Match, carrying the current feedback detail (docs/api-reviews.md)."""
    review = _review(run)
    return stale_response(request, review, lambda r: feedback_detail_to_dict(r, _expected_files(r)))


@api_view()
def feedback_get(request: HttpRequest, run_id: str):
    return _detail(request, get_run(run_id))


@api_view(roles=(REVIEWER,), action="review runs")
def feedback_put(request: HttpRequest, run_id: str):
    """A partial merge despite PUT: a left-out key is unchanged and null clears it."""
    run = get_run(run_id)
    body = json_body(request)
    reject_unknown(body, FEEDBACK_FIELDS)
    changes = dict(body)
    if changes.get("rating") == "none":  # the filter's word for "no rating"; the request's is null
        changes["rating"] = None
    return version_write(request, run, lambda wanted: services.review_update(run=run, changes=changes, user=request.user,
                                                                             base_version=wanted, via=VIA, action="update"),
                         stale=lambda: _feedback_stale(request, run), answer=lambda: _detail(request, run))


@api_view(roles=(REVIEWER,), action="review runs")
def feedback_delete(request: HttpRequest, run_id: str):
    """Deletes the feedback with its expected JSON and every expected file; repeating is a no-op."""
    run = get_run(run_id)
    return version_write(request, run, lambda wanted: services.review_clear(run=run, user=request.user, via=VIA,
                                                                            base_version=wanted),
                         stale=lambda: _feedback_stale(request, run),
                         answer=lambda: api_response(request, feedback_detail_to_dict(None, [])))


@api_view()
def expected_list(request: HttpRequest, run_id: str):
    review = _review(get_run(run_id))
    return api_response(request, {
        "expected": review.expected if review is not None else None,
        "files": run_files_to_list(_expected_files(review)),
    })
