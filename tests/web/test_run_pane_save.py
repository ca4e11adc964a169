"""The workbench's one form: verdict, note, correction and example name in one POST; nothing
typed is lost whichever button is pressed, locally and in proxy mode."""

import pytest
from django.contrib.auth.models import User

from datasets.models import Example
from review.claims import claim_take
from review.models import AuditEvent, Review
from review.services import review_update
from runs.models import Run
from tests.factories import make_run
from tests.proxy import DECIDED_BEFORE_THE_BACKEND

pytestmark = pytest.mark.django_db


def save(client, run, htmx=False, **fields):
    data = {"version": 0, **fields}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/runs/{run.pk}/save/", data, headers=headers)


def review(run) -> Review:
    return Review.objects.get(run=run)


def test_verdict_note_and_correction_are_saved_in_one_request(backend, reviewer_client, run):
    save(reviewer_client, run, verdict="fail", body="Toner amount is wrong", **{"v:/line_items/1/amount": "187"})
    saved = review(run)
    assert (saved.rating, saved.body, saved.expected["line_items"][1]["amount"]) == ("fail", "Toner amount is wrong", 187)


def test_one_save_is_one_history_entry_naming_the_field(reviewer_client, run):
    save(reviewer_client, run, verdict="fail", body="x", **{"v:/line_items/1/amount": "187"})
    assert [e.describe()[-1] for e in AuditEvent.objects.filter(run=run)] == ["fields corrected: /line_items/1/amount"]


def test_an_editor_button_saves_the_typed_note_too(backend, reviewer_client, run):
    save(reviewer_client, run, body="typed before adding a row", op="add:/line_items")
    saved = review(run)
    assert saved.body == "typed before adding a row" and len(saved.expected["line_items"]) == 3


def test_saving_the_note_keeps_a_typed_correction(backend, reviewer_client, run):
    save(reviewer_client, run, body="note first", **{"v:/total": "99.5"})
    assert (review(run).body, review(run).expected["total"]) == ("note first", 99.5)


@DECIDED_BEFORE_THE_BACKEND
def test_a_value_that_does_not_fit_keeps_everything_typed_and_stores_nothing(backend, reviewer_client, run):
    body = save(reviewer_client, run, htmx=True, verdict="fail", body="my note", example_name="typed-name",
                **{"v:/total": "lots", "v:/currency": "USD"}).content.decode()
    assert 'value="lots"' in body and 'value="USD"' in body and "my note</textarea>" in body
    assert 'value="typed-name"' in body and not Review.objects.filter(run=run).exists()


def test_the_field_at_fault_is_named(reviewer_client, run):
    body = save(reviewer_client, run, **{"v:/total": "lots"}).content.decode()
    assert "total: Expected a number" in body and 'aria-invalid="true"' in body


def test_without_javascript_a_save_redirects_back(reviewer_client, run):
    response = save(reviewer_client, run, body="plain post")
    assert response.status_code == 302 and response["Location"].startswith(f"/runs/{run.pk}/")


def test_a_stale_version_refuses_and_keeps_what_was_typed(backend, reviewer_client, run, lead):
    review_update(run=run, changes={"body": "theirs"}, user=lead)
    body = save(reviewer_client, run, body="mine", **{"v:/total": "1.5"}).content.decode()
    assert "Not saved" in body and "mine</textarea>" in body and 'value="1.5"' in body and review(run).body == "theirs"


def test_promote_from_the_pane_saves_the_correction_first(backend, reviewer_client, run):
    save(reviewer_client, run, op="promote", example_name="toner-fix", **{"v:/line_items/1/amount": "187"})
    example = Example.objects.get(name="toner-fix")
    assert example.expected["line_items"][1]["amount"] == 187


def test_promote_without_ground_truth_asks_and_keeps_the_name(reviewer_client, run):
    body = save(reviewer_client, run, op="promote", example_name="kept-name", body="a note").content.decode()
    assert "no ground truth" in body and 'value="kept-name"' in body and not Example.objects.exists()


def test_ignore_an_unreviewed_run(backend, reviewer_client, run):
    save(reviewer_client, run, op="ignore")
    assert Run.objects.get(pk=run.pk).chip == "ignored"


def test_rows_move_and_keys_are_added(reviewer_client, run):
    save(reviewer_client, run, op="up:/line_items/1")
    save(reviewer_client, run, op="key:/vendor", **{"k:/vendor": "iban", "version": 1})
    expected = review(run).expected
    assert expected["line_items"][0]["description"] == "Toner" and expected["vendor"]["iban"] == ""


def test_a_failed_run_gets_an_expected_output_from_the_last_outputs_shape(reviewer_client, run, automation):
    failed = make_run(automation, status="failed", output=None, error="OCR crashed")
    save(reviewer_client, failed, op="start:shape")
    assert review(failed).expected["line_items"] == [] and review(failed).expected["vendor"]["name"] == ""


def test_a_failed_run_offers_both_starting_points(reviewer_client, automation, run):
    failed = make_run(automation, status="failed", output=None, error="OCR crashed")
    body = reviewer_client.get(f"/runs/{failed.pk}/").content.decode()
    assert 'value="start:empty"' in body and 'value="start:shape"' in body


def test_unknown_buttons_are_refused(reviewer_client, run):
    response = save(reviewer_client, run, op="explode:/x")
    assert response.status_code == 200 and "Unknown action" in response.content.decode()


def test_viewers_cannot_save(client, viewer, run):
    client.force_login(viewer)
    assert save(client, run, body="x").status_code == 403


# -- claims ------------------------------------------------------------------------------------


def test_opening_a_run_claims_it(reviewer_client, reviewer, run):
    body = reviewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Claimed by you" in body and claim_take(run_id=run.pk, user=reviewer).mine


def test_the_pane_says_who_holds_a_run(reviewer_client, run):
    claim_take(run_id=run.pk, user=User.objects.create_user("maya"))
    body = reviewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert "maya is working on this run" in body


def test_next_skips_a_run_another_reviewer_holds(reviewer_client, automation):
    newest, held, free = make_run(automation), make_run(automation), make_run(automation)
    claim_take(run_id=held.pk, user=User.objects.create_user("maya"))
    response = reviewer_client.get(f"/runs/{newest.pk}/next/")
    assert response["Location"].startswith(f"/runs/{free.pk}/")


def test_a_pass_releases_the_claim(reviewer_client, reviewer, run):
    reviewer_client.get(f"/runs/{run.pk}/")
    save(reviewer_client, run, verdict="pass")
    assert claim_take(run_id=run.pk, user=User.objects.create_user("sam")).mine


def test_a_fail_keeps_the_claim_while_the_reviewer_corrects(reviewer_client, reviewer, run):
    reviewer_client.get(f"/runs/{run.pk}/")
    save(reviewer_client, run, verdict="fail")
    assert not claim_take(run_id=run.pk, user=User.objects.create_user("sam")).mine


def test_next_does_not_hand_out_a_run_that_left_the_queue_meanwhile(reviewer_client, reviewer, automation):
    from review.claims import claim_next

    done, wanted = make_run(automation), make_run(automation)
    review_update(run=done, changes={"rating": "fail", "status": "open"}, user=reviewer)
    hold = claim_next(candidates=[done.pk, wanted.pk], user=reviewer,
                      still_wanted=lambda run_id: run_id != done.pk)
    assert hold.run_id == wanted.pk and claim_take(run_id=done.pk, user=User.objects.create_user("sam")).mine


def test_claim_renewal_answers_409_naming_the_holder(reviewer_client, run):
    claim_take(run_id=run.pk, user=User.objects.create_user("maya"))
    response = reviewer_client.post(f"/runs/{run.pk}/claim/")
    assert response.status_code == 409 and b"maya" in response.content


def test_leaving_releases_the_claim(reviewer_client, run):
    reviewer_client.get(f"/runs/{run.pk}/")
    reviewer_client.post(f"/runs/{run.pk}/release/")
    assert claim_take(run_id=run.pk, user=User.objects.create_user("sam")).mine
