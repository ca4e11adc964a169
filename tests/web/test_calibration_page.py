"""The calibration page (web/calibration.py) and the sampling page with strata read rollups: a
fixed number of queries whatever the number of runs; what a record names is escaped."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from review.services import review_verdict
from runs.policy import sampling_policy_set
from tests.factories import make_automation, make_runs
from tests.proxy import LOCAL_OR_PROXY

pytestmark = pytest.mark.django_db
STRATA = [{"name": "unsure", "when": {"kind": "low_confidence", "level": "low"}, "rate": 100}]


def _data(automation, reviewer, count: int) -> None:
    later = timezone.now() + timedelta(minutes=1)
    for i in range(count):
        run = make_runs(1, automation, fieldMetadata={"/total": "low" if i % 2 else "high",
                                                      '/vendor/name': 0.1 * (i % 10)},
                        createdAt=(later + timedelta(seconds=i)).isoformat())[0]
        review_verdict(run=run, verdict="pass", user=reviewer)


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_the_pages_read_a_fixed_number_of_queries(client, ops, reviewer):
    automation = make_automation("workflows.cal", rate_bp=1000)
    sampling_policy_set(automation=automation, user=ops, reason="risk", strata=STRATA)
    client.force_login(ops)
    _data(automation, reviewer, 4)
    few = {url: len(_queries(client, url)) for url in ("/sampling/", f"/sampling/{automation.ref}/calibration/")}
    _data(automation, reviewer, 30)
    many = {url: _queries(client, url) for url in few}
    assert {url: len(sql) for url, sql in many.items()} == few
    assert few[f"/sampling/{automation.ref}/calibration/"] <= 4
    # The strata's traffic comes from the per-stratum daily counts, not from grouping the runs.
    assert not [sql for sql in many["/sampling/"] if 'FROM "runs_run"' in sql and 'GROUP BY' in sql
                and '"stratum"' in sql and "CASE WHEN" not in sql]


def test_the_page_escapes_field_paths_and_links_from_sampling(client, viewer, reviewer):
    automation = make_automation("workflows.cal2")
    run = make_runs(1, automation, output={"<i>x": 1}, fieldMetadata={"/<i>x": "high"})[0]
    review_verdict(run=run, verdict="pass", user=reviewer)
    client.force_login(viewer)
    assert f'/sampling/{automation.ref}/calibration/' in client.get("/sampling/").content.decode()
    page = client.get(f"/sampling/{automation.ref}/calibration/").content.decode()
    assert "/&lt;i&gt;x" in page and "<i>x" not in page
    assert client.get("/sampling/workflows.nope/calibration/").status_code == 404


@LOCAL_OR_PROXY
def test_in_proxy_mode_the_page_says_it_needs_local_runs(backend, client, lead, automation):
    client.force_login(lead)
    response = client.get(f"/sampling/{automation.ref}/calibration/")
    page = response.content.decode()
    assert response.status_code == 200
    assert ('id="needs-local"' in page) == (backend != "local")
    assert ('data-testid="calibration-empty"' in page) == (backend == "local")
