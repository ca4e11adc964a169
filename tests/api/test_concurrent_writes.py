"""The API's review writes with If-Match, racing in parallel transactions on PostgreSQL
(docs/rules.md#concurrent-writes): exactly one writer of a version wins, the others get 412
with the current review, never a 5xx, and the audit trail holds one event per version."""

import pytest
from django.contrib.auth.models import Group, User

from review.models import AuditEvent, Review
from review.services import review_update
from tests.api.conftest import _client_for
from tests.concurrency import PARALLEL_WRITERS, race
from tests.factories import make_automation, make_run

pytestmark = PARALLEL_WRITERS

WRITERS = 4


@pytest.fixture
def clients():
    group = Group.objects.get_or_create(name="reviewer")[0]
    users = [User.objects.create_user(f"api{i}") for i in range(WRITERS)]
    for user in users:
        user.groups.add(group)
    return [_client_for(user) for user in users]


@pytest.fixture
def run():
    return make_run(make_automation())


def _reviewed(run) -> int:
    user = User.objects.create_user("first")
    return review_update(run=run, changes={"rating": "fail", "body": "first"}, user=user).version


def _one_winner(responses, *, ok=(200, 201)) -> int:
    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), statuses
    assert sorted(statuses) == sorted([ok[0]] + [412] * (len(statuses) - 1)), statuses
    return statuses.index(ok[0])


def _events_match_versions(run, base_events: int = 1) -> None:
    review = Review.objects.filter(run=run).first()
    if review is not None:
        assert AuditEvent.objects.filter(run=run).exclude(action="clear").count() == review.version


@pytest.mark.parametrize("path,body", [
    ("/v1/runs/{id}/reviews", lambda i: {"verdict": "incorrect", "note": f"note {i}"}),
    ("/api/v1/runs/{id}/feedback", lambda i: {"rating": "fail", "body": f"note {i}"}),
])
def test_puts_with_one_etag_one_wins(clients, run, path, body):
    base = _reviewed(run)
    url = path.format(id=run.pk)
    responses = [o.value for o in race(WRITERS, lambda i: clients[i].put(
        url, body(i), content_type="application/json", headers={"If-Match": f'"{base}"'}))]
    winner = _one_winner(responses)
    review = Review.objects.get(run=run)
    assert (review.version, review.body) == (base + 1, f"note {winner}")
    for response in responses:
        if response.status_code == 412:
            current = response.json().get("review") or response.json().get("feedback")
            assert (current.get("note") or current.get("body")) == f"note {winner}"
            assert response["ETag"] == f'"{base + 1}"'
    _events_match_versions(run)


def test_first_puts_on_a_run_without_review_one_wins(clients, run):
    url = f"/v1/runs/{run.pk}/reviews"
    responses = [o.value for o in race(WRITERS, lambda i: clients[i].put(
        url, {"verdict": "incorrect", "note": f"note {i}"}, content_type="application/json",
        headers={"If-Match": '"0"'}))]
    winner = _one_winner(responses)
    assert Review.objects.get(run=run).body == f"note {winner}"


def test_patches_with_one_etag_one_wins(clients, run):
    base = _reviewed(run)
    url = f"/v1/runs/{run.pk}/reviews"
    responses = [o.value for o in race(WRITERS, lambda i: clients[i].patch(
        url, {"status": "closed", "closedNote": f"closed {i}"}, content_type="application/json",
        headers={"If-Match": f'"{base}"'}))]
    winner = _one_winner(responses)
    assert Review.objects.get(run=run).closed_note == f"closed {winner}"
    _events_match_versions(run)


@pytest.mark.parametrize("path", ["/v1/runs/{id}/reviews", "/api/v1/runs/{id}/feedback"])
def test_a_delete_and_a_put_of_one_etag_one_wins(clients, run, path):
    base = _reviewed(run)
    url = path.format(id=run.pk)
    put_body = {"verdict": "correct"} if path.startswith("/v1") else {"rating": "pass"}

    def writer(i):
        if i == 0:
            return clients[0].delete(url, headers={"If-Match": f'"{base}"'})
        return clients[1].put(url, put_body, content_type="application/json", headers={"If-Match": f'"{base}"'})

    responses = [o.value for o in race(2, writer)]
    winner = _one_winner(responses)
    assert Review.objects.filter(run=run).exists() == (winner == 1)


def test_puts_without_an_etag_all_land(clients, run):
    url = f"/v1/runs/{run.pk}/reviews"
    responses = [o.value for o in race(WRITERS, lambda i: clients[i].put(
        url, {"verdict": "incorrect", "note": f"note {i}"}, content_type="application/json"))]
    assert [r.status_code for r in responses] == [200] * WRITERS
    assert Review.objects.get(run=run).version == AuditEvent.objects.filter(run=run).count() == WRITERS
