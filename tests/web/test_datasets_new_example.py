"""Creating a dataset example from the dataset page, in both modes, and the pager's total."""

from html import unescape

from django.urls import reverse

from datasets.models import Example
from datasets.services import example_create
from tests.proxy import DECIDED_BEFORE_THE_BACKEND, RENDERED_FROM_WHAT_WAS_READ


def _new(automation):
    return reverse("example_new", args=[automation.ref])


def _data(**overrides):
    data = {"name": "hand-made", "input": '{"customer": "c-7"}', "expected": '{"total": 3}', "metadata": "",
            "annotation": "typed in", "assertions": ""}
    data.update(overrides)
    return data


@RENDERED_FROM_WHAT_WAS_READ
def test_dataset_page_links_to_new_example_for_editors(backend, client, reviewer, automation):
    client.force_login(reviewer)
    assert _new(automation) in client.get(reverse("dataset_detail", args=[automation.ref])).content.decode()


@RENDERED_FROM_WHAT_WAS_READ
def test_new_example_form_renders(backend, client, reviewer, automation):
    client.force_login(reviewer)
    assert b"Create example" in client.get(_new(automation)).content


def test_create_stores_the_example_and_redirects_to_it(backend, client, reviewer, automation):
    client.force_login(reviewer)
    response = client.post(_new(automation), _data())
    made = Example.objects.get(automation=automation, name="hand-made")
    assert (made.input, made.expected, made.annotation) == ({"customer": "c-7"}, {"total": 3}, "typed in")
    assert response.status_code == 302 and str(made.pk) in response["Location"]


@DECIDED_BEFORE_THE_BACKEND
def test_invalid_json_rerenders_with_what_was_typed(backend, client, reviewer, automation):
    client.force_login(reviewer)
    response = client.post(_new(automation), _data(expected='{"total": '))
    assert response.status_code == 200 and '{"total": </textarea>' in unescape(response.content.decode())
    assert not Example.objects.filter(name="hand-made").exists()


def test_a_taken_name_is_refused_on_the_name_field(backend, client, reviewer, automation):
    example_create(automation=automation, name="hand-made")
    client.force_login(reviewer)
    response = client.post(_new(automation), _data())
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert Example.objects.filter(name="hand-made").count() == 1


def test_htmx_create_answers_with_a_client_redirect(client, reviewer, automation):
    client.force_login(reviewer)
    response = client.post(_new(automation), _data(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "HX-Redirect" in response.headers


def test_viewer_may_not_create(client, viewer, automation):
    client.force_login(viewer)
    assert client.post(_new(automation), _data()).status_code == 403


def test_pager_shows_the_dataset_total(client, viewer, automation):
    for n in range(3):
        example_create(automation=automation, name=f"ex-{n}")
    client.force_login(viewer)
    page = client.get(reverse("dataset_detail", args=[automation.ref])).content.decode()
    assert "Page 1 of 1 · 3 examples" in page
