"""Feedback (Loupe's reviews), the expected files of a run, and promotion, as the EigenPal API
serves them (docs/api-feedback.md: feedback, expected files, promote). Writes go through review.services / datasets.services with
via=api, so the audit trail and the pages see exactly what the API did."""

from django.http import FileResponse, HttpRequest

from accounts.roles import REVIEWER
from api.support import (
    ApiError,
    api_response,
    api_view,
    bad_request,
    empty_response,
    is_multipart,
    iso,
    json_body,
    not_found,
    reject_unknown,
    uploaded_files,
)
from datasets.services import PromoteError, example_promote
from review import services
from review.models import AuditEvent, ExpectedFile, Review
from runs.chips import Rating, ReviewStatus
from runs.models import Run

VIA = AuditEvent.Via.API
FEEDBACK_FIELDS = {"body", "rating", "status", "expected"}


def _run(run_id: str) -> Run:
    run = Run.objects.select_related("automation").filter(pk=run_id).first()
    if run is None:
        raise not_found(f"No run {run_id!r}.", field="id")
    return run


def _review(run: Run) -> Review | None:
    return Review.objects.select_related("created_by", "resolved_by").filter(run_id=run.pk).first()


def _expected_files(review: Review | None) -> list[ExpectedFile]:
    return list(review.expected_files.all()) if review is not None else []


def _user_id(user) -> str | None:
    return str(user.pk) if user is not None else None


def _email(user) -> str | None:
    return (user.email or None) if user is not None else None


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
        "createdBy": _user_id(review.created_by),
        "createdByEmail": _email(review.created_by),
        "resolvedAt": iso(review.resolved_at),
        "resolvedBy": _user_id(review.resolved_by),
        "resolvedByEmail": _email(review.resolved_by),
        "resolvedBySessionId": None,
        "promotedExampleName": review.promoted_example_name,
    }


def run_files_to_list(files) -> list[dict]:
    """RunFile[]: `{name}` per file, a name or a slash path."""
    return [{"name": f.name} for f in files]


def feedback_detail_to_dict(review: Review | None, files: list[ExpectedFile]) -> dict:
    """RunFeedbackDetail: {feedback, expected, expectedFiles}."""
    return {
        "feedback": feedback_to_dict(review),
        "expected": review.expected if review is not None else None,
        "expectedFiles": run_files_to_list(files),
    }


def _detail(request: HttpRequest, run: Run):
    review = _review(run)
    return api_response(request, feedback_detail_to_dict(review, _expected_files(review)))


def _raise_for(exc: services.ReviewError):
    if isinstance(exc, services.FileMissing):
        raise not_found(str(exc), field=exc.field) from None
    raise bad_request(exc.field, str(exc)) from None


@api_view()
def feedback_get(request: HttpRequest, run_id: str):
    return _detail(request, _run(run_id))


@api_view(roles=(REVIEWER,), action="review runs")
def feedback_put(request: HttpRequest, run_id: str):
    """A partial merge despite PUT: a left-out key is unchanged and null clears it."""
    run = _run(run_id)
    body = json_body(request)
    reject_unknown(body, FEEDBACK_FIELDS)
    changes = dict(body)
    if changes.get("rating") == "none":  # the filter's word for "no rating"; the request's is null
        changes["rating"] = None
    try:
        services.review_update(run=run, changes=changes, user=request.user, via=VIA, action="update")
    except services.ReviewError as exc:
        _raise_for(exc)
    return _detail(request, run)


@api_view(roles=(REVIEWER,), action="review runs")
def feedback_delete(request: HttpRequest, run_id: str):
    """Deletes the feedback with its expected JSON and every expected file; repeating is a no-op."""
    run = _run(run_id)
    services.review_clear(run=run, user=request.user, via=VIA)
    return api_response(request, feedback_detail_to_dict(None, []))


@api_view()
def expected_list(request: HttpRequest, run_id: str):
    review = _review(_run(run_id))
    return api_response(request, {
        "expected": review.expected if review is not None else None,
        "files": run_files_to_list(_expected_files(review)),
    })


@api_view(roles=(REVIEWER,), action="attach expected files")
def expected_create(request: HttpRequest, run_id: str):
    """One route, two bodies: JSON copies an output file, multipart uploads one (docs/api-feedback.md#expected-files)."""
    run = _run(run_id)
    try:
        if is_multipart(request):
            upload = uploaded_files(request)[0]
            change = services.expected_file_upload(run=run, upload=upload, name=request.POST.get("name") or None,
                                                   user=request.user, via=VIA)
        else:
            body = json_body(request)
            reject_unknown(body, {"outputFileName", "expectedName"})
            output_name = body.get("outputFileName")
            if not isinstance(output_name, str) or not output_name:
                raise bad_request("outputFileName", "Required: the name of one of the run's output files.")
            expected_name = body.get("expectedName")
            if expected_name is not None and not isinstance(expected_name, str):
                raise bad_request("expectedName", "Expected a string.")
            change = services.expected_file_copy_output(run=run, output_name=output_name,
                                                        expected_name=expected_name or None,
                                                        user=request.user, via=VIA)
    except services.ReviewError as exc:
        _raise_for(exc)
    return api_response(request, {"name": change.name}, status=201)


def _expected_file(run: Run, filename: str) -> ExpectedFile | None:
    return ExpectedFile.objects.filter(review__run=run, name=filename).first()


@api_view()
def expected_file_get(request: HttpRequest, run_id: str, filename: str):
    expected = _expected_file(_run(run_id), filename)
    if expected is None:
        raise not_found(f"No expected file named {filename!r}.", field="filename")
    response = FileResponse(expected.file.open("rb"), as_attachment=True, filename=filename.rsplit("/", 1)[-1],
                            content_type=expected.content_type or "application/octet-stream")
    return response


@api_view(roles=(REVIEWER,), action="rename expected files")
def expected_file_rename(request: HttpRequest, run_id: str, filename: str):
    run = _run(run_id)
    body = json_body(request)
    reject_unknown(body, {"name"})
    new_name = body.get("name")
    if not isinstance(new_name, str) or not new_name.strip():
        raise bad_request("name", "Required: the new name of the file.")
    if _expected_file(run, filename) is None and _expected_file(run, new_name.strip()) is not None:
        # A retried rename whose first attempt went through: the end state is what was asked.
        return api_response(request, {"name": new_name.strip()})
    try:
        change = services.expected_file_rename(run=run, name=filename, new_name=new_name, user=request.user, via=VIA)
    except services.ReviewError as exc:
        _raise_for(exc)
    return api_response(request, {"name": change.name})


@api_view(roles=(REVIEWER,), action="delete expected files")
def expected_file_delete(request: HttpRequest, run_id: str, filename: str):
    """204; deleting a file that is already gone also answers 204, so a retried DELETE is safe."""
    run = _run(run_id)
    if _expected_file(run, filename) is not None:
        try:
            services.expected_file_delete(run=run, name=filename, user=request.user, via=VIA)
        except services.FileMissing:
            pass  # deleted by a concurrent request meanwhile
    return empty_response(request, 204)


@api_view(roles=(REVIEWER,), action="promote runs to the dataset")
def run_promote(request: HttpRequest, run_id: str):
    """An upsert by example name: promoting again under the same name refreshes that example."""
    run = _run(run_id)
    body = json_body(request, allow_empty=True)
    reject_unknown(body, {"name"})
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise bad_request("name", "Expected a string.")
    try:
        example = example_promote(run=run, name=name, user=request.user, via=VIA)
    except PromoteError as exc:
        raise ApiError(400, str(exc), field=exc.field) from None
    return api_response(request, {
        "automationId": str(run.automation_id),
        "automationType": run.automation.kind,
        "exampleId": str(example.pk),
        "name": example.name,
    })


# --- the newer "reviews" generation (docs/proxy.md): the same reviews, renamed ---------------
# verdict correct|incorrect (no partial: partial reads as incorrect), status open|closed|wont_fix,
# note for body. The expected-file routes are the ones above, mounted at /runs/:id/expected.

VERDICT_OUT = {Rating.PASS: "correct", Rating.FAIL: "incorrect", Rating.PARTIAL: "incorrect"}
VERDICT_IN = {"correct": Rating.PASS, "incorrect": Rating.FAIL}
STATUS_OUT = {ReviewStatus.OPEN: "open", ReviewStatus.RESOLVED: "closed", ReviewStatus.IGNORED: "wont_fix"}
STATUS_IN = {v: k for k, v in STATUS_OUT.items()}
REVIEW_FIELDS = {"verdict", "status", "note", "expected"}


def review_to_dict(review: Review | None) -> dict | None:
    if review is None:
        return None
    return {
        "verdict": VERDICT_OUT.get(review.rating),
        "status": STATUS_OUT.get(review.status),
        "note": review.body or "",
        "createdAt": iso(review.created_at),
        "updatedAt": iso(review.updated_at),
        "createdByEmail": _email(review.created_by),
        "resolvedAt": iso(review.resolved_at),
        "resolvedByEmail": _email(review.resolved_by),
        "promotedExampleName": review.promoted_example_name,
    }


def review_detail_to_dict(run: Run) -> dict:
    """{review, expected: {output, files}}, as merged into GET /runs/:id?include=detail."""
    review = _review(run)
    return {"review": review_to_dict(review),
            "expected": {"output": review.expected if review is not None else None,
                         "files": run_files_to_list(_expected_files(review))}}


def _review_response(request: HttpRequest, run: Run):
    review = _review(run)
    return api_response(request, {"review": review_to_dict(review),
                                  "expected": review.expected if review is not None else None,
                                  "expectedFiles": run_files_to_list(_expected_files(review))})


@api_view()
def review_get(request: HttpRequest, run_id: str):
    return _review_response(request, _run(run_id))


@api_view(roles=(REVIEWER,), action="review runs")
def review_patch(request: HttpRequest, run_id: str):
    """A partial update: a left-out key is unchanged and null clears it."""
    run = _run(run_id)
    body = json_body(request)
    reject_unknown(body, REVIEW_FIELDS)
    changes = {}
    for wire, name, values in (("verdict", "rating", VERDICT_IN), ("status", "status", STATUS_IN)):
        if wire in body:
            if body[wire] is not None and (not isinstance(body[wire], str) or body[wire] not in values):
                raise bad_request(wire, f"Expected one of {', '.join(values)}, or null.")
            changes[name] = values.get(body[wire])
    if "note" in body:
        changes["body"] = body["note"]
    if "expected" in body:
        changes["expected"] = body["expected"]
    try:
        services.review_update(run=run, changes=changes, user=request.user, via=VIA, action="update")
    except services.ReviewError as exc:
        _raise_for(exc)
    return _review_response(request, run)


@api_view(roles=(REVIEWER,), action="review runs")
def review_delete(request: HttpRequest, run_id: str):
    run = _run(run_id)
    services.review_clear(run=run, user=request.user, via=VIA)
    return _review_response(request, run)
