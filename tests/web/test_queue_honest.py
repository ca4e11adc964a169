"""An honest queue: lands on the unreviewed work, counts say what they count, run-id search by
prefix in any case over every run, and rows say who is working on a run."""

import pytest
from django.contrib.auth.models import User

from review.claims import claim_take
from review.services import review_verdict
from tests.factories import make_automation, make_run

pytestmark = pytest.mark.django_db


def ids(response) -> set[str]:
    return {row.id for row in response.context["page"].rows}


def test_an_automation_opens_on_its_unreviewed_runs(reviewer_client, automation, reviewer):
    done, todo = make_run(automation), make_run(automation)
    review_verdict(run=done, verdict="pass", user=reviewer)
    assert ids(reviewer_client.get(f"/queue/?automation={automation.ref}")) == {todo.pk}


def test_all_is_one_click_away(reviewer_client, automation, reviewer):
    done, todo = make_run(automation), make_run(automation)
    review_verdict(run=done, verdict="pass", user=reviewer)
    assert ids(reviewer_client.get(f"/queue/?automation={automation.ref}&chip=all")) == {done.pk, todo.pk}


def test_run_id_search_is_by_prefix_in_any_case(reviewer_client, automation):
    wanted = make_run(automation, id="run_ABC123def")
    make_run(automation, id="run_zzz")
    assert ids(reviewer_client.get("/queue/?q=RUN_abc")) == {wanted.pk}


def test_run_id_search_finds_unsampled_and_reviewed_runs(reviewer_client, reviewer):
    unsampled = make_run(make_automation("workflows.rare", rate_bp=0), id="run_rare_1")
    review_verdict(run=unsampled, verdict="pass", user=reviewer)
    assert ids(reviewer_client.get("/queue/?q=run_rare")) == {unsampled.pk}


def test_counts_say_which_filters_they_do_not_follow(reviewer_client, automation):
    make_run(automation)
    body = reviewer_client.get(f"/queue/?automation={automation.ref}&status=failed").content.decode()
    assert 'id="counts-note"' in body and "run status filter" in body


def test_counts_without_other_filters_need_no_note(reviewer_client, automation):
    make_run(automation)
    assert 'id="counts-note"' not in reviewer_client.get(f"/queue/?automation={automation.ref}").content.decode()


def test_a_row_names_who_is_working_on_it(reviewer_client, automation):
    run = make_run(automation)
    claim_take(run_id=run.pk, user=User.objects.create_user("maya"))
    assert 'class="claim claim-other" title="Being reviewed">maya</span>' in reviewer_client.get("/queue/").content.decode()
