"""Stored files are deleted only after the transaction that deletes or replaces their row commits
(runs/files.py: files_delete_on_commit, store_file). Real commits and rollbacks: transactional_db."""

import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from datasets.models import Example, ExampleFile
from datasets.services import example_file_delete, example_file_store, example_promote
from review.models import ExpectedFile
from review.services import expected_file_delete, expected_file_upload, review_clear
from runs.models import RunFile
from runs.services import run_file_store
from tests.factories import make_run

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def _read(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return handle.read()


def _exists(name: str) -> bool:
    return RunFile._meta.get_field("file").storage.exists(name)


def _store(run, content: bytes) -> RunFile:
    return run_file_store(run_id=run.pk, name="out/result.json", role="output", content=content,
                          content_type="application/json")


def test_a_replace_that_rolls_back_leaves_the_old_bytes_readable():
    run = make_run()
    old = _store(run, b'{"v": "old"}')
    with pytest.raises(Boom), transaction.atomic():
        new = _store(run, b'{"v": "new"}')
        assert new.file.name != old.file.name  # never the stored name of the file it replaces
        raise Boom
    row = RunFile.objects.get(run=run, name="out/result.json")
    assert row.pk == old.pk and row.file.name == old.file.name
    assert _read(row.file) == b'{"v": "old"}'


def test_a_committed_replace_deletes_the_old_bytes_and_keeps_the_new():
    run = make_run()
    old = _store(run, b'{"v": "old"}')
    new = _store(run, b'{"v": "new"}')
    assert not _exists(old.file.name)
    assert list(RunFile.objects.filter(run=run, name="out/result.json")) == [new]
    assert _read(RunFile.objects.get(pk=new.pk).file) == b'{"v": "new"}'


def test_a_replace_inside_an_outer_transaction_deletes_only_when_the_outer_one_commits():
    run = make_run()
    old = _store(run, b"1")
    with transaction.atomic():
        _store(run, b"2")
        assert _exists(old.file.name)  # still there: the outer transaction has not committed
    assert not _exists(old.file.name)


def _expected(reviewer, content: bytes):
    run = make_run()
    expected_file_upload(run=run, upload=ContentFile(content, name="fixed.csv"), name="fixed.csv", user=reviewer)
    return run, ExpectedFile.objects.get(review__run=run, name="fixed.csv")


def test_an_expected_file_delete_that_rolls_back_keeps_its_bytes(reviewer):
    run, expected = _expected(reviewer, b"a,b\n1,2\n")
    with pytest.raises(Boom), transaction.atomic():
        expected_file_delete(run=run, name="fixed.csv", user=reviewer)
        raise Boom
    assert _read(ExpectedFile.objects.get(pk=expected.pk).file) == b"a,b\n1,2\n"
    expected_file_delete(run=run, name="fixed.csv", user=reviewer)
    assert not ExpectedFile.objects.filter(pk=expected.pk).exists()
    assert not _exists(expected.file.name)


def test_an_expected_file_replace_and_a_review_clear_that_roll_back_keep_the_bytes(reviewer):
    run, expected = _expected(reviewer, b"old")
    with pytest.raises(Boom), transaction.atomic():
        expected_file_upload(run=run, upload=ContentFile(b"new", name="fixed.csv"), name="fixed.csv", user=reviewer)
        raise Boom
    with pytest.raises(Boom), transaction.atomic():
        review_clear(run=run, user=reviewer)
        raise Boom
    assert _read(ExpectedFile.objects.get(pk=expected.pk).file) == b"old"
    review_clear(run=run, user=reviewer)
    assert not _exists(expected.file.name)


def test_example_file_deletes_and_a_re_promotion_wait_for_the_commit(reviewer):
    run = make_run()
    example = example_promote(run=run, name="kept", user=reviewer)
    stored = example_file_store(example=example, folder="expected", path="a/b.json", content=b"[1]",
                                content_type="application/json")
    with pytest.raises(Boom), transaction.atomic():
        example_file_delete(example=example, folder="expected", path="a/b.json")
        raise Boom
    with pytest.raises(Boom), transaction.atomic():
        example_promote(run=run, name="kept", user=reviewer)  # refreshes: drops the example's files
        raise Boom
    assert _read(ExampleFile.objects.get(pk=stored.pk).file) == b"[1]"
    assert Example.objects.filter(pk=example.pk).exists()
    assert example_file_delete(example=example, folder="expected", path="a/b.json") is True
    assert not _exists(stored.file.name)
