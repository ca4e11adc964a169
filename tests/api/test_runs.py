"""Runs list (filters, both paginations, fixed query counts), run detail, artifacts, scores."""

from datetime import timedelta

import pytest
from django.utils import timezone

from datasets.services import example_promote
from review.services import expected_file_upload, review_update
from tests.factories import make_automation, make_run, make_runs


def ids(response) -> list[str]:
    return [r["id"] for r in response.json()["runs"]]


@pytest.fixture
def reviewed(automation, reviewer):
    """Twelve runs: four unreviewed, then open/fail, resolved/pass, ignored, partial, promoted, no-rating."""
    runs = sorted(make_runs(12, automation), key=lambda r: (r.created_at, r.id), reverse=True)
    review_update(run=runs[4], changes={"rating": "fail", "status": "open", "expected": {"total": 1}}, user=reviewer)
    review_update(run=runs[5], changes={"rating": "pass", "status": "resolved"}, user=reviewer)
    review_update(run=runs[6], changes={"status": "ignored"}, user=reviewer)
    review_update(run=runs[7], changes={"rating": "partial", "status": "open"}, user=reviewer)
    review_update(run=runs[8], changes={"rating": "fail", "status": "resolved"}, user=reviewer)
    example_promote(run=runs[8], name="promoted", user=reviewer)
    review_update(run=runs[9], changes={"body": "a note only"}, user=reviewer)
    return runs


FEEDBACK_CASES = [
    ("hasFeedback=true", [4, 5, 6, 7, 8, 9]),
    ("hasFeedback=1", [4, 5, 6, 7, 8, 9]),
    ("noFeedback=true", [0, 1, 2, 3, 10, 11]),
    ("hasFeedback=false", [0, 1, 2, 3, 10, 11]),
    ("feedbackStatus=open", [4, 7]),
    ("feedbackStatus=resolved", [5, 8]),
    ("feedbackStatus=ignored", [6]),
    ("feedbackRating=fail", [4, 8]),
    ("feedbackRating=partial", [7]),
    ("feedbackRating=none", [6, 9]),
    ("hasExpected=true", [4]),
    ("promotedToExample=true", [8]),
    ("feedbackStatus=open&feedbackRating=partial", [7]),
    ("feedback_status=open", [4, 7]),
]


@pytest.mark.parametrize(("query", "expected"), FEEDBACK_CASES)
def test_each_feedback_filter_selects_its_runs(api, reviewed, query, expected):
    response = api.get(f"/api/v1/runs?{query}&limit=100")
    assert ids(response) == [reviewed[i].id for i in expected]


def test_feedback_filters_page_by_offset_with_no_cursor(api, reviewed):
    first = api.get("/api/v1/runs?hasFeedback=true&limit=4").json()
    second = api.get("/api/v1/runs?hasFeedback=true&limit=4&offset=4&cursor=ignored").json()
    assert first["nextCursor"] is None and [r["id"] for r in first["runs"] + second["runs"]] == \
        [reviewed[i].id for i in (4, 5, 6, 7, 8, 9)]


def test_cursor_pages_are_newest_first_without_overlap(api, reviewed):
    first = api.get("/api/v1/runs?limit=5").json()
    second = api.get(f"/api/v1/runs?limit=5&cursor={first['nextCursor']}").json()
    third = api.get(f"/api/v1/runs?limit=5&cursor={second['nextCursor']}").json()
    assert [r["id"] for r in first["runs"] + second["runs"] + third["runs"]] == [r.id for r in reviewed]
    assert third["nextCursor"] is None


def test_an_empty_cursor_counts_as_absent(api, reviewed):
    assert ids(api.get("/api/v1/runs?cursor=&limit=2")) == [reviewed[0].id, reviewed[1].id]


def test_a_forged_cursor_is_a_400(api, db):
    response = api.get("/api/v1/runs?cursor=garbage")
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == "cursor"


def test_a_limit_over_100_is_a_400(api, db):
    assert api.get("/api/v1/runs?limit=101").json()["issues"][0]["field"] == "limit"


def test_since_last_resolved_keeps_runs_created_after_the_latest_resolution(api, automation, reviewer):
    old = make_run(automation, createdAt=(timezone.now() - timedelta(days=3)).isoformat())
    review_update(run=old, changes={"rating": "pass", "status": "resolved"}, user=reviewer)
    newer = make_run(automation, createdAt=(timezone.now() + timedelta(minutes=1)).isoformat())
    assert ids(api.get("/api/v1/runs?sinceLastResolved=true")) == [newer.id]


def test_run_filters_with_snake_case_aliases_and_repeated_keys(api, automation):
    other = make_automation("agents.triage")
    failed = make_run(automation, status="failed", trigger="cron", triggeredBy="ops@example.com", batchId="b1",
                      exampleId="ex-17", version="v9")
    make_run(other, status="cancelled")
    make_run(automation)
    assert ids(api.get("/api/v1/runs?status=failed&status=rejected")) == [failed.id]
    for query in ("trigger=cron", "triggered_by=ops@example.com", "batch_id=b1", "exampleIdContains=x-1",
                  "source_ref=v9", f"ids={failed.id},nope", "type=workflow&status=failed,cancelled",
                  f"source={automation.pk}&status=failed", "source=workflows.extract-invoice&status=failed"):
        assert ids(api.get(f"/api/v1/runs?{query}")) == [failed.id], query


def test_time_filters_accept_iso_and_relative_times(api, automation):
    old = make_run(automation, createdAt=(timezone.now() - timedelta(days=10)).isoformat())
    recent = make_run(automation)
    assert ids(api.get("/api/v1/runs?from=now()-7d")) == [recent.id]
    before = (timezone.now() - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(api.get(f"/api/v1/runs?created_before={before}")) == [old.id]


def test_an_unknown_status_is_a_400_naming_it(api, db):
    assert api.get("/api/v1/runs?status=done").json()["issues"][0]["field"] == "status"


def test_list_rows_carry_no_output_input_or_files(api, run):
    row = api.get("/api/v1/runs").json()["runs"][0]
    assert not {"output", "input", "files"} & set(row) and row["execution"]["retry"]["number"] == 0


# --- query budgets: a page costs the same whatever its size -----------------------------

BUDGET_CASES = [
    ("", 2),  # the key (with its user), the page
    ("status=completed", 2),
    ("hasFeedback=true", 2),
    ("noFeedback=true", 2),
    ("feedbackStatus=open", 2),
    ("feedbackStatus=resolved", 2),
    ("feedbackRating=none", 2),
    ("hasExpected=true", 2),
    ("promotedToExample=false", 2),
    ("sinceLastResolved=true", 3),  # + the latest resolution
    ("source=workflows.extract-invoice", 3),  # + the automation alias
]


@pytest.fixture
def many(automation, reviewer):
    runs = make_runs(60, automation)
    for run in runs[:30]:
        review_update(run=run, changes={"rating": "fail", "status": "open"}, user=reviewer)
    return runs


@pytest.mark.parametrize(("query", "budget"), BUDGET_CASES)
@pytest.mark.parametrize("limit", [5, 50])
def test_a_runs_page_has_a_fixed_query_budget(api, many, django_assert_num_queries, query, budget, limit):
    api.get("/api/v1/auth/check")  # the key's last-used stamp is written once a minute at most
    with django_assert_num_queries(budget):
        response = api.get(f"/api/v1/runs?{query}&limit={limit}")
    assert response.status_code == 200


def test_the_cursor_page_has_the_same_budget(api, many, django_assert_num_queries):
    api.get("/api/v1/auth/check")
    cursor = api.get("/api/v1/runs?limit=5").json()["nextCursor"]
    with django_assert_num_queries(2):
        api.get(f"/api/v1/runs?limit=50&cursor={cursor}")


# --- detail, artifacts, scores -----------------------------------------------------------


@pytest.fixture
def run_with_files(automation):
    return make_run(automation, files=[{"name": "out.csv", "role": "output", "text": "a\n"},
                                       {"name": "in/scan.pdf", "role": "input", "base64": "JVBERi0="}],
                    usage={"input_tokens": 7, "output_tokens": 3, "credits": 0.5}, metadata={"traceId": "t-1"})


def test_detail_merges_expanded_sections_into_the_run(api, run_with_files):
    data = api.get(f"/api/v1/runs/{run_with_files.id}?expand=input,usage,debug").json()
    assert data["input"]["files"] == [{"name": "in/scan.pdf"}] and data["usage"]["tokens"]["input"] == 7
    assert data["debug"] == {"observability": None, "traceId": "t-1"} and data["output"]["currency"] == "EUR"


def test_expand_execution_carries_feedback_and_expected(api, run_with_files, reviewer):
    review_update(run=run_with_files, changes={"rating": "fail", "expected": {"total": 2}}, user=reviewer)
    execution = api.get(f"/api/v1/runs/{run_with_files.id}?expand=execution").json()["execution"]
    assert execution["feedback"]["rating"] == "fail" and execution["expected"] == {"output": {"total": 2}, "files": []}


def test_the_detail_has_a_fixed_query_budget(api, run_with_files, reviewer, django_assert_num_queries):
    review_update(run=run_with_files, changes={"rating": "pass"}, user=reviewer)
    api.get("/api/v1/auth/check")
    with django_assert_num_queries(7):  # key, run+automation, files, review+users, corrections, expected files, steps
        api.get(f"/api/v1/runs/{run_with_files.id}?expand=input,usage,execution,debug")


def test_an_agent_run_lists_output_files_in_its_execution(api):
    run = make_run(make_automation("agents.triage"), files=[{"name": "o.txt", "role": "output", "text": "o"}])
    data = api.get(f"/api/v1/runs/{run.id}?expand=execution").json()
    assert data["type"] == "agent" and data["execution"]["files"] == {"output": [{"name": "o.txt"}]}


def test_artifacts_zip_holds_the_output_files(api, run_with_files):
    import io
    import zipfile

    response = api.get(f"/api/v1/runs/{run_with_files.id}/artifacts?zip=1")
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == ["out.csv"]


def test_a_missing_artifact_is_a_404(api, run_with_files):
    assert api.get(f"/api/v1/runs/{run_with_files.id}/artifacts/output/nope.csv").status_code == 404


def test_scores_of_an_unknown_run_is_a_404(api, db):
    assert api.get("/api/v1/runs/nope/scores").status_code == 404


def test_the_expected_file_upload_reaches_the_detail(api, run_with_files, reviewer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    expected_file_upload(run=run_with_files, upload=SimpleUploadedFile("fixed.csv", b"b\n"), name=None, user=reviewer)
    data = api.get(f"/api/v1/runs/{run_with_files.id}?expand=execution").json()
    assert data["execution"]["expected"]["files"] == [{"name": "fixed.csv"}]
