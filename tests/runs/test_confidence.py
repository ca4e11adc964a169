"""Field confidence on any recorded run (runs/confidence.py): accepted without pausing, stored
on the run, checked by field (a bad one is a 400 naming it, the rest of the batch stored, nothing
of the bad run half-saved: tests/api/test_calibration.py), and read by the low_confidence stratum."""

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.confidence import level_of, parse_field_confidence
from runs.policy import sampling_policy_set
from runs.records import RecordError, parse_run_record
from tests.factories import INVOICE_OUTPUT, make_automation, make_run, run_record


def test_labels_numbers_and_objects_are_kept_compactly():
    parsed = parse_field_confidence({"/total": "low", "/currency": 0.9, "/vendor/name": {"confidence": 1},
                                     "/line_items/1/amount": {"confidence": "high", "label": "Amount"}},
                                    INVOICE_OUTPUT)
    assert parsed == {"/total": "low", "/currency": 0.9, "/vendor/name": 1.0, "/line_items/1/amount": "high"}
    assert parse_field_confidence(None, INVOICE_OUTPUT) is None and parse_field_confidence({}, INVOICE_OUTPUT) is None


@pytest.mark.django_db
@pytest.mark.parametrize(("metadata", "field"), [
    ({"/total": 1.2}, "fieldMetadata./total"),
    ({"/total": -0.1}, "fieldMetadata./total"),
    ({"/total": "certain"}, "fieldMetadata./total"),
    ({"/total": True}, "fieldMetadata./total"),
    ({"/total": {"confidence": 7}}, "fieldMetadata./total.confidence"),
    ({"/total": {"label": "Total"}}, "fieldMetadata./total.confidence"),
    ({"/nope": "low"}, "fieldMetadata./nope"),
    ({"total": "low"}, "fieldMetadata.total"),
    (["/total"], "fieldMetadata"),
])
def test_a_bad_confidence_is_refused_naming_the_field(metadata, field):
    with pytest.raises(RecordError) as refused:
        parse_run_record(run_record(make_automation("workflows.c"), fieldMetadata=metadata))
    assert str(refused.value).startswith(f"{field}: ")


@pytest.mark.django_db
def test_a_run_that_does_not_pause_stores_its_confidence(automation):
    run = make_run(automation, fieldMetadata={"/total": {"confidence": 0.31}})
    assert run.status == "completed" and run.field_confidence == {"/total": 0.31}
    again = make_run(automation, id=run.pk)  # a repeat without fieldMetadata clears it
    assert again.field_confidence is None


@pytest.mark.django_db
def test_the_low_confidence_stratum_reads_the_record_s_field_metadata(automation, ops):
    sampling_policy_set(automation=automation, user=ops, reason="risk", default_bp=0,
                        strata=[{"name": "unsure", "when": {"kind": "low_confidence", "below": 0.5}, "rate": 100}])
    later = (timezone.now() + timedelta(minutes=1)).isoformat()  # the change applies from now on
    unsure = make_run(automation, fieldMetadata={"/total": 0.2}, createdAt=later)
    sure = make_run(automation, fieldMetadata={"/total": 0.8}, createdAt=later)
    assert (unsure.stratum, unsure.inclusion_bp, unsure.sampled) == ("unsure", 10_000, True)
    assert (sure.stratum, sure.inclusion_bp, sure.sampled) == ("", 0, False)


def test_levels_are_labels_or_deciles():
    assert [level_of(v) for v in ("low", "high", 0, 0.05, 0.7, 0.99, 1, 1.0)] == \
        ["low", "high", "0.0", "0.0", "0.7", "0.9", "0.9", "0.9"]
    assert level_of("sure") is None and level_of(True) is None


@pytest.mark.django_db
def test_recording_with_strata_and_confidence_costs_the_same_statements_per_batch(automation, ops):
    """Ingest stays a fixed number of statements a batch (docs/rules.md#speed-yardstick): the
    strata's daily counts add one upsert, whatever the batch's size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from datasets.loop import runs_record_and_check
    from runs.models import StratumDayCount

    sampling_policy_set(automation=automation, user=ops, reason="risk", default_bp=500,
                        strata=[{"name": "unsure", "when": {"kind": "low_confidence", "level": "low"}, "rate": 100}])
    later = timezone.now() + timedelta(minutes=1)

    def batch(size: int) -> int:
        records = [parse_run_record(run_record(automation, fieldMetadata={"/total": "low" if i % 2 else "high"},
                                               createdAt=(later + timedelta(seconds=i)).isoformat()))
                   for i in range(size)]
        with CaptureQueriesContext(connection) as captured:
            runs_record_and_check(records)
        return len(captured.captured_queries)

    assert batch(5) == batch(30)  # (SQLite splits a larger INSERT by its parameter limit)
    assert StratumDayCount.objects.filter(automation=automation, stratum="unsure").exists()
