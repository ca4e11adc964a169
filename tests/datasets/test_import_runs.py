"""`manage.py import_runs FILE.jsonl`: idempotent, batched, line-numbered errors."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from demo.generate import demo_runs
from review.services import review_verdict
from runs.models import ChipCount, Run


def records(count=5, **fields) -> list[dict]:
    """Demo records; one given another output loses the demo's field confidences (their pointers
    name fields of the demo's output, and a pointer not in the output is refused)."""
    made = [{**run.record, **fields} for run in demo_runs(count=count, seed=9, files_ratio=0.4)]
    if "output" in fields:
        for record in made:
            record.pop("fieldMetadata", None)
    return made


def write(tmp_path, lines: list) -> str:
    path = tmp_path / "runs.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return str(path)


@pytest.fixture(autouse=True)
def _creates_automations(settings):
    # These files name automations Loupe does not know yet (tests/runs/test_automation_gate.py
    # covers the default, which rejects them).
    settings.LOUPE_INGEST_CREATES_AUTOMATIONS = True


def run_import(path: str, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_runs", path, *args, stdout=out, stderr=err, verbosity=0)
    return out.getvalue(), err.getvalue()


def test_import_creates_one_run_per_line(db, tmp_path):
    out, _ = run_import(write(tmp_path, records(5)))
    assert Run.objects.count() == 5
    assert "5 lines: 5 created, 0 updated, 0 rejected" in out


def test_import_stores_the_files_of_a_record(db, tmp_path):
    lines = records(8)
    run_import(write(tmp_path, lines))
    with_files = sum(1 for line in lines if line.get("files"))
    assert with_files and Run.objects.filter(files__isnull=False).distinct().count() == with_files


def test_reimporting_updates_in_place_without_duplicates(db, tmp_path):
    path = write(tmp_path, records(5))
    run_import(path)
    out, _ = run_import(path)
    assert Run.objects.count() == 5
    assert "5 lines: 0 created, 5 updated, 0 rejected" in out


def test_reimporting_keeps_a_runs_review_and_chip(db, tmp_path, reviewer):
    lines = records(3, status="completed")
    path = write(tmp_path, lines)
    run_import(path)
    review_verdict(run=Run.objects.get(pk=lines[0]["id"]), verdict="pass", user=reviewer)
    run_import(path)
    assert Run.objects.get(pk=lines[0]["id"]).chip == "passed"


def test_reimporting_changed_output_updates_the_preview(db, tmp_path):
    line = records(1, status="completed", output={"total": 1})[0]
    run_import(write(tmp_path, [line]))
    run_import(write(tmp_path, [{**line, "output": {"total": 2}}]))
    assert Run.objects.get(pk=line["id"]).output_preview == "total: 2"


def test_good_lines_are_imported_despite_bad_ones(db, tmp_path):
    good = records(3)
    path = write(tmp_path, [good[0], "{not json", {**good[1], "status": "done"}, good[2]])
    with pytest.raises(CommandError):
        run_import(path)
    assert set(Run.objects.values_list("id", flat=True)) == {good[0]["id"], good[2]["id"]}


def test_bad_lines_are_reported_with_their_line_number_and_field(db, tmp_path):
    good = records(2)
    path = write(tmp_path, [good[0], "{not json", {**good[1], "status": "done"}])
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_runs", path, stdout=io.StringIO(), stderr=err, verbosity=0)
    assert "line 2: invalid JSON:" in err.getvalue()
    assert "line 3: status: 'done' is not one of created, pending" in err.getvalue()


def test_rejected_lines_make_the_exit_status_non_zero(db, tmp_path):
    path = write(tmp_path, [records(1)[0], {"id": "run_x", "automation": "nope"}])
    with pytest.raises(CommandError) as caught:
        run_import(path)
    assert caught.value.returncode == 1


def test_the_summary_counts_rejected_lines(db, tmp_path):
    path = write(tmp_path, [records(1)[0], "[]"])
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_runs", path, stdout=out, stderr=io.StringIO(), verbosity=0)
    assert "2 lines: 1 created, 0 updated, 1 rejected" in out.getvalue()


def test_blank_lines_are_skipped(db, tmp_path):
    good = records(2)
    out, _ = run_import(write(tmp_path, [good[0], "", "   ", good[1]]))
    assert "2 lines: 2 created" in out


def test_a_run_the_database_refuses_is_rejected_alone(db, tmp_path):
    good = records(4)
    too_long = {**good[1], "durationMs": 2**70}  # beyond a 64-bit integer column
    path = write(tmp_path, [good[0], too_long, good[2], good[3]])
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_runs", path, "--batch", "10", stdout=io.StringIO(), stderr=err, verbosity=0)
    assert Run.objects.count() == 3
    assert "line 2: durationMs" in err.getvalue()  # refused when parsed, before the database sees it


def test_small_batches_import_every_line(db, tmp_path):
    run_import(write(tmp_path, records(7)), "--batch", "2")
    assert Run.objects.count() == 7


def test_dash_reads_standard_input(db, monkeypatch):
    data = "".join(json.dumps(line) + "\n" for line in records(2)).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    out, _ = run_import("-")
    assert "2 lines: 2 created" in out


def test_import_recounts_chip_counters(db, tmp_path):
    run_import(write(tmp_path, records(20)))
    real = {(r["automation"], r["sampled"], r["chip"]): r["n"]
            for r in Run.objects.values("automation", "sampled", "chip").annotate(n=Count("pk"))}
    assert {(c.automation_id, c.sampled, c.chip): c.count for c in ChipCount.objects.all()} == real


def test_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run_import(str(tmp_path / "nope.jsonl"))


def test_import_opens_human_review_tasks_and_names_a_bad_human_review(db, tmp_path, automation):
    from humanreview.models import Task
    from tests.factories import paused_record

    good, bad = paused_record(automation), paused_record(automation, requiredPaths=["/nope"])
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 3 lines were rejected"):
        call_command("import_runs", write(tmp_path, [good, bad, good]), stdout=io.StringIO(), stderr=err,
                     verbosity=0)
    assert list(Task.objects.values_list("run_id", flat=True)) == [good["id"]]  # once, though recorded twice
    assert "2" in err.getvalue() and "humanReview.requiredPaths.0" in err.getvalue(), err.getvalue()
