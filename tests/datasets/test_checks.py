import pytest

from datasets.checks import (
    BLOCKED,
    FAILED,
    PASSED,
    AssertionDefinitionError,
    check_output,
    evaluate_assertion,
    validate_assertions,
)

OUTPUT = {"total": 1234.5, "vendor": {"name": "Acme Supplies GmbH"}, "invoice_number": "INV-2026-0042",
          "line_items": [{"amount": 45.0}, {"amount": 178.0}]}


def outcome(path, **condition):
    return evaluate_assertion({"path": path, "condition": condition}, OUTPUT).outcome


@pytest.mark.parametrize("path, condition, expected", [
    ("total", {"kind": "equals", "expected": 1234.5}, PASSED),
    ("total", {"kind": "equals", "expected": 1}, FAILED),
    ("/vendor/name", {"kind": "contains", "expected": "Acme"}, PASSED),
    ("vendor.name", {"kind": "not_contains", "expected": "Acme"}, FAILED),
    ("total", {"kind": "number_compare", "op": "gt", "expected": 1000}, PASSED),
    ("total", {"kind": "between", "lower": 0, "upper": 100}, FAILED),
    ("invoice_number", {"kind": "matches_regex", "pattern": r"^INV-\d{4}-\d+$"}, PASSED),
    ("invoice_number", {"kind": "starts_with", "expected": "INV"}, PASSED),
    ("vendor.vat_id", {"kind": "exists"}, FAILED),
    ("vendor.vat_id", {"kind": "not_exists"}, PASSED),
    ("line_items", {"kind": "length_compare", "op": "eq", "expected": 2}, PASSED),
    ("line_items", {"kind": "array_contains", "expected": {"amount": 178.0}}, PASSED),
    ("vendor", {"kind": "object_contains", "expected": {"name": "Acme Supplies GmbH"}}, PASSED),
    ("line_items", {"kind": "all_items_match", "condition": {"path": "amount", "kind": "number_compare",
                                                             "op": "gt", "expected": 0}}, PASSED),
    ("", {"kind": "json_schema_valid", "schema": {"type": "object", "required": ["total", "currency"]}}, FAILED),
    ("total", {"kind": "llm_judged_as", "rubric": "plausible"}, BLOCKED),
    ("total", {"kind": "matches_regex", "pattern": "("}, BLOCKED),
])
def test_assertion_kinds(path, condition, expected):
    assert outcome(path, **condition) == expected


def test_output_equal_to_expected_passes():
    assert check_output(OUTPUT, expected=dict(OUTPUT), assertions=[]).verdict == PASSED


def test_a_difference_fails_and_names_the_path():
    result = check_output(OUTPUT, expected={**OUTPUT, "total": 1}, assertions=[])
    assert result.verdict == FAILED and "/total" in result.summary


def test_nothing_to_check_against_is_blocked():
    assert check_output(OUTPUT, expected=None, assertions=[]).verdict == BLOCKED


def test_a_failed_assertion_fails_even_when_expected_matches():
    result = check_output(OUTPUT, expected=OUTPUT, assertions=[{"path": "total", "condition": {"kind": "equals", "expected": 0}}])
    assert result.verdict == FAILED and "0 of 1 assertions passed" in result.summary


def test_validate_assertions_names_the_bad_one():
    with pytest.raises(AssertionDefinitionError, match="Assertion 2: unknown kind 'bigger'"):
        validate_assertions([{"path": "a", "condition": {"kind": "exists"}}, {"condition": {"kind": "bigger"}}])
