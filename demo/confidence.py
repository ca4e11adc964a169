"""A per-field confidence for demo runs (`fieldMetadata`, runs/confidence.py), so the calibration
page has something to show: every scalar of the output gets a label, drawn from a generator
seeded by the run id (the demo's own random sequence is left alone). Fields the demo got wrong
lean to "low", right ones to "high"; `/total` is the demo's miscalibrated field: mostly "high"
when wrong, often "low" when right, so the page flags it."""

import random

from runs.pausing import resolve_pointer, scalar_leaves

MAX_FIELDS = 40
_RIGHT = (("high", 0.75), ("medium", 0.17), ("low", 0.08))
_WRONG = (("high", 0.2), ("medium", 0.3), ("low", 0.5))
_MISSING = object()
MISCALIBRATED = "/total"
_MIS_RIGHT = (("high", 0.5), ("medium", 0.2), ("low", 0.3))
_MIS_WRONG = (("high", 0.8), ("medium", 0.1), ("low", 0.1))


def demo_field_confidence(run_id: str, output, truth) -> dict | None:
    if not isinstance(output, dict):
        return None
    rng = random.Random(run_id)
    confidence = {}
    for pointer in scalar_leaves(output)[:MAX_FIELDS]:
        wrong = truth is not None and resolve_pointer(truth, pointer, _MISSING) != resolve_pointer(output, pointer)
        if pointer == MISCALIBRATED:
            table = _MIS_WRONG if wrong else _MIS_RIGHT
        else:
            table = _WRONG if wrong else _RIGHT
        levels, weights = zip(*table, strict=True)
        confidence[pointer] = rng.choices(levels, weights=weights)[0]
    return confidence or None
