from datetime import timedelta

import pytest
from django.utils import timezone

from review.services import review_verdict
from runs.models import Run
from tests.factories import make_automation, make_run, make_runs
from tests.proxy import DECIDED_BEFORE_THE_BACKEND, RENDERED_FROM_WHAT_WAS_READ

pytestmark = pytest.mark.django_db


def test_queue_lists_sampled_runs_newest_first(backend, reviewer_client, automation):
    older = make_run(automation, createdAt=(timezone.now() - timedelta(hours=2)).isoformat())
    newer = make_run(automation, createdAt=(timezone.now() - timedelta(hours=1)).isoformat())
    body = reviewer_client.get("/queue/").content.decode()
    assert body.index(newer.pk) < body.index(older.pk)


def test_queue_hides_unsampled_runs_unless_all_runs_asked(backend, reviewer_client):
    closed = make_automation("workflows.closed", rate_bp=0)
    run = make_run(closed)
    assert run.pk not in reverse_queue(reviewer_client, "?automation=workflows.closed")
    assert run.pk in reverse_queue(reviewer_client, "?automation=workflows.closed&scope=all")


def reverse_queue(client, qs: str) -> str:
    return client.get("/queue/" + qs).content.decode()


def test_chip_filter_shows_only_that_chip(backend, reviewer_client, automation, reviewer):
    passed, other = make_run(automation), make_run(automation)
    review_verdict(run=passed, verdict="pass", user=reviewer)
    body = reverse_queue(reviewer_client, "?chip=passed")
    assert passed.pk in body and other.pk not in body


def test_chip_counts_follow_verdicts(reviewer_client, automation, reviewer):
    runs = make_runs(3, automation)
    review_verdict(run=runs[0], verdict="fail", user=reviewer)
    response = reviewer_client.get("/queue/?automation=" + automation.ref)
    links = {link["value"]: link["count"] for link in response.context["queue"].chip_links()}
    assert links == {"all": 3, "unreviewed": 2, "open": 1, "ignored": 0, "passed": 0, "failed": 0}


def test_status_and_date_filters(backend, reviewer_client, automation):
    failed = make_run(automation, status="failed", output=None, error="Timeout")
    old = make_run(automation, createdAt=(timezone.now() - timedelta(days=10)).isoformat())
    assert failed.pk in reverse_queue(reviewer_client, "?status=failed")
    assert old.pk not in reverse_queue(reviewer_client, "?status=failed")
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert old.pk not in reverse_queue(reviewer_client, f"?date_from={since}")


def test_search_by_run_id(backend, reviewer_client, automation):
    wanted, other = make_run(automation), make_run(automation)
    body = reverse_queue(reviewer_client, f"?q={wanted.pk}")
    assert wanted.pk in body and other.pk not in body


@DECIDED_BEFORE_THE_BACKEND
def test_invalid_date_range_is_explained_and_kept(backend, reviewer_client, automation):
    body = reverse_queue(reviewer_client, "?date_from=2026-11-10&date_to=2026-11-01")
    assert "The end date is before the start date." in body and 'value="2026-11-10"' in body


def test_unknown_automation_says_so(backend, reviewer_client):
    assert "No automation is called" in reverse_queue(reviewer_client, "?automation=workflows.nope")


def test_pagination_walks_older_and_back_without_repeats(backend, reviewer_client, automation, settings):
    settings.LOUPE_QUEUE_PAGE_SIZE = 4
    make_runs(10, automation)
    first = reviewer_client.get("/queue/")
    page1 = [r.pk for r in first.context["page"].rows]
    second = reviewer_client.get("/queue/" + first.context["page"].older_qs)
    page2 = [r.pk for r in second.context["page"].rows]
    back = reviewer_client.get("/queue/" + second.context["page"].newer_qs)
    assert not set(page1) & set(page2) and [r.pk for r in back.context["page"].rows] == page1


@RENDERED_FROM_WHAT_WAS_READ
def test_htmx_request_gets_the_results_fragment(backend, reviewer_client, automation):
    make_run(automation)
    response = reviewer_client.get("/queue/", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'id="queue-results"' in body and "<html" not in body


@DECIDED_BEFORE_THE_BACKEND
def test_anonymous_is_redirected_to_login(backend, client, db):
    response = client.get("/queue/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@DECIDED_BEFORE_THE_BACKEND
def test_post_is_not_allowed(backend, reviewer_client):
    assert reviewer_client.post("/queue/").status_code == 405


@pytest.mark.parametrize("query", ["?automation={ref}", "?scope=all", "?scope=all&chip=all"])
@pytest.mark.parametrize("rows", [10, 100])
def test_queue_query_count_does_not_grow_with_rows(reviewer_client, automation, settings,
                                                   django_assert_num_queries, rows, query):
    settings.LOUPE_QUEUE_PAGE_SIZE = 100
    make_runs(rows, automation)
    other = make_automation("workflows.other")
    make_runs(3, other)
    # session, the user with their roles, automations with their chip counters, the page of runs
    # with who holds them (their automations come from the list already read, one automation or all)
    with django_assert_num_queries(4):
        response = reviewer_client.get("/queue/" + query.format(ref=automation.ref))
    rows_shown = response.context["page"].rows
    assert len(rows_shown) == (rows if "automation" in query else min(100, rows + 3))
    assert {r.automation.ref for r in rows_shown} <= {automation.ref, other.ref}


def test_queue_preview_is_one_line_of_output(reviewer_client, automation):
    run = make_run(automation)
    assert Run.objects.get(pk=run.pk).output_preview.startswith("vendor: Acme Supplies GmbH · invoice_number: INV-2026-0042")


def _runs_in_every_chip(automation, user) -> dict[str, Run]:
    from review.services import review_update

    runs = {name: make_run(automation) for name in (
        "unreviewed", "open", "ignored", "passed", "failed", "resolved_unrated", "passed_reopened", "noted")}
    review_verdict(run=runs["open"], verdict="fail", user=user)
    review_update(run=runs["ignored"], changes={"rating": "fail", "status": "ignored"}, user=user)
    review_verdict(run=runs["passed"], verdict="pass", user=user)
    review_update(run=runs["failed"], changes={"rating": "partial", "status": "resolved"}, user=user)
    review_update(run=runs["resolved_unrated"], changes={"status": "resolved"}, user=user)
    review_update(run=runs["passed_reopened"], changes={"rating": "pass", "status": "open"}, user=user)
    review_update(run=runs["noted"], changes={"body": "a note, no verdict yet"}, user=user)
    return runs


CHIP_OF = {"unreviewed": "unreviewed", "open": "open", "ignored": "ignored", "passed": "passed", "failed": "failed",
           "resolved_unrated": "failed", "passed_reopened": "open", "noted": "unreviewed"}


def chip_of(backend: str) -> dict[str, str]:
    """The reviews generation has no review without a status: a note alone is an open review
    (docs/proxy.md, "API generations")."""
    return {**CHIP_OF, "noted": "open"} if backend == "eigenpal-reviews" else CHIP_OF


def test_each_row_shows_its_chip(backend, reviewer_client, automation, reviewer):
    runs = _runs_in_every_chip(automation, reviewer)
    rows = reviewer_client.get("/queue/?chip=all").context["page"].rows
    assert {row.id: row.chip for row in rows} == {run.pk: chip_of(backend)[name] for name, run in runs.items()}


@pytest.mark.parametrize("chip", ["unreviewed", "open", "ignored", "passed", "failed"])
def test_chip_filter_keeps_exactly_that_chip(backend, reviewer_client, automation, reviewer, chip):
    runs = _runs_in_every_chip(automation, reviewer)
    shown = {row.id for row in reviewer_client.get(f"/queue/?chip={chip}").context["page"].rows}
    assert shown == {run.pk for name, run in runs.items() if chip_of(backend)[name] == chip}


def test_expected_and_promoted_filters(backend, reviewer_client, automation, reviewer):
    from datasets.services import example_promote
    from review.services import review_update

    corrected, promoted, plain = make_run(automation), make_run(automation), make_run(automation)
    review_update(run=corrected, changes={"expected": {"total": 1}}, user=reviewer)
    example_promote(run=promoted, name="promoted-run", user=reviewer)
    with_expected = {r.id for r in reviewer_client.get("/queue/?expected=yes&chip=all").context["page"].rows}
    assert with_expected == {corrected.pk}
    if backend == "eigenpal-reviews":  # that run list has no promotion filter: refused, not ignored
        response = reviewer_client.get("/queue/?promoted=no&chip=all")
        assert response.status_code == 400 and "cannot filter runs by promotion" in response.content.decode()
        return
    without_promotion = {r.id for r in reviewer_client.get("/queue/?promoted=no&chip=all").context["page"].rows}
    assert without_promotion == {corrected.pk, plain.pk}


def test_sampled_only_skips_unsampled_runs_across_upstream_pages(backend, reviewer_client, settings):
    """Half the runs sampled, a screen of 3: the proxy over-fetches and still fills the screen."""
    settings.LOUPE_QUEUE_PAGE_SIZE = 3
    half = make_automation("workflows.half", rate_bp=5000)
    runs = make_runs(40, half)
    sampled = sorted((r for r in runs if r.sampled), key=lambda r: (r.created_at, r.pk), reverse=True)
    first = reviewer_client.get("/queue/?automation=workflows.half")
    second = reviewer_client.get("/queue/" + first.context["page"].older_qs)
    shown = [r.id for r in first.context["page"].rows] + [r.id for r in second.context["page"].rows]
    assert shown == [r.pk for r in sampled[:6]]
