"""Writes that span rows of the runs app: automations, sampling history, recorded runs."""

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models, transaction

from runs.chips import Chip
from runs.counters import (
    chip_counts_add,
    day_counts_add,
    record_moves,
    stratum_counts_add,
    version_counts_add,
)
from runs.files import store_file
from runs.models import (
    DEFAULT_SAMPLING_BP,
    DOUBLE_WANTED,
    KIND_PREFIX,
    Automation,
    EvaluatorScore,
    Run,
    RunFile,
    RunStep,
    RunVersion,
    SamplingRateChange,
    rate_schedules,
)
from runs.partitions import run_ids_lock
from runs.records import RecordError, RunRecord, json_dumps
from runs.sampling import RateSchedule, sample_bucket
from runs.sql import in_values
from runs.strata import DEFAULT as DEFAULT_STRATUM
from runs.strata import stratum_of, uses_versions


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
    """The automations the records name, in one query; the missing ones are created."""
    keys = {(record.kind, record.slug) for record in records}
    condition = models.Q()
    for kind, slug in keys:
        condition |= models.Q(kind=kind, slug=slug)
    found = {(a.kind, a.slug): a for a in Automation.objects.filter(condition)}
    for kind, slug in keys - found.keys():
        found[(kind, slug)] = automation_ensure(kind=kind, slug=slug)
    return found


# Columns a repeated record overwrites; the chip (the run's review state) is never among them.
_RECORDED_FIELDS = (
    "automation", "status", "trigger", "triggered_by", "version", "input", "output", "error", "usage",
    "metadata", "batch_id", "example_id", "created_at", "started_at", "completed_at", "duration_ms",
    "sample_bucket", "sampled", "stratum", "inclusion_bp", "output_preview", "field_confidence",
)


def _versions_first_seen(records, automations, schedules) -> dict[int, dict]:
    """{automation_id: {version: first seen}} for the automations of the batch whose strata use
    the `new_version` condition (one query; none when no strata do)."""
    wanted = {automations[key].pk for key, schedule in schedules.items() if _uses_versions(schedule)}
    if not wanted:
        return {}
    versions = {r.version for r in records if r.version is not None and automations[(r.kind, r.slug)].pk in wanted}
    seen: dict[int, dict] = {pk: {} for pk in wanted}
    for automation_id, version, first in (RunVersion.objects.filter(automation_id__in=wanted, version__in=versions)
                                          .values_list("automation_id", "version", "first_seen")):
        seen[automation_id][version] = first
    return seen


def _uses_versions(schedule: RateSchedule) -> bool:
    """Whether any strata of this rate schedule use the `new_version` condition."""
    return any(uses_versions(strata) for _, strata in schedule.strata_changes)


def _versions_note(records, automations, first_seen: dict[int, dict]) -> None:
    """Record the versions this batch shows for the first time (or earlier than known)."""
    earliest: dict[tuple[int, str], object] = {}
    for r in records:
        pk = automations[(r.kind, r.slug)].pk
        if pk in first_seen and r.version is not None:
            known = first_seen[pk].get(r.version)
            if (known is None or r.created_at < known) and ((pk, r.version) not in earliest
                                                             or r.created_at < earliest[(pk, r.version)]):
                earliest[(pk, r.version)] = r.created_at
    for (pk, version), when in earliest.items():
        RunVersion.objects.update_or_create(automation_id=pk, version=version, defaults={"first_seen": when})


def runs_stored(ids) -> dict[str, tuple]:
    """The runs of these ids already stored, locked (FOR UPDATE, in id order) until the caller's
    transaction ends: {id: (automation_id, created_at, sampled, chip, version, stratum,
    inclusion_bp)}. One query, after the ids' locks (runs.partitions.run_ids_lock: the ids not
    stored yet are the caller's to insert until it commits)."""
    ids = list(ids)
    run_ids_lock(ids)
    return {pk: rest for pk, *rest in
            Run.objects.filter(in_values("pk", ids)).select_for_update().order_by("pk")
            .values_list("pk", "automation_id", "created_at", "sampled", "chip", "version", "stratum", "inclusion_bp")}


def runs_record(records: list[RunRecord], *, stored: dict[str, tuple] | None = None) -> RecordResult:
    """Store parsed run records, idempotent on run id (a repeat updates the run in place).

    A run's review, chip and files survive a repeat; files in the record replace files of the
    same role and name. In one transaction and a fixed number of statements per batch: one
    SELECT of the runs already stored (locked), one COPY of the new runs (runs_insert), a COPY
    and an UPDATE for the repeated ones (runs_update), and one upsert each for the chip
    counts and the daily run counts, changed by deltas (never recounted). Files cost a few
    statements each. Callers that record runs from outside (the command, the ingest API, the
    demo) go through datasets.loop.runs_record_and_check, which also checks runs of examples;
    it passes `stored`, what runs_stored answered for these ids inside the same transaction.
    """
    result = RecordResult()
    if not records:
        return result
    automations = _automations_for(records)
    by_id = rate_schedules(automations.values())
    schedules = {key: by_id[a.pk] for key, a in automations.items()}
    # Plain dicts of column values (attnames), not model instances: building 1,000 Run objects
    # a batch cost more than the COPY itself. Repeated runs become instances for the upsert.
    rows: dict[str, dict] = {}
    unreviewed = Chip.UNREVIEWED
    first_seen = _versions_first_seen(records, automations, schedules)
    for record in records:
        key = (record.kind, record.slug)
        bucket = sample_bucket(record.id)
        schedule = schedules[key]
        rate = schedule.rate_at(record.created_at)
        stratum = DEFAULT_STRATUM
        if schedule.strata_changes:  # sampling by risk: the first stratum whose condition holds
            strata = schedule.strata_at(record.created_at)
            if strata:
                stratum, rate = stratum_of(strata, rate, record, first_seen.get(automations[key].pk))
        rows[record.id] = {
            "id": record.id, "automation_id": automations[key].pk, "chip": unreviewed,
            "status": record.status, "trigger": record.trigger, "triggered_by": record.triggered_by,
            "version": record.version, "input": record.input, "output": record.output, "error": record.error,
            "usage": record.usage, "metadata": record.metadata, "batch_id": record.batch_id,
            "example_id": record.example_id, "created_at": record.created_at, "started_at": record.started_at,
            "completed_at": record.completed_at, "duration_ms": record.duration_ms,
            "sample_bucket": bucket, "sampled": bucket < rate, "stratum": stratum, "inclusion_bp": rate,
            "output_preview": output_preview(record.output, record.error),
            # Double review (docs/rules.md#double-review): decided once, when first recorded.
            "double_review": DOUBLE_WANTED if schedule.is_double(record.id, record.created_at, bucket < rate) else "",
            "field_confidence": record.field_metadata,
        }
    with transaction.atomic():
        before = runs_stored(rows) if stored is None else stored
        fresh, repeated, (day_moves, chip_moves, stratum_moves, version_moves) = record_moves(rows, before)
        if fresh:
            # A plain INSERT (COPY on PostgreSQL): no concurrent request stores these ids meanwhile
            # (runs_stored took their locks), and one that did anyway fails the batch instead of
            # being counted twice.
            runs_insert(fresh)
        if repeated:
            runs_update(repeated)
        day_counts_add(day_moves)
        chip_counts_add(chip_moves)
        stratum_counts_add(stratum_moves)
        version_counts_add(version_moves)
        if first_seen:
            _versions_note(records, automations, first_seen)
        # Evaluator scores: a record with scores replaces the run's scores (the last one of an id
        # wins); one DELETE for the runs that had some, one INSERT for all.
        scored = {record.id: record.scores for record in records if record.scores is not None}
        if scored:
            stale = [run_id for run_id in scored if run_id in before]
            if stale:
                EvaluatorScore.objects.filter(in_values("run_id", stale)).delete()
            EvaluatorScore.objects.bulk_create([
                EvaluatorScore(run_id=run_id, name=s.name, value=s.value, passed=s.passed, source=s.source)
                for run_id, scores in scored.items() for s in scores])
        # Steps likewise: a record with steps replaces the run's steps (the last one of an id
        # wins); one DELETE for the runs stored before, one INSERT for every step of the batch.
        stepped = {record.id: record.steps for record in records if record.steps is not None}
        if stepped:
            run_steps_replace(stepped, stale=[run_id for run_id in stepped if run_id in before])
        seen = set()
        for record in records:
            # A repeat inside the batch counts as an update; the last record of an id wins.
            (result.updated if record.id in before or record.id in seen else result.created).append(record.id)
            seen.add(record.id)
            for file_record in record.files:
                run_file_store(run_id=record.id, name=file_record.name, role=file_record.role,
                               content=file_record.content, content_type=file_record.content_type,
                               new_run=record.id not in before)
    return result


def runs_insert(rows: list) -> None:
    """Insert new runs, each a Run or a dict of column values by attname: PostgreSQL COPY,
    elsewhere bulk_create. (bulk_create on PostgreSQL sends a batch as one array per column and
    psycopg escapes the jsonb[] arrays in Python, which made it about three times slower.)"""
    db = transaction.get_connection()
    if db.vendor != "postgresql":
        Run.objects.bulk_create([row if isinstance(row, Run) else Run(**row) for row in rows], batch_size=1000)
        return
    with transaction.atomic(), db.cursor() as cursor, db.wrap_database_errors:
        _copy_rows(db, cursor, Run._meta.db_table, Run._meta.concrete_fields, rows)


def runs_update(rows: list[dict]) -> None:
    """Overwrite the recorded columns (_RECORDED_FIELDS; never the chip) of runs already stored,
    each row a dict of column values by attname. On PostgreSQL: COPY into a temporary table, then
    one UPDATE ... FROM it, which leaves alone the rows whose columns already hold these values (a
    batch sent again after a timeout costs no row versions). JSON columns are compared as text,
    so a value that differs only in how it is written (1.0 and 1) is still rewritten. Elsewhere
    INSERT ... ON CONFLICT DO UPDATE (bulk_create), which on PostgreSQL spent most of its time
    escaping jsonb arrays in Python (see runs_insert)."""
    db = transaction.get_connection()
    if db.vendor != "postgresql":
        Run.objects.bulk_create([Run(**row) for row in rows], batch_size=1000, update_conflicts=True,
                                unique_fields=["id"], update_fields=list(_RECORDED_FIELDS))
        return
    quote = db.ops.quote_name
    fields = [Run._meta.pk] + [Run._meta.get_field(name) for name in _RECORDED_FIELDS]
    stage = quote("loupe_run_stage")
    table = quote(Run._meta.db_table)

    def compared(alias: str, f) -> str:
        return f"{alias}.{quote(f.column)}" + ("::text" if isinstance(f, models.JSONField) else "")

    changed = " OR ".join(f"{compared('r', f)} IS DISTINCT FROM {compared('s', f)}" for f in fields[1:])
    with transaction.atomic(), db.cursor() as cursor, db.wrap_database_errors:
        # Created and dropped in this transaction (a failed batch rolls it back with the rest);
        # no indexes, no WAL: cheaper than the ORM's upsert and than a jsonb_populate_recordset.
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                       f"SELECT {', '.join(quote(f.column) for f in fields)} FROM {table} WITH NO DATA")
        _copy_rows(db, cursor, "loupe_run_stage", fields, rows)
        cursor.execute(
            f"UPDATE {table} AS r SET {', '.join(f'{quote(f.column)} = s.{quote(f.column)}' for f in fields[1:])} "
            f"FROM {stage} AS s WHERE r.{quote(Run._meta.pk.column)} = s.{quote(Run._meta.pk.column)} AND ({changed})")
        cursor.execute(f"DROP TABLE {stage}")


def _copy_rows(db, cursor, table: str, fields, rows: list) -> None:
    """COPY rows (Runs or dicts by attname) into `table`'s columns of `fields`. JSON columns are
    sent as JSON text (orjson, runs.records.json_dumps), which COPY's text format hands to jsonb's
    input as is; every other value (str, int, bool, aware datetime, None) is written as is, which
    is what the fields' own preparation returns for them."""
    columns = ", ".join(db.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    with cursor.cursor.copy(f"COPY {db.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            values = row if isinstance(row, dict) else row.__dict__
            line = [values[name] for name in names]
            for i in json_at:
                if line[i] is not None:
                    line[i] = json_dumps(line[i])
            write(line)


def run_steps_replace(steps_by_run: dict, *, stale: Iterable[str] | None = None) -> None:
    """Store runs' steps (run id -> runs.records.StepRecord list), replacing any they had, in the
    order given: one DELETE (for `stale`, the runs that may have steps; every run when None) and
    one INSERT for all the steps."""
    stale = list(steps_by_run if stale is None else stale)
    if stale:
        RunStep.objects.filter(in_values("run_id", stale)).delete()
    RunStep.objects.bulk_create([
        RunStep(run_id=run_id, position=i, name=s.name, type=s.type, status=s.status, started_at=s.started_at,
                completed_at=s.completed_at, input=s.input, output=s.output, error=s.error)
        for run_id, steps in steps_by_run.items() for i, s in enumerate(steps)], batch_size=1000)


def run_file_store(*, run_id: str, name: str, role: str, content, content_type: str,
                   new_run: bool = False) -> RunFile:
    """Attach (or replace) one file of a run; `content` is bytes or a File (streamed to storage).
    `new_run`: the run was created in this transaction, so it has no file to replace yet."""
    replaces = None if new_run else RunFile.objects.filter(run_id=run_id, role=role, name=name).first()
    return store_file(RunFile(run_id=run_id, role=role, name=name, content_type=content_type),
                      replaces=replaces, name=name, content=content)
