"""review/jsontree.py on its own: the read-only tree, the diff view, and the correction editor's
links and forms (docs/rules.md#correction-editor). Everything a user wrote must come out escaped."""

import re

from review.jsontree import OPEN_DEPTH, EditorContext, render_tree, scalar_html

OUTPUT = {"vendor": {"name": "Acme"}, "total": 10, "items": [{"sku": "A", "amount": 1}, {"sku": "B", "amount": 2}]}


def _ctx(**extra) -> EditorContext:
    return EditorContext(page_url="/runs/r1/?chip=open", fragment_url="/runs/r1/editor/?chip=open",
                         action="/runs/r1/correct/?chip=open", version=4, csrf_token="tok", **extra)


def test_scalars_carry_their_json_type():
    assert scalar_html(None) == '<span class="z">null</span>'
    assert scalar_html(True) == '<span class="b">true</span>'
    assert scalar_html(2.5) == '<span class="n">2.5</span>'
    assert scalar_html("Zoë") == '<span class="s">&quot;Zoë&quot;</span>'


def test_user_data_in_keys_and_values_is_escaped():
    html = render_tree({"<script>k</script>": "<img src=x onerror=alert(1)>"})
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;k&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_read_only_tree_has_no_links_or_forms():
    html = render_tree(OUTPUT)
    assert html.startswith('<div class="json-tree"><ul>') and html.endswith("</ul></div>")
    assert "<a " not in html and "<form" not in html and "remove" not in html
    assert html.count('<li class="leaf node-same">') == 6  # name, total, 2 x (sku, amount)
    assert '<span class="meta">[2 items]</span>' in html and '<span class="meta">{1 key}</span>' in html


def test_a_scalar_document_is_one_leaf():
    assert render_tree("done") == ('<div class="json-tree"><ul><li class="leaf node-same">'
                                   '<span class="s">&quot;done&quot;</span></li></ul></div>')


def test_the_diff_view_strikes_the_old_value_and_marks_the_new_one():
    current = {**OUTPUT, "total": 12, "currency": "EUR"}
    del current["vendor"]
    html = render_tree(current, original=OUTPUT, diff=True)
    assert ('<del aria-label="was"><span class="n">10</span></del> '
            '<ins aria-label="corrected to"><span class="n">12</span></ins>') in html
    assert '<li class="leaf node-added"><span class="k">&quot;currency&quot;</span>: <ins aria-label="added">' in html
    assert '<li class="node node-removed">' in html and '<del aria-label="removed"><span class="s">&quot;Acme&quot;</span></del>' in html


def test_without_diff_the_original_is_ignored():
    assert "<del" not in render_tree({"total": 12}, original={"total": 10})


def test_a_restored_array_item_shows_as_one_added_item():
    output = {"items": [OUTPUT["items"][1]]}
    html = render_tree({"items": OUTPUT["items"]}, original=output, diff=True)
    assert html.count("node-added") == 3  # the item, and its two fields inside it
    assert html.count('<li class="node node-changed">') == 1  # the array that holds it
    assert html.count('<li class="leaf node-changed">') == 0  # not a cascade of changed fields


def test_the_editor_links_every_value_to_its_edit_form():
    html = render_tree(OUTPUT, ctx=_ctx())
    link = re.search(r'<a class="val" href="([^"]+)" hx-get="([^"]+)"[^>]*data-path="/vendor/name"', html)
    assert link is not None
    assert link.group(1) == "/runs/r1/?chip=open&amp;edit=%2Fvendor%2Fname#editor"
    assert link.group(2) == "/runs/r1/editor/?chip=open&amp;edit=%2Fvendor%2Fname"
    assert html.count('data-path="') == 6
    assert 'value="/items/1" aria-label="Remove /items/1"' in html
    assert 'data-add="/items">+ Add item</a>' in html  # arrays get an add row
    assert 'aria-label="Add a key to /vendor">+ key</a>' in html  # objects a tool beside their name


def test_an_open_edit_form_keeps_what_was_typed_and_shows_the_error():
    html = render_tree(OUTPUT, ctx=_ctx(open_op="set", open_path="/total", typed="ten<", error="Expected a number."))
    form = re.search(r'<form class="edit-form".*?</form>', html).group(0)
    assert 'action="/runs/r1/correct/?chip=open"' in form
    assert '<input type="hidden" name="path" value="/total">' in form
    assert '<input type="hidden" name="version" value="4">' in form
    assert 'name="csrfmiddlewaretoken" value="tok"' in form
    assert 'value="ten&lt;"' in form and 'aria-invalid="true"' in form
    assert '<div class="field-errors" id="edit-error" role="alert">Expected a number.</div>' in form
    assert 'data-path="/total"' not in html  # the form replaces the value's link


def test_an_edit_form_for_a_long_text_is_a_textarea_with_the_current_value():
    html = render_tree({"note": "x" * 100}, ctx=_ctx(open_op="set", open_path="/note"))
    assert re.search(r'<textarea id="edit-value" name="value" class="code" rows="6">x{100}</textarea>', html)


def test_the_add_form_of_an_array_is_prefilled_with_the_shape_of_its_last_item():
    html = render_tree(OUTPUT, ctx=_ctx(open_op="add", open_path="/items"))
    textarea = re.search(r'<textarea id="add-value"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert textarea == '{\n  &quot;sku&quot;: &quot;&quot;,\n  &quot;amount&quot;: 0\n}'
    assert 'name="key"' not in html


def test_the_add_form_of_an_object_asks_for_the_key():
    html = render_tree(OUTPUT, ctx=_ctx(open_op="add", open_path="/vendor", typed='"DE00"', typed_key="iban"))
    assert '<input type="text" id="add-key" name="key" value="iban" required>' in html
    assert '>&quot;DE00&quot;</textarea>' in html


def test_deep_containers_start_closed_unless_the_open_form_is_inside():
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    closed = render_tree(deep)
    assert closed.count("<details open>") == OPEN_DEPTH and closed.count("<details>") == 1
    opened = render_tree(deep, ctx=_ctx(open_op="set", open_path="/a/b/c/d/e"))
    assert opened.count("<details>") == 0 and '<form class="edit-form"' in opened


def test_the_fast_format_html_escapes_exactly_as_djangos():
    from django.utils import html as django_html
    from django.utils.safestring import mark_safe

    from review import html as fast

    values = ['<script>alert("x")</script>', "a & b", "it's", 5, None, mark_safe("<b>kept</b>"), "ünïcode ✓"]
    for value in values:
        assert fast.format_html("<p title='{}'>{}</p>", value, value) == django_html.format_html(
            "<p title='{}'>{}</p>", value, value)
        assert fast.escape(value) == django_html.conditional_escape(value)
        assert fast.format_html("{}", fast.escape(value)) == django_html.format_html("{}", django_html.escape(value)) \
            or hasattr(value, "__html__")
