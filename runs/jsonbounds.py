"""One bound on JSON nesting wherever JSON comes in (docs/security.md): ingest, API bodies, the
correction editor, example edits, archives. Deeper documents are refused with a message naming
the field; parsing never recurses past Python's limit (that would be a server error).

Text that no database column can hold is refused the same way: NUL characters (PostgreSQL's
text and jsonb refuse them) and lone UTF-16 surrogates (not encodable as UTF-8), in keys and
values alike; and NaN / Infinity, which are not JSON."""

import json
from itertools import accumulate

import orjson
from django.conf import settings

DEFAULT_MAX_DEPTH = 64


class JsonRefused(ValueError):
    """JSON that Loupe does not store; `field` names where, the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class JsonTooDeep(JsonRefused):
    def __init__(self, field: str, limit: int):
        super().__init__(field, f"nested more than {limit} levels deep; the limit is {limit} (LOUPE_MAX_JSON_DEPTH).")
        self.limit = limit


def max_depth() -> int:
    return getattr(settings, "LOUPE_MAX_JSON_DEPTH", DEFAULT_MAX_DEPTH)


def json_depth(value, stop_after: int | None = None) -> int:
    """Nesting depth (a scalar is 0, `{}` and `[1]` are 1), iteratively; stops counting once
    `stop_after` is exceeded."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if stop_after is not None and deepest > stop_after:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def deepest_field(value, limit: int | None = None, field: str = "<root>") -> str | None:
    """The field (a top-level key of an object, else `field`) whose value nests past the limit."""
    limit = max_depth() if limit is None else limit
    if json_depth(value, limit) <= limit:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if json_depth(item, limit - 1) > limit - 1:
                return key if field == "<root>" else f"{field}.{key}"
    return field


def check_depth(value, field: str, limit: int | None = None):
    """`value`, or JsonTooDeep naming the field that nests too deep."""
    limit = max_depth() if limit is None else limit
    where = deepest_field(value, limit, field)
    if where is not None:
        raise JsonTooDeep(where, limit)
    return value


def text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate, which is not valid Unicode text."
    return None


def _join(field: str, key) -> str:
    return str(key) if field == "<root>" else f"{field}.{key}"


def _items_checked(node: dict, at: str) -> list:
    """(value, path) of an object's items; JsonRefused at a key that cannot be stored."""
    items = []
    for key, item in node.items():
        problem = text_problem(key) if isinstance(key, str) else None
        if problem:
            raise JsonRefused(at, f"a key {problem}")
        items.append((item, _join(at, key)))
    return items


def check_text(value, field: str = "<root>"):
    """`value`, or JsonRefused naming the first key or string that cannot be stored (iterative)."""
    stack = [(value, field)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, NotJson):
            raise JsonRefused(at, f"{str(node)} is not a JSON number.")
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                raise JsonRefused(at, problem)
        elif isinstance(node, dict):
            stack.extend(_items_checked(node, at))
        elif isinstance(node, list):
            stack.extend((item, _join(at, index)) for index, item in enumerate(node))
    return value


# Every byte but the four brackets, for bytes.translate(None, delete) in _within_bounds.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _within_bounds(value, limit: int) -> bool:
    """True when `value` certainly passes check_json; False when it may not (the exact walk then
    decides and names the field). One orjson serialisation, then C-speed bytes operations: orjson
    refuses lone surrogates, and str subclasses (NotJson) and integers beyond 64 bits with
    OPT_PASSTHROUGH_SUBCLASS; it writes NUL as \\u0000; and the nesting is the bracket depth of the
    text outside its strings. Anything odd (a literal backslash-u0000 in a string, other types)
    just takes the walk. Several times cheaper than the walk for a run of a few hundred fields."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except TypeError:  # orjson.JSONEncodeError included
        return False
    if b"\\u0000" in text:
        return False
    # Drop escaped backslashes, then escaped quotes: every remaining quote opens or closes a
    # string, so the even pieces of a split on quotes are the text outside strings.
    outside = b"".join(text.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')[::2])
    brackets = outside.translate(None, _NOT_BRACKETS)
    if len(brackets) <= 2 * limit:  # half are openers: at most `limit` levels
        return True
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets))) <= limit


def check_json(value, field: str = "<root>", limit: int | None = None):
    """Both bounds: nesting depth, then storable text."""
    limit = max_depth() if limit is None else limit
    if _within_bounds(value, limit):
        return value
    return check_text(check_depth(value, field, limit), field)


class NotJson(str):
    """What a parser hands back for NaN / Infinity (`parse_constant=NotJson`), so the run
    holding it can be rejected by field rather than the whole body."""


def reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str | bytes, field: str = "<root>", limit: int | None = None):
    """json.loads with the bounds of check_json. A document too deep for the parser itself is
    reported the same way (JsonTooDeep, a ValueError), never as a RecursionError; NaN and
    Infinity are a ValueError like any other invalid JSON."""
    limit = max_depth() if limit is None else limit
    try:
        value = json.loads(text, parse_constant=reject_constant)
    except RecursionError:
        raise JsonTooDeep(field, limit) from None
    return check_json(value, field, limit)
