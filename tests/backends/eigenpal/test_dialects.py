"""Both API generations: the 0.9 "feedback" one and the newer "reviews" one (verdict
correct/incorrect, status open/closed/wont_fix). Loupe's own API serves both, so the proxy is
driven against a live Loupe speaking each; detection reads the upstream's OpenAPI document."""

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

import backends
from backends.base import Misconfigured
from backends.eigenpal import EigenpalBackend
from backends.eigenpal.client import metered
from datasets.models import Example
from review.models import Review
from tests.factories import make_automation, make_run
from tests.proxy import install_backend
from tests.web.conftest import pane_version
from tests.web.test_queue import CHIP_OF, _runs_in_every_chip


@pytest.fixture
def reviews_proxy(proxy, settings):
    settings.EIGENPAL_API_GENERATION = "reviews"
    return proxy


@pytest.fixture
def run(transactional_db):
    return make_run(make_automation())


def test_reviewer_flow_speaks_the_reviews_generation(reviews_proxy, reviewer_client, run):
    url = f"/runs/{run.pk}/"
    with metered() as meter:
        reviewer_client.post(url + "verdict/", {"verdict": "fail", "body": "Toner amount", "version": 0})
        reviewer_client.post(url + "correct/", {"op": "set", "path": "/total", "value": "99",
                                                "version": pane_version(reviewer_client, run.pk)})
        reviewer_client.post(url + "expected/upload/", {"file": SimpleUploadedFile("fixed.csv", b"a\n")})
        reviewer_client.post(url + "promote/", {"name": "toner-miss"})
    review = Review.objects.get(run=run)
    assert (review.rating, review.status, review.body, review.expected["total"]) == ("fail", "open", "Toner amount", 99)
    assert [f.name for f in review.expected_files.all()] == ["fixed.csv"]
    assert Example.objects.get(name="toner-miss").expected["total"] == 99
    paths = " ".join(meter.requests)
    assert "/review" in paths and f"/runs/{run.pk}/expected" in paths and "/feedback" not in paths


def test_resolve_and_ignore_map_onto_closed_and_wont_fix(reviews_proxy, reviewer_client, run):
    reviewer_client.post(f"/runs/{run.pk}/verdict/", {"verdict": "fail", "version": 0})
    reviewer_client.post(f"/runs/{run.pk}/status/", {"action": "resolve",
                                                     "version": pane_version(reviewer_client, run.pk)})
    assert Review.objects.get(run=run).status == "resolved"
    reviewer_client.post(f"/runs/{run.pk}/status/", {"action": "ignore",
                                                     "version": pane_version(reviewer_client, run.pk)})
    body = reviewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert Review.objects.get(run=run).status == "ignored" and ">Ignored</span>" in body


def test_partial_has_no_word_in_the_reviews_generation_and_reads_back_as_fail(reviews_proxy, reviewer_client, run):
    reviewer_client.post(f"/runs/{run.pk}/verdict/", {"verdict": "partial", "version": 0})
    assert (Review.objects.get(run=run).rating, Review.objects.get(run=run).status) == ("fail", "open")


def test_queue_chips_and_filters_in_the_reviews_generation(reviews_proxy, reviewer_client, reviewer):
    runs = _runs_in_every_chip(make_automation(), reviewer)
    rows = reviewer_client.get("/queue/").context["page"].rows
    assert {row.id: row.chip for row in rows} == {run.pk: CHIP_OF[name] for name, run in runs.items()}
    failed = {row.id for row in reviewer_client.get("/queue/?chip=failed").context["page"].rows}
    assert failed == {runs["failed"].pk, runs["resolved_unrated"].pk}


# --- detection ----------------------------------------------------------------------------------


def test_auto_detects_the_feedback_generation_of_a_loupe_upstream(proxy, settings, reviewer_client, run):
    settings.EIGENPAL_API_GENERATION = "auto"
    reviewer_client.get(f"/runs/{run.pk}/")
    assert backends.get_backend().dialect().name == "feedback"


def _upstream_listing(paths: list[str] | None, status: int = 200):
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/openapi.json":
            if paths is None:
                return httpx.Response(status, json={"issues": [], "requestId": "r"})
            return httpx.Response(200, json={"openapi": "3.1.0", "paths": {p: {} for p in paths}})
        return httpx.Response(404, json={"issues": [], "requestId": "r"})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(("paths", "status", "expected"), [
    (["/api/v1/runs", "/api/v1/runs/{id}/review", "/api/v1/runs/{id}/expected"], 200, "reviews"),
    (["/api/v1/runs", "/api/v1/runs/{id}/feedback"], 200, "feedback"),
    (None, 404, "feedback"),  # no document: the 0.9 contract
])
def test_detection_reads_the_openapi_document(settings, paths, status, expected):
    settings.EIGENPAL_BASE_URL, settings.EIGENPAL_API_KEY, settings.EIGENPAL_API_GENERATION = "http://up", "k", "auto"
    assert EigenpalBackend(transport=_upstream_listing(paths, status)).dialect().name == expected


def test_detection_does_not_guess_past_a_refused_key(settings):
    settings.EIGENPAL_BASE_URL, settings.EIGENPAL_API_KEY, settings.EIGENPAL_API_GENERATION = "http://up", "k", "auto"
    backend = EigenpalBackend(transport=_upstream_listing(None, 401))
    with pytest.raises(Misconfigured):
        backend.dialect()
    assert backend._dialect is None  # asked again next time


def test_the_setting_skips_detection(settings):
    settings.EIGENPAL_BASE_URL, settings.EIGENPAL_API_KEY = "http://up", "k"
    settings.EIGENPAL_API_GENERATION = "reviews"
    install_backend(EigenpalBackend(transport=_upstream_listing([])))
    try:
        with metered() as meter:
            assert backends.get_backend().dialect().name == "reviews"
    finally:
        backends.reset_backend()
    assert meter.calls == 0
