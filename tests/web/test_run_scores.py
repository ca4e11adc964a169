"""The review pane's evaluator scores: recorded with the run at ingest (local), read through the
backend from the upstream's GET {prefix}/runs/{id}/scores in proxy mode (a live Loupe, both API
generations). Loupe's own example checks are not repeated here."""

from django.urls import reverse

from datasets.services import example_promote
from review.services import review_update
from tests.factories import INVOICE_OUTPUT, make_run

SCORES = [{"name": "judge", "passed": False, "source": "llm"}, {"name": "f1", "value": 0.925, "source": "metric"}]


def test_pane_loads_the_scores_and_they_come_from_the_backend(backend, reviewer_client, automation, reviewer):
    run = make_run(automation, scores=SCORES)
    pane = reviewer_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    url = reverse("run_scores", args=[run.pk])
    assert 'id="run-scores"' in pane and f'hx-get="{url}"' in pane
    body = reviewer_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    table = body.split('data-testid="scores"')[1].split("</table>")[0]
    judge = table.split(">judge<")[1].split("</tr>")[0]
    f1 = table.split(">f1<")[1].split("</tr>")[0]
    assert "chip-failed" in judge and "llm" in judge
    assert "0.925" in f1 and "metric" in f1
    assert "hx-get" not in body  # loaded: no second fetch


def test_a_run_without_scores_says_so_and_example_checks_are_not_scores(backend, reviewer_client, automation,
                                                                         reviewer):
    run = make_run(automation)
    review_update(run=run, changes={"rating": "fail", "status": "open", "expected": INVOICE_OUTPUT}, user=reviewer)
    example = example_promote(run=run, name="checked", user=reviewer)
    later = make_run(automation, exampleId=str(example.pk), output=INVOICE_OUTPUT)
    body = reviewer_client.get(reverse("run_scores", args=[later.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="no-scores"' in body and "loupe.example-check" not in body


def test_scores_of_an_unknown_run_are_a_404(backend, reviewer_client, automation):
    response = reviewer_client.get(reverse("run_scores", args=["run_missing"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 404
