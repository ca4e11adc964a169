"""The correction editor and the example form hold JSON to the same nesting bound and text
rules as the API (runs.jsonbounds): a clear error next to the field, never a 500."""

import pytest

from review.models import Review
from tests.factories import make_automation, make_run
from web.forms.datasets import ExampleForm

DEEP = '{"a":' * 10_000 + "1" + "}" * 10_000


def _save(client, run, **fields):
    return client.post(f"/runs/{run.pk}/save/", {"version": 0, **fields}).content.decode()


@pytest.fixture
def run(db):
    return make_run(make_automation(), output={"a": {"b": {"c": {}}}, "note": "x"})


def test_the_raw_editor_refuses_deep_json_with_a_message(reviewer_client, run):
    assert "levels deep" in _save(reviewer_client, run, op="raw", raw=DEEP)
    assert not Review.objects.filter(run=run).exists()


def test_a_key_added_at_a_deep_path_cannot_push_the_document_past_the_bound(reviewer_client, run, settings):
    settings.LOUPE_MAX_JSON_DEPTH = 3
    assert "3 levels" in _save(reviewer_client, run, op="key:/a/b/c", **{"k:/a/b/c": "d"})
    assert not Review.objects.filter(run=run).exists()


def test_text_with_a_nul_is_refused_by_the_editor(reviewer_client, run):
    assert "NUL" in _save(reviewer_client, run, **{"v:/note": "a\x00b"})
    assert not Review.objects.filter(run=run).exists()


@pytest.mark.parametrize("field", ["expected", "metadata", "assertions"])
def test_the_example_form_names_the_deep_field(field):
    form = ExampleForm({"name": "x", field: DEEP})
    assert not form.is_valid()
    assert "levels deep" in form.errors[field][0]
