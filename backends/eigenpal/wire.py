"""Shared pieces of the proxy backend: call budgets, the chip filters the upstream answers,
wire timestamps, the derived review version, merging two run scans, the automations of a request."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

from django.utils.dateparse import parse_datetime

from runs.chips import Chip
from runs.models import KIND_PREFIX, Automation, rate_schedules
from runs.sampling import RateSchedule

BATCH = 100  # the contract's largest page of runs
ONE_MS = timedelta(milliseconds=1)
PREVIEW_BUDGET = 4
DATASET_COUNTS = 50
CHUNK = 64 * 1024
# The chips whose run-list filter the upstream answers exactly (every listed run has that chip,
# in both generations); each dialect names the filter a chip starts from (dialects.py).
EXACT_CHIPS = {Chip.UNREVIEWED, Chip.OPEN, Chip.IGNORED}


def parse_time(value) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None


def review_version(feedback: dict | None, expected, names: list[str]) -> int:
    """The upstream has no review version, so Loupe derives one from what it shows: any saved
    change (by Loupe or anyone else) changes it, and a save based on another one is refused."""
    if feedback is None and expected is None and not names:
        return 0
    raw = json.dumps([feedback, expected, sorted(names)], sort_keys=True, default=str)
    return int(hashlib.sha256(raw.encode()).hexdigest()[:8], 16) or 1


def _run_key(item: dict) -> tuple:
    return (parse_time((item.get("timing") or {}).get("createdAt")) or datetime.min, item["id"])


def _newer(buffers: tuple[list, list], done: list[bool]) -> int | None:
    """The buffer whose head comes next, newest first; None when a buffer ran dry before its
    stream ended (its next page must be fetched first) or both are empty."""
    heads = [buffers[i][0] if buffers[i] else None for i in (0, 1)]
    if heads[0] is not None and heads[1] is not None:
        return 0 if _run_key(heads[0]) > _run_key(heads[1]) else 1
    if heads[0] is not None and done[1]:
        return 0
    if heads[1] is not None and done[0]:
        return 1
    return None


def _merge(first, second):
    """Two scans (iterators of (runs newest first, last page?)) as one, newest first. Each step
    emits what can be ordered without the next page of a stream, so a step costs at most one
    upstream page per stream."""
    scans, buffers, done = (first, second), ([], []), [False, False]
    while True:
        for i in (0, 1):
            if not buffers[i] and not done[i]:
                runs, done[i] = next(scans[i])
                buffers[i].extend(runs)
        out = []
        pick = _newer(buffers, done)
        while pick is not None:
            out.append(buffers[pick].pop(0))
            pick = _newer(buffers, done)
        finished = all(done) and not buffers[0] and not buffers[1]
        yield out, finished
        if finished:
            return


class _Scope:
    """The automations of one request: local mirror rows by upstream id, and their rate schedules."""

    def __init__(self, automations: list[Automation]):
        self.automations = automations
        self.by_remote = {a.remote_id: a for a in automations if a.remote_id}
        self.schedules = rate_schedules(automations)

    def automation(self, item: dict) -> Automation:
        source = item.get("source") or {}
        found = self.by_remote.get(str(source.get("id")))
        if found is None:  # not in the upstream automation list: a transient stand-in, default rate
            kind = item.get("type") if item.get("type") in KIND_PREFIX else "workflow"
            found = Automation(kind=kind, slug=str(source.get("slug") or source.get("id") or "unknown"),
                               name=source.get("name") or "", remote_id=str(source.get("id") or ""))
        return found

    def schedule(self, automation: Automation) -> RateSchedule:
        return self.schedules.get(automation.pk) or RateSchedule(initial_bp=automation.sampling_rate_bp)


def iso(value: datetime | None) -> str | None:
    """Timestamps on the wire: ISO-8601 in UTC with milliseconds, `2025-01-31T12:00:00.000Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
