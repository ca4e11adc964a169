"""Checks a run of a dataset example against the example: its expected output and its
assertions (the condition kinds of docs/rules.md#assertion-kinds). Verdicts as there: passed, failed, blocked —
blocked when a check cannot be evaluated (no ground truth, a malformed assertion, or a kind
that needs an LLM, which Loupe never calls)."""

import json
import re
from dataclasses import asdict, dataclass, field

import jsonschema

from review.jsondiff import corrected_paths, split

PASSED, FAILED, BLOCKED = "passed", "failed", "blocked"
_MISSING = object()
OPS = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b, "eq": lambda a, b: a == b, "neq": lambda a, b: a != b,
}
NEEDS_LLM = {"similarity_gte", "llm_judged_as", "llm_not_judged_as", "split_iou_gte"}
KINDS = {"exists", "not_exists", "equals", "not_equals", "contains", "not_contains", "number_compare", "between",
         "starts_with", "ends_with", "matches_regex", "object_contains", "array_contains", "length_compare",
         "json_schema_valid", "all_items_match", "any_item_matches"} | NEEDS_LLM


class AssertionDefinitionError(ValueError):
    pass


@dataclass
class AssertionResult:
    path: str
    kind: str
    outcome: str
    label: str | None = None
    actual: object = None
    expected: object = None
    failure: str | None = None


@dataclass
class CheckResult:
    verdict: str
    expected_matches: bool | None
    differences: list[str] = field(default_factory=list)
    assertions: list[AssertionResult] = field(default_factory=list)

    @property
    def summary(self) -> str:
        parts = []
        if self.expected_matches is True:
            parts.append("output equals the expected output")
        elif self.expected_matches is False:
            shown = ", ".join(self.differences[:3]) + ("…" if len(self.differences) > 3 else "")
            parts.append(f"output differs from the expected output at {shown}")
        if self.assertions:
            passed = sum(a.outcome == PASSED for a in self.assertions)
            parts.append(f"{passed} of {len(self.assertions)} assertions passed")
        return "; ".join(parts) or "no expected output and no assertions to check against"

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "expectedMatches": self.expected_matches, "differences": self.differences,
                "assertions": [asdict(a) for a in self.assertions], "summary": self.summary}


def resolve_path(document, path: str):
    """`vendor.name`, `line_items.0.amount` or a JSON pointer `/vendor/name`; '' is the whole output."""
    if not path:
        return document
    tokens = split(path) if path.startswith("/") else path.split(".")
    node = document
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


def _contains(haystack, needle) -> bool:
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, list):
        return needle in haystack
    if isinstance(haystack, dict):
        return needle in haystack
    return False


def _subset(expected, actual) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    return expected == actual


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return value


def evaluate_condition(condition: dict, actual):
    """(passed: bool, failure message or None). Raises AssertionDefinitionError when the
    condition itself is malformed."""
    if not isinstance(condition, dict) or condition.get("kind") not in KINDS:
        raise AssertionDefinitionError(f"Unknown condition kind {condition.get('kind') if isinstance(condition, dict) else condition!r}.")
    kind = condition["kind"]
    if kind == "exists":
        return actual is not _MISSING and actual is not None, "the value is missing"
    if kind == "not_exists":
        return actual is _MISSING or actual is None, "the value is present"
    if actual is _MISSING:
        return False, "the path does not exist in the output"
    expected = condition.get("expected")
    try:
        if kind == "equals":
            return actual == expected, f"expected {json.dumps(expected)}"
        if kind == "not_equals":
            return actual != expected, f"expected anything but {json.dumps(expected)}"
        if kind == "contains":
            return _contains(actual, expected), f"does not contain {json.dumps(expected)}"
        if kind == "not_contains":
            return not _contains(actual, expected), f"contains {json.dumps(expected)}"
        if kind == "starts_with":
            return isinstance(actual, str) and actual.startswith(str(expected)), f"does not start with {expected!r}"
        if kind == "ends_with":
            return isinstance(actual, str) and actual.endswith(str(expected)), f"does not end with {expected!r}"
        if kind == "matches_regex":
            pattern = re.compile(condition["pattern"])
            return isinstance(actual, str) and bool(pattern.search(actual)), f"does not match /{condition['pattern']}/"
        if kind in ("number_compare", "length_compare"):
            op = OPS[condition["op"]]
            value = len(actual) if kind == "length_compare" else _number(actual)
            return op(value, _number(expected)), f"is not {condition['op']} {expected}"
        if kind == "between":
            low, high = _number(condition["lower"]), _number(condition["upper"])
            value = _number(actual)
            inside = low <= value <= high if condition.get("inclusive", True) else low < value < high
            return inside, f"is not between {low} and {high}"
        if kind == "object_contains":
            return _subset(expected, actual), f"does not contain the fields {json.dumps(expected)}"
        if kind == "array_contains":
            return isinstance(actual, list) and any(_subset(expected, item) for item in actual), \
                f"no item contains {json.dumps(expected)}"
        if kind == "json_schema_valid":
            try:
                jsonschema.validate(actual, condition["schema"])
            except jsonschema.ValidationError as exc:
                return False, exc.message
            return True, None
        if kind in ("all_items_match", "any_item_matches"):
            if not isinstance(actual, list):
                return False, "the value is not an array"
            inner = condition["condition"]
            # The nested condition may name a path inside each item: {"path": "amount", "kind": ...}.
            results = [evaluate_condition(inner, resolve_path(item, str(inner.get("path") or "")))[0] for item in actual]
            ok = all(results) if kind == "all_items_match" else any(results)
            return ok, "not every item matches" if kind == "all_items_match" else "no item matches"
    except (KeyError, re.error, jsonschema.SchemaError) as exc:
        raise AssertionDefinitionError(f"The {kind} condition is incomplete or invalid ({exc}).") from None
    except TypeError:
        return False, f"{json.dumps(actual)[:80]} is not a number" if kind != "length_compare" else "the value has no length"
    raise AssertionDefinitionError(f"The {kind} condition needs an LLM, which Loupe does not call.")


def evaluate_assertion(assertion: dict, output) -> AssertionResult:
    path = str(assertion.get("path") or "") if isinstance(assertion, dict) else ""
    condition = assertion.get("condition") if isinstance(assertion, dict) else None
    kind = condition.get("kind") if isinstance(condition, dict) else "?"
    label = assertion.get("label") if isinstance(assertion, dict) else None
    actual = resolve_path(output, path)
    shown = None if actual is _MISSING else actual
    expected = condition.get("expected") if isinstance(condition, dict) else None
    if kind in NEEDS_LLM:
        return AssertionResult(path, kind, BLOCKED, label, shown, expected, "needs an LLM judge, which Loupe does not call")
    try:
        ok, failure = evaluate_condition(condition, actual)
    except AssertionDefinitionError as exc:
        return AssertionResult(path, kind, BLOCKED, label, shown, expected, str(exc))
    return AssertionResult(path, kind, PASSED if ok else FAILED, label, shown, expected, None if ok else failure)


def validate_assertions(assertions) -> list:
    """Raise AssertionDefinitionError with a clear message for a malformed list; return it."""
    if not isinstance(assertions, list):
        raise AssertionDefinitionError("Assertions are a JSON list of {path, condition: {kind, …}, label?}.")
    for index, assertion in enumerate(assertions):
        if not isinstance(assertion, dict) or not isinstance(assertion.get("condition"), dict):
            raise AssertionDefinitionError(f"Assertion {index + 1}: needs a condition object.")
        kind = assertion["condition"].get("kind")
        if kind not in KINDS:
            raise AssertionDefinitionError(f"Assertion {index + 1}: unknown kind {kind!r}; use one of {', '.join(sorted(KINDS))}.")
        result = evaluate_assertion(assertion, {})
        if result.outcome == BLOCKED and kind not in NEEDS_LLM:
            raise AssertionDefinitionError(f"Assertion {index + 1}: {result.failure}")
    return assertions


def check_output(output, *, expected, assertions) -> CheckResult:
    """The verdict of one run's output against an example's ground truth and assertions."""
    matches, differences = None, []
    if expected is not None:
        differences = corrected_paths(output, expected)
        matches = not differences
    results = [evaluate_assertion(a, output) for a in (assertions or [])]
    if matches is False or any(r.outcome == FAILED for r in results):
        verdict = FAILED
    elif matches is None and not results or any(r.outcome == BLOCKED for r in results):
        verdict = BLOCKED
    else:
        verdict = PASSED
    return CheckResult(verdict=verdict, expected_matches=matches, differences=differences, assertions=results)
