"""Reads of the review app that both backends share: queue cursors and keyset conditions, the
queue's date range, and the audit trail. The local backend's queue reads are
backends/local_queries.py; the queue list object is web/queue_list.py."""

import base64
from datetime import datetime, time, timedelta

from django.db.models import F, Q
from django.utils import timezone

from review.models import AuditEvent
from runs.sql import raw_once


def encode_cursor(created_at: datetime, run_id: str) -> str:
    raw = f"{created_at.isoformat()}|{run_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stamp, run_id = raw.split("|", 1)
        return datetime.fromisoformat(stamp), run_id
    except (ValueError, UnicodeDecodeError):
        return None


# The leading created_at range is implied by the OR, and is there for the planner: without it
# SQLite answers the OR with two index searches and a temporary sort of every older run
# (~300 ms at 100k runs for "next in queue"); with it, one ordered index range that stops at
# the first row (~1 ms).
def older_than(created_at: datetime, run_id: str) -> Q:
    return Q(created_at__lte=created_at) & (Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=run_id))


def newer_than(created_at: datetime, run_id: str) -> Q:
    return Q(created_at__gte=created_at) & (Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=run_id))


def day_bounds(date_from, date_to) -> tuple[datetime | None, datetime | None]:
    """The queue's date range as [start, end) instants in the current time zone."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=tz) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz) if date_to else None
    return start, end


def audit_trail(run_id: str, limit: int = 50) -> list[AuditEvent]:
    """A run's history, newest first, each event with `username` (None: done by the system). By
    run id, not through the run: in proxy mode there is no local run row. Compiled once per limit
    (runs.sql.raw_once): the pane reads it on every view."""
    events = list(raw_once(f"audit trail, {limit}", lambda marker: (
        AuditEvent.objects.filter(run_id=marker).annotate(username=F("user__username"))
        .order_by("-created_at", "-id")[:limit]), run_id))
    return events
