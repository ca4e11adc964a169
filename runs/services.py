"""Writes that span rows of the runs app: automations, sampling history, recorded runs."""

import difflib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from runs.chips import Chip
from runs.counters import chip_counts_recount, day_counts_add
from runs.files import store_file
from runs.models import (
    DEFAULT_SAMPLING_BP,
    KIND_PREFIX,
    Automation,
    EvaluatorScore,
    Run,
    RunFile,
    SamplingRateChange,
)
from runs.records import RecordError, RunRecord
from runs.sampling import BUCKETS, sample_bucket


class InvalidRate(ValueError):
    pass


def automation_ensure(*, kind: str, slug: str, name: str = "", rate_bp: int = DEFAULT_SAMPLING_BP) -> Automation:
    """Get or create an automation; a new one starts its rate history with `rate_bp`."""
    automation = Automation.objects.filter(kind=kind, slug=slug).first()
    if automation:
        return automation
    with transaction.atomic():
        automation, created = Automation.objects.get_or_create(
            kind=kind, slug=slug, defaults={"name": name or slug.replace("-", " ").title(), "sampling_rate_bp": rate_bp}
        )
        if created:
            # old_bp=None: this first rate also covers runs created before the automation was
            # known to Loupe (historic imports).
            SamplingRateChange.objects.create(
                automation=automation, old_bp=None, new_bp=rate_bp, effective_at=automation.created_at,
                reason="Initial rate",
            )
    return automation


def sampling_rate_set(*, automation: Automation, rate_bp: int, user, reason: str, now=None) -> SamplingRateChange:
    """Change the rate from now on. Runs already created keep the rate they were created under."""
    if not isinstance(rate_bp, int) or not 0 <= rate_bp <= BUCKETS:
        raise InvalidRate("The rate must be between 0 % and 100 %.")
    if not reason or not reason.strip():
        raise InvalidRate("Give a reason for the change.")
    now = now or timezone.now()
    with transaction.atomic():
        automation = Automation.objects.select_for_update().get(pk=automation.pk)
        change = SamplingRateChange.objects.create(
            automation=automation, old_bp=automation.sampling_rate_bp, new_bp=rate_bp,
            effective_at=now, changed_by=user, reason=reason.strip(),
        )
        automation.sampling_rate_bp = rate_bp
        automation.save(update_fields=["sampling_rate_bp", "updated_at"])
        # Only runs stamped in the future (clock skew) can be affected; normally none.
        later = Run.objects.filter(automation=automation, created_at__gte=now)
        if later.exists():
            schedule = automation.rate_schedule()
            for run in later.only("id", "created_at", "sample_bucket"):
                Run.objects.filter(pk=run.pk).update(sampled=run.sample_bucket < schedule.rate_at(run.created_at))
            chip_counts_recount(automation=automation)
    return change


def _first_scalar(value: dict) -> str:
    """`{"name": "Acme", "vat_id": …}` -> `Acme`: what a reviewer recognises a nested object by."""
    for candidate in ("name", "title", "id"):
        if isinstance(value.get(candidate), (str, int, float)):
            return str(value[candidate])
    for item in value.values():
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            return str(item)
    return "{…}"


def output_preview(output, error: str | None = None, limit: int = 240) -> str:
    """A one-line summary of a run's output for queue rows: top-level scalars first."""
    if output is None:
        return (error or "").splitlines()[0][:limit] if error else ""
    if isinstance(output, dict):
        parts = []
        for key, value in output.items():
            if isinstance(value, list):
                parts.append(f"{key}: [{len(value)}]")
            elif isinstance(value, dict):
                parts.append(f"{key}: {_first_scalar(value)}")
            else:
                parts.append(f"{key}: {value}")
        text = " · ".join(parts)
    elif isinstance(output, list):
        text = f"[{len(output)} items]"
    else:
        text = str(output)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class RecordResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


class AutomationGate:
    """Recording runs creates an automation only when asked (docs/security.md): a run naming an
    automation Loupe does not know is rejected, naming close matches, unless its record says
    `"createAutomation": true`, the caller passes create=True (`import_runs --create-automations`)
    or the setting LOUPE_INGEST_CREATES_AUTOMATIONS is on. A typo then no longer starts a new,
    empty automation that nobody reviews."""

    def __init__(self, *, create: bool | None = None):
        from django.conf import settings

        self.create = getattr(settings, "LOUPE_INGEST_CREATES_AUTOMATIONS", False) if create is None else create
        self.known = {f"{KIND_PREFIX[kind]}.{slug}" for kind, slug in Automation.objects.values_list("kind", "slug")}

    def check(self, record: RunRecord) -> RunRecord:
        ref = record.automation_ref
        if ref in self.known:
            return record
        if not (self.create or record.create_automation):
            close = difflib.get_close_matches(ref, sorted(self.known), n=3, cutoff=0.75)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise RecordError(f"automation: Loupe has no automation {ref!r}.{hint} To create it, send "
                              '"createAutomation": true with the run.')
        self.known.add(ref)  # later runs of this request may name it too
        return record


def _automations_for(records: Iterable[RunRecord]) -> dict[tuple[str, str], Automation]:
    found = {}
    for record in records:
        key = (record.kind, record.slug)
        if key not in found:
            found[key] = automation_ensure(kind=record.kind, slug=record.slug)
    return found


def runs_record(records: list[RunRecord], *, recount: bool = True) -> RecordResult:
    """Store parsed run records, idempotent on run id (a repeat updates the run in place).

    A run's review, chip and files survive a repeat; files in the record replace files
    of the same role and name. Chip counts are recounted once per automation touched.
    Callers that record runs from outside (the command, the ingest API, the demo) go through
    datasets.loop.runs_record_and_check, which also checks runs of dataset examples.
    """
    result = RecordResult()
    if not records:
        return result
    automations = _automations_for(records)
    schedules = {key: a.rate_schedule() for key, a in automations.items()}
    with transaction.atomic():
        before = {pk: (automation_id, timezone.localdate(created), sampled) for pk, automation_id, created, sampled in
                  Run.objects.filter(pk__in=[r.id for r in records]).values_list("pk", "automation_id", "created_at", "sampled")}
        existing = set(before)
        day_moves: Counter = Counter()
        for record in records:
            key = (record.kind, record.slug)
            bucket = sample_bucket(record.id)
            values = dict(
                automation=automations[key],
                status=record.status, trigger=record.trigger, triggered_by=record.triggered_by,
                version=record.version, input=record.input, output=record.output, error=record.error,
                usage=record.usage, metadata=record.metadata, batch_id=record.batch_id,
                example_id=record.example_id, created_at=record.created_at, started_at=record.started_at,
                completed_at=record.completed_at, duration_ms=record.duration_ms,
                sample_bucket=bucket, sampled=bucket < schedules[key].rate_at(record.created_at),
                output_preview=output_preview(record.output, record.error),
            )
            after = (values["automation"].pk, timezone.localdate(record.created_at), values["sampled"])
            if record.id in existing:
                Run.objects.filter(pk=record.id).update(**values)
                result.updated.append(record.id)
                day_moves[before[record.id]] -= 1
            else:
                Run.objects.create(id=record.id, chip=Chip.UNREVIEWED, **values)
                existing.add(record.id)
                result.created.append(record.id)
            before[record.id] = after
            day_moves[after] += 1
            if record.scores is not None:  # a repeat with scores replaces them
                EvaluatorScore.objects.filter(run_id=record.id).delete()
                EvaluatorScore.objects.bulk_create([
                    EvaluatorScore(run_id=record.id, name=s.name, value=s.value, passed=s.passed, source=s.source)
                    for s in record.scores])
            for file_record in record.files:
                run_file_store(run_id=record.id, name=file_record.name, role=file_record.role,
                               content=file_record.content, content_type=file_record.content_type)
        day_counts_add(day_moves)
        if recount:
            for automation in automations.values():
                chip_counts_recount(automation=automation)
    return result


def run_file_store(*, run_id: str, name: str, role: str, content: bytes, content_type: str) -> RunFile:
    """Attach (or replace) one file of a run."""
    return store_file(RunFile(run_id=run_id, role=role, name=name, content_type=content_type),
                      replaces=RunFile.objects.filter(run_id=run_id, role=role, name=name).first(),
                      name=name, content=content)


def step_down_threshold_set(*, automation: Automation, threshold: float, user) -> Automation:
    """Set the pass-rate lower bound above which the sampling page suggests a lower rate."""
    if not 0 < threshold <= 1:
        raise InvalidRate("The threshold must be above 0 % and at most 100 %.")
    automation.step_down_threshold = threshold
    automation.save(update_fields=["step_down_threshold", "updated_at"])
    return automation
