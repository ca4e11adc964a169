"""Upstream faults in proxy mode: each one becomes a clear message on the page, reads are retried
(writes only where a repeat is harmless), and what the reviewer typed is still in the form.

Faults are injected into real HTTP traffic to a live Loupe API (tests.proxy.Faults), except the
refused connection, which is real: a port nobody listens on."""

import socket

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

import backends
from backends.eigenpal import EigenpalBackend
from review.models import Review
from review.services import review_update
from runs.services import run_file_store
from tests.factories import make_automation, make_run
from tests.proxy import Faults, install_backend, proxy_settings


@pytest.fixture(params=["feedback", "reviews"])
def generation(request, proxy, settings) -> str:
    """Every fault test runs in both API generations (the upstream Loupe serves only that one)."""
    if request.param == "reviews":
        proxy_settings(settings, proxy, "reviews")
    return request.param


@pytest.fixture
def faults(generation):
    transport, waits = Faults(generation), []
    backend = EigenpalBackend(transport=transport, sleep=waits.append)
    install_backend(backend)
    transport.waits = waits
    yield transport
    backends.reset_backend()


@pytest.fixture
def run(transactional_db):
    return make_run(make_automation())


def verdict(client, run, **fields):
    return client.post(f"/runs/{run.pk}/save/", {"verdict": "fail", "body": "Total is wrong", "version": 0,
                                                 **fields})


def body_of(response) -> str:
    return response.content.decode()


# --- 401 / 403: configuration -----------------------------------------------------------------


def test_unauthorized_names_the_api_key_setting(faults, reviewer_client, run):
    faults.fail("GET", "/api/v1/", 401, always=True)
    response = reviewer_client.get("/queue/")
    assert response.status_code == 502 and "EIGENPAL_API_KEY" in body_of(response)


def test_forbidden_write_names_the_setting_and_keeps_the_note(faults, reviewer_client, run):
    faults.fail("PUT", "/feedback", 403, always=True)
    body = body_of(verdict(reviewer_client, run))
    assert "403 Forbidden" in body and "EIGENPAL_API_KEY" in body and "Total is wrong</textarea>" in body
    assert not Review.objects.filter(run=run).exists()


def test_a_real_wrong_key_is_refused_with_the_setting_named(proxy, generation, settings, reviewer_client, run):
    settings.EIGENPAL_API_KEY = "loupe_not-a-key"
    assert "EIGENPAL_API_KEY" in body_of(reviewer_client.get(f"/runs/{run.pk}/"))


# --- 404 --------------------------------------------------------------------------------------


def test_unknown_run_is_a_404_page(proxy, generation, reviewer_client):
    assert reviewer_client.get("/runs/no-such-run/").status_code == 404


def test_deleting_an_expected_file_that_vanished_says_so(faults, reviewer_client, run):
    faults.fail("DELETE", "/feedback/expected/", 404)
    response = reviewer_client.post(f"/runs/{run.pk}/expected/delete/", {"name": "gone.csv"})
    assert response.status_code == 200 and "Injected 404." in body_of(response)


# --- 413 --------------------------------------------------------------------------------------


def test_upload_refused_as_too_large_says_so_and_keeps_the_name(faults, reviewer_client, run):
    faults.fail("POST", "/feedback/expected", 413)
    upload = SimpleUploadedFile("fixed.csv", b"a,b\n", content_type="text/csv")
    body = body_of(reviewer_client.post(f"/runs/{run.pk}/expected/upload/", {"file": upload, "name": "out/fixed.csv"}))
    assert "too large (413)" in body and 'value="out/fixed.csv"' in body


# --- 429 --------------------------------------------------------------------------------------


def test_rate_limit_with_a_short_retry_after_is_waited_out(faults, reviewer_client, run):
    faults.fail("PUT", "/feedback", (429, {"Retry-After": "2"}))
    response = verdict(reviewer_client, run)
    assert response.status_code == 302 and faults.waits == [2]
    assert Review.objects.get(run=run).body == "Total is wrong"


def test_rate_limit_with_a_long_retry_after_says_when_and_keeps_the_note(faults, reviewer_client, run):
    faults.fail("PUT", "/feedback", (429, {"Retry-After": "120"}), always=True)
    body = body_of(verdict(reviewer_client, run))
    assert "try again in 120 s" in body and "Total is wrong</textarea>" in body and faults.waits == []


# --- 5xx --------------------------------------------------------------------------------------


def test_a_read_that_fails_twice_is_retried_with_backoff(faults, reviewer_client, run, settings):
    faults.fail("GET", f"/runs/{run.pk}", 503, 502)
    response = reviewer_client.get(f"/runs/{run.pk}/")
    assert response.status_code == 200 and len(faults.waits) == 2


def test_persistent_server_errors_keep_the_correction_in_the_editor(faults, reviewer_client, run):
    faults.fail("PUT", "/feedback", 500, always=True)
    response = reviewer_client.post(f"/runs/{run.pk}/save/", {"v:/total": "99.5", "version": 0})
    body = body_of(response)
    assert "failed (HTTP 500)" in body and 'value="99.5"' in body and 'name="v:/total"' in body
    # PUT merges (feedback) or replaces with the whole review (reviews): safe to repeat either way.
    path = f"/api/v1/runs/{run.pk}/feedback" if faults.generation == "feedback" else f"/v1/runs/{run.pk}/reviews"
    assert faults.log.count(f"PUT {path}") == 3


def test_raw_json_correction_is_kept_when_the_save_fails(faults, reviewer_client, run):
    faults.fail("PUT", "/feedback", 503, always=True)
    typed = '{"total": 1, "note": "hand-fixed"}'
    body = body_of(reviewer_client.post(f"/runs/{run.pk}/save/", {"op": "raw", "raw": typed, "version": 0}))
    assert "hand-fixed" in body and "HTTP 503" in body


# --- timeouts ---------------------------------------------------------------------------------


def test_read_timeouts_are_retried_then_explained(faults, reviewer_client, run):
    faults.fail("GET", "/api/v1/runs", httpx.ReadTimeout, always=True)
    response = reviewer_client.get("/queue/")
    assert response.status_code == 502 and "did not answer within" in body_of(response)
    assert len(faults.waits) == 2  # EIGENPAL_MAX_RETRIES


def test_a_rename_that_timed_out_is_not_repeated(faults, reviewer_client, run):
    run_file_store(run_id=run.pk, name="items.csv", role="output", content=b"x\n", content_type="text/csv")
    review_update(run=run, changes={"body": "has files"}, user=None)
    reviewer_client.post(f"/runs/{run.pk}/expected/copy/", {"output_name": "items.csv"})
    faults.fail("PATCH", "/feedback/expected/", httpx.ReadTimeout, always=True)
    body = body_of(reviewer_client.post(f"/runs/{run.pk}/expected/rename/", {"name": "items.csv",
                                                                             "new_name": "fixed.csv"}))
    assert "may or may not have been made" in body
    assert sum(line.startswith("PATCH") for line in faults.log) == 1


def test_htmx_save_failure_still_swaps_in_the_message(faults, reviewer_client, run):
    faults.fail("PUT", "/feedback", 503, always=True)
    response = verdict(reviewer_client, run, **{})
    htmx = reviewer_client.post(f"/runs/{run.pk}/save/", {"verdict": "fail", "body": "Total is wrong",
                                                           "version": 0}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and htmx.status_code == 200 and 'id="backend-error"' in body_of(htmx)


# --- refused connections ----------------------------------------------------------------------


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_refused_connection_on_the_queue_names_the_base_url(proxy, generation, settings, reviewer_client):
    settings.EIGENPAL_BASE_URL = _closed_port()
    response = reviewer_client.get("/queue/")
    assert response.status_code == 502 and "Could not connect" in body_of(response)
    assert "EIGENPAL_BASE_URL" in body_of(response)


def test_refused_connection_on_save_offers_the_note_back(proxy, generation, settings, reviewer_client, run):
    settings.EIGENPAL_BASE_URL = _closed_port()
    response = verdict(reviewer_client, run)
    body = body_of(response)
    assert response.status_code == 502 and 'id="retry-form"' in body and "Total is wrong</textarea>" in body
    assert 'name="verdict" value="fail"' in body
