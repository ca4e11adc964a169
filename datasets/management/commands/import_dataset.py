from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from datasets.archive import MODES, ArchiveError, apply_import, read_archive
from runs.models import Automation


class Command(BaseCommand):
    help = "Import a dataset ZIP into an automation (append skips names already taken; replace empties it first)."

    def add_arguments(self, parser):
        parser.add_argument("automation", help="workflows.<slug>, agents.<slug> or the numeric id")
        parser.add_argument("file", help="the ZIP to import")
        parser.add_argument("--mode", choices=MODES, default="append")

    def handle(self, *args, automation: str, file: str, mode: str, **options):
        try:
            found = Automation.objects.by_ref(automation)
        except Automation.DoesNotExist as missing:
            raise CommandError(f"No automation {automation!r}.") from missing
        try:
            with open(file, "rb") as handle:
                parsed = read_archive(handle)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        except ArchiveError as error:
            raise CommandError(f"{file}: {error}") from error
        progress = tqdm(parsed, unit="example", desc="Importing", disable=options["verbosity"] == 0,
                        file=self.stderr._out)
        result = apply_import(automation=found, examples=progress, mode=mode)
        for issue in result.issues:
            self.stderr.write(f"{issue['severity']}: {issue['example']}: {issue['message']}")
        summary = f"{result.mode}: created {result.created}, expected set {result.expected_set}"
        summary += (f", deleted {result.deleted} example(s) and {result.files_deleted} file(s)" if mode == "replace"
                    else f", skipped {result.skipped}")
        self.stdout.write(self.style.SUCCESS(f"{summary} in {found.ref}."))
