"""What the benchmark records to time ingest with sampling by risk and field confidence (issue
21, "Fast"): an automation of its own with four strata (an evaluator's failure, a tag, a
low confidence, a JSON condition on the output), and run records that carry a confidence per
top-level scalar of their output (`fieldMetadata`) and now and then a tag, so every condition is
evaluated for every run (the first that holds takes it)."""

from datetime import timedelta

from django.utils import timezone

from datasets.retention import runs_prune
from runs.models import Automation
from runs.policy import sampling_policy_set
from runs.services import automation_ensure

REF = "workflows.bench-strata"
STRATA = [
    {"name": "judge failed", "when": {"kind": "score", "evaluator": "judge", "failed": True}, "rate": 100},
    {"name": "vip", "when": {"kind": "tag", "tag": "vip"}, "rate": 100},
    {"name": "unsure", "when": {"kind": "low_confidence", "level": "low"}, "rate": 50},
    {"name": "large", "when": {"kind": "json", "source": "output", "path": "/total", "op": "gt", "value": 5000},
     "rate": 25},
]
LEVELS = ("high", "high", "high", "medium", "high", "high", "low", "high", "medium", "high")
MAX_FIELDS = 12


def strata_automation(user) -> Automation:
    """The benchmark's automation that samples by risk (its strata set once)."""
    automation = automation_ensure(kind="workflow", slug=REF.split(".", 1)[1], rate_bp=500)
    if not automation.sampling_strata:
        sampling_policy_set(automation=automation, user=user, reason="benchmark: sampling by risk", strata=STRATA)
        automation.refresh_from_db()
    return automation


def strata_automation_remove(automation: Automation) -> None:
    """Delete the benchmark's automation with its runs (through retention, so every counter
    stays exact): left behind, its rate change of today and its runs would be timed by the
    pages of the next benchmark as if they were the seeded data."""
    runs_prune(automation=automation, before=timezone.now() + timedelta(days=1))
    automation.delete()


def _confidence(output, n: int) -> dict | None:
    if not isinstance(output, dict):
        return None
    fields = [key for key, value in output.items() if isinstance(value, (str, int, float)) and "/" not in key
              and "~" not in key][:MAX_FIELDS]
    return {f"/{key}": LEVELS[(n + i) % len(LEVELS)] if i % 3 else round(((n * 7 + i) % 100) / 100, 2)
            for i, key in enumerate(fields)} or None


def confident_records(pool, count: int, prefix: str, now):
    """Run records of the strata automation, the outputs of the seeded pool in turn, each with a
    fieldMetadata and, one in twenty, a tag; created from `now` on (the strata apply from when they
    were set). No evaluator scores: the plain ingest line sends none either, so the two compare."""
    for n in range(count):
        source = pool[n % len(pool)]
        record = {"id": f"{prefix}{n:07d}", "automation": REF, "status": source.status, "trigger": "api",
                  "version": source.version or "v1", "input": source.input, "output": source.output,
                  "error": source.error, "usage": source.usage,
                  "metadata": {**(source.metadata or {}), "tags": ["vip"] if n % 20 == 5 else []},
                  "createdAt": (now + timedelta(milliseconds=n)).isoformat(), "durationMs": source.duration_ms or 0}
        confidence = _confidence(source.output, n)
        if confidence:
            record["fieldMetadata"] = confidence
        yield record
