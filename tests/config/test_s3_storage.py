"""Files on a real S3 API (moto in server mode, or LOUPE_TEST_S3_ENDPOINT), configured by the
environment alone: LOUPE_S3_BUCKET, LOUPE_S3_ENDPOINT_URL, LOUPE_S3_REGION and the keys."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import ApiKey
from runs.models import RunFile
from runs.records import parse_run_record
from runs.services import runs_record
from tests.factories import run_record
from tests.services import s3_bucket, s3_endpoint, s3_env, s3_keys  # noqa: F401 (fixture)

pytestmark = pytest.mark.once  # runs in the SQLite pass only (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]


def test_the_environment_alone_puts_run_files_on_s3(s3_endpoint, tmp_path, migrated_sqlite):  # noqa: F811
    bucket, prefix = s3_bucket(s3_endpoint, "loupe-env"), f"t{secrets.token_hex(4)}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOUPE_S3_", "DATABASE_"))},
           **s3_env(s3_endpoint, bucket, prefix), "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "LOUPE_VAR_DIR": str(tmp_path)}
    line = {"id": "run_s3_1", "automation": "workflows.s3-check", "status": "completed",
            "input": {}, "output": {"ok": True},
            "files": [{"name": "out/report.csv", "role": "output", "text": "a,b\n1,2\n"}]}
    (tmp_path / "runs.jsonl").write_text(json.dumps(line) + "\n")
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrated_sqlite(tmp_path / "db.sqlite3")
    done = subprocess.run([*manage, "import_runs", str(tmp_path / "runs.jsonl"), "--create-automations", "-v0"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    read_back = subprocess.run(
        [*manage, "shell", "-c",
         "from runs.models import RunFile; from django.core.files.storage import storages; f = RunFile.objects.get(); "
         "print(type(storages['default']).__name__, f.file.name, f.file.read().decode().replace(chr(10), '|'))"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert read_back.returncode == 0, read_back.stderr
    storage_class, name, text = read_back.stdout.strip().splitlines()[-1].split()
    assert (storage_class, text) == ("S3Storage", "a,b|1,2|")
    assert s3_keys(s3_endpoint, bucket, prefix) == [f"{prefix}/{name}"]


@pytest.fixture
def s3_settings(settings, s3_endpoint):  # noqa: F811
    bucket, prefix = s3_bucket(s3_endpoint, "loupe-tests"), f"t{secrets.token_hex(4)}"
    options = {"bucket_name": bucket, "endpoint_url": s3_endpoint, "region_name": "us-east-1",
               "access_key": "loupe-test", "secret_key": "loupe-test", "location": prefix,
               "addressing_style": "path", "file_overwrite": False, "default_acl": None}
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": options}}
    return s3_endpoint, bucket, prefix


def test_a_file_sent_to_the_ingest_api_is_stored_on_s3_and_downloaded_through_loupe(
        s3_settings, ops, reviewer_client, automation):
    endpoint, bucket, prefix = s3_settings
    ops_api = Client(headers={"Authorization": f"Bearer {ApiKey.issue(user=ops, name='s3')[1]}"})
    record = run_record(automation)
    answer = ops_api.post("/api/v1/ingest/runs", {
        "runs": json.dumps([record]),
        f"files.{record['id']}.output": SimpleUploadedFile("scan.pdf", b"%PDF-1.4 s3", content_type="application/pdf"),
    })
    assert answer.json()["created"] == [record["id"]]
    stored = RunFile.objects.get(run_id=record["id"])
    assert type(default_storage._wrapped).__name__ == "S3Storage"
    assert s3_keys(endpoint, bucket, prefix) == [f"{prefix}/{stored.file.name}"]
    download = reviewer_client.get(f"/runs/{record['id']}/files/{stored.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 s3"


def test_a_replaced_file_leaves_no_orphan_object_once_committed(s3_settings, automation,
                                                                 django_capture_on_commit_callbacks):
    endpoint, bucket, prefix = s3_settings
    first = run_record(automation, files=[{"name": "a.txt", "role": "output", "text": "one"}])
    runs_record([parse_run_record(first)])
    with django_capture_on_commit_callbacks(execute=True):
        runs_record([parse_run_record({**first, "files": [{"name": "a.txt", "role": "output", "text": "two"}]})])
    stored = RunFile.objects.get(run_id=first["id"])
    assert s3_keys(endpoint, bucket, prefix) == [f"{prefix}/{stored.file.name}"]
    assert stored.file.read() == b"two"
