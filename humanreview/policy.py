"""Which fields of a paused run a person must confirm (docs/human-review.md#policy).

A record may name its `requiredPaths` itself (reason `explicit`; its other fields `excluded`).
Otherwise the automation's ReviewPolicy picks them, and `selectionReasons` says which rule
picked (or passed over) each field, in this order:

1. the policy's own rule for the path, else the field's `review` from the record:
   `always` (required) or `never` (not);
2. a scalar with no field metadata: `unmatched` (required when the policy says so, else not listed);
3. no confidence: `missing_confidence` (required) or `missing_confidence_skip`, by the policy;
4. confidence below the threshold: `low_confidence` (required), else `threshold_met`.
   Labels count as numbers: low 0, medium 0.5, high 1.

A field that holds an object or array is never required (`excluded`): decisions are on scalars.
"""

from humanreview.models import ReviewPolicy, Unmatched
from runs.pausing import PauseRecord, is_scalar, resolve_pointer, scalar_leaves

LABEL_CONFIDENCE = {"low": 0.0, "medium": 0.5, "high": 1.0}
REQUIRED_REASONS = frozenset({"all", "always", "explicit", "low_confidence", "missing_confidence", "unmatched"})


def confidence_number(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return LABEL_CONFIDENCE.get(value)
    return float(value)


def select_paths(pause: PauseRecord, policy: ReviewPolicy) -> tuple[list[str], dict[str, str]]:
    """(requiredPaths, selectionReasons) for a paused run under `policy`."""
    machine = pause.machine_data
    metadata = pause.field_metadata
    reasons: dict[str, str] = {}
    if pause.required_paths is not None:
        for path in pause.required_paths:
            reasons[path] = "explicit"
        for path in metadata:
            reasons.setdefault(path, "excluded")
        return list(pause.required_paths), reasons
    rules = policy.field_rules if isinstance(policy.field_rules, dict) else {}
    candidates = list(metadata)
    candidates += [p for p in rules if p not in metadata and resolve_pointer(machine, p, None) is not None]
    if policy.unmatched == Unmatched.REQUIRE:
        candidates += [p for p in scalar_leaves(machine) if p not in metadata and p not in rules]
    required = []
    for path in candidates:
        reason = _reason(path, machine, metadata.get(path), rules.get(path), policy)
        reasons[path] = reason
        if reason in REQUIRED_REASONS:
            required.append(path)
    return required, reasons


def _reason(path: str, machine, meta: dict | None, rule: str | None, policy: ReviewPolicy) -> str:
    if not is_scalar(resolve_pointer(machine, path, [])):
        return "excluded"
    mode = rule or (meta or {}).get("review") or "auto"
    if mode in ("always", "never"):
        return mode
    if meta is None:
        return "unmatched"
    confidence = confidence_number(meta.get("confidence"))
    if confidence is None:
        return "missing_confidence" if policy.missing_confidence == Unmatched.REQUIRE else "missing_confidence_skip"
    return "low_confidence" if confidence < policy.confidence_threshold else "threshold_met"
