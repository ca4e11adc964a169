"""A run's expected files and promotion, the same routes in both API generations (feedback,
docs/api-feedback.md; reviews, docs/api-reviews.md), and what the two generations' modules
(api/feedback.py, api/reviews.py) share. Writes go through review.services / datasets.services
with via=api, so the audit trail and the pages see exactly what the API did."""

from django.http import FileResponse, HttpRequest

from accounts.roles import REVIEWER
from api.support import (
    ApiError,
    api_response,
    api_view,
    bad_request,
    empty_response,
    get_run,
    is_multipart,
    json_body,
    not_found,
    reject_unknown,
    uploaded_files,
)
from datasets.services import PromoteError, example_promote
from review import services
from review.models import AuditEvent, ExpectedFile
from runs.models import Run

VIA = AuditEvent.Via.API


def user_id(user) -> str | None:
    return str(user.pk) if user is not None else None


def user_email(user) -> str | None:
    return (user.email or None) if user is not None else None


def run_files_to_list(files) -> list[dict]:
    """RunFile[]: `{name}` per file, a name or a slash path."""
    return [{"name": f.name} for f in files]


def raise_for(exc: services.ReviewError):
    """A review service's refusal as the API's error: 404 for a missing file, else 400 naming the field."""
    if isinstance(exc, services.FileMissing):
        raise not_found(str(exc), field=exc.field) from None
    raise bad_request(exc.field, str(exc)) from None


def review_write(write, stale):
    """A review service write of the API: None when it went through; `stale()` (the 412 with the
    current review) when the review moved on meanwhile; a refused change raises the API's error."""
    try:
        write()
    except services.StaleReview:
        return stale()
    except services.ReviewError as exc:
        raise_for(exc)
    return None


@api_view(roles=(REVIEWER,), action="attach expected files")
def expected_create(request: HttpRequest, run_id: str):
    """One route, two bodies: JSON copies an output file, multipart uploads one (docs/api-feedback.md#expected-files)."""
    run = get_run(run_id)
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
        raise_for(exc)
    return api_response(request, {"name": change.name}, status=201)


def _expected_file(run: Run, filename: str) -> ExpectedFile | None:
    return ExpectedFile.objects.filter(review__run=run, name=filename).first()


@api_view()
def expected_file_get(request: HttpRequest, run_id: str, filename: str):
    expected = _expected_file(get_run(run_id), filename)
    if expected is None:
        raise not_found(f"No expected file named {filename!r}.", field="filename")
    response = FileResponse(expected.file.open("rb"), as_attachment=True, filename=filename.rsplit("/", 1)[-1],
                            content_type=expected.content_type or "application/octet-stream")
    return response


@api_view(roles=(REVIEWER,), action="rename expected files")
def expected_file_rename(request: HttpRequest, run_id: str, filename: str):
    run = get_run(run_id)
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
        raise_for(exc)
    return api_response(request, {"name": change.name})


@api_view(roles=(REVIEWER,), action="delete expected files")
def expected_file_delete(request: HttpRequest, run_id: str, filename: str):
    """204; deleting a file that is already gone also answers 204, so a retried DELETE is safe."""
    run = get_run(run_id)
    if _expected_file(run, filename) is not None:
        try:
            services.expected_file_delete(run=run, name=filename, user=request.user, via=VIA)
        except services.FileMissing:
            pass  # deleted by a concurrent request meanwhile
    return empty_response(request, 204)


@api_view(roles=(REVIEWER,), action="promote runs to the dataset")
def run_promote(request: HttpRequest, run_id: str):
    """An upsert by example name: promoting again under the same name refreshes that example."""
    run = get_run(run_id)
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
