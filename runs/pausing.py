"""The `humanReview` object of a run recorded with `"status": "waiting"` (docs/human-review.md):
parsed and checked here, below the review layers, so a record that does not fit is rejected
by field like any other bad record. The task it opens is made by humanreview.services.

Paths are JSON Pointers (RFC 6901) into `machineData`, as in review corrections.
"""

import math
from dataclasses import dataclass, field

from runs.ids import small_int

SOURCE_KINDS = ("workflow_step", "agent_tool")
REVIEW_MODES = ("always", "auto", "never")
CONFIDENCE_LABELS = ("low", "medium", "high")
FILE_ROLES = ("run_input", "attachment")
_KEYS = frozenset({"sourceKind", "sourceLabel", "machineData", "schema", "fieldMetadata", "instructions", "files",
                   "requiredPaths"})
_METADATA_KEYS = frozenset({"confidence", "label", "description", "review", "display"})
MAX_PATHS = 2000


class PointerError(ValueError):
    pass


def unescape_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def escape_token(token) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def split_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise PointerError("a JSON Pointer starts with '/'")
    return [unescape_token(t) for t in pointer[1:].split("/")]


_MISSING = object()


def resolve_pointer(doc, pointer: str, default=_MISSING):
    """The value at `pointer`; PointerError (or `default`) when nothing is there."""
    node = doc
    for token in split_pointer(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and small_int(token) is not None and str(small_int(token)) == token \
                and small_int(token) < len(node):
            node = node[int(token)]
        else:
            if default is not _MISSING:
                return default
            raise PointerError(f"nothing at {pointer} in machineData")
    return node


def set_pointer(doc, pointer: str, value) -> None:
    """Replace the value at an existing `pointer` (never the whole document)."""
    tokens = split_pointer(pointer)
    if not tokens:
        raise PointerError("the whole document is not a field")
    parent = resolve_pointer(doc, "".join("/" + escape_token(t) for t in tokens[:-1]))
    last = tokens[-1]
    if isinstance(parent, list):
        parent[int(last)] = value
    else:
        parent[last] = value


def is_scalar(value) -> bool:
    return value is None or isinstance(value, (bool, str)) or (
        isinstance(value, (int, float)) and math.isfinite(value))


def scalar_leaves(doc, prefix: str = "") -> list[str]:
    """Pointers of every scalar in `doc`, in document order (bounded by MAX_PATHS)."""
    found: list[str] = []
    stack = [(prefix, doc)]
    while stack and len(found) < MAX_PATHS:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(reversed([(f"{path}/{escape_token(k)}", v) for k, v in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([(f"{path}/{i}", v) for i, v in enumerate(node)]))
        elif path:
            found.append(path)
    return found


@dataclass
class PauseRecord:
    """A checked `humanReview` object."""

    source_kind: str
    source_label: str
    machine_data: object
    schema: dict | None = None
    field_metadata: dict = field(default_factory=dict)
    instructions: str | None = None
    files: list[dict] = field(default_factory=list)
    required_paths: list[str] | None = None  # None: derived from the automation's review policy


def _text(obj: dict, key: str, limit: int, default=None):
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > limit:
        raise PointerError(f"{key}: expected a string of at most {limit} characters.")
    return value


def _confidence(value, where: str):
    if value is None or value in CONFIDENCE_LABELS:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise PointerError(f"{where}.confidence: expected a number from 0 to 1 or one of "
                           f"{', '.join(CONFIDENCE_LABELS)}, got {value!r}.")
    return value


def parse_pause(obj) -> PauseRecord:  # noqa: C901 - over the ceiling; listed in docs/architecture.md#guard-rails
    """Check a `humanReview` object; PointerError's message starts with the field it names
    (relative to humanReview)."""
    if not isinstance(obj, dict):
        raise PointerError(": expected an object {sourceKind, sourceLabel, machineData, fieldMetadata, ...}.")
    for key in obj:
        if key not in _KEYS:
            raise PointerError(f".{key}: unknown key; humanReview takes {', '.join(sorted(_KEYS))}.")
    source_kind = obj.get("sourceKind") or "workflow_step"
    if source_kind not in SOURCE_KINDS:
        raise PointerError(f".sourceKind: {source_kind!r} is not one of {', '.join(SOURCE_KINDS)}.")
    try:
        source_label = _text(obj, "sourceLabel", 200, "")
        instructions = _text(obj, "instructions", 20_000)
    except PointerError as exc:
        raise PointerError(f".{exc}") from None
    machine = obj.get("machineData")
    if not isinstance(machine, (dict, list)):
        raise PointerError(".machineData: required, a JSON object or array (what the automation produced).")
    schema = obj.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise PointerError(".schema: expected a JSON object (a JSON Schema) or null.")
    metadata = obj.get("fieldMetadata") or {}
    if not isinstance(metadata, dict):
        raise PointerError(".fieldMetadata: expected an object mapping JSON Pointers to {confidence, label, review}.")
    if len(metadata) > MAX_PATHS:
        raise PointerError(f".fieldMetadata: more than {MAX_PATHS} fields.")
    checked = {}
    for pointer, meta in metadata.items():
        where = f".fieldMetadata.{pointer}"
        try:
            resolve_pointer(machine, pointer)
        except PointerError as exc:
            raise PointerError(f"{where}: {exc}.") from None
        if not isinstance(meta, dict):
            raise PointerError(f"{where}: expected an object {{confidence, label, review}}.")
        for key in meta:
            if key not in _METADATA_KEYS:
                raise PointerError(f"{where}.{key}: unknown key; a field takes {', '.join(sorted(_METADATA_KEYS))}.")
        _confidence(meta.get("confidence"), where)
        review = meta.get("review", "auto")
        if review not in REVIEW_MODES:
            raise PointerError(f"{where}.review: {review!r} is not one of {', '.join(REVIEW_MODES)}.")
        for key in ("label", "description"):
            if meta.get(key) is not None and not isinstance(meta[key], str):
                raise PointerError(f"{where}.{key}: expected a string.")
        checked[pointer] = meta
    required = obj.get("requiredPaths")
    if required is not None:
        if not isinstance(required, list) or len(required) > MAX_PATHS:
            raise PointerError(f".requiredPaths: expected a list of at most {MAX_PATHS} JSON Pointers.")
        for index, pointer in enumerate(required):
            where = f".requiredPaths.{index}"
            if not isinstance(pointer, str):
                raise PointerError(f"{where}: expected a JSON Pointer string.")
            try:
                value = resolve_pointer(machine, pointer)
            except PointerError as exc:
                raise PointerError(f"{where}: {exc}.") from None
            if not is_scalar(value):
                raise PointerError(f"{where}: {pointer} holds a {type(value).__name__}, not a scalar; a required "
                                   "field is a string, number, true/false or null.")
        required = list(dict.fromkeys(required))
    files = obj.get("files") or []
    if not isinstance(files, list):
        raise PointerError(".files: expected a list of {name, role}.")
    checked_files = []
    for index, item in enumerate(files):
        where = f".files.{index}"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise PointerError(f"{where}: expected {{name, role}} naming one of the run's files.")
        unknown = set(item) - {"name", "role"}
        if unknown:
            raise PointerError(f"{where}.{sorted(unknown)[0]}: unknown key; a file takes name and role.")
        role = item.get("role") or "attachment"
        if role not in FILE_ROLES:
            raise PointerError(f"{where}.role: {role!r} is not one of {', '.join(FILE_ROLES)}.")
        checked_files.append({"name": item["name"], "role": role})
    return PauseRecord(source_kind=source_kind, source_label=source_label, machine_data=machine, schema=schema,
                       field_metadata=checked, instructions=instructions, files=checked_files,
                       required_paths=required)
