"""Plain factory functions: tests build data through the same services production uses."""

import itertools
from datetime import timedelta

from django.utils import timezone

from datasets.loop import runs_record_and_check
from runs.models import Automation, Run
from runs.records import parse_run_record
from runs.services import automation_ensure

_ids = itertools.count(1)
# One base time per test session: each new run is 1 ms older than the previous one, so creation
# order is newest-first whatever the machine's speed, and all runs fall on the session's day.
_BASE = timezone.now()

INVOICE_OUTPUT = {
    "vendor": {"name": "Acme Supplies GmbH", "vat_id": "DE123456789"},
    "invoice_number": "INV-2026-0042",
    "invoice_date": "2026-10-30",
    "currency": "EUR",
    "total": 1234.5,
    "line_items": [
        {"description": "Paper A4", "quantity": 10, "unit_price": 4.5, "amount": 45.0},
        {"description": "Toner", "quantity": 2, "unit_price": 89.0, "amount": 178.0},
    ],
}


def make_automation(ref: str = "workflows.extract-invoice", *, rate_bp: int = 10_000, name: str = "") -> Automation:
    """An automation; by default every run is sampled (rate 100 %) so tests see them in the queue."""
    prefix, _, slug = ref.partition(".")
    kind = "workflow" if prefix == "workflows" else "agent"
    return automation_ensure(kind=kind, slug=slug, name=name, rate_bp=rate_bp)


def run_record(automation: Automation | None = None, **fields) -> dict:
    automation = automation or make_automation()
    n = next(_ids)
    record = {
        "id": f"run_test_{n:06d}",
        "automation": automation.ref,
        "status": "completed",
        "trigger": "api",
        "version": "v3",
        "input": {"document": {"$file": "input/invoice.pdf"}, "customer": "c-42"},
        "output": INVOICE_OUTPUT,
        "createdAt": (_BASE - timedelta(milliseconds=n)).isoformat(),
        "durationMs": 2300,
    }
    record.update(fields)
    return record


def make_run(automation: Automation | None = None, **fields) -> Run:
    record = parse_run_record(run_record(automation, **fields))
    runs_record_and_check([record])
    return Run.objects.get(pk=record.id)


def make_runs(count: int, automation: Automation | None = None, **fields) -> list[Run]:
    automation = automation or make_automation()
    records = [parse_run_record(run_record(automation, **fields)) for _ in range(count)]
    runs_record_and_check(records)
    return list(Run.objects.filter(pk__in=[r.id for r in records]))


PAUSED_MACHINE_DATA = {"vendor": {"name": "ACME GmbH", "iban": "DE89370400440532013000"}, "total": 1234.5,
                       "currency": "EUR", "lines": [{"amount": 45.0}, {"amount": 178.0}]}
PAUSED_FIELD_METADATA = {
    "/vendor/name": {"confidence": 0.97, "label": "Vendor"},
    "/vendor/iban": {"confidence": 0.41, "label": "IBAN"},
    "/total": {"confidence": "low", "label": "Total"},
    "/currency": {"confidence": "high", "label": "Currency"},
}


def paused_record(automation: Automation | None = None, **review) -> dict:
    """A run recorded paused for a person: status waiting and a humanReview object
    (docs/human-review.md); `review` overrides keys of the humanReview object."""
    human_review = {"sourceKind": "workflow_step", "sourceLabel": "Check the invoice",
                    "machineData": PAUSED_MACHINE_DATA, "fieldMetadata": PAUSED_FIELD_METADATA,
                    "instructions": "Compare with the PDF."}
    human_review.update(review)
    return run_record(automation, status="waiting", output=None, humanReview=human_review)


def make_paused_run(automation: Automation | None = None, **review) -> Run:
    record = parse_run_record(paused_record(automation, **review))
    runs_record_and_check([record])
    return Run.objects.get(pk=record.id)
