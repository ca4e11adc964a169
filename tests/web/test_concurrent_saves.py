"""Reviewers saving one run at the same instant on the page, in parallel transactions on
PostgreSQL (docs/rules.md#concurrent-writes): one save wins, the others see the conflict
banner with both versions and everything they typed, never a 5xx."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from datasets.models import Example
from review.models import AuditEvent, Review
from review.services import review_update
from tests.concurrency import PARALLEL_WRITERS, race
from tests.factories import make_automation, make_run

pytestmark = PARALLEL_WRITERS

WRITERS = 4


@pytest.fixture
def clients():
    group = Group.objects.get_or_create(name="reviewer")[0]
    out = []
    for i in range(WRITERS):
        user = User.objects.create_user(f"page{i}")
        user.groups.add(group)
        client = Client()
        client.force_login(user)
        out.append(client)
    return out


@pytest.fixture
def run():
    return make_run(make_automation())


def _save(client, run, version, **fields):
    return client.post(f"/runs/{run.pk}/save/", {"version": version, "op": "save", **fields},
                       headers={"HX-Request": "true"})


def _split(responses):
    assert all(r.status_code < 500 for r in responses), [r.status_code for r in responses]
    bodies = [r.content.decode() for r in responses]
    conflicts = [i for i, body in enumerate(bodies) if 'id="conflict"' in body]
    winners = [i for i in range(len(bodies)) if i not in conflicts]
    assert len(winners) == 1, f"winners {winners}, conflicts {conflicts}"
    return winners[0], conflicts, bodies


@pytest.mark.parametrize("reviewed", [True, False], ids=["existing-review", "first-review"])
def test_simultaneous_saves_one_wins_the_others_keep_what_they_typed(clients, run, reviewed):
    base = 0
    if reviewed:
        base = review_update(run=run, changes={"rating": "fail", "body": "first"},
                             user=User.objects.create_user("first")).version
    outcomes = race(WRITERS, lambda i: _save(clients[i], run, base, verdict="partial", body=f"typed by {i}",
                                             **{"v:/total": str(100 + i)}))
    assert [o.error for o in outcomes] == [None] * WRITERS
    winner, conflicts, bodies = _split([o.value for o in outcomes])
    review = Review.objects.get(run=run)
    assert (review.body, review.expected["total"]) == (f"typed by {winner}", 100 + winner)
    assert review.version == base + 1 and AuditEvent.objects.filter(run=run).count() == review.version
    for i in conflicts:
        assert f"typed by {i}</textarea>" in bodies[i]  # what they typed is still in the fields
        assert f'value="{100 + i}"' in bodies[i]
        assert f"typed by {winner}" in bodies[i]  # their version beside it


def test_status_changes_of_one_version_one_wins(clients, run):
    base = review_update(run=run, changes={"rating": "fail", "body": "first"},
                         user=User.objects.create_user("first")).version
    ops = ["resolve", "ignore", "resolve", "ignore"]
    outcomes = race(WRITERS, lambda i: _save(clients[i], run, base, body=f"closing {i}", op=ops[i]))
    winner, _, _ = _split([o.value for o in outcomes])
    assert Review.objects.get(run=run).body == f"closing {winner}"


def test_simultaneous_promotes_from_the_page_one_wins(clients, run):
    base = review_update(run=run, changes={"rating": "fail", "expected": {"total": 1}},
                         user=User.objects.create_user("first")).version
    outcomes = race(WRITERS, lambda i: _save(clients[i], run, base, op="promote", example_name="from-page"))
    winner, conflicts, _ = _split([o.value for o in outcomes])
    assert len(conflicts) == WRITERS - 1
    assert Example.objects.filter(name="from-page").count() == 1
    assert AuditEvent.objects.filter(run=run, action="promote").count() == 1


def test_simultaneous_uploads_of_one_name_on_the_page_all_stay(clients, run):
    from django.core.files.uploadedfile import SimpleUploadedFile

    outcomes = race(WRITERS, lambda i: clients[i].post(
        f"/runs/{run.pk}/expected/upload/", {"file": SimpleUploadedFile("fixed.csv", f"{i}\n".encode())}))
    assert all(o.value.status_code < 400 for o in outcomes), [o.value.status_code for o in outcomes]
    names = sorted(Review.objects.get(run=run).expected_files.values_list("name", flat=True))
    assert names == ["fixed-2.csv", "fixed-3.csv", "fixed-4.csv", "fixed.csv"]
