"""`manage.py demo --no-serve`: migrate, load once, ensure the demo account."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from datasets.models import Example
from review.models import AuditEvent, ExpectedFile, Review
from runs.chips import Chip
from runs.models import Automation, ChipCount, Run

pytestmark = pytest.mark.django_db(transaction=False)


def demo(*args) -> str:
    out = io.StringIO()
    call_command("demo", "--no-serve", "--runs", "300", *args, stdout=out, verbosity=0)
    return out.getvalue()


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """One demo load for the module's tests in a worker (it takes 1-3 s): made in a transaction
    that is rolled back after the module; each test runs in a savepoint inside it (pytest-django's
    `db`), so what a test changes is gone for the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield demo()
        transaction.set_rollback(True)


@pytest.fixture
def banner(loaded, db) -> str:
    return loaded


def test_demo_creates_the_three_automations_and_their_runs(banner):
    assert sorted(a.ref for a in Automation.objects.all()) == [
        "agents.triage-email", "workflows.extract-invoice", "workflows.extract-statement"]
    assert Run.objects.filter(example_id__isnull=True).count() == 300


def test_demo_reruns_promoted_examples_so_checks_show(banner):
    from datasets.models import ExampleCheck

    reruns = Run.objects.filter(example_id__isnull=False)
    assert reruns.exists() and ExampleCheck.objects.filter(run_id__in=reruns.values("pk")).count() == reruns.count()


def test_demo_banner_shows_the_url_and_the_login(banner):
    assert "http://127.0.0.1:8000/" in banner and "demo / demo" in banner


def test_demo_user_is_a_superuser_with_every_role(banner):
    user = authenticate(username="demo", password="demo")
    assert user.is_superuser and user.is_staff
    assert set(user.groups.values_list("name", flat=True)) == {"reviewer", "lead", "ops"}


def test_demo_leaves_reviews_in_every_chip(banner):
    assert {review.chip for review in Review.objects.all()} == set(Chip.values)


def test_demo_reviews_mostly_sampled_runs(banner):
    assert Review.objects.filter(run__sampled=True).count() > Review.objects.filter(run__sampled=False).count()


def test_demo_promotes_a_corrected_run_into_an_example(banner):
    example = next(e for e in Example.objects.exclude(expected=None) if e.expected != e.output)
    assert Review.objects.get(run=example.source_run).promoted_example == example


def test_demo_corrections_record_the_corrected_fields(banner):
    assert Review.objects.exclude(corrected_paths=[]).exists()


def test_demo_invoice_rate_dropped_twelve_days_ago(banner):
    automation = Automation.objects.by_ref("workflows.extract-invoice")
    changes = list(automation.rate_changes.order_by("effective_at").values_list("old_bp", "new_bp"))
    assert changes == [(None, 1500), (1500, 1000)]
    assert automation.sampling_rate_bp == 1000


def test_demo_sampled_flags_follow_the_rate_in_effect_at_creation(banner):
    for automation in Automation.objects.all():
        schedule = automation.rate_schedule()
        runs = automation.runs.values_list("id", "created_at", "sampled")
        assert all(schedule.is_sampled(run_id, created) == sampled for run_id, created, sampled in runs)


def test_demo_chip_counters_equal_the_real_counts(banner):
    real = {(r["automation"], r["sampled"], r["chip"]): r["n"]
            for r in Run.objects.values("automation", "sampled", "chip").annotate(n=Count("pk"))}
    # A counter that a review moved down to zero is as good as no row.
    counted = {(c.automation_id, c.sampled, c.chip): c.count for c in ChipCount.objects.exclude(count=0)}
    assert counted == real


def test_demo_review_trail_is_spread_over_the_past_month(banner):
    moments = list(AuditEvent.objects.values_list("created_at", flat=True))
    assert min(moments) < timezone.now() - timedelta(days=14)
    assert len({moment.date() for moment in moments}) > 10


def test_demo_reviews_are_never_resolved_before_they_were_created(banner):
    reviews = Review.objects.exclude(resolved_at=None)
    assert reviews.exists() and all(r.created_at <= r.resolved_at <= timezone.now() for r in reviews)


def test_demo_runs_with_files_keep_them(banner):
    assert Run.objects.filter(files__role="input").exists()
    assert Run.objects.filter(files__name__endswith=".csv").exists()


def test_demo_a_second_call_keeps_the_data_as_it_is(banner):
    before = (Run.objects.count(), Review.objects.count(), AuditEvent.objects.count(), Example.objects.count(),
              ExpectedFile.objects.count())
    again = demo()
    after = (Run.objects.count(), Review.objects.count(), AuditEvent.objects.count(), Example.objects.count(),
             ExpectedFile.objects.count())
    assert "already exist" in again and before == after


def test_demo_a_second_call_restores_the_demo_password(banner):
    user = authenticate(username="demo", password="demo")
    user.set_password("changed")
    user.save()
    demo()
    assert authenticate(username="demo", password="demo") is not None


def test_demo_sampled_runs_store_the_input_document_they_name(banner):
    """The queue lists sampled runs: each one's input document (`$file`) is stored, so the pane
    shows the source beside the output (the first run in the queue included)."""
    for run in Run.objects.filter(sampled=True).prefetch_related("files"):
        named = (run.input or {}).get("document", {}).get("$file", "") if isinstance(run.input, dict) else ""
        if named:
            stored = {f.name for f in run.files.all() if f.role == "input"}
            assert named.removeprefix("input/") in stored, (run.pk, named, stored)
