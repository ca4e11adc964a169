"""The benchmark's dataset review requests (docs/dataset-reviews.md): a dataset of 1,000 examples
(each with an expected output, an input file whose bytes are hashed and an expected file) under
the automation `workflows.bench-dataset-review`, made once and kept; a request of all of them kept
for the page timings; and the timing of creating such a request (goal: at most 2 s on PostgreSQL),
each attempt's request deleted again."""

import time

from django.core.files.base import ContentFile

from datasets.models import Example, ExampleFile
from dsreview.models import DatasetReview
from dsreview.services import review_create
from runs.models import Automation
from runs.services import automation_ensure

SLUG = "bench-dataset-review"
PAGES_TITLE = "Benchmark pages"
EXPECTED = {"vendor": {"name": "ACME", "iban": "DE89 3704"}, "total": 0,
            "lines": [{"description": "Paper", "amount": 45.0}]}
LIMIT_SECONDS = 2.0


def bench_dataset(count: int) -> tuple[Automation, list[str]]:
    """The benchmark's dataset, topped up to `count` examples (bulk inserts, files included)."""
    automation = automation_ensure(kind="workflow", slug=SLUG, name="Benchmark: dataset review")
    have = set(Example.objects.filter(automation=automation).values_list("name", flat=True))
    missing = [n for n in range(count) if f"bench-{n:04d}" not in have]
    if missing:
        Example.objects.bulk_create([
            Example(automation=automation, name=f"bench-{n:04d}", input={"customer": f"c-{n}", "n": n},
                    expected={**EXPECTED, "total": n}, assertions=[]) for n in missing], batch_size=500)
        made = Example.objects.filter(automation=automation, name__in=[f"bench-{n:04d}" for n in missing])
        files = []
        for example in made:
            for folder, path, content in (("input", "invoice.pdf", b"%PDF-1.4 " + example.name.encode() * 40),
                                          ("expected", "result.csv", b"a,b\n1,2\n")):
                row = ExampleFile(example=example, folder=folder, path=path, size=len(content),
                                  content_type="application/octet-stream")
                row.file.save(f"{example.name}-{path}", ContentFile(content), save=False)
                files.append(row)
        ExampleFile.objects.bulk_create(files, batch_size=500)
    names = list(Example.objects.filter(automation=automation, name__startswith="bench-").order_by("name")
                 .values_list("name", flat=True)[:count])
    return automation, names


def pages_request(automation: Automation, names: list[str], user) -> DatasetReview:
    """The kept request the inbox, request and item page timings read."""
    review = DatasetReview.objects.filter(automation=automation, title=PAGES_TITLE).first()
    return review or review_create(automation=automation, user=user, title=PAGES_TITLE, example_names=names,
                                   focus_fields=[{"path": "vendor.iban", "reason": "new format"}], status="open")


def time_create(automation: Automation, names: list[str], user, attempts: int = 3) -> list[float]:
    """Seconds per attempt to create a request of every example in `names` (committed, then deleted)."""
    timings = []
    for attempt in range(attempts):
        started = time.perf_counter()
        review = review_create(automation=automation, user=user, title=f"Benchmark create {attempt}",
                               example_names=names, focus_fields=[{"path": "vendor.iban", "reason": "new format"}],
                               status="open")
        timings.append(time.perf_counter() - started)
        review.delete()
    return timings
