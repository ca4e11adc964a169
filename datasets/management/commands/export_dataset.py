from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from datasets.archive import examples_for_export, write_archive
from runs.models import Automation


class Command(BaseCommand):
    help = "Export an automation's dataset as a ZIP (examples/<name>/input.json, expected.json, meta.json, files)."

    def add_arguments(self, parser):
        parser.add_argument("automation", help="workflows.<slug>, agents.<slug> or the numeric id")
        parser.add_argument("-o", "--output", help="the ZIP to write (default: <automation>-dataset.zip)")

    def handle(self, *args, automation: str, output: str | None, **options):
        try:
            found = Automation.objects.by_ref(automation)
        except Automation.DoesNotExist as missing:
            raise CommandError(f"No automation {automation!r}.") from missing
        examples = examples_for_export(automation=found)
        target = Path(output or f"{found.ref}-dataset.zip")
        with target.open("wb") as handle:
            progress = tqdm(examples, total=examples.count(), unit="example", desc="Exporting",
                            disable=options["verbosity"] == 0, file=self.stderr._out)
            write_archive(progress, handle)
        self.stdout.write(self.style.SUCCESS(f"Wrote {progress.n} example(s) of {found.ref} to {target}."))
