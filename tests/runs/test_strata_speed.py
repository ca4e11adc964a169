"""Sampling by risk at ingest: six strata of every kind evaluated over many records and recorded in
batches of 1,000, with the rates printed. The speed goal (docs/rules.md#speed-yardstick: >= 5,000
runs/s) lives in `manage.py benchmark` (bench/strata.py), not in an assertion here: a timed
assertion fails on a loaded machine without any change to the code."""

import time

import pytest
from django.utils import timezone

from datasets.loop import runs_record_and_check
from runs.models import Run
from runs.policy import sampling_policy_set
from runs.records import parse_run_record
from runs.strata import strata_parse, stratum_of
from tests.factories import make_automation, run_record

pytestmark = pytest.mark.django_db

STRATA = [
    {"name": "judge failed", "when": {"kind": "score", "evaluator": "judge", "failed": True}, "rate": 100},
    {"name": "low score", "when": {"kind": "score", "below": 0.3}, "rate": 50},
    {"name": "vip", "when": {"kind": "tag", "tag": "vip"}, "rate": 100},
    {"name": "unsure", "when": {"kind": "low_confidence", "below": 0.4}, "rate": 100},
    {"name": "big", "when": {"kind": "json", "source": "output", "path": "/total", "op": "gt", "value": 10_000},
     "rate": 100},
    {"name": "new version", "when": {"kind": "new_version", "days": 7}, "rate": 25},
]


def _records(automation, count, start):
    return [parse_run_record(run_record(
        automation, id=f"speed_{start + i:07d}", createdAt=timezone.now().isoformat(),
        scores=[{"name": "judge", "value": (i % 10) / 10}], metadata={"tags": ["eu"], "fieldMetadata": {"/total": 0.9}},
    )) for i in range(count)]


def test_strata_are_evaluated_cheaply():
    automation = make_automation("workflows.speed-eval")
    strata = tuple(strata_parse(STRATA))
    records = _records(automation, 10_000, 0)
    seen = {"v3": timezone.now()}
    started = time.perf_counter()
    taken = [stratum_of(strata, 500, record, seen)[0] for record in records]
    elapsed = time.perf_counter() - started
    print(f"\nstrata evaluation: {len(records) / elapsed:,.0f} runs/s (six strata, the last one matching most)")
    assert {"judge failed", "new version"} <= set(taken)
    assert taken.count("judge failed") == 5000  # scores 0.0-0.4 of every ten fail the judge


def test_recording_with_strata_stays_above_5000_runs_per_second(ops):
    plain = make_automation("workflows.speed-plain", rate_bp=500)
    risky = make_automation("workflows.speed-risky", rate_bp=500)
    sampling_policy_set(automation=risky, user=ops, reason="bench", strata=STRATA,
                        now=timezone.now() - timezone.timedelta(minutes=1))
    rates = {}
    for name, automation, start in (("without strata", plain, 0), ("with six strata", risky, 100_000)):
        batches = [_records(automation, 1000, start + b * 1000) for b in range(3)]
        started = time.perf_counter()
        for batch in batches:
            runs_record_and_check(batch)
        rates[name] = 3000 / (time.perf_counter() - started)
    print("\ningest (runs_record_and_check, 3 batches of 1,000): "
          + ", ".join(f"{name} {rate:,.0f} runs/s" for name, rate in rates.items()))
    assert Run.objects.filter(automation=risky).exclude(stratum="").count() > 1000
    assert not Run.objects.filter(automation=plain).exclude(stratum="").exists()
