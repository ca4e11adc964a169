"""backends/saves.py on its own (local backend): the pane's one save, its rules and refusals.
The pages over it, locally and in proxy mode, are tests/web/test_run_pane*.py."""

import pytest
from django.http import QueryDict

from backends import get_backend
from backends.saves import SaveInput, SaveRefused, edited_document, pane_save, pretty, save_changes
from datasets.models import Example
from review.models import Review

pytestmark = pytest.mark.django_db


def _save(run, post: dict | None = None, **fields) -> SaveInput:
    data = {"verdict": "", "body": "", "version": 0, "op": "save", "raw": "", "example_name": "",
            "confirm_no_expected": False, "replace_example": False, **fields}
    query = QueryDict(mutable=True)
    query.update(post or {})
    return SaveInput(post=query, **data)


def test_the_verdict_maps_to_rating_and_status_and_an_unchanged_note_is_not_a_change(run):
    info = get_backend().run(run.pk)
    assert save_changes(info, _save(run, verdict="pass"), info.output) == {"rating": "pass", "status": "resolved"}
    assert save_changes(info, _save(run, verdict="fail", op="ignore"), info.output) == {
        "rating": "fail", "status": "ignored"}
    assert save_changes(info, _save(run, body="why"), info.output) == {"body": "why"}


def test_typed_values_keep_their_type_and_raw_json_wins_when_only_it_changed(run):
    info = get_backend().run(run.pk)
    doc, _ = edited_document(get_backend(), info, _save(run, {"v:/total": "99.5"}))
    assert doc["total"] == 99.5
    doc, _ = edited_document(get_backend(), info, _save(run, raw='{"total": 1}'))
    assert doc == {"total": 1}
    with pytest.raises(ValueError, match="both the fields and the raw JSON"):
        edited_document(get_backend(), info, _save(run, {"v:/total": "2"}, raw='{"total": 1}'))


def test_a_value_that_does_not_fit_names_its_field_and_saves_nothing(run, reviewer):
    with pytest.raises(SaveRefused) as refused:
        pane_save(backend=get_backend(), run=get_backend().run(run.pk), user=reviewer,
                  save=_save(run, {"v:/total": "lots"}, verdict="fail"))
    assert "/total" in refused.value.field_errors and not Review.objects.filter(run=run).exists()


def test_promote_without_ground_truth_asks_first_then_saves_and_promotes(run, reviewer):
    info = get_backend().run(run.pk)
    with pytest.raises(SaveRefused) as refused:
        pane_save(backend=get_backend(), run=info, user=reviewer, save=_save(run, op="promote", example_name="x"))
    assert (refused.value.field, refused.value.promoting) == ("confirm_no_expected", True)
    result = pane_save(backend=get_backend(), run=info, user=reviewer,
                       save=_save(run, {"v:/total": "1"}, op="promote", example_name="x", verdict="fail"))
    assert result.example_name == "x" and result.has_expected
    assert Example.objects.get(name="x").expected["total"] == 1


def test_pretty_is_what_the_raw_box_shows():
    assert pretty({"a": "ü"}) == '{\n  "a": "ü"\n}'
