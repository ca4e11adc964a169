"""Assertions edited one at a time with a form per kind (web/assertions.py, web/forms/assertions.py)."""

import pytest
from django.urls import reverse

from datasets.checks import KINDS, NEEDS_LLM, OPS
from datasets.models import Example
from datasets.services import example_create
from web.forms.assertions import FORMS, OP_CHOICES, form_for


@pytest.fixture
def example(automation):
    return example_create(automation=automation, name="asserted", expected={"total": 10},
                          assertions=[{"path": "total", "condition": {"kind": "number_compare", "op": "gt", "expected": 0}},
                                      {"path": "summary", "condition": {"kind": "llm_judged_as", "expected": "polite"}}])


def _url(name, example, *args):
    return reverse(name, args=[example.automation.ref, example.pk, *args])


def _stored(example):
    return Example.objects.get(pk=example.pk).assertions


def test_every_kind_the_checks_evaluate_has_a_form():
    assert set(FORMS) == KINDS - NEEDS_LLM and {op for op, _ in OP_CHOICES} == set(OPS)


@pytest.mark.parametrize("kind, data, condition", [
    ("exists", {}, {"kind": "exists"}),
    ("equals", {"expected": '"EUR"'}, {"kind": "equals", "expected": "EUR"}),
    ("starts_with", {"expected": "INV-"}, {"kind": "starts_with", "expected": "INV-"}),
    ("matches_regex", {"pattern": "^INV-\\d+$"}, {"kind": "matches_regex", "pattern": "^INV-\\d+$"}),
    ("number_compare", {"op": "gte", "expected": "5"}, {"kind": "number_compare", "op": "gte", "expected": 5}),
    ("between", {"lower": "1", "upper": "2.5", "inclusive": "on"},
     {"kind": "between", "lower": 1.0, "upper": 2.5, "inclusive": True}),
    ("json_schema_valid", {"schema": '{"type": "string"}'}, {"kind": "json_schema_valid", "schema": {"type": "string"}}),
    ("all_items_match", {"condition_json": '{"path": "amount", "kind": "exists"}'},
     {"kind": "all_items_match", "condition": {"path": "amount", "kind": "exists"}}),
])
def test_each_kind_form_builds_the_stored_shape(kind, data, condition):
    form = form_for(kind, {"path": "a.b", "label": "", **data})
    assert form.is_valid(), form.errors
    assert form.to_assertion() == {"path": "a.b", "condition": condition}


@pytest.mark.parametrize("kind, data, field", [
    ("matches_regex", {"pattern": "(unclosed"}, "pattern"),
    ("number_compare", {"op": "gt", "expected": "many"}, "expected"),
    ("number_compare", {"op": "bigger", "expected": "1"}, "op"),
    ("between", {"lower": "5", "upper": "1"}, "upper"),
    ("json_schema_valid", {"schema": '{"type": "nonsense"}'}, "schema"),
    ("equals", {"expected": "{not json"}, "expected"),
    ("object_contains", {"expected": "[1]"}, "expected"),
    ("all_items_match", {"condition_json": '{"path": "x"}'}, "condition_json"),
])
def test_invalid_values_are_refused_on_their_field(kind, data, field):
    form = form_for(kind, {"path": "", **data})
    assert not form.is_valid() and field in form.errors


@pytest.mark.django_db
def test_list_page_shows_each_assertion_with_an_edit_link(reviewer_client, example):
    body = reviewer_client.get(_url("example_assertions", example)).content.decode()
    assert _url("assertion_edit", example, 0) in body and "raw JSON only" in body


@pytest.mark.django_db
def test_adding_an_assertion_appends_it(reviewer_client, example):
    response = reviewer_client.post(_url("assertion_new", example), {"kind": "equals", "path": "currency",
                                                                     "expected": '"EUR"', "label": "euro"})
    assert response.status_code == 302 and _stored(example)[-1] == {
        "path": "currency", "condition": {"kind": "equals", "expected": "EUR"}, "label": "euro"}


@pytest.mark.django_db
def test_invalid_form_rerenders_with_what_was_typed_and_stores_nothing(reviewer_client, example):
    response = reviewer_client.post(_url("assertion_new", example), {"kind": "matches_regex", "path": "ref",
                                                                     "pattern": "(INV-typed"})
    body = response.content.decode()
    assert response.status_code == 200 and 'value="(INV-typed"' in body and "Not a valid regular expression" in body
    assert len(_stored(example)) == 2


@pytest.mark.django_db
def test_editing_replaces_the_assertion_in_place(reviewer_client, example):
    form = reviewer_client.get(_url("assertion_edit", example, 0)).content.decode()
    reviewer_client.post(_url("assertion_edit", example, 0), {"kind": "number_compare", "path": "total", "op": "lt",
                                                              "expected": "100"})
    assert 'value="total"' in form and _stored(example)[0]["condition"] == {"kind": "number_compare", "op": "lt",
                                                                            "expected": 100}


@pytest.mark.django_db
def test_llm_kind_has_no_form_and_points_to_raw_json(reviewer_client, example):
    response = reviewer_client.get(_url("assertion_edit", example, 1), follow=True)
    assert "raw JSON" in response.content.decode()


@pytest.mark.django_db
def test_unknown_kind_on_post_is_a_400_naming_the_field(reviewer_client, example):
    response = reviewer_client.post(_url("assertion_new", example), {"kind": "bigger"})
    assert response.status_code == 400 and response.content.decode().startswith("kind:")


@pytest.mark.django_db
def test_missing_assertion_is_404(reviewer_client, example):
    assert reviewer_client.get(_url("assertion_edit", example, 9)).status_code == 404


@pytest.mark.django_db
def test_removing_an_assertion(reviewer_client, example):
    reviewer_client.post(_url("assertion_delete", example, 0))
    assert [a["condition"]["kind"] for a in _stored(example)] == ["llm_judged_as"]


@pytest.mark.django_db
def test_viewer_may_not_add(client, viewer, example):
    client.force_login(viewer)
    assert client.post(_url("assertion_new", example), {"kind": "exists", "path": "a"}).status_code == 403


def test_proxy_refuses_assertions_with_the_form_kept(backend, reviewer_client, automation):
    made = example_create(automation=automation, name="proxied")
    response = reviewer_client.post(_url("assertion_new", made), {"kind": "exists", "path": "vendor.name"})
    body = response.content.decode()
    if backend != "local":
        assert response.status_code == 200 and "keeps no assertions" in body and 'value="vendor.name"' in body
    else:
        assert response.status_code == 302 and _stored(made)[0]["path"] == "vendor.name"
