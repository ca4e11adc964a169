"""Dataset ZIPs are user input: entries, expanded bytes and the compression ratio are bounded,
counted as read, and a damaged archive is a 400 naming the entry, never a 500."""

import io
import struct
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.archive import ArchiveError, import_dataset
from datasets.models import Example
from tests.api.conftest import _client_for

BASE = "/api/v1/automations/workflows.extract-invoice"


@pytest.fixture
def api(reviewer):
    return _client_for(reviewer)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _bomb() -> bytes:
    # 64 MB of zeros in one input file: about 64 KB compressed.
    return _zip({"examples/a/input.json": b"{}", "examples/a/input/zeros.bin": b"\0" * (64 << 20)})


def _lying_directory(data: bytes, claimed_size: int) -> bytes:
    """The same archive with the central directory's uncompressed size of every entry replaced."""
    raw = bytearray(data)
    at = 0
    while (at := raw.find(b"PK\x01\x02", at)) != -1:
        struct.pack_into("<I", raw, at + 24, claimed_size)
        at += 4
    return bytes(raw)


def test_a_zip_bomb_is_refused_by_ratio_and_nothing_is_stored(automation):
    data = _bomb()
    assert len(data) < 1 << 20
    with pytest.raises(ArchiveError, match="ZIP bomb") as caught:
        import_dataset(automation=automation, fileobj=io.BytesIO(data))
    assert "damaged" not in str(caught.value) and caught.value.field == "examples/a/input/zeros.bin"
    assert not Example.objects.exists()


def test_the_total_expanded_size_is_counted_as_read_not_taken_from_the_directory(automation, settings):
    settings.LOUPE_MAX_IMPORT_EXPANDED_BYTES = 1000
    data = _zip({"examples/a/input.json": b"{}", "examples/a/input/big.txt": bytes(range(256)) * 20})
    # The directory claims every entry is 1 byte: the limit must still trip.
    with pytest.raises(ArchiveError) as caught:
        import_dataset(automation=automation, fileobj=io.BytesIO(_lying_directory(data, 1)))
    # zipfile reads only the claimed byte, so the CRC check catches the lie; either way, refused.
    assert "damaged" in str(caught.value) or "expands to more than" in str(caught.value)
    with pytest.raises(ArchiveError, match="expands to more than"):
        import_dataset(automation=automation, fileobj=io.BytesIO(data))
    assert not Example.objects.exists()


def test_the_entry_count_is_bounded(automation, settings):
    settings.LOUPE_MAX_IMPORT_ENTRIES = 5
    entries = {f"examples/e{i}/input.json": b"{}" for i in range(6)}
    with pytest.raises(ArchiveError, match="6 entries; the limit is 5"):
        import_dataset(automation=automation, fileobj=io.BytesIO(_zip(entries)))


@pytest.mark.parametrize("claimed", [1, 10_000_000])
def test_a_wrong_size_in_the_directory_is_a_400_naming_the_entry(api, automation, claimed):
    data = _lying_directory(_zip({"examples/a/input.json": b'{"x": "' + b"y" * 500 + b'"}'}), claimed)
    upload = SimpleUploadedFile("d.zip", data, content_type="application/zip")
    response = api.post(f"{BASE}/dataset/import", {"mode": "append", "file": upload})
    assert response.status_code == 400, response.content
    assert "examples/a/input.json" in response.content.decode()
    assert not Example.objects.exists()


def test_a_bomb_through_the_api_is_a_400(api, automation):
    upload = SimpleUploadedFile("d.zip", _bomb(), content_type="application/zip")
    response = api.post(f"{BASE}/dataset/import", {"mode": "append", "file": upload})
    assert response.status_code == 400 and "ZIP bomb" in response.content.decode()


def test_an_archived_assertion_with_a_remote_ref_is_refused(automation):
    meta = b'{"assertions": [{"path": "", "condition": {"kind": "json_schema_valid", "schema": {"$ref": "http://127.0.0.1:9/s"}}}]}'
    data = _zip({"examples/a/input.json": b"{}", "examples/a/meta.json": meta})
    with pytest.raises(ArchiveError, match="only references inside the schema") as caught:
        import_dataset(automation=automation, fileobj=io.BytesIO(data))
    assert caught.value.field == "examples/a/meta.json"


def test_an_ordinary_archive_still_imports(automation):
    data = _zip({"examples/a/input.json": b'{"q": 1}', "examples/a/expected.json": b'{"r": 2}',
                 "examples/a/input/doc.txt": b"hello" * 1000})
    result = import_dataset(automation=automation, fileobj=io.BytesIO(data))
    assert result.created == 1 and Example.objects.get().expected == {"r": 2}


def test_a_deep_json_entry_is_refused_naming_the_entry(automation):
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    data = _zip({"examples/a/input.json": b"{}", "examples/a/expected.json": deep.encode()})
    with pytest.raises(ArchiveError, match="levels deep") as caught:
        import_dataset(automation=automation, fileobj=io.BytesIO(data))
    assert caught.value.field == "examples/a/expected.json"
