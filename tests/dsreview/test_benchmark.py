"""Creating a request of 1,000 examples (each with an expected output, an input file whose bytes
are hashed and an expected file) takes at most 2 s on PostgreSQL (the best of up to three attempts); the times are printed
(run with -s to see them)."""

import time

from django.core.files.base import ContentFile
from django.db import connection

from datasets.models import Example, ExampleFile
from dsreview.models import DatasetReviewItem
from dsreview.services import review_create
from tests.dsreview.helpers import EXPECTED

N = 1000
LIMIT_SECONDS = 2.0


def test_a_request_of_1000_examples(automation, lead):
    examples = Example.objects.bulk_create([
        Example(automation=automation, name=f"bench-{n:04d}", input={"customer": f"c-{n}", "n": n},
                expected={**EXPECTED, "total": n}, assertions=[]) for n in range(N)])
    if any(e.pk is None for e in examples):
        examples = list(Example.objects.filter(automation=automation))
    files = []
    for example in examples:
        for folder, path, content in (("input", "invoice.pdf", b"%PDF-1.4 " + example.name.encode() * 40),
                                      ("expected", "result.csv", b"a,b\n1,2\n")):
            row = ExampleFile(example=example, folder=folder, path=path, content_type="application/octet-stream",
                              size=len(content))
            row.file.save(f"{example.name}-{path}", ContentFile(content), save=False)
            files.append(row)
    ExampleFile.objects.bulk_create(files)
    names = [e.name for e in examples]

    # The best of up to three attempts (the machine is shared; one slow attempt is its load,
    # not the code): each is a full request of the 1,000 examples.
    timings = []
    for attempt in range(3):
        started = time.perf_counter()
        review = review_create(automation=automation, user=lead, title=f"Everything {attempt}", example_names=names,
                               focus_fields=[{"path": "vendor.iban", "reason": "new format"}], status="open")
        timings.append(time.perf_counter() - started)
        if timings[-1] <= LIMIT_SECONDS:
            break
    elapsed = min(timings)
    print(f"\ndataset review request of {N} examples on {connection.vendor}: "
          f"{', '.join(f'{t:.2f}' for t in timings)} s")

    assert DatasetReviewItem.objects.filter(review=review).count() == N
    item = review.items.get(example_name="bench-0999")
    assert item.snapshot_expected["total"] == 999 and item.snapshot_manifest["expectedFiles"] == [{"name": "result.csv"}]
    if connection.vendor == "postgresql":
        assert elapsed <= LIMIT_SECONDS, f"{elapsed:.2f} s for {N} examples"
