"""Structured corrections: one row per corrected field or file, kept in step with the review's
expected output and expected files (docs/api-reviews.md, "Corrections").

`corrections_sync` is called by review.services inside every write that can change the
expected output or files, so the page editor, the feedback generation's `expected` and the
reviews generation's `correctedOutput` / `corrections` all end in the same rows.
`apply_field_corrections` turns a reviews-generation `corrections` list into an expected
output, refusing a bad entry with the index and key it concerns.
"""

import copy
from dataclasses import dataclass

from django.utils import timezone

from review.jsondiff import EditError, diff, generalise, split
from review.models import Correction

FIELD, FILE = "field", "file"
MAX_CORRECTIONS = 1000
MAX_NOTE = 20_000
MAX_LABEL = 200


class CorrectionError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass
class CorrectionInput:
    """One validated entry of a `corrections` list."""

    kind: str
    path: str
    note: str = ""
    label: str | None = None
    has_value: bool = False
    corrected_value: object = None


_ITEM_KEYS = {"id", "kind", "path", "label", "note", "originalValue", "correctedValue", "correctedArtifactPath"}


def parse_corrections(raw, *, field: str = "corrections") -> list[CorrectionInput]:
    """Validate a `corrections` list from a request body; CorrectionError names the bad key."""
    if not isinstance(raw, list):
        raise CorrectionError("Expected a list of corrections.", field)
    if len(raw) > MAX_CORRECTIONS:
        raise CorrectionError(f"At most {MAX_CORRECTIONS} corrections per review.", field)
    items, seen = [], set()
    for index, item in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise CorrectionError("Expected an object.", where)
        for key in item:
            if key not in _ITEM_KEYS:
                raise CorrectionError(f"Unknown key; expected one of {', '.join(sorted(_ITEM_KEYS))}.", f"{where}.{key}")
        kind = item.get("kind")
        if kind not in (FIELD, FILE):
            raise CorrectionError("Expected field or file.", f"{where}.kind")
        path = item.get("path")
        if not isinstance(path, str) or len(path) > 1000:
            raise CorrectionError("Expected a string of at most 1000 characters.", f"{where}.path")
        if kind == FIELD:
            if path and not path.startswith("/"):
                raise CorrectionError("A field correction's path is a JSON pointer starting with '/'.", f"{where}.path")
        elif not path.strip():
            raise CorrectionError("A file correction names an expected file.", f"{where}.path")
        if (kind, path) in seen:
            raise CorrectionError("Two corrections of the same path.", f"{where}.path")
        seen.add((kind, path))
        note = item.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
            raise CorrectionError(f"Expected a string of at most {MAX_NOTE} characters.", f"{where}.note")
        label = item.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
            raise CorrectionError(f"Expected a string of at most {MAX_LABEL} characters.", f"{where}.label")
        items.append(CorrectionInput(kind=kind, path=path, note=note or "", label=label,
                                     has_value="correctedValue" in item, corrected_value=item.get("correctedValue")))
    return items


def apply_field_corrections(base, items: list[CorrectionInput], *, field: str = "corrections"):
    """`base` (the run's output or a sent correctedOutput) with every field correction applied:
    the corrected value set at its pointer, or the member removed when no correctedValue is
    sent. The parent of each pointer must exist; an array index may be one past the end."""
    doc = copy.deepcopy(base)
    for index, item in enumerate(items):
        if item.kind != FIELD:
            continue
        where = f"{field}[{index}].path"
        try:
            tokens = split(item.path)
        except EditError as exc:
            raise CorrectionError(str(exc), where) from None
        if not tokens:
            if not item.has_value:
                raise CorrectionError("The root cannot be removed; send correctedValue.", f"{field}[{index}].correctedValue")
            doc = copy.deepcopy(item.corrected_value)
            continue
        parent = doc
        for token in tokens[:-1]:
            parent = _child(parent, token, where, item.path)
        last = tokens[-1]
        if isinstance(parent, dict):
            if item.has_value:
                parent[last] = copy.deepcopy(item.corrected_value)
            elif last in parent:
                del parent[last]
            else:
                raise CorrectionError(f"Nothing at {item.path} to remove.", where)
        elif isinstance(parent, list):
            position = len(parent) if last == "-" else _index(last, where, item.path)
            if position > len(parent) or (not item.has_value and position >= len(parent)):
                raise CorrectionError(f"{item.path} is past the end of the array.", where)
            if not item.has_value:
                del parent[position]
            elif position == len(parent):
                parent.append(copy.deepcopy(item.corrected_value))
            else:
                parent[position] = copy.deepcopy(item.corrected_value)
        else:
            raise CorrectionError(f"{item.path} points inside a value that is neither an object nor an array.", where)
    return doc


def _index(token: str, where: str, path: str) -> int:
    if not token.isdigit():
        raise CorrectionError(f"{path}: {token!r} is not an array index.", where)
    return int(token)


def _child(node, token: str, where: str, path: str):
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list):
        position = _index(token, where, path)
        if position < len(node):
            return node[position]
    raise CorrectionError(f"Nothing at {path} in the output: its parent does not exist.", where)


def corrections_sync(review, output, file_names: list[str], *, notes: dict | None = None, now=None,
                     existing: list | None = None) -> dict:
    """Make the review's Correction rows match its expected output (against the run's
    `output`) and its expected files. A correction that survives keeps its id, note, label and
    creation time; `notes` ({(kind, path): (note, label)}) replaces those of the given paths
    (a reviews-generation `corrections` list). Sets review.correction_count (not saved).
    `existing`: the review's Correction rows when the caller already read them.
    Returns the field paths {"corrected": [...], "uncorrected": [...]} whose correction was
    added or changed, or removed: what the run's history shows."""
    now = now or timezone.now()
    wanted: dict[tuple[str, str], dict] = {}
    if review.expected is not None:
        for change in diff(output, review.expected):
            wanted[(FIELD, change.path)] = {
                "original_value": None if change.op == "add" else change.old,
                "corrected_value": None if change.op == "remove" else change.new,
            }
    for name in file_names:
        wanted[(FILE, name)] = {"original_value": None, "corrected_value": None}
    if existing is None:  # the caller may pass the review's corrections it already read
        existing = list(review.corrections.all()) if review.pk else []
    existing = {(c.kind, c.path): c for c in existing}
    stale = [c.pk for key, c in existing.items() if key not in wanted]
    history = {"corrected": [], "uncorrected": [path for kind, path in existing
                                                if kind == FIELD and (kind, path) not in wanted]}
    if stale:
        Correction.objects.filter(pk__in=stale).delete()
    notes = notes or {}
    creates = []
    for (kind, path), values in wanted.items():
        note, label = notes.get((kind, path), (None, None))
        current = existing.get((kind, path))
        if kind == FIELD and (current is None or any(getattr(current, k) != v for k, v in values.items())):
            history["corrected"].append(path)
        if current is None:
            creates.append(Correction(review=review, kind=kind, path=path,
                                      pattern=(generalise(path) or "/") if kind == FIELD else path,
                                      note=note or "", label=label, created_at=now, updated_at=now, **values))
            continue
        changed = {k: v for k, v in values.items() if getattr(current, k) != v}
        if (kind, path) in notes:
            changed.update(note=note or "", label=label)
        if changed:
            for key, value in changed.items():
                setattr(current, key, value)
            current.updated_at = now
            current.save(update_fields=[*changed, "updated_at"])
    if creates:
        Correction.objects.bulk_create(creates)
    review.correction_count = len(wanted)
    return {key: paths for key, paths in history.items() if paths}
