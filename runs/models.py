
from django.conf import settings
from django.db import models
from django.utils import timezone

from runs.chips import Chip
from runs.ids import small_int
from runs.sampling import RateSchedule
from runs.sql import values_over
from runs.strata import Stratum


class AutomationKind(models.TextChoices):
    WORKFLOW = "workflow", "Workflow"
    AGENT = "agent", "Agent"


KIND_PREFIX = {AutomationKind.WORKFLOW: "workflows", AutomationKind.AGENT: "agents"}
DEFAULT_SAMPLING_BP = 1500
# Run.double_review states (docs/rules.md#double-review).
DOUBLE_WANTED, DOUBLE_DISPUTED, DOUBLE_DONE = "wanted", "disputed", "done"


class AutomationQuerySet(models.QuerySet):
    def by_ref(self, ref: str) -> "Automation":
        """Look up by `workflows.<slug>` / `agents.<slug>` or by numeric id; raises DoesNotExist."""
        prefix, _, slug = ref.partition(".")
        kinds = {v: k for k, v in KIND_PREFIX.items()}
        if slug and prefix in kinds:
            return self.get(kind=kinds[prefix], slug=slug)
        if small_int(ref) is not None:
            return self.get(pk=small_int(ref))
        raise self.model.DoesNotExist(f"No automation {ref!r}.")


class Automation(models.Model):
    kind = models.CharField(max_length=16, choices=AutomationKind.choices, default=AutomationKind.WORKFLOW)
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    # Current rate in basis points (0-10000); the full history is in SamplingRateChange.
    sampling_rate_bp = models.PositiveIntegerField(default=DEFAULT_SAMPLING_BP)
    # Sampling page: suggest stepping the rate down once the pass-rate interval's lower
    # bound clears this threshold.
    step_down_threshold = models.FloatField(default=0.95)
    # Sampling by risk (runs/strata.py): the strata of the latest change, stored form
    # [{"name", "when", "rate_bp"}]; the full history is in SamplingRateChange.strata.
    sampling_strata = models.JSONField(default=list, blank=True)
    # Double review (docs/rules.md#double-review): the share of sampled runs, in basis points, that
    # also go to a second, blind reviewer; the history is in SamplingRateChange.double_review_bp.
    double_review_bp = models.PositiveIntegerField(default=0)
    # Increments on every sampling change (rate, strata, threshold): the API's ETag.
    sampling_version = models.PositiveIntegerField(default=1)
    # Close the loop: resolve an open review automatically when its promoted example passes.
    auto_resolve = models.BooleanField(default=False)
    # Proxy mode: this row mirrors the upstream automation with this id (it holds the local
    # sampling-rate history); empty in local mode.
    remote_id = models.CharField(max_length=100, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AutomationQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "slug"]
        constraints = [models.UniqueConstraint(fields=["kind", "slug"], name="automation_kind_slug_unique")]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return f"{KIND_PREFIX[self.kind]}.{self.slug}"

    @property
    def display_name(self) -> str:
        return self.name or self.slug

    def rate_schedule(self) -> RateSchedule:
        changes = list(self.rate_changes.order_by("effective_at", "id")
                       .values_list("effective_at", "old_bp", "new_bp", "strata", "double_review_bp"))
        return schedule_from_changes(self.sampling_rate_bp, changes)


def schedule_from_changes(current_bp: int, changes: list[tuple]) -> RateSchedule:
    """A RateSchedule from (effective_at, old_bp, new_bp[, strata[, double_review_bp]]) rows, oldest first."""
    if not changes:
        return RateSchedule(initial_bp=current_bp)
    first_old = changes[0][1]
    initial = first_old if first_old is not None else changes[0][2]
    return RateSchedule(initial_bp=initial, changes=tuple((row[0], row[2]) for row in changes),
                        strata_changes=_strata_changes(changes), double_changes=_double_changes(changes))


def _strata_changes(changes: list[tuple]) -> tuple:
    """(effective_at, strata) of the rows that set the strata."""
    return tuple((row[0], tuple(Stratum(**s) for s in row[3])) for row in changes
                 if len(row) > 3 and row[3] is not None)


def _double_changes(changes: list[tuple]) -> tuple:
    """(effective_at, double_review_bp) of the rows that set the double-review rate."""
    return tuple((row[0], row[4]) for row in changes if len(row) > 4 and row[4] is not None)


def rate_schedules(automations) -> dict[int, RateSchedule]:
    """The rate schedule of each automation, in one query (proxy mode samples every listed run)."""
    rows: dict[int, list[tuple]] = {a.pk: [] for a in automations}
    # Compiled once per number of automations (runs.sql.values_over): on every dashboard.
    changes = values_over("rate schedules", lambda *ids: (
        SamplingRateChange.objects.filter(automation_id__in=ids).order_by("automation_id", "effective_at", "id")
        .values_list("automation_id", "effective_at", "old_bp", "new_bp", "strata", "double_review_bp")), rows)
    for automation_id, when, old, new, strata, double in changes:
        rows[automation_id].append((when, old, new, strata, double))
    return {a.pk: schedule_from_changes(a.sampling_rate_bp, rows[a.pk]) for a in automations}


class SamplingRateChange(models.Model):
    """Append-only history of an automation's sampling rate. A change applies to runs
    created at or after `effective_at`, never to the backlog already queued."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="rate_changes")
    old_bp = models.PositiveIntegerField(null=True, blank=True)
    new_bp = models.PositiveIntegerField()
    effective_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField(blank=True)
    # The strata in effect from effective_at (runs/strata.py, stored form); None: unchanged.
    strata = models.JSONField(null=True, blank=True)
    # The step-down threshold set by this change; None: unchanged.
    step_down_threshold = models.FloatField(null=True, blank=True)
    # The double-review share (basis points of sampled runs) set by this change; None: unchanged.
    double_review_bp = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-effective_at", "-id"]
        indexes = [models.Index(fields=["automation", "effective_at"], name="rate_change_auto_time")]

    def __str__(self) -> str:
        return f"{self.automation}: {self.old_bp} -> {self.new_bp} bp"


class RunStatus(models.TextChoices):
    CREATED = "created", "Created"
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    FINALIZING = "finalizing", "Finalizing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"


TERMINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.REJECTED})
# The large JSON columns; list pages defer them.
HEAVY_FIELDS = ("input", "output", "usage", "metadata", "error")


class RunQuerySet(models.QuerySet):
    def light(self) -> "RunQuerySet":
        return self.defer(*HEAVY_FIELDS)


# On PostgreSQL the run table is partitioned by month (runs/partitions.py): its key is (id,
# created_at), so no foreign key constraint can point at it and every model referencing a run
# says db_constraint=False (what hangs off a run is deleted with it by the ORM and by retention).
class Run(models.Model):
    id = models.CharField(max_length=100, primary_key=True)
    # No index of its own: the composite indexes below all start with the automation.
    automation = models.ForeignKey(Automation, on_delete=models.PROTECT, related_name="runs", db_index=False)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.COMPLETED)
    trigger = models.CharField(max_length=32, null=True, blank=True)
    triggered_by = models.CharField(max_length=200, null=True, blank=True)
    version = models.CharField(max_length=100, null=True, blank=True)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    usage = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    batch_id = models.CharField(max_length=100, null=True, blank=True)
    # The dataset example this run was executed for (closing the loop); opaque on purpose:
    # runs may be recorded for examples of another instance.
    example_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    # Derived columns, written once at ingest (or by review services) so the queue can
    # filter and count from indexes: see runs.services.run_record and review.services.
    sample_bucket = models.PositiveSmallIntegerField(default=0)
    sampled = models.BooleanField(default=False)
    chip = models.CharField(max_length=12, choices=Chip.choices, default=Chip.UNREVIEWED)
    output_preview = models.CharField(max_length=240, blank=True, default="")
    # Sampling by risk (runs/strata.py), written once at ingest: the stratum whose condition took
    # the run ("" the default rate) and its inclusion probability, the rate it was sampled at, in
    # basis points (0: recorded before strata existed; the rate period's rate applies).
    stratum = models.CharField(max_length=64, blank=True, default="")
    inclusion_bp = models.PositiveSmallIntegerField(default=0)
    # Double review (docs/rules.md#double-review): "" not chosen; "wanted" chosen when recorded
    # (a sampled run below the share in effect at its creation) and waiting for its blind second
    # review; "disputed" both reviews in and they differ (the lead's adjudication queue); "done"
    # the reviews agreed or a lead decided. Set at ingest, then moved only by review.double.
    double_review = models.CharField(max_length=8, blank=True, default="")
    # The record's `fieldMetadata` (runs/confidence.py): {pointer into output: "low" | "medium" |
    # "high" | 0-1}; None when it gave none. Feeds the calibration rollup (review.counters).
    field_confidence = models.JSONField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Queue of one automation, newest first (keyset pagination on created_at, id).
            models.Index(fields=["automation", "sampled", "-created_at", "-id"], name="run_queue"),
            models.Index(fields=["automation", "sampled", "chip", "-created_at", "-id"], name="run_queue_chip"),
            models.Index(fields=["automation", "-created_at", "-id"], name="run_auto_time"),
            models.Index(fields=["automation", "status", "-created_at"], name="run_auto_status"),
            # All-automations view.
            models.Index(fields=["sampled", "chip", "-created_at", "-id"], name="run_all_chip"),
            models.Index(fields=["-created_at", "-id"], name="run_time"),
            # The runs of an example (comparisons, checks): few runs have one, so only they are
            # indexed and recording the others does not touch this index.
            models.Index(fields=["example_id"], name="run_example", condition=models.Q(example_id__isnull=False)),
            # The second-review and adjudication queues (review.double): the few runs chosen for
            # double review, so recording the others does not touch this index.
            models.Index(fields=["automation", "double_review", "-created_at", "-id"], name="run_double_review",
                         condition=~models.Q(double_review="")),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.duration_ms is None:
            return None
        return self.duration_ms / 1000


class StoredFile(models.Model):
    """What every stored file keeps beside its bytes (its `file`, each model's own storage path):
    the content type and size it was stored with, and when. Run files, examples' files, reviews'
    expected files and dataset review uploads."""

    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


def run_file_path(instance: "RunFile", filename: str) -> str:
    return f"runs/{instance.run_id}/{instance.role}/{filename}"


class FileRole(models.TextChoices):
    INPUT = "input", "Input"
    OUTPUT = "output", "Output"
    DEBUG = "debug", "Debug"
    REPORT = "report", "Report"


class RunFile(StoredFile):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="files", db_constraint=False)
    role = models.CharField(max_length=16, choices=FileRole.choices, default=FileRole.OUTPUT)
    name = models.CharField(max_length=500, help_text="A file name or a slash-delimited path.")
    file = models.FileField(upload_to=run_file_path, max_length=800)

    class Meta:
        ordering = ["role", "name"]
        constraints = [models.UniqueConstraint(fields=["run", "role", "name"], name="run_file_unique")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.role}/{self.name}"


class ChipCount(models.Model):
    """Counts of runs by (automation, sampled, chip), kept by the services that change a
    run's chip, so the queue shows chip counts without counting a million rows."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="chip_counts")
    sampled = models.BooleanField()
    chip = models.CharField(max_length=12, choices=Chip.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "sampled", "chip"], name="chip_count_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}/{'sampled' if self.sampled else 'all'}/{self.chip}: {self.count}"


class RunDayCount(models.Model):
    """Runs recorded per (automation, day, sampled), kept with the runs by runs.services, so the
    traffic and backlog charts read 30 rows instead of counting a month of runs. Days are
    calendar days in settings.TIME_ZONE."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="day_counts")
    day = models.DateField()
    sampled = models.BooleanField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "day", "sampled"], name="run_day_count_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id} {self.day} {'sampled' if self.sampled else 'not sampled'}: {self.count}"


class StratumDayCount(models.Model):
    """Runs recorded per (automation, day, sampled, stratum, inclusion rate) for the runs a
    stratum took (runs/strata.py; the default rate's runs are RunDayCount's less these), kept with
    the runs by runs.services and rebuilt with the daily run counts, so the sampling page reads
    each stratum's traffic and sampled runs from a few rows (docs/estimates.md#strata)."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sampled = models.BooleanField()
    stratum = models.CharField(max_length=64)
    inclusion_bp = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "day", "sampled", "stratum", "inclusion_bp"],
                                    name="stratum_day_count_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id} {self.day} {self.stratum}@{self.inclusion_bp}: {self.count}"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class RunStep(models.Model):
    """One step of a run (an LLM call, a tool, a parser...), in the order the run took them.

    The review pane shows them as a timeline beside the output so the reviewer sees where a
    miss happened; `position` keeps the order the run reported (timestamps may tie or be absent).
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps", db_constraint=False)
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=50, blank=True, default="")
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.COMPLETED)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="run_step_position")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.position} {self.name}"

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.completed_at:
            return max(0, int((self.completed_at - self.started_at).total_seconds() * 1000))
        return None

class EvaluatorScore(models.Model):
    """A score an automated evaluator gave a run, recorded with the run at ingest
    (`scores: [{name, value | passed, source}]`). `passed` is the evaluator's own verdict, or
    derived from `value` at ingest (runs/records.py says how); None when it cannot be told."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="evaluator_scores",
                            db_constraint=False)
    name = models.CharField(max_length=100)
    value = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    source = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "name"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="evaluator_score_once_per_run")]
        # The queue's disagreement filter and the agreement table look runs up by evaluator verdict.
        indexes = [models.Index(fields=["name", "passed", "run"], name="evaluator_score_verdict")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.name}: {self.passed if self.value is None else self.value}"


class RunVersion(models.Model):
    """When each version of an automation was first recorded: the `new_version` stratum
    condition (runs/strata.py) reads it. Kept at ingest only for automations whose strata use
    that condition; filled from the runs when such a stratum is set."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+")
    version = models.CharField(max_length=100)
    first_seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["automation", "version"], name="run_version_once")]

    def __str__(self) -> str:
        return f"{self.automation_id} {self.version}"


class VersionHourCount(models.Model):
    """Sampled runs per (automation, hour of creation in UTC, version, stratum, inclusion rate),
    and how many of
    them are reviewed and passed (runs.chips.estimate_verdict), so the backlog page's per-version
    estimates read a few hundred rows instead of a month of one automation's sampled runs. Kind
    `sampled` is kept by runs.services with the runs (record, re-sampling) and `rated` / `passed`
    by review.counters with the reviews, by deltas in the writing transaction; retention lowers
    both; `manage.py recount` rebuilds them. `version` "" is a run without a version."""

    class Kind(models.TextChoices):
        SAMPLED = "sampled", "Sampled"
        RATED = "rated", "Rated"
        PASSED = "passed", "Passed"

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+")
    # Hours, not days: a rate change splits one hour, which alone is read from the runs.
    hour = models.DateTimeField()
    version = models.CharField(max_length=100, blank=True, default="")
    stratum = models.CharField(max_length=64, blank=True, default="")
    inclusion_bp = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "hour", "version", "stratum", "inclusion_bp", "kind"],
                                    name="version_hour_count_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}/{self.hour:%Y-%m-%d %H}/{self.version}/{self.stratum}@{self.inclusion_bp}/{self.kind}: {self.count}"
