"""Dataset examples, their files, and dataset export/import as the EigenPal API serves them
(docs/api-feedback.md: examples, example files, dataset archive). Writes go through datasets.services and datasets.archive."""

import hashlib
import json

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse

from accounts.roles import LEAD, REVIEWER
from api.automations import get_automation
from api.support import (
    ApiError,
    Query,
    api_response,
    api_view,
    bad_request,
    is_multipart,
    iso,
    json_body,
    limit_and_offset,
    not_found,
    reject_unknown,
    uploaded_files,
)
from datasets import archive, services
from datasets.models import Example, ExampleFile, ExampleFolder
from runs.files import BadFileName, guess_content_type, safe_relative_path
from runs.ids import small_int
from runs.models import Automation

DATASET_ROLES = (REVIEWER, LEAD)
# Wire name -> model field, for DatasetExampleMutation / DatasetExampleUpdate.
WIRE_FIELDS = {"name": "name", "input": "input", "expected": "expected", "metadata": "metadata",
               "annotation": "annotation", "rowOrder": "row_order", "overrides": "overrides"}
ANNOTATION_MAX = 2000


def example_to_dict(request: HttpRequest, example: Example, *, metadata_only: bool = False) -> dict:
    """DatasetExample: all 12 required keys, null where unset (files prefetched).
    `metadata_only` (include=metadata on the list) leaves input and expected null."""
    automation = example.automation
    expected_files = [f for f in example.files.all() if f.folder == ExampleFolder.EXPECTED]
    return {
        "id": str(example.pk),
        "name": example.name,
        "automationId": str(automation.pk),
        "automationType": automation.kind,
        "input": None if metadata_only else example.input,
        "expected": None if metadata_only else example.expected,
        "expectedFiles": [{"name": f.path, "url": request.build_absolute_uri(
            reverse("api-example-file", args=[automation.ref, example.pk, f.folder, f.path]))}
            for f in expected_files],
        "metadata": example.metadata,
        "annotation": example.annotation,
        "rowOrder": example.row_order,
        "overrides": example.overrides,
        "latestRunId": example.latest_run_id,
        "createdAt": iso(example.created_at),
        "updatedAt": iso(example.updated_at),
    }


ROW_ORDER_MAX = 2**31 - 1  # the column is an integer


def _get_example(automation: Automation, example_id: str) -> Example:
    """By id, or by name (agents' example ids derive from the name)."""
    qs = Example.objects.filter(automation=automation).select_related("automation").prefetch_related("files")
    example = (qs.filter(pk=small_int(example_id)) if small_int(example_id) is not None else qs.filter(name=example_id)).first()
    if example is None:
        raise not_found(f"No example {example_id!r} in {automation.ref}.", field="exampleId")
    return example


def _annotation_ok(annotation) -> bool:
    return annotation is None or (isinstance(annotation, str) and len(annotation) <= ANNOTATION_MAX)


def _row_order_ok(row_order) -> bool:
    if row_order is None:
        return True
    if isinstance(row_order, bool) or not isinstance(row_order, (int, float)):
        return False
    return 0 <= row_order <= ROW_ORDER_MAX and int(row_order) == row_order


def _fields(body: dict) -> dict:
    """Validate a create/update body and map it to model fields (null is kept: it clears)."""
    reject_unknown(body, set(WIRE_FIELDS))
    for key in ("input", "metadata", "overrides"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise bad_request(key, "Expected a JSON object or null.")
    if not _annotation_ok(body.get("annotation")):
        raise bad_request("annotation", f"Expected a string of at most {ANNOTATION_MAX} characters, or null.")
    if not _row_order_ok(body.get("rowOrder")):
        raise bad_request("rowOrder", f"Expected a whole number from 0 to {ROW_ORDER_MAX}, or null.")
    if "name" in body and not isinstance(body["name"], str):
        raise bad_request("name", "Expected a string.")
    fields = {WIRE_FIELDS[k]: v for k, v in body.items()}
    if fields.get("row_order") is not None:
        fields["row_order"] = int(fields["row_order"])
    return fields


def _generated_name(body: dict) -> str:
    """A name from the content, so a retried create without a name finds the first one."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f"example-{digest[:12]}"


def _raise_for(exc: services.ExampleError):
    raise bad_request(exc.field, str(exc)) from None


@api_view(params=("limit", "offset", "include"))
def examples_list(request: HttpRequest, automation_id: str):
    automation = get_automation(automation_id)
    query = Query(request.GET)
    limit, offset = limit_and_offset(query)
    metadata_only = query.choice("include", ("full", "metadata")) == "metadata"
    qs = Example.objects.filter(automation=automation).order_by("row_order", "name", "pk")
    if metadata_only:
        qs = qs.defer("input", "expected")
    page = list(qs.select_related("automation").prefetch_related("files")[offset:offset + limit])
    data = [example_to_dict(request, example, metadata_only=metadata_only) for example in page]
    return api_response(request, {"data": data, "total": qs.count(), "limit": limit, "offset": offset})


@api_view(roles=DATASET_ROLES, action="edit the dataset")
def example_create(request: HttpRequest, automation_id: str):
    """201. Repeating a create with the same body returns the same example (the SDK retries)."""
    automation = get_automation(automation_id)
    body = json_body(request)
    fields = _fields(body)
    name = fields.pop("name", None) or _generated_name(body)
    fields = {"input": {}, **fields}
    defaults = dict.fromkeys(("expected", "metadata", "annotation", "row_order", "overrides"))
    existing = Example.objects.filter(automation=automation, name=name).first()
    if existing is not None and all(getattr(existing, k) == v for k, v in {**defaults, **fields}.items()):
        return api_response(request, example_to_dict(request, _get_example(automation, str(existing.pk))), 201)
    try:
        example = services.example_create(automation=automation, name=name, user=request.user, **fields)
    except services.ExampleError as exc:
        _raise_for(exc)
    return api_response(request, example_to_dict(request, _get_example(automation, str(example.pk))), 201)


@api_view()
def example_get(request: HttpRequest, automation_id: str, example_id: str):
    example = _get_example(get_automation(automation_id), example_id)
    return api_response(request, example_to_dict(request, example))


@api_view(roles=DATASET_ROLES, action="edit the dataset")
def example_update(request: HttpRequest, automation_id: str, example_id: str):
    """A partial update: a left-out key is unchanged, null clears."""
    automation = get_automation(automation_id)
    example = _get_example(automation, example_id)
    fields = _fields(json_body(request))
    if "name" in fields and fields["name"] is None:
        raise bad_request("name", "An example always has a name.")
    try:
        services.example_update(example=example, user=request.user, **fields)
    except services.ExampleError as exc:
        _raise_for(exc)
    return api_response(request, example_to_dict(request, _get_example(automation, str(example.pk))))


@api_view(roles=DATASET_ROLES, action="edit the dataset")
def example_delete(request: HttpRequest, automation_id: str, example_id: str):
    """200 with the deleted example."""
    example = _get_example(get_automation(automation_id), example_id)
    data = example_to_dict(request, example)
    services.example_delete(example=example, user=request.user)
    return api_response(request, data)


@api_view(params=None)
def example_run(request: HttpRequest, automation_id: str, example_id: str):
    """Loupe does not execute automations (docs/rules.md#scope): a clear refusal, not a fake run."""
    _get_example(get_automation(automation_id), example_id)
    raise ApiError(403, "Loupe does not execute automations, so it cannot run an example.", code="not_supported",
                   hint="Run the example on the platform that executes the automation and record the run "
                        "with POST /api/v1/ingest/runs (exampleId set to this example's id).")


# --- files of an example -----------------------------------------------------------------


def _clean_path(path: str, field: str = "path") -> str:
    try:
        return safe_relative_path(path)
    except BadFileName as exc:
        raise bad_request(field, str(exc)) from None


@api_view()
def example_files_list(request: HttpRequest, automation_id: str, example_id: str, folder: str):
    example = _get_example(get_automation(automation_id), example_id)
    return api_response(request, {"files": sorted(f.path for f in example.files.all() if f.folder == folder)})


@api_view(roles=DATASET_ROLES, action="edit the dataset")
def example_files_upload(request: HttpRequest, automation_id: str, example_id: str, folder: str):
    """201 {uploaded}: one or more parts named `file`; a file at the same path is replaced."""
    example = _get_example(get_automation(automation_id), example_id)
    if not is_multipart(request):
        raise bad_request("file", "Send multipart/form-data with one or more parts named 'file'.")
    files = []
    for upload in uploaded_files(request):
        path = _clean_path(upload.name, field="file")
        files.append((path, upload.read(), upload.content_type or guess_content_type(path)))
    stored = services.example_file_upload(example=example, folder=folder, files=files)
    return api_response(request, {"uploaded": stored}, status=201)


def _example_file(example: Example, folder: str, path: str) -> ExampleFile | None:
    return ExampleFile.objects.filter(example=example, folder=folder, path=path).first()


@api_view()
def example_file_get(request: HttpRequest, automation_id: str, example_id: str, folder: str, path: str):
    example = _get_example(get_automation(automation_id), example_id)
    example_file = _example_file(example, folder, path)
    if example_file is None:
        raise not_found(f"No file {folder}/{path} in example {example.name!r}.", field="path")
    return FileResponse(example_file.file.open("rb"), as_attachment=True, filename=path.rsplit("/", 1)[-1],
                        content_type=example_file.content_type or "application/octet-stream")


@api_view(roles=DATASET_ROLES, action="edit the dataset")
def example_file_rename(request: HttpRequest, automation_id: str, example_id: str, folder: str, path: str):
    """{newFilename}: a new basename; the parent folder is kept."""
    example = _get_example(get_automation(automation_id), example_id)
    body = json_body(request)
    reject_unknown(body, {"newFilename"})
    new_filename = body.get("newFilename")
    if not isinstance(new_filename, str) or not new_filename.strip():
        raise bad_request("newFilename", "Required: the new file name.")
    new_filename = new_filename.strip()
    _clean_path(new_filename, field="newFilename")
    parent = path.rpartition("/")[0]
    new_path = f"{parent}/{new_filename}" if parent else new_filename
    if _example_file(example, folder, path) is None and _example_file(example, folder, new_path) is not None:
        return api_response(request, {"ok": True, "filename": new_filename, "path": new_path})  # a retry
    try:
        new_path = services.example_file_rename(example=example, folder=folder, path=path, new_filename=new_filename)
    except services.ExampleError as exc:
        if exc.field == "path":
            raise not_found(str(exc), field="path") from None
        _raise_for(exc)
    return api_response(request, {"ok": True, "filename": new_filename, "path": new_path})


@api_view(roles=DATASET_ROLES, action="edit the dataset")
def example_file_delete(request: HttpRequest, automation_id: str, example_id: str, folder: str, path: str):
    """200 {}; a file that is already gone answers the same, so a retried DELETE is safe."""
    example = _get_example(get_automation(automation_id), example_id)
    services.example_file_delete(example=example, folder=folder, path=path)
    return api_response(request, {})


# --- export / import ---------------------------------------------------------------------


@api_view(params=("exampleIds", "example_ids"))
def dataset_export(request: HttpRequest, automation_id: str):
    automation = get_automation(automation_id)
    ids = Query(request.GET, {"example_ids": "exampleIds"}).csv("exampleIds") or None
    response = HttpResponse(archive.export_dataset(automation=automation, example_ids=ids),
                            content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{automation.slug}-dataset.zip"'
    return response


def _import_limit() -> int:
    return getattr(settings, "LOUPE_MAX_IMPORT_BYTES", archive.DEFAULT_MAX_BYTES)


@api_view(roles=DATASET_ROLES, action="edit the dataset")
def dataset_import(request: HttpRequest, automation_id: str):
    """200. append skips names already in the dataset (so a retried append adds nothing twice);
    replace empties the dataset first. Legacy layouts and bad archives are a 400."""
    automation = get_automation(automation_id)
    if not is_multipart(request):
        raise bad_request("file", "Send multipart/form-data with the ZIP as the part 'file'.")
    upload = uploaded_files(request, limit=_import_limit())[0]
    mode = request.POST.get("mode") or "append"
    if mode not in archive.MODES:
        raise bad_request("mode", "Expected append or replace.")
    try:
        result = archive.import_dataset(automation=automation, fileobj=upload, mode=mode, user=request.user)
    except archive.ArchiveError as exc:
        raise bad_request(exc.field, str(exc)) from None
    if result.mode == "replace":  # the two shapes are told apart by mode; their keys never mix
        data = {"mode": "replace", "created": result.created, "expectedSet": result.expected_set,
                "deleted": result.deleted, "filesDeleted": result.files_deleted}
    else:
        data = {"mode": "append", "created": result.created, "expectedSet": result.expected_set,
                "skipped": result.skipped, "issues": result.issues}
    return api_response(request, data)

