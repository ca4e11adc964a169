"""The correction editor and the example form hold JSON to the same nesting bound and text
rules as the API (runs.jsonbounds): a clear error next to the field, never a 500."""

import pytest

from review.jsondiff import EditError, apply_edit
from web.forms.datasets import ExampleForm

DEEP = '{"a":' * 10_000 + "1" + "}" * 10_000


def test_the_raw_editor_refuses_deep_json_with_a_message():
    with pytest.raises(EditError, match="levels deep"):
        apply_edit({"a": 1}, op="replace", value=DEEP)


def test_a_value_set_at_a_deep_path_cannot_push_the_document_past_the_bound(settings):
    settings.LOUPE_MAX_JSON_DEPTH = 4
    doc = {"a": {"b": {"c": {}}}}
    with pytest.raises(EditError, match="4 levels"):
        apply_edit(doc, op="add", path="/a/b/c", key="d", value='{"e": [1]}')


def test_text_with_a_nul_is_refused_by_the_editor():
    with pytest.raises(EditError, match="NUL"):
        apply_edit({"note": "x"}, op="set", path="/note", value="a\x00b")


@pytest.mark.parametrize("field", ["expected", "metadata", "assertions"])
def test_the_example_form_names_the_deep_field(field):
    form = ExampleForm({"name": "x", field: DEEP})
    assert not form.is_valid()
    assert "levels deep" in form.errors[field][0]
