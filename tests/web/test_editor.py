"""web/editor.py: the expected output as fields of the pane's one form, tables for records.
Everything a user wrote comes out escaped."""

import copy

from review.workbench import MAX_FIELDS
from tests.factories import INVOICE_OUTPUT
from web.editor import render_editor


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


def test_every_user_supplied_string_is_escaped_in_every_place_it_shows():
    """Keys (labels, legends, table headers, aria-labels), values (inputs, textareas, read-only
    text, the struck old value) and the typed text kept after an error."""
    bad = '<b x="1">&'
    output = {bad: bad, "rows": [{bad: bad, "n": 1}], "nested": {bad: {"k": bad}}, "long": bad * 20}
    expected = copy.deepcopy(output)
    expected[bad] = "new"
    for editable in (True, False):
        html = str(render_editor(expected, output=output, editable=editable,
                                 typed={"/long": bad}, errors={"/long": bad}))
        assert "<b " not in html and 'x="1"' not in html
        assert "&lt;b x=&quot;1&quot;&gt;&amp;" in html
