"""web/jsontree.py on its own: the read-only tree and the diff view. Everything a user wrote must
come out escaped."""

from web.jsontree import OPEN_DEPTH, render_tree, scalar_html

OUTPUT = {"vendor": {"name": "Acme"}, "total": 10, "items": [{"sku": "A", "amount": 1}, {"sku": "B", "amount": 2}]}


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


def test_deep_containers_start_closed():
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    closed = render_tree(deep)
    assert closed.count("<details open>") == OPEN_DEPTH and closed.count("<details>") == 1


def test_every_user_supplied_string_is_escaped_in_the_diff_view_too():
    bad = '<b x="1">&'
    html = render_tree({bad: bad, "list": [bad, {bad: bad}], "long": [bad] * 30}, original={bad: 1, "gone": bad},
                       diff=True)
    assert "<b " not in html and 'x="1"' not in html and "&lt;b x=&quot;1&quot;&gt;&amp;" in html
