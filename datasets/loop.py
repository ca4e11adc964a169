"""Closing the loop, in one place: record runs, check each run recorded for a dataset example
against that example, and resolve the reviews the passing check settles (docs/rules.md).
The import_runs command, the ingest API and the demo loader all record runs through
`runs_record_and_check`, which also opens the human review task of a run recorded paused
(humanreview.services.tasks_open)."""

from datasets.checks import check_output
from datasets.models import CheckVerdict, Example, ExampleCheck
from humanreview.services import tasks_open
from review.counters import run_review_states, run_review_states_move
from review.models import AuditEvent, Review
from review.services import review_update
from runs.files import atomic_with_files
from runs.ids import small_int
from runs.models import TERMINAL_STATUSES, Run, RunStatus
from runs.records import RunRecord
from runs.services import RecordResult, runs_record, runs_stored


def runs_record_and_check(records: list[RunRecord]) -> RecordResult:
    """Store parsed run records (runs.services.runs_record) and, in the same transaction, check
    the runs of dataset examples against their example. A failure (a full disk on the third file)
    rolls back every run and removes every file this call stored (runs.files.atomic_with_files)."""
    with atomic_with_files():
        # A repeated run may move to another automation, day or sampling: its review's rollup
        # counts move with it. Only runs already stored can have reviews or verdict events (their
        # queries join the run), so a batch of new runs reads none of them; otherwise one query
        # each, a third only when some runs have reviews.
        ids = [r.id for r in records]
        stored = runs_stored(ids)
        before = run_review_states(list(stored))
        result = runs_record(records, stored=stored)
        run_review_states_move(before, ids)
        # Runs recorded paused ("status": "waiting" with a humanReview) open their task, once.
        tasks_open(records)
        example_runs = [r.id for r in records if r.example_id]
        if example_runs:
            example_runs_check(runs=Run.objects.filter(pk__in=example_runs).select_related("automation"))
    return result


def example_for_run(run: Run) -> Example | None:
    """The example a run was recorded for: `exampleId` is the example's id, or its name."""
    examples = Example.objects.filter(automation_id=run.automation_id)
    ref = run.example_id or ""
    if small_int(ref) is not None:
        found = examples.filter(pk=small_int(ref)).first()
        if found:
            return found
    return examples.filter(name=ref).first()


def example_runs_check(*, runs) -> list[ExampleCheck]:
    """Close the loop (docs/rules.md): check each finished run recorded for a dataset example
    against the example's expected output and assertions. Where the automation resolves
    automatically, a passing check resolves the open reviews promoted to that example."""
    checks = []
    for run in runs:
        if not run.example_id or run.status not in TERMINAL_STATUSES:
            continue
        example = example_for_run(run)
        if example is None:
            continue
        if run.status == RunStatus.COMPLETED:
            details = check_output(run.output, expected=example.expected, assertions=example.assertions).as_dict()
        else:
            details = {"verdict": CheckVerdict.FAILED, "summary": f"the run {run.status}: {(run.error or '').strip()[:200]}"}
        check, _ = ExampleCheck.objects.update_or_create(
            example=example, run_id=run.pk, defaults={"verdict": details["verdict"], "details": details})
        Example.objects.filter(pk=example.pk).update(latest_run_id=run.pk)
        checks.append(check)
        if check.verdict == CheckVerdict.PASSED and run.automation.auto_resolve:
            for review in Review.objects.filter(promoted_example=example, status="open").select_related("run"):
                # The action names the cause; which run passed is on the example's check list.
                review_update(run=review.run, changes={"status": "resolved"}, user=None, via=AuditEvent.Via.SYSTEM,
                              action="resolve:example passed")
    return checks
