"""The workbench editor: the expected output as fields of one form, tables for records."""

import copy

import pytest

from review.jsondiff import EditError
from review.workbench import MAX_FIELDS, EditErrors, apply_op, apply_typed, render_editor, typed_values
from tests.factories import INVOICE_OUTPUT


def _html(doc=INVOICE_OUTPUT, output=INVOICE_OUTPUT, **kw) -> str:
    return str(render_editor(doc, output=output, editable=True, **kw))


def test_records_render_as_a_table_with_one_cell_per_field():
    html = _html()
    assert '<table class="wb-table" data-array="/line_items">' in html
    assert 'name="v:/line_items/1/amount"' in html and 'aria-label="amount, row 2"' in html


def test_a_corrected_cell_shows_the_old_value_struck():
    expected = copy.deepcopy(INVOICE_OUTPUT)
    expected["line_items"][1]["amount"] = 187.0
    html = _html(expected)
    assert 'aria-label="was">178.0</del>' in html and 'value="187.0"' in html and "is-corrected" in html


def test_multi_line_text_is_a_textarea_with_real_line_breaks():
    html = _html({"address": "Main St 1\nBerlin"}, {"address": "Main St 1\nBerlin"})
    assert ">Main St 1\nBerlin</textarea>" in html and "\\n" not in html


def test_user_data_is_escaped():
    html = _html({"<script>": "<img src=x onerror=alert(1)>"}, None)
    assert "<script>" not in html and "<img" not in html


def test_a_huge_document_renders_read_only():
    doc = {"items": list(range(MAX_FIELDS + 5))}
    assert 'name="v:' not in _html(doc, doc)


def test_a_deep_document_renders_without_recursing_forever():
    doc = node = {}
    for _ in range(500):
        node["a"] = {}
        node = node["a"]
    assert "readonly" in _html(doc, doc)


def test_typed_values_keep_each_fields_type():
    doc = apply_typed(INVOICE_OUTPUT, {"/line_items/1/amount": "187", "/currency": "USD", "/total": "1234.5"})
    assert (doc["line_items"][1]["amount"], doc["currency"]) == (187, "USD")


def test_a_value_that_does_not_fit_names_its_field_and_applies_nothing():
    with pytest.raises(EditErrors) as caught:
        apply_typed(INVOICE_OUTPUT, {"/total": "lots", "/currency": "USD"})
    assert list(caught.value.errors) == ["/total"] and caught.value.typed["/currency"] == "USD"


def test_only_v_fields_are_edits():
    assert typed_values({"v:/total": "1", "body": "note", "version": "3"}) == {"/total": "1"}


def test_add_row_appends_an_empty_row_of_the_same_shape_and_focuses_it():
    result = apply_op(INVOICE_OUTPUT, "add:/line_items", post={})
    assert result.doc["line_items"][2] == {"description": "", "quantity": 0, "unit_price": 0, "amount": 0}
    assert result.focus == "/line_items/2/description"


def test_rows_move_and_are_removed():
    moved = apply_op(INVOICE_OUTPUT, "up:/line_items/1", post={}).doc
    removed = apply_op(moved, "remove:/line_items/0", post={}).doc
    assert [r["description"] for r in removed["line_items"]] == ["Paper A4"]


def test_a_key_is_added_with_the_typed_name():
    result = apply_op(INVOICE_OUTPUT, "key:/vendor", post={"k:/vendor": "iban"})
    assert result.doc["vendor"]["iban"] == "" and result.focus == "/vendor/iban"


def test_adding_a_key_without_a_name_is_refused():
    with pytest.raises(EditError):
        apply_op(INVOICE_OUTPUT, "key:/vendor", post={"k:/vendor": " "})


def test_a_failed_run_starts_from_the_shape_of_the_last_output():
    result = apply_op(None, "start:shape", post={}, last_output=INVOICE_OUTPUT)
    assert result.doc["line_items"] == [] and result.doc["vendor"] == {"name": "", "vat_id": ""}
