"""review/jsondiff.py on its own: pointers, the array alignment, diffs, corrected paths, typed
values and raw JSON (the editor's operations are tests/review/test_workbench.py)."""

import pytest

from review.jsondiff import (
    Change,
    EditError,
    align,
    coerce,
    corrected_paths,
    diff,
    generalise,
    join,
    parse_json,
    resolve,
    skeleton,
    split,
)

INVOICE = {
    "vendor": {"name": "Acme", "vat_id": "DE123"},
    "total": 119.0,
    "paid": False,
    "line_items": [{"sku": "A", "amount": 10}, {"sku": "B", "amount": 20}, {"sku": "C", "amount": 30}],
    "note": None,
}


# --- pointers --------------------------------------------------------------------------------


def test_pointer_tokens_escape_and_split_back():
    path = join(join("", "a/b~c"), 0)
    assert path == "/a~1b~0c/0"
    assert split(path) == ["a/b~c", "0"]
    assert split("") == [] and split(None) == []


def test_a_pointer_without_its_leading_slash_is_refused():
    with pytest.raises(EditError, match="starts with '/'"):
        split("vendor/name")


def test_generalise_replaces_indices_only():
    assert generalise("/line_items/3/amount") == "/line_items/*/amount"
    assert generalise("/vendor/name") == "/vendor/name"
    assert generalise("/a2/10") == "/a2/*"


# --- alignment and diff ------------------------------------------------------------------------


def test_align_anchors_equal_items_so_a_dropped_item_is_one_removal():
    assert align(["a", "b", "c"], ["a", "c"]) == [(0, 0), (1, None), (2, 1)]
    assert align(["a", "c"], ["a", "b", "c"]) == [(0, 0), (None, 1), (1, 2)]


def test_align_pairs_items_between_anchors_as_modified():
    assert align(["a", "x", "c"], ["a", "y", "c"]) == [(0, 0), (1, 1), (2, 2)]
    assert align([], ["n"]) == [(None, 0)]
    assert align(["o"], []) == [(0, None)]


def test_align_compares_objects_by_content_not_key_order():
    assert align([{"a": 1, "b": 2}], [{"b": 2, "a": 1}]) == [(0, 0)]


def test_align_falls_back_to_positions_for_very_long_arrays():
    old, new = list(range(600)), [-1, *range(600)]  # 600 x 601 cells: past the LCS limit
    pairs = align(old, new)
    assert len(pairs) == 601
    assert pairs[0] == (0, 0) and pairs[-1] == (None, 600)


def test_equal_documents_have_no_diff():
    assert diff(INVOICE, {**INVOICE}) == []


def test_diff_of_objects_lists_removed_then_changed_and_added_keys():
    assert diff({"a": 1, "b": 2}, {"a": 3, "c": 4}) == [
        Change("remove", "/b", old=2),
        Change("replace", "/a", old=1, new=3),
        Change("add", "/c", new=4),
    ]


def test_a_dropped_line_item_is_one_added_item_in_the_correction():
    output = {"line_items": INVOICE["line_items"][:1] + INVOICE["line_items"][2:]}
    assert diff(output, {"line_items": INVOICE["line_items"]}) == [
        Change("add", "/line_items/1", new={"sku": "B", "amount": 20})]


def test_a_changed_item_field_is_addressed_inside_the_item():
    expected = {"line_items": [{"sku": "A", "amount": 10}, {"sku": "B", "amount": 25}]}
    output = {"line_items": [{"sku": "A", "amount": 10}, {"sku": "B", "amount": 20}]}
    assert diff(output, expected) == [Change("replace", "/line_items/1/amount", old=20, new=25)]


def test_a_type_change_is_a_replace_even_when_python_calls_the_values_equal():
    assert diff(1, 1.0) == [Change("replace", "", old=1, new=1.0)]
    assert diff({"x": True}, {"x": 1}) == [Change("replace", "/x", old=True, new=1)]
    assert diff({"x": [1]}, {"x": {"0": 1}}) == [Change("replace", "/x", old=[1], new={"0": 1})]


def test_corrected_paths_are_generalised_distinct_and_in_order():
    expected = {**INVOICE, "total": 120.0,
                "line_items": [{"sku": "A", "amount": 11}, {"sku": "B", "amount": 21}, {"sku": "C", "amount": 30}]}
    assert corrected_paths(INVOICE, expected) == ["/total", "/line_items/*/amount"]


def test_corrected_paths_of_no_expected_output_or_a_root_change():
    assert corrected_paths(INVOICE, None) == []
    assert corrected_paths("a", "b") == ["/"]


# --- reading and typing values -------------------------------------------------------------------


def test_resolve_follows_keys_and_indices():
    assert resolve(INVOICE, "/line_items/2/sku") == "C"
    assert resolve(INVOICE, "") is INVOICE


@pytest.mark.parametrize("pointer", ["/missing", "/line_items/3", "/line_items/x", "/total/deeper"])
def test_resolve_names_what_is_not_there(pointer):
    with pytest.raises(EditError, match="Nothing at"):
        resolve(INVOICE, pointer)


@pytest.mark.parametrize(("raw", "like", "value"), [
    ("Beta Co", "Acme", "Beta Co"),  # text stays text, no quotes needed
    ('"quoted"', "Acme", '"quoted"'),
    ("12.5", 10, 12.5),
    ("7", 1.5, 7),
    ("true", False, True),
    ('{"a": 1}', {}, {"a": 1}),
    ("[1, 2]", [], [1, 2]),
    ("null", "Acme", None),  # null always clears
    (" null ", 3, None),
    ("5", None, 5),  # a null takes any JSON…
    ("plain words", None, "plain words"),  # …or text
])
def test_coerce_keeps_the_json_type(raw, like, value):
    assert coerce(raw, like) == value and type(coerce(raw, like)) is type(value)


@pytest.mark.parametrize(("raw", "like", "message"), [
    ("abc", 10, "Expected a number; 'abc' is not valid JSON."),
    ("true", 10, "Expected a number, not 'true'."),
    ('"7"', 10, "Expected a number, not '\"7\"'."),
    ("1", True, "Expected true or false."),
    ("yes", False, "Expected true or false; 'yes' is not valid JSON."),
    ("[1]", {}, "Expected a JSON object."),
    ("{}", [], "Expected a JSON array."),
])
def test_coerce_refuses_another_type_with_a_message_for_the_page(raw, like, message):
    with pytest.raises(EditError) as caught:
        coerce(raw, like)
    assert str(caught.value) == message


def test_parse_json_says_where_the_json_breaks():
    with pytest.raises(EditError, match=r"The JSON is not valid JSON: .*\(line 2, column 1\)"):
        parse_json('{"a": 1,\n}', "The JSON")


def test_skeleton_is_an_empty_value_of_the_same_shape():
    assert skeleton(INVOICE["line_items"][0]) == {"sku": "", "amount": 0}
    assert skeleton({"a": [1], "b": True, "c": 2.5, "d": None}) == {"a": [], "b": False, "c": 0, "d": None}
