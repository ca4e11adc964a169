"""Date-time query parameters: a well-formed but impossible date-time, or one out of range, is a
400 naming the parameter on the runs list (both API generations) and the reviews health route;
never a 500."""

import pytest

from tests.factories import make_automation

BAD = ["2026-13-01T00:00", "2026-02-30T00:00:00Z", "2026-01-01T25:00", "2026-01-01T00:00+99:00",
       "0001-01-01T00:00", "now()-99999999999d", "9999-12-31T23:59"]


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["/api/v1", "/v1"])
@pytest.mark.parametrize("name", ["from", "createdBefore", "completedAfter"])
@pytest.mark.parametrize("raw", BAD)
def test_runs_list_refuses_an_impossible_time_naming_it(api, prefix, name, raw):
    response = api.get(f"{prefix}/runs", {name: raw})
    assert response.status_code == 400, response.content
    assert name in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("raw", BAD)
def test_reviews_health_refuses_an_impossible_time_naming_it(api, name, raw):
    automation = make_automation()
    response = api.get(f"/v1/automations/{automation.pk}/reviews/health", {name: raw})
    assert response.status_code == 400, response.content
    assert name in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["/api/v1", "/v1"])
def test_a_valid_time_still_works(api, prefix):
    assert api.get(f"{prefix}/runs", {"from": "2026-02-28T00:00:00Z", "to": "now()"}).status_code == 200
