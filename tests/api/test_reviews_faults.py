"""Review writes with values of the wrong JSON type (an object, a list, a number, a boolean) in a
field that takes a word: a 400 naming the field, never a 500 (issue 17, item 7). Every review
write route of both API generations: reviews PUT/PATCH (SDK 0.20) and feedback PUT (SDK 0.9)."""

import json

import pytest

from review.models import Review

ODD = [{"a": 1}, ["correct"], [], {}, 3, True]

CASES = [
    ("put", "/v1/runs/{id}/reviews", "verdict"),
    ("put", "/v1/runs/{id}/reviews", "status"),
    ("patch", "/v1/runs/{id}/reviews", "status"),
    ("put", "/api/v1/runs/{id}/feedback", "rating"),
    ("put", "/api/v1/runs/{id}/feedback", "status"),
    ("put", "/api/v1/runs/{id}/feedback", "body"),
]


@pytest.mark.parametrize("method, url, field", CASES)
@pytest.mark.parametrize("value", ODD, ids=lambda v: type(v).__name__ + str(len(v) if hasattr(v, "__len__") else v))
def test_a_wrongly_typed_word_is_a_400_naming_the_field(api, run, method, url, field, value):
    if method == "patch" and url.endswith("/reviews"):
        api.put(f"/v1/runs/{run.pk}/reviews", {"verdict": "correct"}, content_type="application/json")
    before = list(Review.objects.values_list("version", "rating", "status", "body"))
    response = getattr(api, method)(url.format(id=run.pk), json.dumps({field: value}),
                                    content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["issues"][0]["field"] == field
    assert list(Review.objects.values_list("version", "rating", "status", "body")) == before
