"""Evaluator scores: recorded with runs at ingest, served as the run's scores, compared with the
human verdicts (insights.agreement, the Evaluators page) and filtered on in the queue."""

import pytest

from insights.agreement import evaluator_agreement
from review.services import review_update
from runs.models import EvaluatorScore, Run
from tests.api.conftest import _client_for
from tests.factories import make_automation, make_run, run_record
from tests.proxy import LOCAL_OR_PROXY

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/ingest/runs"


@pytest.fixture
def ops_api(ops):
    return _client_for(ops)


@pytest.fixture
def judged(reviewer):
    """Six runs: the evaluator 'judge' agrees on four, passes one the human failed and fails one
    the human passed."""
    automation = make_automation()
    cases = [(True, "pass"), (True, "pass"), (False, "fail"), (False, "fail"), (True, "fail"), (False, "pass")]
    runs = []
    for passed, human in cases:
        run = make_run(automation, scores=[{"name": "judge", "passed": passed, "source": "llm"}])
        review_update(run=run, changes={"rating": human}, user=reviewer)
        runs.append(run)
    return automation, runs


def test_ingest_stores_scores_with_the_run(ops_api, automation):
    record = run_record(automation, scores=[{"name": "judge", "value": 0.8, "source": "llm"}])
    ops_api.post(INGEST, record, content_type="application/json")
    score = EvaluatorScore.objects.get(run_id=record["id"])
    assert (score.name, score.value, score.passed, score.source) == ("judge", 0.8, True, "llm")


def test_a_value_passes_when_it_reaches_the_threshold(ops_api, automation):
    record = run_record(automation, scores=[{"name": "f1", "value": 70, "threshold": 80}])
    ops_api.post(INGEST, record, content_type="application/json")
    assert EvaluatorScore.objects.get(run_id=record["id"]).passed is False


def test_a_repeat_with_scores_replaces_them(ops_api, automation):
    record = run_record(automation, scores=[{"name": "a", "passed": True}])
    ops_api.post(INGEST, record, content_type="application/json")
    ops_api.post(INGEST, {**record, "scores": [{"name": "b", "passed": False}]}, content_type="application/json")
    assert list(EvaluatorScore.objects.filter(run_id=record["id"]).values_list("name", flat=True)) == ["b"]


@pytest.mark.parametrize("scores, field", [
    ([{"value": 1}], "scores.0.name"), ([{"name": "a", "value": "high"}], "scores.0.value"),
    ([{"name": "a"}], "scores.0"), ([{"name": "a", "passed": "yes"}], "scores.0.passed"),
    ([{"name": "a", "value": 1}, {"name": "a", "value": 0}], "scores"), ("judge", "scores"),
])
def test_bad_scores_are_rejected_naming_the_field_and_store_nothing(ops_api, automation, scores, field):
    record = run_record(automation, scores=scores)
    body = ops_api.post(INGEST, [record], content_type="application/json").json()
    assert body["issues"][0]["field"].startswith(f"0.{field}") and not Run.objects.filter(pk=record["id"]).exists()


def test_api_serves_evaluator_scores_as_the_run_scores(ops_api, judged):
    _, runs = judged
    scores = ops_api.get(f"/api/v1/runs/{runs[4].pk}/scores").json()["scores"]
    assert [(s["evaluatorName"], s["evaluatorType"], s["passed"]) for s in scores] == [("judge", "llm", True)]


def test_agreement_table_counts_each_cell(judged):
    automation, _ = judged
    row = evaluator_agreement([automation])[0]
    assert (row.table.both_pass, row.table.human_pass_eval_fail, row.table.human_fail_eval_pass,
            row.table.both_fail) == (2, 1, 1, 2)


def test_agreement_and_kappa(judged):
    automation, _ = judged
    table = evaluator_agreement([automation])[0].table
    assert (round(table.agreement, 4), round(table.kappa, 4)) == (0.6667, 0.3333)


def test_evaluators_page_shows_the_table(client, lead, judged):
    client.force_login(lead)
    page = client.get("/evaluators/").content.decode()
    assert 'data-testid="kappa">0.33<' in page and "disagreement=evaluator_passed_human_failed" in page


def test_evaluators_page_without_scores_says_how_to_send_them(client, lead):
    client.force_login(lead)
    assert b"Send scores with runs at ingest" in client.get("/evaluators/").content


@pytest.mark.parametrize("choice, index", [("evaluator_passed_human_failed", 4), ("evaluator_failed_human_passed", 5)])
def test_queue_filters_disagreements(client, lead, judged, choice, index):
    _, runs = judged
    client.force_login(lead)
    page = client.get("/queue/", {"disagreement": choice, "scope": "all", "chip": "all"}).content.decode()
    shown = [run.pk for run in runs if run.pk in page]
    assert shown == [runs[index].pk]


def test_queue_drops_an_unknown_disagreement_choice(client, lead, judged):
    _, runs = judged
    client.force_login(lead)
    page = client.get("/queue/", {"disagreement": "sometimes", "scope": "all", "chip": "all"}).content.decode()
    assert all(run.pk in page for run in runs)


def test_demo_judge_scores_disagree_with_the_truth_sometimes():
    from demo.generate import demo_runs

    runs = [r for r in demo_runs(count=600, files_ratio=0) if r.record.get("scores")]
    misses = sum(1 for r in runs if r.flaw and r.record["scores"][0]["value"] >= 0.5)
    false_alarms = sum(1 for r in runs if not r.flaw and r.record["scores"][0]["value"] < 0.5)
    assert misses > 0 and false_alarms > 0 and misses + false_alarms < len(runs) / 4


@LOCAL_OR_PROXY
def test_queue_shows_the_disagreement_filter_only_where_scores_are_kept(backend, client, lead, automation):
    client.force_login(lead)
    shown = 'id="id_disagreement"' in client.get("/queue/").content.decode()
    assert shown == (backend == "local")
