"""runs_record stores steps in bulk: one INSERT for a batch's steps and one DELETE for its
repeated runs, however many runs carry steps; the last record of an id wins."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs.models import RunStep
from runs.records import parse_run_record
from runs.services import runs_record
from tests.factories import run_record

pytestmark = pytest.mark.django_db

STEPS = [{"name": "ocr", "type": "tool", "status": "completed"}, {"name": "extract", "type": "llm", "status": "failed",
                                                                   "error": "Timeout"}]


def step_statements(records) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        runs_record([parse_run_record(r) for r in records])
    return [q["sql"].split()[0].upper() for q in ctx.captured_queries if "runs_runstep" in q["sql"]]


def steps_of(run_id) -> list:
    return list(RunStep.objects.filter(run_id=run_id).order_by("position").values_list("position", "name"))


@pytest.mark.parametrize("size", [2, 30])
def test_a_batch_stores_every_runs_steps_in_one_insert(automation, size):
    records = [run_record(automation, steps=STEPS) for _ in range(size)]
    assert step_statements(records) == ["INSERT"]
    assert all(steps_of(r["id"]) == [(0, "ocr"), (1, "extract")] for r in records)


@pytest.mark.parametrize("size", [2, 30])
def test_repeated_runs_lose_their_old_steps_in_one_delete(automation, size):
    records = [run_record(automation, steps=STEPS) for _ in range(size)]
    runs_record([parse_run_record(r) for r in records])
    untouched = run_record(automation)  # no steps: none stored, none deleted
    again = [{**r, "steps": STEPS[1:]} for r in records]
    assert step_statements([*again, untouched]) == ["DELETE", "INSERT"]
    assert all(steps_of(r["id"]) == [(0, "extract")] for r in records) and steps_of(untouched["id"]) == []


def test_a_repeat_without_steps_keeps_them_and_the_last_record_of_an_id_wins(automation):
    record = run_record(automation, steps=STEPS)
    runs_record([parse_run_record(record)])
    runs_record([parse_run_record({k: v for k, v in record.items() if k != "steps"})])
    assert steps_of(record["id"]) == [(0, "ocr"), (1, "extract")]
    runs_record([parse_run_record({**record, "steps": STEPS[:1]}), parse_run_record({**record, "steps": STEPS[1:]})])
    assert steps_of(record["id"]) == [(0, "extract")]
