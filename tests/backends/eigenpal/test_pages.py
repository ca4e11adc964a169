"""Pages beyond the queue and the review pane in proxy mode."""

from html import unescape

import httpx
import pytest

import backends
from backends.eigenpal import EigenpalBackend
from runs.models import Automation
from tests.factories import make_automation
from tests.proxy import install_backend


def test_sampling_page_says_where_runs_live(proxy, client, ops):
    make_automation("workflows.extract-invoice", name="Extract invoice")
    client.force_login(ops)
    body = client.get("/sampling/").content.decode()
    assert 'id="proxy-note"' in body and "Extract invoice" in body


def _upstream(request: httpx.Request) -> httpx.Response:
    """An upstream that knows an automation Loupe has never seen."""
    if request.url.path == "/api/v1/auth/check":
        return httpx.Response(200, json={"ok": True})
    if request.url.path == "/api/v1/automations":
        return httpx.Response(200, json={"data": [{"id": "wf_9f2", "type": "workflow", "slug": "triage-email",
                                                   "name": "Triage email", "createdAt": "2026-01-01T00:00:00.000Z"}],
                                         "total": 1, "limit": 100, "offset": 0})
    return httpx.Response(404, json={"issues": [], "requestId": "r"})


@pytest.mark.django_db
def test_upstream_automations_get_local_mirror_rows_for_their_rate_history(settings):
    settings.EIGENPAL_BASE_URL, settings.EIGENPAL_API_KEY = "http://upstream.test", "key"
    install_backend(EigenpalBackend(transport=httpx.MockTransport(_upstream)))
    try:
        [mirror] = backends.get_backend().automations()
    finally:
        backends.reset_backend()
    stored = Automation.objects.get(kind="workflow", slug="triage-email")
    assert (mirror.pk, stored.remote_id, stored.rate_changes.count()) == (stored.pk, "wf_9f2", 1)


def test_dot_segments_in_file_keys_never_reach_the_upstream(proxy, reviewer_client):
    from backends.eigenpal.client import metered
    from tests.factories import make_run

    run = make_run(make_automation())
    with metered() as meter:
        response = reviewer_client.get(f"/runs/{run.pk}/files/output/../../../automations/")
    assert response.status_code == 404 and meter.calls == 0


def test_a_run_file_streams_from_the_upstream(proxy, reviewer_client):
    from runs.services import run_file_store
    from tests.factories import make_run

    run = make_run(make_automation())
    run_file_store(run_id=run.pk, name="out/items.csv", role="output", content=b"a,b\n1,2\n", content_type="text/csv")
    body = reviewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert f'href="/runs/{run.pk}/files/output/out/items.csv/"' in body and "<th>a</th>" in body  # preview
    response = reviewer_client.get(f"/runs/{run.pk}/files/output/out/items.csv/")
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"


def test_assertions_are_refused_in_proxy_mode_and_the_input_kept(proxy, client, reviewer):
    from datasets.services import example_create

    example = example_create(automation=make_automation(), name="inv-1", expected={"total": 1})
    client.force_login(reviewer)
    typed = '[{"path": "total", "condition": {"kind": "exists"}}]'
    response = client.post(f"/datasets/{example.automation.ref}/examples/{example.pk}/edit/",
                           {"name": "inv-1", "expected": '{"total": 2}', "metadata": "", "annotation": "",
                            "assertions": typed})
    body = response.content.decode()
    assert response.status_code == 200 and "keeps no assertions" in body and '"exists"' in unescape(body)
    example.refresh_from_db()
    assert example.expected == {"total": 1}
