import pytest

from dsreview import paths

DOC = {"vendor": {"iban": "DE", "a/b": 1, "t~x": 2}, "lines": [{"amount": 1}], "empty": {}}


@pytest.mark.parametrize("dotted, pointer", [
    ("vendor.iban", "/vendor/iban"), ("lines.0.amount", "/lines/0/amount"),
    ("vendor.a/b", "/vendor/a~1b"), ("vendor.t~x", "/vendor/t~0x"),
])
def test_dotted_paths_and_pointers_convert_both_ways(dotted, pointer):
    assert paths.to_pointer(dotted) == pointer
    assert paths.from_pointer(pointer) == dotted
    assert paths.exists(DOC, dotted)


def test_a_key_with_a_dot_has_no_dotted_form():
    with pytest.raises(ValueError):
        paths.from_pointer("/vendor/v.1")


@pytest.mark.parametrize("path", ["vendor.bic", "lines.1", "lines.x", "vendor.iban.deeper", "total"])
def test_missing_paths(path):
    assert not paths.exists(DOC, path)


@pytest.mark.parametrize("path", ["", " ", "vendor..iban", ".vendor", "vendor."])
def test_malformed_paths_are_refused(path):
    with pytest.raises(ValueError):
        paths.split(path)


def test_prefixes_cover_nested_leaves_only_at_a_segment():
    assert paths.covered("lines.0.amount", ["lines"]) and paths.covered("lines", ["lines"])
    assert not paths.covered("linesx", ["lines"])


def test_leaves_in_document_order():
    assert paths.leaves(DOC) == ["vendor.iban", "vendor.a/b", "vendor.t~x", "lines.0.amount", "empty"]
