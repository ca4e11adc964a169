"""JSON diffs and in-place corrections addressed by JSON pointers (RFC 6901).

`diff(output, expected)` lists what a reviewer changed; arrays are aligned on equal items
(longest common subsequence) so a dropped transaction shows as one added item rather than
a cascade of changed indices. `coerce` and `parse_json` read what a reviewer typed (the editor's
operations are review/workbench.py).
"""

import json
from dataclasses import dataclass

from runs import jsonbounds
from runs.ids import small_int


@dataclass(frozen=True)
class Change:
    op: str  # "replace" | "add" | "remove"
    path: str
    old: object = None
    new: object = None


def escape_token(token) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def join(path: str, token) -> str:
    return f"{path}/{escape_token(token)}"


def split(pointer: str) -> list[str]:
    if pointer in ("", None):
        return []
    if not pointer.startswith("/"):
        raise EditError("A JSON pointer starts with '/'.")
    return [unescape_token(t) for t in pointer[1:].split("/")]


def generalise(pointer: str) -> str:
    """`/line_items/3/amount` -> `/line_items/*/amount`, for counting corrected fields."""
    return "/".join("*" if small_int(part) is not None else part for part in pointer.split("/"))


def align(old: list, new: list) -> list[tuple[int | None, int | None]]:
    """Pairs (i, j) of aligned items: equal items anchor (LCS); items between anchors are
    paired in order as modified, the rest are (i, None) removed or (None, j) added."""
    n, m = len(old), len(new)
    if n * m > 250_000:  # very long arrays: plain positional pairing
        return [(i if i < n else None, i if i < m else None) for i in range(max(n, m))]
    keys_old = [json.dumps(v, sort_keys=True) for v in old]
    keys_new = [json.dumps(v, sort_keys=True) for v in new]
    return _pairs(_anchors(keys_old, keys_new), n, m)


def _anchors(keys_old: list[str], keys_new: list[str]) -> list[tuple[int, int]]:
    """The (i, j) of equal items along a longest common subsequence."""
    n, m = len(keys_old), len(keys_new)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if keys_old[i] == keys_new[j] else max(table[i + 1][j], table[i][j + 1])
    anchors, i, j = [], 0, 0
    while i < n and j < m:
        if keys_old[i] == keys_new[j]:
            anchors.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return anchors


def _pairs(anchors: list[tuple[int, int]], n: int, m: int) -> list[tuple[int | None, int | None]]:
    """Between anchors, items paired in order as modified; the rest removed or added."""
    pairs, prev_i, prev_j = [], 0, 0
    for ai, aj in [*anchors, (n, m)]:
        gap_old, gap_new = list(range(prev_i, ai)), list(range(prev_j, aj))
        common = min(len(gap_old), len(gap_new))
        pairs += list(zip(gap_old[:common], gap_new[:common], strict=True))
        pairs += [(x, None) for x in gap_old[common:]]
        pairs += [(None, y) for y in gap_new[common:]]
        if ai < n:
            pairs.append((ai, aj))
        prev_i, prev_j = ai + 1, aj + 1
    return pairs


# Below this depth two values are compared whole (one "replace" when they differ), so documents
# stored before the nesting bound (runs.jsonbounds) cannot exhaust the stack.
DIFF_MAX_DEPTH = 48


def _equal(old, new) -> bool:
    try:
        return type(old) is type(new) and old == new
    except RecursionError:
        return False


def diff(old, new, path: str = "", depth: int = 0) -> list[Change]:
    if depth >= DIFF_MAX_DEPTH:
        return [] if _equal(old, new) else [Change("replace", path, old=old, new=new)]
    if isinstance(old, dict) and isinstance(new, dict):
        return _diff_objects(old, new, path, depth)
    if isinstance(old, list) and isinstance(new, list):
        return _diff_lists(old, new, path, depth)
    if type(old) is not type(new) or old != new:
        return [Change("replace", path, old=old, new=new)]
    return []


def _diff_objects(old: dict, new: dict, path: str, depth: int) -> list[Change]:
    changes = [Change("remove", join(path, key), old=old[key]) for key in old if key not in new]
    for key in new:
        if key not in old:
            changes.append(Change("add", join(path, key), new=new[key]))
        else:
            changes += diff(old[key], new[key], join(path, key), depth + 1)
    return changes


def _diff_lists(old: list, new: list, path: str, depth: int) -> list[Change]:
    changes = []
    for i, j in align(old, new):
        if j is None:
            changes.append(Change("remove", join(path, i), old=old[i]))
        elif i is None:
            changes.append(Change("add", join(path, j), new=new[j]))
        else:
            changes += diff(old[i], new[j], join(path, j), depth + 1)
    return changes


def corrected_paths(output, expected) -> list[str]:
    """Distinct generalised paths where expected differs from output (empty when unset)."""
    if expected is None:
        return []
    seen = []
    for change in diff(output, expected):
        path = generalise(change.path) or "/"
        if path not in seen:
            seen.append(path)
    return seen


class EditError(ValueError):
    """A correction that cannot be applied; the message is shown next to the input."""


def resolve(doc, pointer: str):
    node = doc
    for token in split(pointer):
        if isinstance(node, dict):
            if token not in node:
                raise EditError(f"Nothing at {pointer}: the output has changed since the page loaded.")
            node = node[token]
        elif isinstance(node, list):
            if small_int(token) is None or small_int(token) >= len(node):
                raise EditError(f"Nothing at {pointer}: the output has changed since the page loaded.")
            node = node[int(token)]
        else:
            raise EditError(f"Nothing at {pointer}.")
    return node


_TYPE_NAMES = {bool: "true or false", int: "a number", float: "a number", str: "text", dict: "a JSON object",
               list: "a JSON array", type(None): "null"}


def coerce(raw: str, like):
    """Parse what the reviewer typed into a value of the same JSON type as `like`.

    Text stays text without quotes; numbers, booleans, objects and arrays must parse.
    Typing `null` always clears a value. Changing a value's type is the raw editor's job.
    """
    text = raw if raw is not None else ""
    if text.strip() == "null":
        return None
    if isinstance(like, str):
        return text
    if like is None:
        try:
            return bounded_loads(text)
        except jsonbounds.JsonRefused as exc:
            raise EditError(_refused(exc)) from None
        except ValueError:
            return text
    try:
        value = bounded_loads(text)
    except jsonbounds.JsonRefused as exc:
        raise EditError(_refused(exc)) from None
    except ValueError:
        raise EditError(f"Expected {_TYPE_NAMES[type(like)]}; {text.strip()!r} is not valid JSON.") from None
    problem = _type_problem(value, like, text)
    if problem:
        raise EditError(problem)
    return value


def _type_problem(value, like, text: str) -> str | None:
    """Why `value` is not of the JSON type of `like` (a bool is no number), or None."""
    if isinstance(like, bool):
        return None if isinstance(value, bool) else "Expected true or false."
    if isinstance(like, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"Expected a number, not {text.strip()!r}."
        return None
    return None if isinstance(value, type(like)) else f"Expected {_TYPE_NAMES[type(like)]}."


def bounded_loads(text: str):
    """json.loads within the nesting bound, with storable text (runs.jsonbounds)."""
    return jsonbounds.loads(text)


def _refused(exc) -> str:
    where = "" if exc.field == "<root>" else f" (at {exc.field})"
    return f"{exc.reason[:1].upper()}{exc.reason[1:]}{where}"


def parse_json(raw: str, what: str = "The value"):
    try:
        return bounded_loads(raw)
    except jsonbounds.JsonRefused as exc:
        raise EditError(f"{what}: {_refused(exc)}") from None
    except json.JSONDecodeError as exc:
        raise EditError(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except ValueError as exc:
        raise EditError(f"{what} is not valid JSON: {exc}.") from None


def skeleton(value):
    """An empty value of the same shape, to prefill 'add item' (a dropped transaction)."""
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return []
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 0
    if isinstance(value, str):
        return ""
    return None
