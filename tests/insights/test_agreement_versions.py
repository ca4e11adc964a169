"""Evaluator agreement by run version (insights.agreement, the Evaluators page), and the page in
proxy mode, which says plainly that agreement needs local runs."""

import pytest

from insights.agreement import evaluator_agreement
from review.services import review_update
from tests.factories import make_automation, make_run
from tests.proxy import LOCAL_OR_PROXY

# (run version, evaluator passed, human verdict): v1 agrees on 2 of 4, v2 on all 4.
CASES = [("v1", True, "pass"), ("v1", True, "fail"), ("v1", False, "pass"), ("v1", False, "fail"),
         ("v2", True, "pass"), ("v2", True, "pass"), ("v2", False, "fail"), ("v2", False, "fail")]


@pytest.fixture
def by_version(reviewer):
    automation = make_automation()
    for version, passed, human in CASES:
        run = make_run(automation, version=version, scores=[{"name": "judge", "passed": passed, "source": "llm"}])
        review_update(run=run, changes={"rating": human}, user=reviewer)
    unversioned = make_run(automation, version=None, scores=[{"name": "judge", "passed": True}])
    review_update(run=unversioned, changes={"rating": "fail"}, user=reviewer)
    return automation


@pytest.mark.django_db
def test_agreement_breaks_down_by_version_and_sums_to_the_whole(by_version):
    [row] = evaluator_agreement([by_version])
    tables = {v.version: v.table for v in row.versions}
    assert list(tables) == ["v1", "v2", None]
    assert (tables["v1"].n, tables["v1"].agreement, tables["v1"].kappa) == (4, 0.5, 0.0)
    assert (tables["v2"].n, tables["v2"].agreement, tables["v2"].kappa) == (4, 1.0, 1.0)
    assert tables[None].human_fail_eval_pass == 1
    assert row.table.n == 9 and row.table.human_fail_eval_pass == 2 and row.table.human_pass_eval_fail == 1


@pytest.mark.django_db
def test_evaluators_page_shows_a_row_per_version(client, lead, by_version):
    client.force_login(lead)
    page = client.get("/evaluators/").content.decode()
    table = page.split('data-testid="by-version"')[1].split("</table>")[0]
    v1 = table.split('data-version="v1"')[1].split("</tr>")[0]
    v2 = table.split('data-version="v2"')[1].split("</tr>")[0]
    assert 'data-testid="agreement">50' in v1 and 'data-testid="kappa">0.00' in v1
    assert 'data-testid="agreement">100' in v2 and 'data-testid="kappa">1.00' in v2
    assert "(none)" in table


@LOCAL_OR_PROXY
def test_evaluators_page_in_proxy_mode_says_it_needs_local_runs(backend, client, lead, automation):
    make_run(automation, version="v1", scores=[{"name": "judge", "passed": True}])
    client.force_login(lead)
    response = client.get("/evaluators/")
    page = response.content.decode()
    assert response.status_code == 200
    assert ('id="needs-local"' in page) == (backend != "local")
    if backend != "local":
        assert "needs local runs" in page and 'data-testid="by-version"' not in page
