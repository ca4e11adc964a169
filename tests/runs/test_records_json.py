"""runs.records.json_loads / json_dumps: the fast JSON path keeps the standard library's results."""

import json

import pytest

from runs.records import json_dumps, json_loads


@pytest.mark.parametrize("text", [
    '{"a": 1, "b": [1.5, "é", null, true], "c": {"d": -0.0}}',
    '[123456789012345678901234567890]',  # beyond 64 bits: orjson refuses, the fallback parses
    '"\\ud83d\\ude00"',
    '{"a": 1, "a": 2}',
])
def test_json_loads_equals_the_standard_library(text):
    assert json_loads(text.encode()) == json.loads(text)
    assert json_loads(text) == json.loads(text)


@pytest.mark.parametrize("text, column", [('{"a": 1,', 9), ('{"a": NaN}', 7), ('[1, Infinity]', 5)])
def test_json_loads_refuses_bad_json_and_non_finite_numbers_with_a_position(text, column):
    with pytest.raises(json.JSONDecodeError) as caught:
        json_loads(text.encode())
    assert caught.value.colno == column


def test_json_dumps_round_trips_including_big_integers():
    value = {"a": [1, 2**70, "é\n", None, 1.25], "b": {"c": False}}
    assert json.loads(json_dumps(value)) == value


@pytest.mark.parametrize("text", ['{"id": "run_1234567890123456789", "n": 1}', '{"n": 1.2345678901234567890}',
                                  '{"n": 9223372036854775807, "m": -9223372036854775808}'])
def test_json_loads_with_long_digit_runs_equals_the_standard_library(text):
    assert json_loads(text.encode()) == json.loads(text)
    assert json_loads(text) == json.loads(text)
