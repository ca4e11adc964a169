import io
import zipfile

import pytest

from datasets.archive import ArchiveError, export_dataset, import_dataset
from datasets.models import Example
from datasets.services import example_create, example_file_store
from tests.factories import make_automation

PDF = b"%PDF-1.4\n\x00\x01\x02 binary \xff\xfe"


def _dataset(automation):
    first = example_create(
        automation=automation, name="invoice-001", input={"document": {"$file": "input/scans/page 1.pdf"}},
        expected={"total": 12.5, "vendor": "Ääkkönen Oy"}, metadata={"sourceRunId": "run_1"},
        annotation="tricky VAT", row_order=0, overrides={"ocr": {"text": "x"}},
        assertions=[{"path": "/total", "kind": "equals", "value": 12.5}],
    )
    example_file_store(example=first, folder="input", path="scans/page 1.pdf", content=PDF,
                       content_type="application/pdf")
    example_file_store(example=first, folder="expected", path="out/deep/result.csv", content=b"a,b\r\n1,2\r\n",
                       content_type="text/csv")
    second = example_create(automation=automation, name="invoice_002", input={"customer": "c-1"})
    return [first, second]


def _snapshot(automation):
    rows = []
    for example in Example.objects.filter(automation=automation).prefetch_related("files").order_by("name"):
        files = {(f.folder, f.path): f.file.open("rb").read() for f in example.files.all()}
        rows.append((example.name, example.input, example.expected, example.metadata, example.annotation,
                     example.row_order, example.overrides, example.assertions, files))
    return rows


def _zip(entries: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


def test_export_uses_the_contract_layout(automation):
    _dataset(automation)
    names = set(zipfile.ZipFile(io.BytesIO(export_dataset(automation=automation))).namelist())
    assert names == {
        "examples/invoice-001/input.json", "examples/invoice-001/expected.json", "examples/invoice-001/meta.json",
        "examples/invoice-001/input/scans/page 1.pdf", "examples/invoice-001/expected/out/deep/result.csv",
        "examples/invoice_002/input.json",
    }


def test_round_trip_into_an_empty_automation_is_byte_for_byte(automation):
    _dataset(automation)
    other = make_automation("agents.copy")
    result = import_dataset(automation=other, fileobj=io.BytesIO(export_dataset(automation=automation)))
    assert (result.created, result.expected_set, result.skipped) == (2, 1, 0)
    assert _snapshot(other) == _snapshot(automation)


def test_exporting_an_imported_dataset_gives_the_same_bytes(automation):
    _dataset(automation)
    original = export_dataset(automation=automation)
    other = make_automation("agents.copy")
    import_dataset(automation=other, fileobj=io.BytesIO(original))
    assert export_dataset(automation=other) == original


def test_export_of_chosen_examples(automation):
    first, _ = _dataset(automation)
    archive = zipfile.ZipFile(io.BytesIO(export_dataset(automation=automation, example_ids=[first.pk])))
    assert {name.split("/")[1] for name in archive.namelist()} == {"invoice-001"}


def test_append_skips_existing_names_with_an_issue(automation):
    _dataset(automation)
    result = import_dataset(automation=automation, fileobj=io.BytesIO(export_dataset(automation=automation)))
    assert (result.created, result.skipped, len(result.issues)) == (0, 2, 2)


def test_replace_empties_the_dataset_first(automation):
    _dataset(automation)
    archive = _zip({"examples/fresh/input.json": b"{}", "examples/fresh/expected.json": b"[1]"})
    result = import_dataset(automation=automation, fileobj=archive, mode="replace")
    assert (result.mode, result.created, result.expected_set, result.deleted, result.files_deleted) == (
        "replace", 1, 1, 2, 2)
    assert list(Example.objects.filter(automation=automation).values_list("name", flat=True)) == ["fresh"]


def test_missing_file_reference_is_reported_as_an_issue(automation):
    archive = _zip({"examples/a/input.json": b'{"doc": {"$file": "input/missing.pdf"}}'})
    result = import_dataset(automation=automation, fileobj=archive)
    assert result.issues[0]["message"] == "input/missing.pdf is referenced but not in the archive."


@pytest.mark.parametrize(
    ("entries", "field", "words"),
    [
        ({"manifest.json": b"{}", "input/arguments.json": b"{}"}, "file", "legacy layout"),
        ({"expected/output.json": b"{}"}, "file", "legacy layout"),
        ({"examples/Bad Name/input.json": b"{}"}, "examples/Bad Name", "lowercase"),
        ({"examples/a/input.json": b"{nope"}, "examples/a/input.json", "not valid JSON"),
        ({"examples/a/input.json": b"[1]"}, "examples/a/input.json", "JSON object"),
        ({"examples/a/expected.json": b"{}"}, "examples/a/input.json", "missing"),
        ({"examples/a/input.json": b"{}", "examples/a/meta.json": b'{"rowOrder": -1}'}, "examples/a/meta.json",
         "rowOrder"),
        ({"examples/a/input.json": b"{}", "examples/a/../../etc/passwd": b"x"}, "examples/a/../../etc/passwd",
         "Unsafe path"),
        ({"/etc/passwd": b"x"}, "/etc/passwd", "Unsafe path"),
        ({"examples/a/input.json": b"{}", "examples/a/notes.txt": b"x"}, "examples/a/notes.txt", "Unexpected"),
        ({"readme.txt": b"x"}, "file", "No examples/ folder"),
    ],
)
def test_bad_archives_are_refused_with_a_clear_message(automation, entries, field, words):
    with pytest.raises(ArchiveError) as caught:
        import_dataset(automation=automation, fileobj=_zip(entries))
    assert caught.value.field == field and words in str(caught.value)


def test_a_file_that_is_not_a_zip_is_refused(automation):
    with pytest.raises(ArchiveError, match="not a ZIP"):
        import_dataset(automation=automation, fileobj=io.BytesIO(b"hello"))


def test_oversized_archive_is_refused(automation, settings):
    settings.LOUPE_MAX_IMPORT_BYTES = 10
    with pytest.raises(ArchiveError, match="limit"):
        import_dataset(automation=automation, fileobj=_zip({"examples/a/input.json": b"{}"}))


def test_a_bad_archive_changes_nothing(automation):
    _dataset(automation)
    bad = _zip({"examples/zzz/input.json": b"{}", "examples/yyy/input.json": b"nope"})
    with pytest.raises(ArchiveError):
        import_dataset(automation=automation, fileobj=bad, mode="replace")
    assert Example.objects.filter(automation=automation).count() == 2


def test_unknown_mode_is_refused(automation):
    with pytest.raises(ArchiveError) as caught:
        import_dataset(automation=automation, fileobj=_zip({"examples/a/input.json": b"{}"}), mode="merge")
    assert caught.value.field == "mode"
