"""Per-field confidence a run reports when recorded (docs/calibration.md): the record's top-level
`fieldMetadata`, JSON Pointers into its `output`, each a confidence label (low, medium, high) or a
number from 0 to 1, given bare or as `{"confidence": …}` (the shape of a paused run's
humanReview.fieldMetadata). Any run may carry it, paused or not; the run stores it compactly,
{pointer: label or number}, for the low_confidence stratum (runs/strata.py) and the calibration
rollup (review.counters)."""

import math

from runs.pausing import CONFIDENCE_LABELS

MAX_FIELDS = 500
MAX_POINTER = 190  # characters: the rollup keys a field by `<level>|<pointer>` in 200


class ConfidenceError(ValueError):
    """A refused fieldMetadata; `field` names the part (`fieldMetadata./total.confidence`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


_LABELS = frozenset(CONFIDENCE_LABELS)
_MISSING = object()


def _at(doc, pointer: str):
    """The value at a JSON Pointer (RFC 6901), or _MISSING: runs/pausing.resolve_pointer's rule,
    written for speed (ingest checks every field of every run)."""
    if not pointer.startswith("/"):
        return _MISSING
    node = doc
    for token in pointer[1:].split("/"):
        if "~" in token:
            token = token.replace("~1", "/").replace("~0", "~")
        node = _child(node, token)
        if node is _MISSING:
            return _MISSING
    return node


def _child(node, token: str):
    """The member or item `token` (unescaped) names in `node`, or _MISSING."""
    if isinstance(node, dict):
        return node.get(token, _MISSING)
    if isinstance(node, list) and token.isdigit() and (token == "0" or token[0] != "0") and int(token) < len(node):
        return node[int(token)]
    return _MISSING


def _value(item, where: str):
    if item.__class__ is str and item in _LABELS:  # the common case first
        return item
    value = item.get("confidence") if isinstance(item, dict) else item
    if isinstance(item, dict) and "confidence" in item:
        where = f"{where}.confidence"
    if isinstance(value, str) and value in _LABELS:
        return value
    if not _is_fraction(value):
        raise ConfidenceError(where, f"expected a number from 0 to 1 or one of {', '.join(CONFIDENCE_LABELS)}, "
                                     f"got {value!r}.")
    return float(value)


def _is_fraction(value) -> bool:
    """A finite number from 0 to 1 (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) \
        and 0 <= value <= 1


def parse_field_confidence(raw, output) -> dict | None:
    """{pointer: "low" | "medium" | "high" | 0-1} from a record's `fieldMetadata`; None when absent.
    Each pointer must name a value of `output`; ConfidenceError names the first bad field."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfidenceError("fieldMetadata", "expected an object mapping JSON Pointers into output to a "
                                               "confidence (low, medium, high or 0-1).")
    if len(raw) > MAX_FIELDS:
        raise ConfidenceError("fieldMetadata", f"at most {MAX_FIELDS} fields.")
    checked = {pointer: _field(pointer, item, output) for pointer, item in raw.items()}
    return checked or None


def _field(pointer: str, item, output):
    """One field's confidence, once its pointer names a value of `output`."""
    if not pointer or len(pointer) > MAX_POINTER:
        raise ConfidenceError(f"fieldMetadata.{pointer}",
                              f"expected a JSON Pointer of 1-{MAX_POINTER} characters into output.")
    if _at(output, pointer) is _MISSING:
        raise ConfidenceError(f"fieldMetadata.{pointer}", f"nothing at {pointer} in output.")
    if isinstance(item, dict) and "confidence" not in item:
        raise ConfidenceError(f"fieldMetadata.{pointer}.confidence", "required.")
    return _value(item, "fieldMetadata." + pointer)


LEVEL_ORDER = ("low", "medium", "high")
DECILES = tuple(f"{i / 10:.1f}" for i in range(10))  # "0.0" is [0, 0.1), ..., "0.9" is [0.9, 1]


def level_of(value) -> str | None:
    """The calibration bucket of a stored confidence: its label, or its decile ("0.7" for 0.7-0.8)."""
    if isinstance(value, str):
        return value if value in LEVEL_ORDER else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return DECILES[min(int(value * 10), 9)]


def level_rank(level: str) -> float:
    """Sort key: low < medium < high; deciles by their value."""
    return LEVEL_ORDER.index(level) if level in LEVEL_ORDER else float(level)
