"""Claims: who is working on which run, so two reviewers are never handed the same run.

A claim is a row keyed by the run id (review.models.Claim). Taking one is one atomic
statement (see _TAKE), race-safe on SQLite and PostgreSQL alike: the loser reads who won. Claims live in
Loupe's own database, so they work the same in proxy mode. Length: LOUPE_CLAIM_MINUTES.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from review.models import Claim


@dataclass(frozen=True)
class Hold:
    """The outcome of trying to claim a run: `mine` is False when someone else holds it."""

    run_id: str
    holder: str
    expires_at: datetime
    mine: bool


def _length() -> timedelta:
    return timedelta(minutes=settings.LOUPE_CLAIM_MINUTES)


def _hold(claim: Claim, user) -> Hold:
    return Hold(run_id=claim.run_id, holder=claim.user.get_username(), expires_at=claim.expires_at,
                mine=claim.user_id == user.pk)


# One statement takes a free or expired claim, or renews the user's own; a claim someone else
# holds is left alone and no row comes back. INSERT ... ON CONFLICT ... RETURNING reads the same
# on PostgreSQL and SQLite (3.35+), and is atomic on both, so two reviewers racing for a run
# cannot both win.
_TAKE = (
    "INSERT INTO review_claim (run_id, user_id, claimed_at, expires_at) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (run_id) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at, "
    "claimed_at = CASE WHEN review_claim.user_id = excluded.user_id THEN review_claim.claimed_at "
    "ELSE excluded.claimed_at END "
    "WHERE review_claim.user_id = excluded.user_id OR review_claim.expires_at <= %s "
    "RETURNING user_id"
)


def claim_take(*, run_id: str, user, now: datetime | None = None) -> Hold:
    """Claim a run for `user`, or renew their claim; when another reviewer holds it, say who."""
    now = now or timezone.now()
    expires = now + _length()
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, [run_id, user.pk, now, expires, now])
        won = cursor.fetchone() is not None
    if won:
        return Hold(run_id=run_id, holder=user.get_username(), expires_at=expires, mine=True)
    claim = Claim.objects.select_related("user").filter(run_id=run_id).first()
    if claim is None:  # released between the two statements: try once more
        return claim_take(run_id=run_id, user=user, now=now)
    return _hold(claim, user)


def claim_renew(*, run_id: str, user, now: datetime | None = None) -> bool:
    """Extend the user's own claim (while they work); False when they hold none."""
    now = now or timezone.now()
    return bool(Claim.objects.filter(run_id=run_id, user=user, expires_at__gt=now)
                .update(expires_at=now + _length()))


def claim_release(*, run_id: str, user) -> None:
    """Give the run back (a verdict, "next", leaving the page). Another's claim is untouched."""
    Claim.objects.filter(run_id=run_id, user=user).delete()


def claim_holder(run_id: str, now: datetime | None = None) -> Claim | None:
    now = now or timezone.now()
    return Claim.objects.select_related("user").filter(run_id=run_id, expires_at__gt=now).first()


def claim_holders(run_ids, now: datetime | None = None) -> dict[str, str]:
    """{run id: holder's username} for the active claims among `run_ids` (one query)."""
    now = now or timezone.now()
    rows = Claim.objects.filter(run_id__in=list(run_ids), expires_at__gt=now).values_list("run_id", "user__username")
    return dict(rows)


def claim_next(*, candidates, user, limit: int = 50, still_wanted=None) -> Hold | None:
    """Claim the first run of `candidates` (run ids in queue order) that nobody else holds.

    `candidates` may be a lazy iterator (the queue walking on); at most `limit` are tried.
    `still_wanted(run_id)` is asked after the claim is won: the candidates were read before, and
    in between another reviewer may have finished the run and let it go (it then left the
    queue); such a claim is given back and the walk goes on.
    """
    for tried, run_id in enumerate(candidates):
        if tried >= limit:
            return None
        hold = claim_take(run_id=run_id, user=user)
        if not hold.mine:
            continue
        if still_wanted is None or still_wanted(run_id):
            return hold
        claim_release(run_id=run_id, user=user)
    return None
