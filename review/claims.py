"""Claims: who is working on which run, so two reviewers are never handed the same run.

A claim is a row keyed by the run id (review.models.Claim). Taking one is race-safe on
SQLite and PostgreSQL alike without locks: an expired claim is deleted first, then the
insert either wins or hits the primary key, and the loser reads who won. Claims live in
Loupe's own database, so they work the same in proxy mode. Length: LOUPE_CLAIM_MINUTES.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
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


def claim_take(*, run_id: str, user, now: datetime | None = None) -> Hold:
    """Claim a run for `user`, or renew their claim; when another reviewer holds it, say who."""
    now = now or timezone.now()
    expires = now + _length()
    if Claim.objects.filter(run_id=run_id, user=user).update(expires_at=expires):
        return Hold(run_id=run_id, holder=user.get_username(), expires_at=expires, mine=True)
    Claim.objects.filter(run_id=run_id, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            Claim.objects.create(run_id=run_id, user=user, claimed_at=now, expires_at=expires)
        return Hold(run_id=run_id, holder=user.get_username(), expires_at=expires, mine=True)
    except IntegrityError:
        claim = Claim.objects.select_related("user").filter(run_id=run_id).first()
        if claim is None:  # released between our insert and this read: try once more
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
