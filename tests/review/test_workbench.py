"""review/workbench.py: what the editor's one form posts back, applied to the document (the
editor's HTML is tests/web/test_editor.py)."""


import pytest

from review.jsondiff import EditError
from review.workbench import EditErrors, apply_op, apply_typed, typed_values
from tests.factories import INVOICE_OUTPUT


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
