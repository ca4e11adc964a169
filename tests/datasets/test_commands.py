import io

import pytest
from django.core.management import CommandError, call_command

from datasets.archive import export_dataset
from datasets.models import Example
from datasets.services import example_create, example_file_store
from tests.factories import make_automation


def test_export_then_import_from_the_command_line(automation, tmp_path):
    example = example_create(automation=automation, name="one", input={"a": 1}, expected=[1, 2])
    example_file_store(example=example, folder="input", path="deep/dir/file.bin", content=b"\x00\x01",
                       content_type="application/octet-stream")
    target = tmp_path / "out.zip"
    call_command("export_dataset", automation.ref, "-o", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    assert target.read_bytes() == export_dataset(automation=automation)
    other = make_automation("agents.copy")
    out = io.StringIO()
    call_command("import_dataset", other.ref, str(target), "--mode", "replace", stdout=out, stderr=io.StringIO())
    assert "created 1" in out.getvalue() and export_dataset(automation=other) == target.read_bytes()


def test_import_of_a_bad_archive_fails_clearly(automation, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="not a ZIP"):
        call_command("import_dataset", automation.ref, str(bad), stdout=io.StringIO(), stderr=io.StringIO())
    assert not Example.objects.exists()


def test_unknown_automation_is_an_error(db):
    with pytest.raises(CommandError, match="No automation"):
        call_command("export_dataset", "workflows.nope", stdout=io.StringIO())
