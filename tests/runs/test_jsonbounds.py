"""runs.jsonbounds.check_json: the orjson shortcut (_within_bounds) only ever says "certainly within
the bounds"; whatever it is unsure of takes the exact walk, so results and messages stay the same."""

import random

import pytest

from runs.jsonbounds import JsonRefused, NotJson, _within_bounds, check_depth, check_json, check_text


def _nest(levels: int, leaf=1):
    value = leaf
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def _walk(value, limit):
    """The exact check, without the shortcut."""
    try:
        check_text(check_depth(value, "<root>", limit), "<root>")
    except JsonRefused as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("value, fast", [
    ({"a": "plain", "b": [1, 2.5, None, True], "c": {"d": "é \n \" \\ { [ ] }"}}, True),
    (_nest(64), True),
    (_nest(65), False),
    ({"s": "[" * 300, "t": "\\\"{{{{", "x": _nest(63)}, True),  # brackets inside strings do not count
    ({"x": _nest(64)}, False),
    ({"a": "x\x00y"}, False),
    ({"a\x00": 1}, False),
    ({"a": "\ud800"}, False),
    ({"a": [NotJson("NaN")]}, False),
    ({"a": 2**70}, False),  # beyond 64 bits: the walk decides (and accepts)
    ({"a": "\\u0000 typed, not a NUL"}, False),  # the walk decides (and accepts)
    (_nest(400), False),  # past orjson's own recursion limit
])
def test_the_shortcut_is_sure_only_of_values_the_walk_accepts(value, fast):
    assert _within_bounds(value, 64) is fast
    if fast:
        assert _walk(value, 64) is None
    try:
        check_json(value, "<root>", 64)
        outcome = None
    except JsonRefused as exc:
        outcome = str(exc)
    assert outcome == _walk(value, 64)


def test_random_documents_get_the_walks_answer():
    rng = random.Random(13)
    alphabet = ["a", "é", "\x00", "\ud800", "\\", '"', "[", "{", "]", "}", "\\u0000", " ", "\n"]

    def text():
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))

    def doc(depth):
        roll = rng.random()
        if depth <= 0 or roll < 0.3:
            return rng.choice([text(), rng.randint(-5, 5), 1.5, None, True, NotJson("NaN") if rng.random() < 0.05 else 0])
        if roll < 0.65:
            return {text(): doc(depth - 1) for _ in range(rng.randint(0, 3))}
        return [doc(depth - 1) for _ in range(rng.randint(0, 3))]

    for _ in range(3000):
        value, limit = doc(rng.randint(1, 9)), rng.randint(1, 6)
        if _within_bounds(value, limit):
            assert _walk(value, limit) is None, value
        try:
            check_json(value, "<root>", limit)
            outcome = None
        except JsonRefused as exc:
            outcome = str(exc)
        assert outcome == _walk(value, limit), value
