"""Double review pages (docs/rules.md#double-review): the share on the sampling page, the
second reviewer kept blind (queue, pane, chip filters), the lead's adjudication."""

import json

import pytest
from django.test import Client

from review.double import second_submit, second_take
from review.models import Review
from runs.models import Automation, Run
from runs.services import run_file_store
from tests.conftest import _user
from tests.factories import INVOICE_OUTPUT
from tests.review.double_helpers import double_automation, first_reviewed

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {name: _user(name, "reviewer") for name in ("maya", "sam")} | {"priya": _user("priya", "reviewer", "lead")}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_ops_set_the_share_on_the_sampling_page_and_a_bad_one_is_refused_keeping_the_input(ops):
    automation = double_automation("workflows.page-share", share_bp=0)
    client = _client(ops)
    url = f"/sampling/{automation.ref}/double/"
    bad = client.post(url, {f"double-{automation.pk}-share_percent": "120", f"double-{automation.pk}-reason": "why"})
    assert bad.status_code == 200 and "Ensure this value is less than or equal to 100" in bad.content.decode()
    assert 'value="why"' in bad.content.decode()
    assert Automation.objects.get(pk=automation.pk).double_review_bp == 0
    good = client.post(url, {f"double-{automation.pk}-share_percent": "10", f"double-{automation.pk}-reason": "agree?"})
    assert good.status_code == 302
    assert Automation.objects.get(pk=automation.pk).double_review_bp == 1000
    page = client.get("/sampling/").content.decode()
    assert "double review 10%" in page and 'data-testid="double-share">10%' in page


def test_a_reviewer_cannot_set_the_share(people):
    automation = double_automation("workflows.page-share-role")
    response = _client(people["maya"]).post(f"/sampling/{automation.ref}/double/",
                                            {f"double-{automation.pk}-share_percent": "5",
                                             f"double-{automation.pk}-reason": "x"})
    assert response.status_code == 403


def test_the_second_reviewer_never_sees_the_first_verdict(people):
    automation = double_automation("workflows.page-blind")
    corrected = {**INVOICE_OUTPUT, "total": 999.99}
    run = first_reviewed(automation, people["maya"], verdict="fail", expected=corrected)
    sam = _client(people["sam"])
    # The queue masks the chip, and a verdict-chip filter leaves the run out.
    queue = sam.get(f"/queue/?automation={automation.ref}&chip=all").content.decode()
    row = queue.split(f'<tr data-run="{run.pk}">')[1].split("</tr>")[0]
    assert "Second review pending" in row and "chip-failed" not in row and "Failed" not in row
    assert run.pk not in sam.get(f"/queue/?automation={automation.ref}&chip=failed").content.decode()
    # The pane hides the first review.
    pane = sam.get(f"/runs/{run.pk}/").content.decode()
    assert 'id="first-hidden"' in pane and "999.99" not in pane
    history = sam.get(f"/runs/{run.pk}/history/").content.decode()
    assert 'id="first-hidden"' in history and "rating:" not in history
    # The first reviewer sees it; a lead does not either (anyone may become the second reviewer).
    assert "999.99" in _client(people["maya"]).get(f"/runs/{run.pk}/").content.decode()
    assert 'id="first-hidden"' in _client(people["priya"]).get(f"/runs/{run.pk}/").content.decode()
    # The second-review queue offers it to sam, not to maya.
    assert run.pk in sam.get("/second-reviews/").content.decode()
    assert run.pk not in _client(people["maya"]).get("/second-reviews/").content.decode()
    run_file_store(run_id=run.pk, name="invoice.pdf", role="input", content=b"%PDF-1.4 x", content_type="application/pdf")
    taken = sam.post(f"/second-reviews/{run.pk}/take/")
    assert taken.status_code == 302 and taken["Location"] == f"/second-reviews/{run.pk}/"
    blind = sam.get(taken["Location"]).content.decode()
    assert "999.99" not in blind and "chip-failed" not in blind and "maya" not in blind
    assert str(INVOICE_OUTPUT["total"]) in blind
    assert 'data-testid="second-files"' in blind and "invoice.pdf" in blind


def test_submitting_a_differing_second_review_and_the_lead_deciding(people):
    automation = double_automation("workflows.page-decide")
    run = first_reviewed(automation, people["maya"], verdict="pass")
    sam = _client(people["sam"])
    sam.post(f"/second-reviews/{run.pk}/take/")
    version = Run.objects.get(pk=run.pk).second_review.version
    bad_json = sam.post(f"/second-reviews/{run.pk}/submit/", {"verdict": "fail", "body": "keep me",
                                                              "expected": "{not json", "version": version})
    assert bad_json.status_code == 400 and "keep me" in bad_json.content.decode()
    corrected = {**INVOICE_OUTPUT, "total": 1.5}
    done = sam.post(f"/second-reviews/{run.pk}/submit/", {"verdict": "fail", "body": "total wrong",
                                                          "expected": json.dumps(corrected), "version": version})
    assert done.status_code == 302
    assert Run.objects.get(pk=run.pk).double_review == "disputed"
    assert _client(people["maya"]).get("/adjudication/").status_code == 403
    priya = _client(people["priya"])
    listing = priya.get("/adjudication/").content.decode()
    assert run.pk in listing and "/total" in listing
    page = priya.get(f"/adjudication/{run.pk}/").content.decode()
    assert 'data-testid="side-first"' in page and 'data-testid="side-second"' in page and "total wrong" in page
    second = Run.objects.get(pk=run.pk).second_review
    decided = priya.post(f"/adjudication/{run.pk}/decide/", {"decision": "second", "version": second.version})
    assert decided.status_code == 302
    review = Review.objects.get(run=run)
    assert (review.rating, review.expected) == ("fail", corrected)
    stale = priya.post(f"/adjudication/{run.pk}/decide/", {"decision": "first", "version": second.version})
    assert stale.status_code in (400, 409) and Review.objects.get(run=run).rating == "fail"


def test_sampling_page_reports_agreement(people, ops):
    automation = double_automation("workflows.page-kappa")
    for index in range(12):
        run = first_reviewed(automation, people["maya"], verdict="pass" if index % 3 else "fail")
        second_take(run_id=run.pk, user=people["sam"])
        second_submit(run_id=run.pk, user=people["sam"], verdict="pass" if index % 4 else "fail")
    page = _client(ops).get("/sampling/").content.decode()
    assert 'data-testid="human-kappa"' in page and 'data-testid="human-kappa-interval"' in page


@pytest.mark.parametrize("runs", [1, 6])
def test_the_double_review_pages_read_a_fixed_number_of_queries(people, runs, django_assert_max_num_queries):
    automation = double_automation(f"workflows.page-budget-{runs}")
    disputed = []
    for _ in range(runs):
        run = first_reviewed(automation, people["maya"], verdict="pass")
        disputed.append(run)
    for run in disputed[: runs // 2 + 1]:
        second_take(run_id=run.pk, user=people["sam"])
        second_submit(run_id=run.pk, user=people["sam"], verdict="fail")
    lead = _client(people["priya"])
    # session + user with roles, the queue, the disagreements count
    with django_assert_max_num_queries(4):
        assert lead.get("/second-reviews/").status_code == 200
    with django_assert_max_num_queries(3):
        assert lead.get("/adjudication/").status_code == 200
    with django_assert_max_num_queries(3):
        assert lead.get(f"/adjudication/{disputed[0].pk}/").status_code == 200


def test_the_chip_counts_do_not_give_the_first_verdict_away(people):
    """A run waiting for its blind second review counts as such, not under its first verdict's
    chip (a lone "Failed 1" would tell the second reviewer the first verdict); once the second
    review is in, it counts under its chip again."""
    automation = double_automation("workflows.count-blind")
    run = first_reviewed(automation, people["maya"], verdict="fail", expected={**INVOICE_OUTPUT, "total": 1.0})
    chip = Run.objects.get(pk=run.pk).chip  # what the first review made it (open, failed …)
    assert chip != "unreviewed"
    sam = _client(people["sam"])
    for url in (f"/queue/?automation={automation.ref}&chip=all", "/queue/?chip=all&scope=all"):
        counts = {link["value"]: link["count"] for link in sam.get(url).context["queue"].chip_links()}
        assert counts[chip] == 0 and counts["all"] >= 1, (url, counts)
    second_take(run_id=run.pk, user=people["sam"])
    second_submit(run_id=run.pk, user=people["sam"], verdict="fail")
    counts = {link["value"]: link["count"] for link in
              sam.get(f"/queue/?automation={automation.ref}&chip=all").context["queue"].chip_links()}
    assert counts[chip] == 1 and counts["all"] == 1, counts
