"""`python manage.py import_runs FILE.jsonl`: record runs from JSON Lines, one run a line."""

import json
import os
import sys
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from datasets.loop import runs_record_and_check
from runs import jsonbounds
from runs.records import RecordError, RunRecord, gc_paused, json_loads, parse_run_record
from runs.services import AutomationGate


@dataclass
class ImportTally:
    lines: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    automations: set = field(default_factory=set)


class Command(BaseCommand):
    help = (
        "Import runs from a JSON Lines file (one run record per line, the shape of runs/records.py; "
        "'-' reads standard input). Idempotent on run id: a run already stored is updated in place, "
        "keeping its review. Blank lines are skipped. A line that is not valid JSON or not a valid run "
        "is reported on stderr with its line number and skipped; the other lines are still imported. "
        "Exit status: 0 when every line was imported, 1 when any line was rejected (after importing "
        "the good ones), so scripts notice partial imports."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to a .jsonl file, or '-' for standard input.")
        parser.add_argument("--batch", type=int, default=1000, help="Runs stored per transaction (default 1000).")
        parser.add_argument("--create-automations", action="store_true",
                            help="Create automations the file names that Loupe does not know yet (without it, "
                                 "such lines are rejected naming close matches).")

    def handle(self, *args, file: str, batch: int, create_automations: bool = False, **options):
        self.gate = AutomationGate(create=create_automations or None)
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        if file == "-":
            stream, total = sys.stdin.buffer, None
        else:
            try:
                stream, total = open(file, "rb"), os.path.getsize(file)  # closed in the finally below
            except OSError as exc:
                raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        tally = ImportTally()
        self.bar = tqdm(total=total, unit="B", unit_scale=True, desc="Importing runs", file=sys.stderr,
                        disable=None if options["verbosity"] > 0 else True)
        try:
            lines = enumerate(stream, start=1)
            while self._batch(lines, batch, tally):
                pass
        finally:
            self.bar.close()
            if stream is not sys.stdin.buffer:
                stream.close()
        self.stdout.write(
            f"{tally.lines} lines: {tally.created} created, {tally.updated} updated, {tally.rejected} rejected"
        )
        if tally.rejected:
            raise CommandError(
                f"{tally.rejected} of {tally.lines} lines were rejected (see above); the others were imported.",
                returncode=1,
            )

    def _batch(self, lines, batch: int, tally: ImportTally) -> bool:
        """Read lines until `batch` runs are pending or the file ends, and store them (the cyclic
        garbage collector paused meanwhile, runs.records.gc_paused). False once the file ended."""
        pending: list[tuple[int, RunRecord]] = []
        with gc_paused():
            for number, raw in lines:
                self.bar.update(len(raw))
                if not raw.strip():
                    continue
                tally.lines += 1
                record = self._parse(number, raw, tally)
                if record is not None:
                    pending.append((number, record))
                if len(pending) >= batch:
                    self._store(pending, tally)
                    return True
            self._store(pending, tally)
        return False

    def _reject(self, number: int, message: str, tally: ImportTally) -> None:
        tally.rejected += 1
        with tqdm.external_write_mode(file=sys.stderr):
            self.stderr.write(f"line {number}: {message}")

    def _parse(self, number: int, raw: bytes, tally: ImportTally) -> RunRecord | None:
        try:
            obj = json_loads(raw, parse_constant=jsonbounds.NotJson)
        except RecursionError:
            self._reject(number, f"nested more than {jsonbounds.max_depth()} levels deep.", tally)
            return None
        except UnicodeDecodeError:
            self._reject(number, "not valid UTF-8 text.", tally)
            return None
        except json.JSONDecodeError as exc:
            self._reject(number, f"invalid JSON: {exc.msg} (column {exc.colno}).", tally)
            return None
        try:
            return self.gate.check(parse_run_record(obj))
        except RecordError as exc:
            self._reject(number, str(exc), tally)
            return None

    def _store(self, pending: list[tuple[int, RunRecord]], tally: ImportTally) -> None:
        """One transaction per batch; when the database refuses the batch, retry run by run
        so only the offending lines are rejected."""
        if not pending:
            return
        try:
            self._count(runs_record_and_check([record for _, record in pending]), pending, tally)
            return
        except (DatabaseError, ValueError, OverflowError, OSError):
            if len(pending) == 1:
                number, record = pending[0]
                self._reject(number, f"could not be stored: {sys.exc_info()[1]}", tally)
                return
        for item in pending:
            self._store([item], tally)

    def _count(self, result, pending, tally: ImportTally) -> None:
        tally.created += len(result.created)
        tally.updated += len(result.updated)
        tally.automations.update((record.kind, record.slug) for _, record in pending)
