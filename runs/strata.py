"""Sampling by risk (docs/rules.md#strata): an automation's ordered list of strata, each a
condition on what a run carries when it is recorded and its own rate; the first stratum whose
condition holds takes the run, the default rate covers the rest. The run stores its stratum and
its inclusion probability (the rate it was sampled at) once, when recorded, and the estimate
weights by them (insights.stats), so targeting risk does not bias the pass rate.

Conditions are cheap and bounded: a few dict lookups per run, JSON pointers of at most
MAX_POINTER_DEPTH steps, no regular expressions, no loops over the run's data except its scores
and its field confidences (both bounded by the record parser).

    {"kind": "score", "evaluator": "judge", "failed": true}     evaluator's verdict is fail
    {"kind": "score", "evaluator": "judge", "below": 0.7}       evaluator's value below 0.7
        ("evaluator" optional: any evaluator)
    {"kind": "new_version", "days": 7}                          the run's version was first seen
                                                                in the last 7 days (or never)
    {"kind": "tag", "tag": "vip"}                               metadata.tags holds "vip"
    {"kind": "low_confidence", "below": 0.5}                    a field of fieldMetadata below 0.5
    {"kind": "low_confidence", "level": "low"}                  ... or at this level or lower
    {"kind": "json", "source": "output", "path": "/total", "op": "gt", "value": 10000}
        ops: exists, missing, equals, not_equals, lt, lte, gt, gte, contains, in
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from runs.sampling import BUCKETS

MAX_STRATA = 20
MAX_NAME = 64
MAX_POINTER_DEPTH = 12
MAX_TEXT = 200
LEVELS = {"low": 0, "medium": 1, "high": 2}
JSON_OPS = ("exists", "missing", "equals", "not_equals", "lt", "lte", "gt", "gte", "contains", "in")
KINDS = ("score", "new_version", "tag", "low_confidence", "json")
DEFAULT = ""  # the stratum name of runs no condition took


class StrataError(ValueError):
    """A stratum list refused; `field` names the offending part (`strata[1].when.days`)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Stratum:
    name: str
    when: dict
    rate_bp: int
    test: object = field(default=None, compare=False, repr=False)  # compile_condition(when)

    def __post_init__(self):
        if self.test is None:
            object.__setattr__(self, "test", compile_condition(self.when))

    def as_dict(self) -> dict:
        return {"name": self.name, "when": self.when, "rate_bp": self.rate_bp}


def _number(value, field: str, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StrataError(field, "Must be a number.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise StrataError(field, f"Must be between {low:g} and {high:g}.")
    return value


def _text(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise StrataError(field, f"Must be a non-empty text of at most {MAX_TEXT} characters.")
    return value


def pointer_parts(pointer, field: str) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise StrataError(field, "Must be a JSON pointer such as /total or /vendor/name ('' is the whole document).")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]] if pointer else []
    if len(parts) > MAX_POINTER_DEPTH:
        raise StrataError(field, f"At most {MAX_POINTER_DEPTH} steps.")
    return parts


def _condition(when, field: str) -> dict:  # noqa: C901 - over the ceiling; listed in docs/architecture.md#guard-rails
    if not isinstance(when, dict):
        raise StrataError(field, "Must be an object with a `kind`.")
    kind = when.get("kind")
    if kind not in KINDS:
        raise StrataError(f"{field}.kind", f"Must be one of {', '.join(KINDS)}.")
    allowed = {"score": {"evaluator", "failed", "below"}, "new_version": {"days"}, "tag": {"tag"},
               "low_confidence": {"below", "level"}, "json": {"source", "path", "op", "value"}}[kind] | {"kind"}
    for key in when:
        if key not in allowed:
            raise StrataError(f"{field}.{key}", f"Unknown key for kind {kind}; expected {', '.join(sorted(allowed))}.")
    clean: dict = {"kind": kind}
    if kind == "score":
        if "evaluator" in when and when["evaluator"] is not None:
            clean["evaluator"] = _text(when["evaluator"], f"{field}.evaluator")
        if ("failed" in when) == ("below" in when):
            raise StrataError(field, "Give exactly one of `failed: true` or `below: <value>`.")
        if "failed" in when:
            if when["failed"] is not True:
                raise StrataError(f"{field}.failed", "Must be true.")
            clean["failed"] = True
        else:
            clean["below"] = _number(when["below"], f"{field}.below")
    elif kind == "new_version":
        days = when.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise StrataError(f"{field}.days", "Must be a whole number of days from 1 to 365.")
        clean["days"] = days
    elif kind == "tag":
        clean["tag"] = _text(when.get("tag"), f"{field}.tag")
    elif kind == "low_confidence":
        if ("below" in when) == ("level" in when):
            raise StrataError(field, "Give exactly one of `below: <0-1>` or `level: low|medium`.")
        if "below" in when:
            clean["below"] = _number(when["below"], f"{field}.below", low=0, high=1)
        else:
            if when["level"] not in ("low", "medium"):
                raise StrataError(f"{field}.level", "Must be low or medium.")
            clean["level"] = when["level"]
    else:  # json
        source = when.get("source")
        if source not in ("input", "output"):
            raise StrataError(f"{field}.source", "Must be input or output.")
        pointer_parts(when.get("path"), f"{field}.path")
        op = when.get("op")
        if op not in JSON_OPS:
            raise StrataError(f"{field}.op", f"Must be one of {', '.join(JSON_OPS)}.")
        clean.update(source=source, path=when["path"], op=op)
        if op in ("lt", "lte", "gt", "gte"):
            clean["value"] = _number(when.get("value"), f"{field}.value")
        elif op == "in":
            if not isinstance(when.get("value"), list) or not 1 <= len(when["value"]) <= 100:
                raise StrataError(f"{field}.value", "Must be a list of 1 to 100 values.")
            clean["value"] = when["value"]
        elif op in ("equals", "not_equals", "contains"):
            if "value" not in when:
                raise StrataError(f"{field}.value", f"Needed for op {op}.")
            clean["value"] = when["value"]
    return clean


def rate_bp_from_percent(value, field: str) -> int:
    """A rate given in percent (0-100, decimals allowed to 0.01) as basis points."""
    percent = _number(value, field, low=0, high=100)
    return round(percent * 100)


def strata_parse(data, field: str = "strata") -> list[Stratum]:
    """Validate a list of {"name", "when", "rate"} (rate in percent 0-100) or {…, "rate_bp"}
    (stored form). Refuses with StrataError naming the field; names unique."""
    if not isinstance(data, list):
        raise StrataError(field, "Must be a list of strata.")
    if len(data) > MAX_STRATA:
        raise StrataError(field, f"At most {MAX_STRATA} strata.")
    strata, names = [], set()
    for index, item in enumerate(data):
        at = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise StrataError(at, "Must be an object with name, when and rate.")
        for key in item:
            if key not in ("name", "when", "rate", "rate_bp"):
                raise StrataError(f"{at}.{key}", "Unknown key; expected name, when, rate.")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise StrataError(f"{at}.name", f"Must be a non-empty text of at most {MAX_NAME} characters.")
        name = name.strip()
        if name in names:
            raise StrataError(f"{at}.name", f"Another stratum is already named {name!r}.")
        names.add(name)
        if "rate_bp" in item:
            rate = item["rate_bp"]
            if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= BUCKETS:
                raise StrataError(f"{at}.rate_bp", "Must be 0 to 10000 basis points.")
        elif "rate" in item:
            rate = rate_bp_from_percent(item["rate"], f"{at}.rate")
        else:
            raise StrataError(f"{at}.rate", "A rate in percent (0-100) is needed.")
        strata.append(Stratum(name=name, when=_condition(item.get("when"), f"{at}.when"), rate_bp=rate))
    return strata


# --- evaluation at ingest ----------------------------------------------------------------

_MISSING = object()


def _resolve(document, parts: list[str]):
    for part in parts:
        if isinstance(document, dict):
            document = document.get(part, _MISSING)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return _MISSING
        if document is _MISSING:
            return _MISSING
    return document


def _json_test(when: dict):
    parts, op, target = pointer_parts(when["path"], "path"), when["op"], when.get("value")
    source = when["source"]

    def test(record, first_seen) -> bool:
        value = _resolve(record.input if source == "input" else record.output, parts)
        if op == "exists":
            return value is not _MISSING and value is not None
        if op == "missing":
            return value is _MISSING or value is None
        if value is _MISSING:
            return False
        if op == "equals":
            return value == target
        if op == "not_equals":
            return value != target
        if op == "in":
            return value in target
        if op == "contains":
            if isinstance(value, str) and isinstance(target, str):
                return target in value
            return isinstance(value, (list, dict)) and target in value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return value < target if op == "lt" else value <= target if op == "lte" else \
            value > target if op == "gt" else value >= target

    return test


def _confidences(record):
    """The record's field confidences, {pointer: "low" | "medium" | "high" | 0-1}: its
    `fieldMetadata` (a parsed attribute when the record parser keeps one, else the metadata's)."""
    fields = getattr(record, "field_metadata", None)
    if fields is None:  # a stored run (re-sampling)
        fields = getattr(record, "field_confidence", None)
    if fields is None and isinstance(record.metadata, dict):
        fields = record.metadata.get("fieldMetadata")
    if not isinstance(fields, dict):
        return ()
    return [item.get("confidence") if isinstance(item, dict) else item for item in fields.values()]


def compile_condition(when: dict):  # noqa: C901 - over the ceiling; listed in docs/architecture.md#guard-rails
    """A predicate test(record, first_seen) for a validated condition, built once per schedule so
    that evaluating a run costs a few lookups."""
    kind = when["kind"]
    if kind == "score":
        evaluator, failed, below = when.get("evaluator"), "failed" in when, when.get("below")

        def test(record, first_seen) -> bool:
            for score in record.scores or ():
                if evaluator is not None and score.name != evaluator:
                    continue
                if failed and score.passed is False:
                    return True
                if below is not None and score.value is not None and score.value < below:
                    return True
            return False
        return test
    if kind == "tag":
        tag = when["tag"]

        def test(record, first_seen) -> bool:
            tags = record.metadata.get("tags") if isinstance(record.metadata, dict) else None
            return isinstance(tags, list) and tag in tags
        return test
    if kind == "low_confidence":
        below, level = when.get("below"), LEVELS.get(when.get("level"), -1)

        def test(record, first_seen) -> bool:
            for value in _confidences(record):
                if below is not None:
                    if not isinstance(value, bool) and isinstance(value, (int, float)) and value < below:
                        return True
                elif isinstance(value, str) and LEVELS.get(value, 99) <= level:
                    return True
            return False
        return test
    if kind == "new_version":
        window = timedelta(days=when["days"])

        def test(record, first_seen) -> bool:
            if record.version is None:
                return False
            seen = (first_seen or {}).get(record.version)
            return seen is None or seen >= record.created_at - window
        return test
    return _json_test(when)


def stratum_of(strata, default_bp: int, record, first_seen: dict | None = None) -> tuple[str, int]:
    """(stratum name, rate in basis points) of a record: the first stratum whose condition holds,
    else (DEFAULT, default_bp)."""
    for stratum in strata:
        if stratum.test(record, first_seen):
            return stratum.name, stratum.rate_bp
    return DEFAULT, default_bp


def uses_versions(strata) -> bool:
    return any(s.when["kind"] == "new_version" for s in strata)


def describe(when: dict) -> str:
    """A short human reading of a condition, for the pages."""
    kind = when["kind"]
    if kind == "score":
        who = f"evaluator {when['evaluator']}" if "evaluator" in when else "any evaluator"
        return f"{who} failed" if "failed" in when else f"{who} scored below {when['below']:g}"
    if kind == "new_version":
        return f"version first seen in the last {when['days']} days"
    if kind == "tag":
        return f"tagged {when['tag']}"
    if kind == "low_confidence":
        return (f"a field's confidence below {when['below']:g}" if "below" in when
                else f"a field's confidence {when['level']} or lower")
    value = "" if when["op"] in ("exists", "missing") else f" {when['value']!r}"
    return f"{when['source']} {when['path'] or '(whole)'} {when['op']}{value}"


