"""The calibration marks of a review (docs/calibration.md): for each field a run reported a
confidence for (runs.models.Run.field_confidence), one `calrev` mark when the review counts as
reviewed (a verdict, or a corrected output) and one `calchg` mark when the reviewer changed the
field's value (the corrected output differs from the output at the field's pointer, or lost it).
Keyed in ReviewTally by `<level>|<pattern>`: the confidence's label or decile, and the pointer
with array indices as `*`, so a field of every line item is one row."""

from collections import Counter

from review.jsondiff import generalise
from runs.confidence import level_of
from runs.pausing import resolve_pointer

_MISSING = object()
SEPARATOR = "|"


def changed_fields(confidence: dict | None, output, expected) -> frozenset:
    """The pointers of `confidence` whose value differs between output and the corrected output
    (None: no correction, nothing changed)."""
    if not confidence or expected is None:
        return frozenset()
    return frozenset(pointer for pointer in confidence
                     if resolve_pointer(expected, pointer, _MISSING) != resolve_pointer(output, pointer, _MISSING))


def field_key(level: str, pointer: str, limit: int) -> str:
    return f"{level}{SEPARATOR}{generalise(pointer)}"[:limit]


def split_key(key: str) -> tuple[str, str]:
    level, _, pattern = key.partition(SEPARATOR)
    return level, pattern


def calibration_marks(marks: Counter, prefix: tuple, confidence: dict | None, changed, *, reviewed: str,
                      corrected: str, limit: int) -> None:
    """Add to `marks` one (*prefix, reviewed, key) per field with a confidence and one
    (*prefix, corrected, key) per field in `changed`."""
    for pointer, value in (confidence or {}).items():
        level = level_of(value)
        if level is None:
            continue
        key = field_key(level, pointer, limit)
        marks[(*prefix, reviewed, key)] += 1
        if pointer in changed:
            marks[(*prefix, corrected, key)] += 1
