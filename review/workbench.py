"""The workbench's output editor: the expected output as form fields of the pane's one form.

Every scalar of the document is an input named `v:<JSON pointer>`, so the verdict, the note and
every typed correction travel in one POST (nothing typed elsewhere is lost by a save, with or
without JavaScript). Arrays of objects render as tables; row and key operations are submit
buttons of the same form (`op=remove:/line_items/2`), applied after the typed values.

This module reads what was posted (typed values, the pressed button's operation); the
editor's HTML is built in web/editor.py.
"""

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from review.jsondiff import EditError, coerce, diff, escape_token, join, parse_json, resolve, skeleton, split

FIELD = "v:"
NEW_KEY = "k:"
FORM_ID = "pane-form"
MAX_FIELDS = 800
MAX_DEPTH = 30


def raw_text(value) -> str:
    """The text in an input: strings bare, everything else as JSON (`null` for None)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def count_leaves(value, limit: int = MAX_FIELDS + 1) -> int:
    """Scalars in `value`, counting stops past `limit` (iterative: deep documents are fine)."""
    count, stack = 0, [value]
    while stack and count < limit:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        else:
            count += 1
    return count


def depth_of(value, limit: int = MAX_DEPTH + 1) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest >= limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def is_table(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def columns_of(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def label_of(path: str) -> str:
    """`/line_items/1/amount` -> `line_items › 2 › amount` (rows counted from 1 for people)."""
    parts = [str(int(t) + 1) if t.isdigit() else t for t in split(path)]
    return " › ".join(parts) or "output"


@dataclass
class Corrections:
    """Where the shown document differs from the run's output: {path: old value} for changed
    scalars, the set of added paths, and the flat list the summary shows."""

    changed: dict[str, Any] = field(default_factory=dict)
    added: set[str] = field(default_factory=set)
    summary: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # (op, path, old, new)

    @classmethod
    def between(cls, output, expected) -> "Corrections":
        found = cls()
        if expected is None:
            return found
        for change in diff(output, expected):
            found.summary.append((change.op, change.path or "/", change.old, change.new))
            if change.op == "replace":
                found.changed[change.path] = change.old
            elif change.op == "add":
                found.added.add(change.path)
        return found


# -- applying what was posted ---------------------------------------------------------------


class EditErrors(Exception):
    """Typed values that do not fit their field; `errors` {path: message}, `typed` {path: text}."""

    def __init__(self, errors: dict[str, str], typed: dict[str, str]):
        super().__init__("; ".join(f"{label_of(p)}: {m}" for p, m in errors.items()))
        self.errors, self.typed = errors, typed


def _set(doc, path: str, value):
    tokens = split(path)
    if not tokens:
        return value
    parent = resolve(doc, "".join("/" + escape_token(t) for t in tokens[:-1]))
    if isinstance(parent, list):
        parent[int(tokens[-1])] = value
    else:
        parent[tokens[-1]] = value
    return doc


def typed_values(post) -> dict[str, str]:
    return {name[len(FIELD):]: value for name, value in post.items() if name.startswith(FIELD)}


def apply_typed(current, typed: dict[str, str]):
    """`current` with every typed scalar set (typed as the field it replaces). EditErrors names
    each field that does not fit; nothing is applied then."""
    doc = copy.deepcopy(current)
    errors = {}
    for path, text in typed.items():
        try:
            like = resolve(current, path)
        except EditError as exc:
            errors[path] = str(exc)
            continue
        if isinstance(like, (dict, list)) or text == raw_text(like):
            continue
        try:
            doc = _set(doc, path, coerce(text, like))
        except EditError as exc:
            errors[path] = str(exc)
    if errors:
        raise EditErrors(errors, typed)
    return doc


@dataclass
class OpResult:
    doc: Any
    focus: str | None = None  # the path whose field gets the focus afterwards


def apply_op(doc, op: str, *, post, last_output=None) -> OpResult:
    """One structural operation of the editor on the (already typed-into) document."""
    verb, _, path = op.partition(":")
    if verb == "start":
        start = skeleton(last_output) if path == "shape" and last_output is not None else {}
        return OpResult(start, focus=_first_leaf(start, ""))
    if verb == "raw":
        return OpResult(parse_json(post.get("raw", ""), "The JSON"))
    doc = copy.deepcopy(doc)
    if verb == "add":
        container = resolve(doc, path)
        if not isinstance(container, list):
            raise EditError("Rows can be added only to arrays.")
        container.append(skeleton(container[-1]) if container else "")
        new_path = join(path, len(container) - 1)
        return OpResult(doc, focus=_first_leaf(container[-1], new_path))
    if verb == "key":
        container = resolve(doc, path)
        key = (post.get(NEW_KEY + path) or "").strip()
        if not isinstance(container, dict):
            raise EditError("Keys can be added only to objects.")
        if not key:
            raise EditError("Type the new key's name in the box first.")
        if len(key) > 200:
            raise EditError("A key is at most 200 characters.")
        if key in container:
            raise EditError(f"The key {key!r} already exists; edit its value instead.")
        container[key] = ""
        return OpResult(doc, focus=join(path, key))
    tokens = split(path)
    if not tokens:
        raise EditError("Pick a row or key to change.")
    parent_path = "".join("/" + escape_token(t) for t in tokens[:-1])
    parent, token = resolve(doc, parent_path), tokens[-1]
    resolve(doc, path)
    if verb == "remove":
        if isinstance(parent, list):
            index = int(token)
            parent.pop(index)
            focus = join(parent_path, min(index, len(parent) - 1)) if parent else None
            return OpResult(doc, focus=_first_leaf(parent[min(index, len(parent) - 1)], focus) if parent else None)
        del parent[token]
        return OpResult(doc, focus=None)
    if verb in ("up", "down") and isinstance(parent, list):
        index = int(token)
        other = index - 1 if verb == "up" else index + 1
        if not 0 <= other < len(parent):
            raise EditError("That row cannot move further.")
        parent[index], parent[other] = parent[other], parent[index]
        return OpResult(doc, focus=_first_leaf(parent[other], join(parent_path, other)))
    raise EditError(f"Unknown operation {verb!r}.")


def _first_leaf(value, path: str) -> str:
    while True:
        if isinstance(value, dict) and value:
            key = next(iter(value))
            value, path = value[key], join(path, key)
        elif isinstance(value, list) and value:
            value, path = value[0], join(path, 0)
        else:
            return path


def first_leaf(value) -> str | None:
    return _first_leaf(value, "") if isinstance(value, (dict, list)) else ""
