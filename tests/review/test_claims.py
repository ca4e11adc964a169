"""Claims: one reviewer per run at a time, taken race-safely, expiring, released."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from review.claims import claim_holder, claim_holders, claim_next, claim_release, claim_renew, claim_take
from review.models import Claim


@pytest.fixture
def maya(db):
    return User.objects.create_user("maya")


@pytest.fixture
def sam(db):
    return User.objects.create_user("sam")


def test_first_reviewer_gets_the_run(maya):
    assert claim_take(run_id="r1", user=maya).mine


def test_second_reviewer_is_told_who_holds_it(maya, sam):
    claim_take(run_id="r1", user=maya)
    hold = claim_take(run_id="r1", user=sam)
    assert (hold.mine, hold.holder) == (False, "maya")


def test_expired_claim_is_taken_over(maya, sam, settings):
    settings.LOUPE_CLAIM_MINUTES = 5
    claim_take(run_id="r1", user=maya, now=timezone.now() - timedelta(minutes=6))
    assert claim_take(run_id="r1", user=sam).mine


def test_claim_length_follows_the_setting(maya, settings):
    settings.LOUPE_CLAIM_MINUTES = 2
    now = timezone.now()
    assert claim_take(run_id="r1", user=maya, now=now).expires_at == now + timedelta(minutes=2)


def test_renew_extends_only_your_own_claim(maya, sam):
    claim_take(run_id="r1", user=maya)
    assert (claim_renew(run_id="r1", user=maya), claim_renew(run_id="r1", user=sam)) == (True, False)


def test_release_frees_the_run_but_not_anothers(maya, sam):
    claim_take(run_id="r1", user=maya)
    claim_release(run_id="r1", user=sam)
    assert claim_holder("r1").user == maya
    claim_release(run_id="r1", user=maya)
    assert claim_holder("r1") is None


def test_holders_of_a_page_in_one_query(maya, sam, django_assert_num_queries):
    claim_take(run_id="r1", user=maya)
    claim_take(run_id="r2", user=sam)
    with django_assert_num_queries(1):
        assert claim_holders(["r1", "r2", "r3"]) == {"r1": "maya", "r2": "sam"}


def test_next_skips_runs_others_hold(maya, sam):
    claim_take(run_id="r1", user=maya)
    assert claim_next(candidates=iter(["r1", "r2"]), user=sam).run_id == "r2"


def test_next_gives_up_after_its_limit(maya, sam):
    for n in range(3):
        claim_take(run_id=f"r{n}", user=maya)
    assert claim_next(candidates=[f"r{n}" for n in range(3)], user=sam, limit=2) is None


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="concurrent writers need PostgreSQL (the SQLite test database is one locked in-memory file)")
@pytest.mark.django_db(transaction=True)
def test_racing_reviewers_never_share_a_run():
    """Eight threads claim the same ten runs in the same order: each run ends with one holder
    and every thread that was told "mine" is that holder."""
    users = [User.objects.create_user(f"u{n}") for n in range(8)]
    wins: list[tuple[str, str]] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(len(users))

    def work(user):
        try:
            barrier.wait()
            for n in range(10):
                hold = claim_take(run_id=f"r{n}", user=user)
                if hold.mine:
                    wins.append((f"r{n}", user.username))
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(wins) == sorted(Claim.objects.values_list("run_id", "user__username"))
