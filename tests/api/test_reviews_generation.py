"""The reviews generation next to the feedback generation: one review, two wire shapes, the
mapping of docs/api-reviews.md tested both ways, the /v1/ mount, refused parameters, ETags,
the generation switch and the runs list's query budget with the review summary."""

import httpx
import pytest
from django.contrib.auth.models import Group, User
from eigenpal import EigenpalClient

from accounts.models import ApiKey
from review.models import Review
from review.services import review_update
from tests.factories import make_runs


def put_review(api, run, body, **headers):
    return api.put(f"/v1/runs/{run.id}/reviews", body, content_type="application/json", headers=headers)


def put_feedback(api, run, body, **headers):
    return api.put(f"/api/v1/runs/{run.id}/feedback", body, content_type="application/json", headers=headers)


def test_the_api_answers_under_v1_too(api):
    assert api.get("/v1/auth/check").json() == api.get("/api/v1/auth/check").json()


def test_an_unknown_path_under_v1_answers_in_the_envelope(api):
    response = api.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json()["issues"][0]["code"] == "not_found"


@pytest.mark.parametrize("url", ["/api/v1/runs?hasFeedbak=true", "/v1/runs?reviewStatuz=open",
                                 "/api/v1/automations?folder=x", "/api/v1/auth/check?verbose=1"])
def test_an_unknown_query_parameter_is_refused_by_name(api, run, url):
    response = api.get(url)
    name = url.split("?")[1].split("=")[0]
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == name


def test_an_unknown_parameter_on_a_run_is_refused(api, run):
    response = api.get(f"/api/v1/runs/{run.id}/feedback?expand=execution")
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == "expand"


# --- the mapping, both ways -----------------------------------------------------------------


@pytest.mark.parametrize(("rating", "status", "verdict", "review_status"), [
    ("pass", "resolved", "correct", "closed"),
    ("fail", "open", "incorrect", "open"),
    ("partial", "open", "incorrect", "open"),
    (None, "open", None, "open"),
    ("fail", "ignored", "incorrect", "wont_fix"),
])
def test_feedback_written_reads_as_the_review(api, run, rating, status, verdict, review_status):
    put_feedback(api, run, {"rating": rating, "status": status, "body": "b"})
    review = api.get(f"/v1/runs/{run.id}/reviews").json()["review"]
    assert (review["verdict"], review["status"], review["note"], review["loupeRating"]) == (
        verdict, review_status, "b", rating)


@pytest.mark.parametrize(("verdict", "status", "rating", "feedback_status"), [
    ("correct", None, "pass", "resolved"),
    ("incorrect", None, "fail", "open"),
    (None, None, None, "open"),
    ("incorrect", "wont_fix", "fail", "ignored"),
    ("incorrect", "closed", "fail", "resolved"),
])
def test_a_review_written_reads_as_feedback(api, run, verdict, status, rating, feedback_status):
    body = {"verdict": verdict, "note": "n"} | ({"status": status} if status else {})
    put_review(api, run, body)
    feedback = api.get(f"/api/v1/runs/{run.id}/feedback").json()["feedback"]
    assert (feedback["rating"], feedback["status"], feedback["body"]) == (rating, feedback_status, "n")


def test_incorrect_keeps_a_partial_and_correct_replaces_it(api, run):
    put_feedback(api, run, {"rating": "partial", "status": "open"})
    put_review(api, run, {"verdict": "incorrect", "note": "still partly wrong"})
    assert Review.objects.get(run=run).rating == "partial"
    put_review(api, run, {"verdict": "correct"})
    assert Review.objects.get(run=run).rating == "pass"


def test_corrected_output_is_the_feedback_expected(api, run):
    put_review(api, run, {"verdict": "incorrect", "correctedOutput": {**run.output, "total": 1}})
    assert api.get(f"/api/v1/runs/{run.id}/feedback").json()["expected"]["total"] == 1


# --- bad input, races, the switch ---------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"verdict": "maybe"}, "verdict"), ({"status": "resolved"}, "status"), ({"expected": {}}, "expected"),
    ({"corrections": [{"kind": "field", "path": "total", "correctedValue": 1}]}, "corrections[0].path"),
    ({"corrections": {"kind": "field"}}, "corrections"),
])
def test_a_bad_review_body_names_the_field_and_writes_nothing(api, run, body, field):
    response = put_review(api, run, {"note": "kept?", **body})
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == field
    assert not Review.objects.filter(run=run).exists()


def test_feedback_reads_carry_an_etag_and_a_stale_write_gets_412(api, run):
    etag = put_feedback(api, run, {"rating": "fail"})["ETag"]
    put_feedback(api, run, {"body": "newer"}, **{"If-Match": etag})
    stale = put_feedback(api, run, {"rating": "pass"}, **{"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["feedback"]["body"] == "newer"
    assert Review.objects.get(run=run).rating == "fail"


def test_a_stale_delete_is_refused(api, run):
    etag = put_review(api, run, {"verdict": "incorrect"})["ETag"]
    put_review(api, run, {"verdict": "correct"})
    response = api.delete(f"/v1/runs/{run.id}/reviews", headers={"If-Match": etag})
    assert response.status_code == 412 and Review.objects.filter(run=run).exists()


def test_switching_the_feedback_generation_off(api, run, settings):
    settings.LOUPE_API_GENERATIONS = ["reviews"]
    assert api.get(f"/api/v1/runs/{run.id}/feedback").status_code == 404
    assert api.get(f"/v1/runs/{run.id}/reviews").status_code == 200


# --- the runs list ------------------------------------------------------------------------


@pytest.fixture
def reviewed(automation, reviewer):
    runs = make_runs(60, automation)
    for run in runs[:30]:
        review_update(run=run, changes={"rating": "fail", "status": "open", "body": "x",
                                        "expected": {"total": 1}}, user=reviewer)
    return runs


@pytest.mark.parametrize("query", ["", "hasReview=true", "reviewStatus=open", "reviewVerdict=none",
                                   "hasCorrections=true", "reviewNoteContains=x", "sampleRate=0.5", "tag=eu",
                                   "sort=completedAt&order=asc", "reviewClosedBefore=now()"])
@pytest.mark.parametrize("limit", [5, 50])
def test_a_page_with_review_summaries_has_a_fixed_query_budget(api, reviewed, django_assert_num_queries,
                                                               query, limit):
    api.get("/api/v1/auth/check")  # the key's last-used stamp is written once a minute at most
    with django_assert_num_queries(2):  # the key, the page (runs + automation + review joined)
        response = api.get(f"/v1/runs?{query}&limit={limit}")
    assert response.status_code == 200


def test_every_row_has_the_summary(api, reviewed):
    rows = api.get("/v1/runs?limit=100").json()["runs"]
    summaries = [row["execution"]["review"] for row in rows]
    assert summaries.count(None) == 30
    assert {"verdict": "incorrect", "status": "open", "hasNote": True, "correctionCount": 6} in summaries  # 5 keys dropped, total changed


# --- SDK 0.9.1 reads what the reviews generation wrote -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sdk_091_reads_a_review_written_in_the_reviews_generation(live_server):
    from tests.factories import make_automation, make_run

    user = User.objects.create_user("sam", email="sam@example.com", password="pw")
    user.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    key = ApiKey.issue(user=user, name="both")[1]
    run = make_run(make_automation())
    httpx.put(f"{live_server.url}/v1/runs/{run.id}/reviews", headers={"Authorization": f"Bearer {key}"},
              json={"verdict": "incorrect", "status": "wont_fix", "note": "n"}).raise_for_status()
    with EigenpalClient(api_key=key, base_url=live_server.url + "/") as sdk:
        feedback = sdk.runs.feedback.get(run.id).feedback
    assert (feedback.rating, feedback.status, feedback.body) == ("fail", "ignored", "n")




def test_a_review_without_status_reads_open_and_is_listed_as_open(api, run):
    put_feedback(api, run, {"body": "only a note"})
    assert api.get(f"/v1/runs/{run.id}/reviews").json()["review"]["status"] == "open"
    assert [r["id"] for r in api.get("/v1/runs?reviewStatus=open").json()["runs"]] == [run.id]


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/runs/{run}/review"), ("patch", "/api/v1/runs/{run}/review"), ("delete", "/api/v1/runs/{run}/review"),
    ("get", "/api/v1/runs/{run}/expected"), ("get", "/v1/runs/{run}/expected/a.csv"),
])
def test_the_retired_guess_at_the_reviews_generation_is_gone(api, run, method, path):
    """PATCH /runs/{id}/review, /runs/{id}/expected and include=detail: neither SDK calls them."""
    assert getattr(api, method)(path.format(run=run.pk)).status_code == 404
    detail = api.get(f"/api/v1/runs/{run.pk}?include=detail")
    assert detail.status_code == 400 and detail.json()["issues"][0]["field"] == "include"
    assert not [p for p in api.get("/api/v1/openapi.json").json()["paths"] if p.endswith(("/review", "/expected"))
                and "/runs/" in p and "feedback" not in p and "reviews" not in p]
