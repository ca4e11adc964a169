"""The review pane's steps timeline: loaded after the pane (htmx), like the evaluator scores, so
the pane itself does not read them; the fragment shows them in order, a failed step open."""

import pytest
from django.urls import reverse

from tests.factories import make_run

pytestmark = pytest.mark.django_db

STEPS = [{"name": "ocr", "type": "tool", "status": "completed", "output": {"pages": 1}},
         {"name": "extract fields", "type": "llm", "status": "failed", "error": "Timeout after 30 s"},
         {"name": "store result", "type": "tool", "status": "skipped"}]


def test_the_pane_loads_the_steps_after_it_is_shown(reviewer_client, automation):
    run = make_run(automation, status="failed", output=None, error="Timeout after 30 s", steps=STEPS)
    pane = reviewer_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    url = reverse("run_steps", args=[run.pk])
    assert f'hx-get="{url}"' in pane and "extract fields" not in pane
    body = reviewer_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    names = [body.index(f"<span class=\"step-name\">{name}</span>") for name in ("ocr", "extract fields", "store result")]
    assert names == sorted(names) and "failed at “extract fields”" in body
    assert "Timeout after 30 s" in body and "hx-get" not in body  # loaded: no second fetch


def test_a_run_without_steps_says_so(reviewer_client, automation):
    run = make_run(automation)
    body = reviewer_client.get(reverse("run_steps", args=[run.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "This run reported no steps." in body


def test_steps_of_an_unknown_run_are_a_404(reviewer_client, automation):
    response = reviewer_client.get(reverse("run_steps", args=["run_missing"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 404


def test_the_steps_fragment_costs_a_fixed_number_of_queries(reviewer_client, automation, django_assert_num_queries):
    run = make_run(automation, steps=STEPS * 10)
    # session, user, the run (one join) and its files (backend.run, which also answers the 404),
    # its steps: the same however many steps
    with django_assert_num_queries(5):
        assert reviewer_client.get(reverse("run_steps", args=[run.pk]), HTTP_HX_REQUEST="true").status_code == 200
