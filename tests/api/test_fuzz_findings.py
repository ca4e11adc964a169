"""The kinds of server error API fuzzing found (tests/api/test_fuzz.py explores the same ground
at random), pinned as plain requests: each answers a 4xx, never a 500."""

import pytest

from tests.factories import make_run

URLS = [
    "/api/v1/runs?offset=99999999999999999999999",
    "/api/v1/runs?limit=99999999999999999999999",
    "/api/v1/runs?createdAfter=0001-01-01T00:00:00%2B05:00",
    "/api/v1/runs?createdAfter=99999-01-01",
    "/api/v1/runs?createdBefore=-99999999999d",
    "/api/v1/runs?automationId=a%00b",
    "/api/v1/runs?status=%00",
    "/api/v1/runs/a%00b",
    "/api/v1/runs/a%00b/feedback",
    "/api/v1/automations/a%00b",
    "/api/v1/automations/workflows.extract-invoice/examples?offset=99999999999999999999",
    "/api/v1/automations/workflows.extract-invoice/examples?search=%00",
    "/api/v1/automations/workflows.extract-invoice/examples/%00",
    "/api/v1/runs?cursor=%00",
    "/api/v1/runs?cursor=eyJ4Ijox",
    "/api/v1/runs?rating=%C2%B2",
    "/api/v1/runs?limit=%C2%B2",
    "/api/v1/runs?offset=%C2%B2",
]

@pytest.mark.parametrize("url", URLS)
def test_odd_query_and_path_values_are_not_server_errors(api, automation, url):
    make_run(automation)
    r = api.get(url)
    assert r.status_code < 500, (url, r.status_code)

BODIES = [
    ("put", "/api/v1/runs/{run}/feedback", '{"status": {}}'),
    ("put", "/api/v1/runs/{run}/feedback", '{"rating": {}}'),
    ("put", "/api/v1/runs/{run}/feedback", '{"note": []}'),
    ("post", "/api/v1/automations/workflows.extract-invoice/examples", '{"name": {}}'),
    ("post", "/api/v1/automations/workflows.extract-invoice/examples", '{"name": "\\ud800"}'),
    ("post", "/api/v1/automations/workflows.extract-invoice/examples", '{"rowOrder": 99999999999999999999999}'),
    ("post", "/api/v1/runs/{run}/promote", '{"name": {}}'),
    ("post", "/api/v1/runs/{run}/promote", '{"name": "\\ud800"}'),
    ("post", "/api/v1/runs/{run}/promote", '{"exampleName": 5}'),
]

@pytest.mark.parametrize("method, url, body", BODIES)
def test_odd_bodies_are_not_server_errors(api, automation, method, url, body):
    run = make_run(automation)
    r = getattr(api, method)(url.format(run=run.pk), body, content_type="application/json")
    assert r.status_code < 500, (url, body, r.status_code, r.content[:200])


PAGES = ["/queue/?automation=%00", "/queue/?q=%00", "/queue/?page=99999999999999999999999", "/queue/?page=%C2%B2",
         "/runs/a%00b/", "/runs/%C2%B2/", "/datasets/%00/", "/datasets/workflows.extract-invoice/examples/%C2%B2/",
         "/datasets/workflows.extract-invoice/examples/99999999999999999999999/", "/backlog/?automation=%00",
         "/backlog/?days=99999999999999999999", "/sampling/?automation=%00",
         "/queue/?from=99999-01-01", "/queue/?created_after=0001-01-01T00:00:00%2B05:00"]


@pytest.mark.parametrize("url", PAGES)
def test_odd_page_urls_are_not_server_errors(reviewer_client, automation, url):
    make_run(automation)
    response = reviewer_client.get(url)
    assert response.status_code < 500, (url, response.status_code)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_nul_in_a_page_form_is_a_400_not_a_500(reviewer_client, automation, encoding):
    from urllib.parse import urlencode

    from review.models import Review

    run = make_run(automation)
    data = {"body": "a\x00b", "version": "0"}
    if encoding == "urlencoded":
        response = reviewer_client.post(f"/runs/{run.pk}/save/", urlencode(data),
                                        content_type="application/x-www-form-urlencoded")
    else:
        response = reviewer_client.post(f"/runs/{run.pk}/save/", data)
    assert response.status_code == 400 and b"body" in response.content
    assert not Review.objects.filter(run=run, body__contains="a").exists()
