"""Checks a run of a dataset example against the example: its expected output and its
assertions (the condition kinds of docs/rules.md#assertion-kinds). Verdicts as there: passed, failed, blocked —
blocked when a check cannot be evaluated (no ground truth, a malformed assertion, or a kind
that needs an LLM, which Loupe never calls).

Checks run on every ingest, so what a user writes into an assertion must not be able to make
the server slow or reach out (docs/security.md): regular expressions run on RE2 (time linear in
the input, no backtracking), also the `pattern` keywords inside JSON schemas, and a schema's
`$ref` resolves only inside the schema itself — a remote one is refused when the assertion is
saved and never fetched when it is checked."""

import functools
import json
from dataclasses import asdict, dataclass, field

import jsonschema
import re2
from jsonschema import ValidationError, validators
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from review.jsondiff import corrected_paths, split
from runs.ids import small_int

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


# Longest pattern accepted in a matches_regex assertion or a schema's pattern keywords.
REGEX_MAX_CHARS = 1000
# RE2 refuses a pattern whose compiled program needs more memory than this.
REGEX_MAX_MEMORY = 8 << 20
REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")


class AssertionDefinitionError(ValueError):
    pass


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str):
    """An RE2 pattern, or AssertionDefinitionError saying why not (too long, or a construct RE2
    does not have: backreferences, lookaround)."""
    if not isinstance(pattern, str):
        raise AssertionDefinitionError("The pattern must be text.")
    if len(pattern) > REGEX_MAX_CHARS:
        raise AssertionDefinitionError(f"The pattern is {len(pattern)} characters long; the limit is {REGEX_MAX_CHARS}.")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = REGEX_MAX_MEMORY
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise AssertionDefinitionError(
            f"The pattern {pattern[:80]!r} cannot be used: {detail}. Patterns run on RE2, which has no "
            "backreferences or lookaround.") from None


def _search(pattern: str, text: str) -> bool:
    return compile_regex(pattern).search(text) is not None


# JSON-schema keywords that run regular expressions, re-implemented on RE2.
def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [key for key in instance
              if key not in properties and not any(_search(pattern, key) for pattern in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        yield ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, sorted(extras)))}).")


@functools.lru_cache(maxsize=16)
def _safe_validator_class(base):
    return validators.extend(base, {"pattern": _pattern, "patternProperties": _pattern_properties,
                                    "additionalProperties": _additional_properties})


def _refuse_retrieval(uri: str):
    raise NoSuchResource(ref=uri)


# Resolves nothing but the schema itself: jsonschema's default would fetch remote $refs.
NO_RETRIEVAL = Registry(retrieve=_refuse_retrieval)


def _schema_problems(schema, where: str = "schema"):
    """Remote references and unusable patterns anywhere in a schema (iterative: schemas may be deep)."""
    stack = [(schema, where)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                yield from _keyword_problems(key, value, at)
                stack.append((value, f"{at}.{key}"))
        elif isinstance(node, list):
            stack.extend((item, f"{at}[{index}]") for index, item in enumerate(node))


def _keyword_problems(key: str, value, at: str):
    """A remote reference, or a pattern (or patternProperties key) that cannot be compiled."""
    if key in REF_KEYWORDS and isinstance(value, str) and not value.startswith("#"):
        yield (f"{at}.{key} is {value[:120]!r}: only references inside the schema (starting with '#') "
               "are allowed; Loupe never fetches a schema from elsewhere.")
    elif key == "pattern" and isinstance(value, str):
        yield from _pattern_problems([value], f"{at}.pattern")
    elif key == "patternProperties" and isinstance(value, dict):
        yield from _pattern_problems(value, f"{at}.patternProperties")


def _pattern_problems(patterns, at: str):
    for pattern in patterns:
        try:
            compile_regex(pattern)
        except AssertionDefinitionError as exc:
            yield f"{at}: {exc}"


def validate_schema(schema) -> None:
    """Raise AssertionDefinitionError naming where a schema is unusable."""
    if not isinstance(schema, (dict, bool)):
        raise AssertionDefinitionError("The schema must be a JSON object.")
    for problem in _schema_problems(schema):
        raise AssertionDefinitionError(problem)
    try:
        validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise AssertionDefinitionError(f"The schema is invalid: {exc.message}") from None


def schema_errors(instance, schema) -> str | None:
    """The first validation failure of `instance` against `schema`, or None. No network, no
    backtracking regex."""
    validate_schema(schema)
    base = validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = _safe_validator_class(base)(schema, registry=NO_RETRIEVAL)
    try:
        error = next(iter(validator.iter_errors(instance)), None)
    except Unresolvable as exc:
        raise AssertionDefinitionError(f"The schema has a reference that does not resolve: {exc}") from None
    except RecursionError:
        raise AssertionDefinitionError("The schema or the value is nested too deeply to check.") from None
    return error.message if error is not None else None


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
        elif isinstance(node, list) and small_int(token) is not None and small_int(token) < len(node):
            node = node[small_int(token)]
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


def _regex(condition, actual):
    pattern = compile_regex(condition["pattern"])
    return isinstance(actual, str) and pattern.search(actual) is not None, f"does not match /{condition['pattern']}/"


def _compare(condition, actual):
    value = len(actual) if condition["kind"] == "length_compare" else _number(actual)
    return OPS[condition["op"]](value, _number(condition.get("expected"))), \
        f"is not {condition['op']} {condition.get('expected')}"


def _between(condition, actual):
    low, high = _number(condition["lower"]), _number(condition["upper"])
    value = _number(actual)
    inside = low <= value <= high if condition.get("inclusive", True) else low < value < high
    return inside, f"is not between {low} and {high}"


def _items(condition, actual):
    if not isinstance(actual, list):
        return False, "the value is not an array"
    inner = condition["condition"]
    # The nested condition may name a path inside each item: {"path": "amount", "kind": ...}.
    results = [evaluate_condition(inner, resolve_path(item, str(inner.get("path") or "")))[0] for item in actual]
    if condition["kind"] == "all_items_match":
        return all(results), "not every item matches"
    return any(results), "no item matches"


def _schema(condition, actual):
    failure = schema_errors(actual, condition["schema"])
    return failure is None, failure


def _dump(value) -> str:
    return json.dumps(value)


# kind -> (condition, actual) -> (passed, failure message); `expected` is condition["expected"].
_EVALUATORS = {
    "equals": lambda c, a: (a == c.get("expected"), f"expected {_dump(c.get('expected'))}"),
    "not_equals": lambda c, a: (a != c.get("expected"), f"expected anything but {_dump(c.get('expected'))}"),
    "contains": lambda c, a: (_contains(a, c.get("expected")), f"does not contain {_dump(c.get('expected'))}"),
    "not_contains": lambda c, a: (not _contains(a, c.get("expected")), f"contains {_dump(c.get('expected'))}"),
    "starts_with": lambda c, a: (isinstance(a, str) and a.startswith(str(c.get("expected"))),
                                 f"does not start with {c.get('expected')!r}"),
    "ends_with": lambda c, a: (isinstance(a, str) and a.endswith(str(c.get("expected"))),
                               f"does not end with {c.get('expected')!r}"),
    "matches_regex": _regex,
    "number_compare": _compare,
    "length_compare": _compare,
    "between": _between,
    "object_contains": lambda c, a: (_subset(c.get("expected"), a),
                                     f"does not contain the fields {_dump(c.get('expected'))}"),
    "array_contains": lambda c, a: (isinstance(a, list) and any(_subset(c.get("expected"), item) for item in a),
                                    f"no item contains {_dump(c.get('expected'))}"),
    "json_schema_valid": _schema,
    "all_items_match": _items,
    "any_item_matches": _items,
}


def _presence(kind: str, actual) -> tuple[bool, str] | None:
    """The answer of the exists / not_exists kinds, and of any kind on a missing path; None
    when the value must be evaluated."""
    if kind == "exists":
        return actual is not _MISSING and actual is not None, "the value is missing"
    if kind == "not_exists":
        return actual is _MISSING or actual is None, "the value is present"
    if actual is _MISSING:
        return False, "the path does not exist in the output"
    return None


def evaluate_condition(condition: dict, actual):
    """(passed: bool, failure message or None). Raises AssertionDefinitionError when the
    condition itself is malformed."""
    if not isinstance(condition, dict) or condition.get("kind") not in KINDS:
        raise AssertionDefinitionError(f"Unknown condition kind {condition.get('kind') if isinstance(condition, dict) else condition!r}.")
    kind = condition["kind"]
    presence = _presence(kind, actual)
    if presence is not None:
        return presence
    evaluator = _EVALUATORS.get(kind)
    if evaluator is None:
        raise AssertionDefinitionError(f"The {kind} condition needs an LLM, which Loupe does not call.")
    try:
        return evaluator(condition, actual)
    except KeyError as exc:
        raise AssertionDefinitionError(f"The {kind} condition is incomplete or invalid ({exc}).") from None
    except TypeError:
        return False, f"{json.dumps(actual)[:80]} is not a number" if kind != "length_compare" else "the value has no length"


def evaluate_assertion(assertion: dict, output) -> AssertionResult:
    given = assertion if isinstance(assertion, dict) else {}
    path, condition, label = str(given.get("path") or ""), given.get("condition"), given.get("label")
    kind, expected = (condition.get("kind"), condition.get("expected")) if isinstance(condition, dict) else ("?", None)
    actual = resolve_path(output, path)
    shown = None if actual is _MISSING else actual
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
        try:
            check_definition(assertion["condition"])
        except AssertionDefinitionError as exc:
            raise AssertionDefinitionError(f"Assertion {index + 1}: {exc}") from None
        result = evaluate_assertion(assertion, {})
        if result.outcome == BLOCKED and kind not in NEEDS_LLM:
            raise AssertionDefinitionError(f"Assertion {index + 1}: {result.failure}")
    return assertions


def check_definition(condition) -> None:
    """The parts of a condition that do not depend on the output: its pattern compiles on RE2,
    its schema is valid and references nothing outside itself; nested conditions likewise."""
    while isinstance(condition, dict):
        kind = condition.get("kind")
        if kind == "matches_regex":
            if "pattern" not in condition:
                raise AssertionDefinitionError("The matches_regex condition needs a pattern.")
            compile_regex(condition["pattern"])
        elif kind == "json_schema_valid":
            if "schema" not in condition:
                raise AssertionDefinitionError("The json_schema_valid condition needs a schema.")
            validate_schema(condition["schema"])
        if kind not in ("all_items_match", "any_item_matches"):
            return
        condition = condition.get("condition")


def check_output(output, *, expected, assertions) -> CheckResult:
    """The verdict of one run's output against an example's ground truth and assertions."""
    matches, differences = None, []
    if expected is not None:
        differences = corrected_paths(output, expected)
        matches = not differences
    results = [evaluate_assertion(a, output) for a in (assertions or [])]
    return CheckResult(verdict=_verdict(matches, results), expected_matches=matches, differences=differences,
                       assertions=results)


def _verdict(matches: bool | None, results: list) -> str:
    """Failed when the expected output differs or an assertion failed; blocked when nothing could
    be checked or an assertion could not be evaluated; else passed."""
    if matches is False or any(r.outcome == FAILED for r in results):
        return FAILED
    if matches is None and not results or any(r.outcome == BLOCKED for r in results):
        return BLOCKED
    return PASSED
