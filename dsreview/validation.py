"""The checks and timestamps of dataset review writes (dsreview.services, dsreview.apply): the
errors they raise, the validation of what a lead or reviewer sends (each failure a
ReviewInputError naming the field), and updatedAt at the wire's millisecond precision."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dsreview import paths
from dsreview.models import DatasetReviewItem, RequestStatus

MAX_EXAMPLES = 5000
TITLE_MAX = 200
TEXT_MAX = 20000
CREATE_STATUSES = (RequestStatus.DRAFT, RequestStatus.OPEN, RequestStatus.PAUSED)
UNSET = object()


class ReviewInputError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class RequestFrozen(Exception):
    """A write to a closed or cancelled request (409)."""


class ItemsLocked(Exception):
    """An item write while the request does not take them (paused, closed, cancelled: 409)."""


class StaleItem(Exception):
    def __init__(self, item: DatasetReviewItem):
        super().__init__("The item changed since you read it; nothing was written.")
        self.item = item


# --- validation ---------------------------------------------------------------------------


def _text(value, field: str, *, required: bool = False, max_length: int = TEXT_MAX) -> str | None:
    if value is None:
        if required:
            raise ReviewInputError("Required.", field)
        return None
    if not isinstance(value, str):
        raise ReviewInputError("Expected a string.", field)
    value = value.strip()
    if required and not value:
        raise ReviewInputError("Required: it may not be empty.", field)
    if len(value) > max_length:
        raise ReviewInputError(f"At most {max_length} characters.", field)
    return value or None


def _path_in_any(path: str, field: str, documents: list) -> str:
    try:
        paths.split(path)
    except ValueError as exc:
        raise ReviewInputError(str(exc), field) from None
    path = path.strip()
    if not any(paths.exists(doc, path) for doc in documents):
        raise ReviewInputError(f"No field {path!r} in the expected output of the examples of this request.", field)
    return path


def _focus_fields(value, documents: list) -> list[dict]:
    if not isinstance(value, list):
        raise ReviewInputError("Expected a list of {path, reason?}.", "focusFields")
    out = []
    for index, entry in enumerate(value):
        field = f"focusFields[{index}]"
        if not isinstance(entry, dict):
            raise ReviewInputError("Expected an object {path, reason?}.", field)
        unknown = set(entry) - {"path", "reason"}
        if unknown:
            raise ReviewInputError(f"Unknown key {sorted(unknown)[0]!r}; expected path and reason.", field)
        if not isinstance(entry.get("path"), str):
            raise ReviewInputError("Required: a dotted path such as vendor.iban.", f"{field}.path")
        path = _path_in_any(entry["path"], f"{field}.path", documents)
        reason = _text(entry.get("reason"), f"{field}.reason", max_length=2000)
        out.append({"path": path, "reason": reason})
    return out


def _ignored_fields(value, documents: list) -> list[str]:
    if not isinstance(value, list):
        raise ReviewInputError("Expected a list of dotted paths.", "ignoredFields")
    out = []
    for index, path in enumerate(value):
        if not isinstance(path, str):
            raise ReviewInputError("Expected a dotted path string.", f"ignoredFields[{index}]")
        out.append(_path_in_any(path, f"ignoredFields[{index}]", documents))
    return out


def _example_names(value) -> list[str]:
    if not isinstance(value, list):
        raise ReviewInputError("Expected a list of example names.", "exampleNames")
    if not value:
        raise ReviewInputError("Name at least one example.", "exampleNames")
    if len(value) > MAX_EXAMPLES:
        raise ReviewInputError(f"At most {MAX_EXAMPLES} examples per request.", "exampleNames")
    seen = set()
    for index, name in enumerate(value):
        if not isinstance(name, str) or not name:
            raise ReviewInputError("Expected an example name.", f"exampleNames[{index}]")
        if name in seen:
            raise ReviewInputError(f"{name!r} is named twice.", f"exampleNames[{index}]")
        seen.add(name)
    return list(value)


def _status(value, allowed, field: str = "status") -> str:
    if value not in allowed:
        raise ReviewInputError(f"Expected one of {', '.join(allowed)}.", field)
    return value


def parse_expected_updated_at(value) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ReviewInputError("Required: the item's updatedAt as you last read it.", "expectedUpdatedAt")
    try:
        parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ReviewInputError("Expected an ISO-8601 timestamp with a time zone, as updatedAt reads.",
                               "expectedUpdatedAt")
    return parsed


def _millis(value: datetime) -> datetime:
    """Timestamps compare at the wire's precision (milliseconds)."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _next_updated_at(previous: datetime | None) -> datetime:
    """Now at millisecond precision, and always later than the previous value, so two writes
    in one millisecond still give two versions (updatedAt is the optimistic lock)."""
    now = _millis(timezone.now())
    if previous is not None and now <= _millis(previous):
        now = _millis(previous) + timedelta(milliseconds=1)
    return now


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
