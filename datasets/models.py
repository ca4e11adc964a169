import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from runs.models import Automation, StoredFile

# Archive folder names are example names, so names follow the archive rule (docs/api-feedback.md#dataset-archive).
EXAMPLE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")


def validate_example_name(value: str) -> None:
    if not EXAMPLE_NAME_RE.match(value or ""):
        raise ValidationError(
            "Use 1-128 lowercase letters, digits, '-' or '_', starting with a letter or digit.",
            code="invalid_name",
        )


class Example(models.Model):
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="examples")
    name = models.CharField(max_length=128, validators=[validate_example_name])
    input = models.JSONField(null=True, blank=True, default=dict)
    output = models.JSONField(null=True, blank=True, help_text="The run's output when promoted.")
    expected = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    annotation = models.TextField(null=True, blank=True)
    row_order = models.PositiveIntegerField(null=True, blank=True)
    overrides = models.JSONField(null=True, blank=True)
    # Per-field assertions: [{"path": "/total", "kind": "number_compare", "op": ">=", "value": 0}, ...]
    assertions = models.JSONField(default=list, blank=True)
    source_run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="promoted_examples",
        db_constraint=False,
    )
    promoted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    latest_run_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["row_order", "name"]
        constraints = [models.UniqueConstraint(fields=["automation", "name"], name="example_name_unique")]

    def __str__(self) -> str:
        return f"{self.automation.ref}/{self.name}"


class ExampleFolder(models.TextChoices):
    INPUT = "input", "input"
    EXPECTED = "expected", "expected"


def example_file_path(instance: "ExampleFile", filename: str) -> str:
    return f"examples/{instance.example_id}/{instance.folder}/{filename}"


class ExampleFile(StoredFile):
    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="files")
    folder = models.CharField(max_length=8, choices=ExampleFolder.choices)
    path = models.CharField(max_length=500, help_text="Relative to the folder, may contain slashes.")
    file = models.FileField(upload_to=example_file_path, max_length=800)

    class Meta:
        ordering = ["folder", "path"]
        constraints = [models.UniqueConstraint(fields=["example", "folder", "path"], name="example_file_unique")]

    def __str__(self) -> str:
        return f"{self.folder}/{self.path}"


class CheckVerdict(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    BLOCKED = "blocked", "Blocked"


class ExampleCheck(models.Model):
    """One run of an example checked against the example (docs/rules.md#closing-the-loop).
    `run_id` is kept as text: the check outlives the run and may come from another instance."""

    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="checks")
    run_id = models.CharField(max_length=100)
    verdict = models.CharField(max_length=8, choices=CheckVerdict.choices)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["example", "-created_at"], name="example_check_latest")]
        constraints = [models.UniqueConstraint(fields=["example", "run_id"], name="example_check_once_per_run")]

    def __str__(self) -> str:
        return f"{self.example} on {self.run_id}: {self.verdict}"

    @property
    def summary(self) -> str:
        return (self.details or {}).get("summary", "")
