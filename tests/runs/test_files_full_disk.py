"""A full disk, for real: MEDIA_ROOT on a 1 MB tmpfs this test mounts (the tests run as root
in CI), filled up to FREE bytes. Every upload path (ingest file parts, expected files on the
pane and in the API, dataset import on the page and in the API, example files) answers 507 with
a message, keeps what was typed, and leaves no file behind: neither the partial one the disk
ran out on (runs.storage.LocalStorage) nor the complete ones stored before it in the same
request (runs.files.atomic_with_files).

Where mounting is impossible (not root, no CAP_SYS_ADMIN) the tests are skipped with the
reason, except with LOUPE_REQUIRE_TMPFS=1 or CI=true, where that is a failure."""

import errno
import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.models import Example, ExampleFile
from datasets.services import example_create
from review.models import ExpectedFile, Review
from runs.models import Run, RunFile
from runs.storage import LocalStorage
from tests.api.conftest import _client_for
from tests.factories import run_record

FREE = 96 * 1024  # what the disk has left: small files fit, BIG does not
SMALL = os.urandom(8 * 1024)
BIG = os.urandom(300 * 1024)
FILLER = ".filler"


class Disk:
    def __init__(self, root: Path):
        self.root = root

    def files(self) -> list[str]:
        """Every file on the disk but the filler."""
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file()
                      and p.name != FILLER)

    def free(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize


def _mount_failed(reason: str):
    if os.environ.get("LOUPE_REQUIRE_TMPFS") == "1" or os.environ.get("CI") == "true":
        pytest.fail(f"A tmpfs could not be mounted for the full-disk tests: {reason}")
    pytest.skip(f"A tmpfs could not be mounted (needs root): {reason}")


@pytest.fixture
def full_disk(tmp_path, settings):
    root = tmp_path / "media"
    root.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(root)],
                                 capture_output=True, text=True, timeout=30)
    except OSError as exc:
        _mount_failed(str(exc))
    if mounted.returncode != 0:
        _mount_failed(mounted.stderr.strip())
    try:
        disk = Disk(root)
        with open(root / FILLER, "wb") as filler:
            filler.write(b"\0" * (disk.free() - FREE))
        settings.MEDIA_ROOT = root  # the storages' cached locations follow (setting_changed)
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(root)], capture_output=True, timeout=30)


def test_the_disk_is_really_full(full_disk):
    assert FREE - 8192 <= full_disk.free() <= FREE + 8192
    with pytest.raises(OSError) as raised, open(full_disk.root / "x", "wb") as out:
        out.write(BIG)
    assert raised.value.errno == errno.ENOSPC


def test_djangos_storage_leaves_a_partial_file_and_loupes_does_not(full_disk):
    with pytest.raises(OSError):
        FileSystemStorage(location=full_disk.root).save("django.bin", ContentFile(BIG))
    assert full_disk.files() == ["django.bin"]  # why runs.storage.LocalStorage exists
    (full_disk.root / "django.bin").unlink()
    with pytest.raises(OSError) as raised:
        LocalStorage(location=full_disk.root).save("loupe.bin", ContentFile(BIG))
    assert raised.value.errno == errno.ENOSPC
    assert full_disk.files() == []


# --- ingest ---------------------------------------------------------------------------------


def test_ingest_file_parts_on_a_full_disk_are_507_and_store_nothing(ops_api, automation, full_disk):
    first, second = run_record(automation), run_record(automation)
    response = ops_api.post("/api/v1/ingest/runs", {
        "runs": json.dumps([first, second]),
        f"files.{first['id']}.output": SimpleUploadedFile("small.bin", SMALL),
        f"files.{second['id']}.output": SimpleUploadedFile("big.bin", BIG),
    })
    assert response.status_code == 507, response.content
    body = response.json()
    assert body["issues"][0]["code"] == "insufficient_storage" and "full" in body["issues"][0]["message"]
    assert not Run.objects.exists() and not RunFile.objects.exists()
    assert full_disk.files() == []  # small.bin was stored, then removed with the rollback


def test_ingest_still_works_when_the_files_fit(ops_api, automation, full_disk):
    record = run_record(automation)
    response = ops_api.post("/api/v1/ingest/runs", {"runs": json.dumps([record]),
                                                    f"files.{record['id']}.output": SimpleUploadedFile("s.bin", SMALL)})
    assert response.status_code == 200 and RunFile.objects.count() == 1 and len(full_disk.files()) == 1


# --- expected files ------------------------------------------------------------------------


def test_an_expected_upload_on_the_pane_is_507_with_the_name_kept(reviewer_client, run, full_disk):
    response = reviewer_client.post(f"/runs/{run.pk}/expected/upload/",
                                    {"file": SimpleUploadedFile("big.csv", BIG), "name": "fixed-totals.csv"})
    assert response.status_code == 507
    page = response.content.decode()
    assert "file store is full" in page and 'value="fixed-totals.csv"' in page
    assert not ExpectedFile.objects.exists() and full_disk.files() == []


def test_an_expected_upload_with_htmx_keeps_the_typed_note(reviewer_client, run, full_disk):
    response = reviewer_client.post(f"/runs/{run.pk}/expected/upload/",
                                    {"file": SimpleUploadedFile("big.csv", BIG), "body": "Totals are off by one",
                                     "verdict": "fail", "version": "0"},
                                    headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200  # htmx swaps no error answer: the pane comes back in place
    assert "file store is full" in page and "Totals are off by one" in page
    assert not Review.objects.filter(run=run, body__contains="Totals").exists()
    assert full_disk.files() == []


def test_an_expected_upload_in_the_api_is_507(api, run, full_disk):
    response = api.post(f"/v1/runs/{run.pk}/reviews/expected", {"file": SimpleUploadedFile("big.csv", BIG)})
    assert response.status_code == 507 and response.json()["issues"][0]["code"] == "insufficient_storage"
    assert not ExpectedFile.objects.exists() and full_disk.files() == []


# --- datasets --------------------------------------------------------------------------------


def _archive() -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("examples/a/input.json", "{}")
        archive.writestr("examples/a/input/small.bin", SMALL)
        archive.writestr("examples/b/input.json", "{}")
        archive.writestr("examples/b/expected/big.bin", BIG)
    buffer.seek(0)
    return buffer


@pytest.fixture
def ops_api(ops):
    return _client_for(ops)


@pytest.fixture
def api(reviewer):
    return _client_for(reviewer)


@pytest.fixture
def lead_api(lead):
    return _client_for(lead)


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


def test_a_dataset_import_on_the_page_is_507_and_imports_nothing(lead_client, automation, full_disk):
    upload = SimpleUploadedFile("dataset.zip", _archive().read(), content_type="application/zip")
    response = lead_client.post(f"/datasets/{automation.ref}/import/", {"file": upload, "mode": "append"})
    assert response.status_code == 507
    assert "file store is full" in response.content.decode()
    assert not Example.objects.exists() and not ExampleFile.objects.exists()
    assert full_disk.files() == []


def test_a_dataset_import_in_the_api_is_507(lead_api, automation, full_disk):
    upload = SimpleUploadedFile("dataset.zip", _archive().read(), content_type="application/zip")
    response = lead_api.post(f"/api/v1/automations/{automation.pk}/dataset/import", {"file": upload})
    assert response.status_code == 507, response.content
    assert not Example.objects.exists() and full_disk.files() == []


def test_example_files_in_the_api_are_507_all_or_nothing(lead_api, automation, lead, full_disk):
    example = example_create(automation=automation, name="one", user=lead)
    response = lead_api.post(f"/api/v1/automations/{automation.pk}/examples/{example.pk}/input",
                             {"file": [SimpleUploadedFile("small.bin", SMALL), SimpleUploadedFile("big.bin", BIG)]})
    assert response.status_code == 507, response.content
    assert not ExampleFile.objects.exists() and full_disk.files() == []
