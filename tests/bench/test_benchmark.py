from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import make_automation, make_paused_run, make_runs

pytestmark = pytest.mark.django_db


def test_in_process_benchmark_prints_each_page_and_in_proxy_mode_loupes_overhead(backend, automation):
    make_runs(3, automation)
    make_paused_run(automation)
    out = StringIO()
    call_command("benchmark", repeat=2, in_process=True, stdout=out)
    text = out.getvalue()
    assert "review pane" in text and "save a note" in text
    assert "waiting inbox" in text and "task page (oldest pending task)" in text
    assert ("overhead" in text) == (backend != "local")


def test_the_strata_ingest_records_carry_confidence_and_land_in_strata(ops):
    """What `benchmark` times as ingest with strata and field confidence (bench/strata.py):
    valid records, each with a fieldMetadata the run stores, and a share of them in each stratum."""
    from django.utils import timezone

    from bench.strata import confident_records, strata_automation, strata_automation_remove
    from datasets.loop import runs_record_and_check
    from runs.models import Run
    from runs.records import parse_run_record

    automation = strata_automation(ops)
    assert len(automation.sampling_strata) == 4 and strata_automation(ops).sampling_version == automation.sampling_version
    pool = make_runs(4, make_automation("workflows.pool"))
    later = timezone.now() + timedelta(minutes=1)
    records = [parse_run_record(r) for r in confident_records(pool, 200, "run_bench_t_", later)]
    assert all("scores" not in r.__dict__ or r.scores is None for r in records)
    runs_record_and_check(records)
    runs = Run.objects.filter(automation=automation)
    assert runs.count() == 200 and not runs.filter(field_confidence__isnull=True).exists()
    strata = set(runs.values_list("stratum", flat=True))
    assert {"unsure", "vip", ""} <= strata
    strata_automation_remove(automation)
    assert not Run.objects.filter(automation_id=automation.pk).exists()
    assert not type(automation).objects.filter(pk=automation.pk).exists()
