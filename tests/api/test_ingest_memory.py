"""The ingest API streams file parts to storage: a file far above FILE_UPLOAD_MAX_MEMORY_SIZE
is never held in memory whole."""

import json
import tracemalloc

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from accounts.models import ApiKey
from api.ingest import ingest_runs
from runs.models import RunFile
from tests.factories import run_record

SIZE = 8 * 1024 * 1024


def test_a_large_file_part_is_streamed_not_read_whole(ops, automation):
    assert SIZE > 3 * settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    record = run_record(automation)
    key = ApiKey.issue(user=ops, name="memory")[1]
    request = RequestFactory().post(
        "/api/v1/ingest/runs",
        {"runs": json.dumps([record]),
         f"files.{record['id']}.output": SimpleUploadedFile("big.bin", b"x" * SIZE, "application/octet-stream")},
        headers={"Authorization": f"Bearer {key}"})
    request._dont_enforce_csrf_checks = True
    tracemalloc.start()
    try:
        response = ingest_runs(request)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        for upload in request.FILES.values():
            upload.close()  # as the request handler does; the temporary file was moved into storage
    assert response.status_code == 200, response.content
    assert RunFile.objects.get(run_id=record["id"]).size == SIZE
    assert peak < SIZE / 2, f"peak {peak:,} bytes while storing an {SIZE:,}-byte file"
