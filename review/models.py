from django.conf import settings
from django.db import models
from django.utils import timezone

from runs.chips import Rating, ReviewChip, ReviewStatus
from runs.models import Automation, Run, StoredFile


class Review(ReviewChip, models.Model):
    """The human verdict on one run (the API calls it feedback). At most one per run.

    `version` increments on every change; a save based on an older version is refused
    (see review.services.StaleReview), so concurrent reviewers never overwrite each other.
    """

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="review", db_constraint=False)
    rating = models.CharField(max_length=8, choices=Rating.choices, null=True, blank=True)
    status = models.CharField(max_length=8, choices=ReviewStatus.choices, null=True, blank=True)
    body = models.TextField(blank=True, default="")
    expected = models.JSONField(null=True, blank=True)
    # True when `expected` is set or at least one expected file exists; kept by services.
    has_expected = models.BooleanField(default=False)
    # JSON-pointer paths where `expected` differs from the run's output, array indices
    # generalised to `*` (`/line_items/*/amount`); kept by services, feeds the
    # most-corrected-fields statistics without recomputing diffs.
    corrected_paths = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_example = models.ForeignKey(
        "datasets.Example", null=True, blank=True, on_delete=models.SET_NULL, related_name="promoted_from"
    )
    promoted_example_name = models.CharField(max_length=128, null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    # The note left when the review was closed (reviews generation: closedNote); cleared on reopen.
    closed_note = models.TextField(null=True, blank=True)
    # How many Correction rows the review has; kept by review.corrections so list rows and the
    # hasCorrections filter read it without counting (docs/api-reviews.md).
    correction_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["status", "resolved_at"], name="review_status_resolved"),
            models.Index(fields=["updated_at"], name="review_updated"),
            # Partial indexes: the "has expected" and "promoted" filters select a small share
            # of a million runs, so they start from these few reviews instead of scanning runs.
            models.Index(fields=["run"], name="review_has_expected", condition=models.Q(has_expected=True)),
            models.Index(fields=["run"], name="review_promoted",
                         condition=models.Q(promoted_example_name__isnull=False)),
            # hasCorrections (reviews generation) starts from these few reviews, like the two above.
            models.Index(fields=["run"], name="review_has_corrections", condition=models.Q(correction_count__gt=0)),
            # The backlog's "oldest open" per automation walks open reviews oldest first.
            models.Index(fields=["created_at"], name="review_open_created", condition=models.Q(status="open")),
        ]

    def __str__(self) -> str:
        return f"Review of {self.run_id}"

    def apply(self, changes: dict, *, user, now=None) -> dict:
        """Set the given fields (a subset of rating, status, body, expected, closed_note), keeping the
        derived ones consistent. Returns {field: [old, new]} for the fields that changed."""
        now = now or timezone.now()
        diff = {}
        for name in ("rating", "status", "body", "expected", "closed_note"):
            if name not in changes:
                continue
            new = changes[name]
            if name == "body" and new is None:
                new = ""
            if name == "closed_note" and self.status not in (ReviewStatus.RESOLVED, ReviewStatus.IGNORED) \
                    and changes.get("status", self.status) not in (ReviewStatus.RESOLVED, ReviewStatus.IGNORED):
                new = None  # only a closed review has a closing note
            old = getattr(self, name)
            if old != new:
                diff[name] = [old, new]
                setattr(self, name, new)
        if "status" in diff:
            if self.status in (ReviewStatus.RESOLVED, ReviewStatus.IGNORED):
                self.resolved_at, self.resolved_by = now, user
            else:
                self.resolved_at, self.resolved_by = None, None
                self.closed_note = None
        if diff:
            self.updated_at, self.updated_by = now, user
            if self.created_by_id is None and user is not None and user.pk:
                self.created_by = user
            self.version += 1
        return diff


class ReviewDayCount(models.Model):
    """Reviews per (automation, run day, sampled, verdict), kept in step by review.services /
    review.counters, so the review health endpoint reads a month of rows instead of joining
    every review to its run (docs/api-reviews.md, "Reviews health"). The day is the run's
    creation day in settings.TIME_ZONE, like runs.RunDayCount. Verdict: correct (pass),
    incorrect (fail or partial), nit (a review without a rating)."""

    automation = models.ForeignKey("runs.Automation", on_delete=models.CASCADE, related_name="review_day_counts")
    day = models.DateField()
    sampled = models.BooleanField()
    verdict = models.CharField(max_length=10)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["automation", "day", "sampled", "verdict"],
                                               name="review_day_count_unique")]

    def __str__(self) -> str:
        return f"{self.automation_id} {self.day} {self.verdict}: {self.count}"


class Correction(models.Model):
    """One corrected field (kind field: a JSON pointer into the run's output, with the original
    and corrected values) or one corrected file (kind file: an expected file's name). Derived
    and kept in step by review.corrections whenever the expected output or files change, so
    the page editor, the feedback generation's `expected` and the reviews generation's
    `correctedOutput` / `corrections` all end in the same rows (docs/api-reviews.md)."""

    class Kind(models.TextChoices):
        FIELD = "field", "Field"
        FILE = "file", "File"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="corrections")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    path = models.CharField(max_length=1000)
    # The path with array indices as `*` (`/line_items/*/amount`): what "most corrected fields" counts.
    pattern = models.CharField(max_length=1000, blank=True, default="")
    label = models.CharField(max_length=200, null=True, blank=True)
    note = models.TextField(blank=True, default="")
    original_value = models.JSONField(null=True, blank=True)
    corrected_value = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "path"]
        indexes = [models.Index(fields=["kind", "pattern"], name="correction_kind_pattern")]

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


def expected_file_path(instance: "ExpectedFile", filename: str) -> str:
    return f"expected/{instance.review.run_id}/{filename}"


class ExpectedFile(StoredFile):
    """A corrected file attached to a review (ground truth for a file output)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="expected_files")
    name = models.CharField(max_length=500, help_text="A file name or a slash-delimited path.")
    file = models.FileField(upload_to=expected_file_path, max_length=800)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["review", "name"], name="expected_file_unique")]

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """One change to a run's review, its expected files or its promotion: who, when, what."""

    class Via(models.TextChoices):
        WEB = "web", "Web"
        API = "api", "API"
        SYSTEM = "system", "System"

    # No database constraint: in proxy mode the run lives upstream and Loupe keeps only this
    # audit of who did what through it (docs/rules.md#proxy-mode), so run_id names a run with no local row.
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="audit_events", db_constraint=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.WEB)
    action = models.CharField(max_length=40)
    # {field: [old, new]} for review fields; free-form details for file and promote events.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["run", "-created_at"], name="audit_run_time"),
            models.Index(fields=["created_at"], name="audit_time"),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.run_id}"

    def save(self, *args, **kwargs):
        # Written once: an event is never changed after the fact (docs/security.md).
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("Audit events are read-only once written.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are read-only; they go only with their run.")

    def describe(self) -> list[str]:
        """Human-readable lines for the history panel."""
        changes = self.changes or {}
        lines = []
        for name in ("rating", "status"):
            if name in changes:
                old, new = changes[name]
                lines.append(f"{name}: {old or 'none'} → {new or 'none'}")
        if "body" in changes:
            lines.append("note cleared" if not changes["body"][1] else "note: " + changes["body"][1][:120])
        if "expected" in changes:
            lines.append("expected output cleared" if changes["expected"][1] is None else "expected output corrected")
        if changes.get("corrected"):
            lines.append("fields corrected: " + ", ".join(changes["corrected"][:8])
                         + (f" and {len(changes['corrected']) - 8} more" if len(changes["corrected"]) > 8 else ""))
        if changes.get("uncorrected"):
            lines.append("corrections withdrawn: " + ", ".join(changes["uncorrected"][:8]))
        if "corrections" in changes:
            lines.append("correction notes changed")
        if self.action.startswith("expected_file:"):
            verb = self.action.split(":", 1)[1]
            source = f" from {changes['from']}" if changes.get("from") else ""
            lines.append(f"expected file {changes.get('name', '')}: {verb}{source}")
        if self.action == "promote":
            lines.append(f"promoted to example {changes.get('promoted_example_name', [None, '?'])[1]}"
                         + ("" if changes.get("has_expected") else " (no expected output)"))
        if self.action.startswith("second_review:"):
            lines.append(f"blind second review: {self.action.split(':', 1)[1]}, "
                         + ("agrees with the first" if changes.get("agrees") else "differs from the first"))
        if self.action.startswith("adjudicate:"):
            lines.append(f"adjudicated: {self.action.split(':', 1)[1]} review kept"
                         if self.action != "adjudicate:own" else "adjudicated: the lead's own review")
        if self.action == "clear":
            lines.append("review, expected output and files deleted")
        return lines


class Claim(models.Model):
    """A reviewer working on a run: nobody else is handed it by "next" until it expires.

    Keyed by the run id with no database constraint, like AuditEvent: in proxy mode the run
    lives upstream and Loupe keeps only who holds it. One claim per run (the unique key is
    what makes two reviewers racing for one run safe: the loser's insert fails).
    """

    run_id = models.CharField(max_length=100, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims")
    claimed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "expires_at"], name="claim_user_expiry"),
                   models.Index(fields=["expires_at"], name="claim_expiry")]

    def __str__(self) -> str:
        return f"{self.run_id} held by {self.user_id}"

    @property
    def active(self) -> bool:
        return self.expires_at > timezone.now()
class ReviewTally(models.Model):
    """Reviews tallied per (automation, day, sampled, kind[, path]) for the backlog and sampling
    pages (review.models.ReviewDayCount serves the review health endpoint), kept by review.counters in
    the same transaction as every change, so the sampling and backlog pages read a few hundred
    rows instead of joining every review of the window to its run. Kinds: `rated` and `passed`
    count the reviews the estimate counts as reviewed (a rating, or closed without one) and
    passed (rating pass), by the day their run was created (runs.chips.estimate_verdict);
    `resolved` counts reviews by the day they were resolved or ignored; `corrected` counts
    reviews whose expected output differs from the output, and `path` each corrected field path
    once per such review, both by the day the review last changed. Rebuilt by `manage.py recount`."""

    class Kind(models.TextChoices):
        RATED = "rated", "Rated"
        PASSED = "passed", "Passed"
        RESOLVED = "resolved", "Resolved"
        CORRECTED = "corrected", "Corrected"
        PATH = "path", "Corrected path"
        # Per stratum cell of sampled runs, path `<inclusion_bp>|<stratum>` (insights.stats).
        CELL_RATED = "srated", "Rated in a stratum"
        CELL_PASSED = "spassed", "Passed in a stratum"
        # Per field and confidence, path `<level>|<pattern>` (review.calibration; docs/calibration.md).
        CAL_REVIEWED = "calrev", "Field reviewed"
        CAL_CHANGED = "calchg", "Field changed"
        TASK_REVIEWED = "taskrev", "Field decided in a human review task"
        TASK_CHANGED = "taskchg", "Field edited in a human review task"

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sampled = models.BooleanField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    path = models.CharField(max_length=200, blank=True, default="")
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "day", "sampled", "kind", "path"],
                                    name="review_tally_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}/{self.day}/{'sampled' if self.sampled else 'all'}/{self.kind}{self.path}: {self.count}"


class ReviewerDayCount(models.Model):
    """Runs given a verdict per (automation, reviewer, day), a run judged twice the same day by
    the same reviewer counting once: the backlog page's throughput table. Kept by
    review.services when it records a verdict, rebuilt from the audit trail by `recount`."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "user", "day"], name="reviewer_day_count_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}/{self.user_id}/{self.day}: {self.count}"


class SecondReview(models.Model):
    """The blind second review of a run chosen for double review (docs/rules.md#double-review),
    its own record beside the run's Review: the second reviewer's verdict, note and correction,
    made without seeing the first. `reviewer` holds it (a claim until `held_until`) and then
    gave it; the same person never gives both. When submitted, the first review is copied in
    (`first_*`, what agreement is measured on, whatever happens to the Review later) and the
    two compared; a lead's adjudication of a disagreement is recorded here (`decision`) and
    written to the run's Review. `version` increments on every change; writes lock the run."""

    class Decision(models.TextChoices):
        FIRST = "first", "First review"
        SECOND = "second", "Second review"
        OWN = "own", "Lead's own"

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="second_review",
                               db_constraint=False)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    held_until = models.DateTimeField(null=True, blank=True)
    rating = models.CharField(max_length=8, choices=Rating.choices, null=True, blank=True)
    body = models.TextField(blank=True, default="")
    expected = models.JSONField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    first_rating = models.CharField(max_length=8, choices=Rating.choices, null=True, blank=True)
    first_body = models.TextField(blank=True, default="")
    first_expected = models.JSONField(null=True, blank=True)
    first_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # {field pattern: true when both reviewers left it alike} over the fields either corrected.
    fields = models.JSONField(default=dict, blank=True)
    agrees = models.BooleanField(null=True, blank=True)
    decision = models.CharField(max_length=8, choices=Decision.choices, blank=True, default="")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["submitted_at"], name="second_review_submitted",
                                condition=models.Q(submitted_at__isnull=False))]

    def __str__(self) -> str:
        return f"Second review of {self.run_id}"
