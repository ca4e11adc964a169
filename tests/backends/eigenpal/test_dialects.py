"""Both API generations: the 0.9 "feedback" one under /api/v1 and today's "reviews" one (SDK
0.20) under /v1. The proxy is driven against a live Loupe serving only the reviews generation
(its feedback routes switched off with LOUPE_API_GENERATIONS=reviews); the probe is driven
against live Loupes and against upstreams answering the shapes it must tell apart."""

import json

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

import backends
from backends.base import Misconfigured
from backends.eigenpal import EigenpalBackend
from backends.eigenpal.client import metered
from backends.eigenpal.reviews import ReviewsMixin
from datasets.models import Example
from review.models import Review
from review.services import review_update, review_verdict
from runs.policy import sampling_rate_set
from runs.sampling import sample_bucket
from tests.factories import make_automation, make_run
from tests.proxy import Faults, install_backend, proxy_settings, service_key
from tests.web.conftest import pane_version


@pytest.fixture
def run(transactional_db):
    return make_run(make_automation())


def _paths(meter) -> str:
    return " ".join(meter.requests)


def test_reviewer_flow_speaks_only_the_reviews_generation(reviews_proxy, reviewer_client, run):
    url = f"/runs/{run.pk}/"
    with metered() as meter:
        form = {"verdict": "fail", "body": "Toner amount"}
        reviewer_client.post(url + "save/", {**form, "version": 0})
        reviewer_client.post(url + "save/", {**form, "v:/total": "99", "version": pane_version(reviewer_client, run.pk)})
        reviewer_client.post(url + "expected/upload/", {"file": SimpleUploadedFile("fixed.csv", b"a\n")})
        reviewer_client.post(url + "save/", {**form, "op": "promote", "example_name": "toner-miss",
                                             "version": pane_version(reviewer_client, run.pk)})
    review = Review.objects.get(run=run)
    assert (review.rating, review.status, review.body, review.expected["total"]) == ("fail", "open", "Toner amount", 99)
    assert [f.name for f in review.expected_files.all()] == ["fixed.csv"]
    assert Example.objects.get(name="toner-miss").expected["total"] == 99
    paths = _paths(meter)
    assert f"PUT {reviews_proxy}/v1/runs/{run.pk}/reviews" in paths
    assert f"POST {reviews_proxy}/v1/runs/{run.pk}/reviews/expected" in paths
    assert f"GET {reviews_proxy}/v1/runs/{run.pk}?expand=execution%2Cinput" in paths
    assert "/feedback" not in paths and "/api/v1/" not in paths


def test_a_verdict_sends_the_whole_review_so_a_correction_and_its_note_survive(reviews_proxy, reviewer_client, run):
    """Another client corrected a field and noted why; a thumbs up through the proxy keeps both."""
    http = httpx.Client(base_url=reviews_proxy, headers={"Authorization": f"Bearer {service_key()}"})
    answer = http.put(f"/v1/runs/{run.pk}/reviews", json={
        "verdict": "incorrect", "note": "first look",
        "corrections": [{"kind": "field", "path": "/total", "correctedValue": 99, "note": "typo in the total"}]})
    assert answer.status_code == 200, answer.text
    reviewer_client.post(f"/runs/{run.pk}/save/", {"verdict": "pass", "body": "first look",
                                                      "version": pane_version(reviewer_client, run.pk)})
    review = http.get(f"/v1/runs/{run.pk}/reviews").json()["review"]
    assert (review["verdict"], review["status"], review["note"]) == ("correct", "closed", "first look")
    assert review["correctedOutput"]["total"] == 99
    assert [(c["path"], c["note"]) for c in review["corrections"]] == [("/total", "typo in the total")]


def test_resolve_and_ignore_close_the_review_with_patch(reviews_proxy, reviewer_client, run):
    reviewer_client.post(f"/runs/{run.pk}/save/", {"verdict": "fail", "version": 0})
    with metered() as meter:
        reviewer_client.post(f"/runs/{run.pk}/save/", {"op": "resolve",
                                                         "version": pane_version(reviewer_client, run.pk)})
    assert Review.objects.get(run=run).status == "resolved"
    assert f"PATCH {reviews_proxy}/v1/runs/{run.pk}/reviews" in _paths(meter)
    reviewer_client.post(f"/runs/{run.pk}/save/", {"op": "ignore",
                                                     "version": pane_version(reviewer_client, run.pk)})
    body = reviewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert Review.objects.get(run=run).status == "ignored" and ">Ignored</span>" in body
    reviewer_client.post(f"/runs/{run.pk}/save/", {"op": "reopen",
                                                     "version": pane_version(reviewer_client, run.pk)})
    assert (Review.objects.get(run=run).rating, Review.objects.get(run=run).status) == ("fail", "open")


def test_a_review_left_empty_is_cleared_with_delete(reviews_proxy, reviewer_client, run):
    reviewer_client.post(f"/runs/{run.pk}/save/", {"body": "look at the date", "version": 0})
    assert Review.objects.filter(run=run).exists()
    with metered() as meter:
        reviewer_client.post(f"/runs/{run.pk}/save/", {"body": "", "version": pane_version(reviewer_client, run.pk)})
    assert f"DELETE {reviews_proxy}/v1/runs/{run.pk}/reviews" in _paths(meter)
    assert not Review.objects.filter(run=run, body__gt="").exists()
    assert reviewer_client.get(f"/runs/{run.pk}/").context["run"].chip == "unreviewed"


def test_partial_is_sent_as_incorrect_and_an_existing_partial_survives_a_whole_review_write(
        reviews_proxy, reviewer_client, reviewer, run):
    reviewer_client.post(f"/runs/{run.pk}/save/", {"verdict": "partial", "version": 0})
    assert (Review.objects.get(run=run).rating, Review.objects.get(run=run).status) == ("fail", "open")
    other = make_run(run.automation)
    review_update(run=other, changes={"rating": "partial", "status": "open"}, user=reviewer)
    assert reviewer_client.get(f"/runs/{other.pk}/").context["run"].review.rating == "partial"  # loupeRating
    reviewer_client.post(f"/runs/{other.pk}/save/", {"verdict": "partial", "body": "two fields off",
                                                        "version": pane_version(reviewer_client, other.pk)})
    assert (Review.objects.get(run=other).rating, Review.objects.get(run=other).body) == ("partial", "two fields off")


def test_a_stale_save_is_refused_by_the_upstreams_version(reviews_proxy, reviewer_client, reviewer, run):
    """The pane was read, then someone saved upstream: If-Match carries the version read, the
    upstream answers 412, and the reviewer sees the conflict with their note kept."""
    reviewer_client.post(f"/runs/{run.pk}/save/", {"verdict": "fail", "version": 0})
    backend = backends.get_backend()
    seen = backend.run(run.pk)  # what the reviewer's pane showed
    review_update(run=run, changes={"body": "saved elsewhere"}, user=reviewer)
    with pytest.raises(Exception) as refused:
        ReviewsMixin.review_update(backend, run=seen, changes={"body": "mine"}, user=reviewer, base_version=None,
                                   action="note")
    assert type(refused.value).__name__ == "ReviewConflict" and refused.value.current.body == "saved elsewhere"
    assert Review.objects.get(run=run).body == "saved elsewhere"


def test_queue_chips_come_from_the_rows_without_lookups(reviews_proxy, reviewer_client, reviewer):
    automation = make_automation()
    runs = {name: make_run(automation) for name in ("unreviewed", "open", "ignored", "passed", "failed")}
    review_verdict(run=runs["open"], verdict="fail", user=reviewer)
    review_update(run=runs["ignored"], changes={"rating": "fail", "status": "ignored"}, user=reviewer)
    review_verdict(run=runs["passed"], verdict="pass", user=reviewer)
    review_update(run=runs["failed"], changes={"rating": "fail", "status": "resolved"}, user=reviewer)
    reviewer_client.get("/queue/?scope=all&chip=all")  # automations mirrored and cached
    with metered() as meter:
        rows = reviewer_client.get("/queue/?scope=all&chip=all").context["page"].rows
    assert {row.id: row.chip for row in rows} == {run.pk: name for name, run in runs.items()}
    assert meter.calls == 1 and "ids=" not in _paths(meter)
    for chip in runs:
        shown = {row.id for row in reviewer_client.get(f"/queue/?scope=all&chip={chip}").context["page"].rows}
        assert shown == {runs[chip].pk}, chip


def test_sampling_follows_sample_rank_under_loupes_rate_rule(reviews_proxy, reviewer_client, ops):
    automation = make_automation(rate_bp=5000)
    runs = [make_run(automation) for _ in range(12)]
    sampled = {r.pk for r in runs if sample_bucket(r.pk) < 5000}
    assert sampled and len(sampled) < len(runs)  # the ids hand out both kinds
    with metered() as meter:
        rows = reviewer_client.get("/queue/").context["page"].rows
    assert {row.id for row in rows} == sampled
    assert all(row.sample_bucket == sample_bucket(row.id) for row in rows)  # sampleRank * 10000
    assert "sampleRate=0.5" in _paths(meter)
    # A run created before a rate change keeps the rate in effect at its creation.
    sampling_rate_set(automation=automation, rate_bp=0, user=ops, reason="enough")
    later = []
    while not any(sample_bucket(r.pk) < 5000 for r in later) and len(later) < 40:  # one the old rate samples
        later.append(make_run(automation, createdAt=timezone.now().isoformat()))
    assert any(sample_bucket(r.pk) < 5000 for r in later)
    rows = {row.id for row in reviewer_client.get("/queue/").context["page"].rows}
    assert rows == sampled


def test_the_promoted_filter_is_refused_not_ignored(reviews_proxy, reviewer_client, run):
    response = reviewer_client.get("/queue/?scope=all&promoted=yes")
    assert "cannot filter runs by promotion" in response.content.decode()


# --- which generation: set and checked, or probed -----------------------------------------------


def test_auto_detects_the_reviews_generation_of_a_loupe_serving_both(live_server, transactional_db, settings, run):
    proxy_settings(settings, live_server.url, "auto")
    with metered() as meter:
        assert backends.get_backend().dialect().name == "reviews"
    # The run was asked for its review at the plural path: a singular /review cannot pass.
    assert f"GET {live_server.url}/v1/runs/{run.pk}/reviews" in _paths(meter)


def test_auto_falls_back_to_feedback_when_reviews_are_switched_off(live_server, transactional_db, settings, run):
    proxy_settings(settings, live_server.url, "auto")
    settings.LOUPE_API_GENERATIONS = ["feedback"]
    assert backends.get_backend().dialect().name == "feedback"


@pytest.mark.parametrize("suffix", ["/api/v1", "/v1", "/nothing-here"])
def test_a_wrong_base_url_says_so_on_the_page(live_server, transactional_db, settings, reviewer_client, suffix):
    proxy_settings(settings, live_server.url + suffix, "auto")
    body = reviewer_client.get("/queue/").content.decode()
    assert "No EigenPal API answers at EIGENPAL_BASE_URL" in body and "root URL" in body


def test_a_set_generation_the_upstream_does_not_serve_says_so(live_server, transactional_db, settings,
                                                               reviewer_client, run):
    proxy_settings(settings, live_server.url, "reviews")
    settings.LOUPE_API_GENERATIONS = ["feedback"]
    response = reviewer_client.get("/queue/")
    assert response.status_code == 502
    assert "EIGENPAL_API_GENERATION=reviews but GET /v1/runs/&lt;id&gt;/reviews is not served there" in (
        response.content.decode())


def _upstream(routes: dict[str, tuple[int, object]]):
    """An upstream answering `routes` (path -> status, JSON) and 404 in the envelope otherwise."""
    def handle(request: httpx.Request) -> httpx.Response:
        status, body = routes.get(request.url.path, (404, {"issues": [], "requestId": "r"}))
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers={"content-type": "text/html"})
        return httpx.Response(status, content=json.dumps(body), headers={"content-type": "application/json"})

    return httpx.MockTransport(handle)


OK = (200, {"ok": True})
ONE_RUN = (200, {"runs": [{"id": "run_1"}], "nextCursor": None})


@pytest.mark.parametrize(("routes", "expected"), [
    ({"/v1/auth/check": OK, "/v1/runs": ONE_RUN, "/v1/runs/run_1/reviews": (200, {"review": None})}, "reviews"),
    # A singular /review route is not the reviews generation; /api/v1 answers: feedback.
    ({"/v1/auth/check": OK, "/v1/runs": ONE_RUN, "/v1/runs/run_1/review": (200, {"review": None}),
      "/api/v1/auth/check": OK}, "feedback"),
    # No runs to ask about: the OpenAPI document's paths decide, matched whole.
    ({"/v1/auth/check": OK, "/v1/runs": (200, {"runs": []}),
      "/v1/openapi.json": (200, {"paths": {"/v1/runs/{id}/review": {}}}), "/api/v1/auth/check": OK}, "feedback"),
    ({"/v1/auth/check": OK, "/v1/runs": (200, {"runs": []}),
      "/v1/openapi.json": (200, {"paths": {"/v1/runs/{runId}/reviews": {}}})}, "reviews"),
    ({"/api/v1/auth/check": OK}, "feedback"),
    # A web page at /v1/auth/check (HTML, 200) is not an API.
    ({"/v1/auth/check": (200, "<html>sign in</html>"), "/api/v1/auth/check": OK}, "feedback"),
])
def test_the_probe_tells_the_generations_apart(settings, routes, expected):
    settings.EIGENPAL_BASE_URL, settings.EIGENPAL_API_KEY, settings.EIGENPAL_API_GENERATION = "http://up", "k", "auto"
    assert EigenpalBackend(transport=_upstream(routes)).dialect().name == expected


def test_the_probe_does_not_guess_past_a_refused_key(settings):
    settings.EIGENPAL_BASE_URL, settings.EIGENPAL_API_KEY, settings.EIGENPAL_API_GENERATION = "http://up", "k", "auto"
    backend = EigenpalBackend(transport=_upstream({"/v1/auth/check": (401, {"issues": [], "requestId": "r"})}))
    with pytest.raises(Misconfigured, match="refused Loupe's API key"):
        backend.dialect()
    assert backend._dialect is None  # asked again next time


def test_a_set_generation_is_checked_once_per_process(settings):
    settings.EIGENPAL_BASE_URL, settings.EIGENPAL_API_KEY = "http://up", "k"
    settings.EIGENPAL_API_GENERATION = "reviews"
    install_backend(EigenpalBackend(transport=_upstream({
        "/v1/auth/check": OK, "/v1/runs": ONE_RUN, "/v1/runs/run_1/reviews": (200, {"review": None})})))
    try:
        with metered() as meter:
            assert backends.get_backend().dialect().name == "reviews"
            assert backends.get_backend().dialect().name == "reviews"
    finally:
        backends.reset_backend()
    assert meter.requests == ["GET http://up/v1/auth/check", "GET http://up/v1/runs?limit=1",
                              "GET http://up/v1/runs/run_1/reviews"]


def test_a_set_generation_with_a_singular_review_route_is_refused(settings):
    settings.EIGENPAL_BASE_URL, settings.EIGENPAL_API_KEY = "http://up", "k"
    settings.EIGENPAL_API_GENERATION = "reviews"
    backend = EigenpalBackend(transport=_upstream({
        "/v1/auth/check": OK, "/v1/runs": ONE_RUN, "/v1/runs/run_1/review": (200, {"review": None})}))
    with pytest.raises(Misconfigured, match="reviews but GET /v1/runs/<id>/reviews is not served there"):
        backend.dialect()


def test_a_close_that_fails_twice_is_retried_and_a_failing_clear_says_so(reviews_proxy, reviewer_client, run):
    reviewer_client.post(f"/runs/{run.pk}/save/", {"verdict": "fail", "version": 0})
    faults = Faults("reviews").fail("PATCH", "/feedback", 503, 502)  # PATCH /v1/runs/:id/reviews
    install_backend(EigenpalBackend(transport=faults, sleep=lambda seconds: None))
    reviewer_client.post(f"/runs/{run.pk}/save/", {"op": "resolve",
                                                     "version": pane_version(reviewer_client, run.pk)})
    assert faults.log.count(f"PATCH /v1/runs/{run.pk}/reviews") == 3 and Review.objects.get(run=run).status == "resolved"
    other = make_run(run.automation)
    reviewer_client.post(f"/runs/{other.pk}/save/", {"body": "look", "version": 0})
    faults.fail("DELETE", "/feedback", 500, always=True)
    response = reviewer_client.post(f"/runs/{other.pk}/save/", {"body": "",
                                                                   "version": pane_version(reviewer_client, other.pk)})
    assert "The EigenPal API failed (HTTP 500)" in response.content.decode()
    assert Review.objects.get(run=other).body == "look"  # nothing cleared
