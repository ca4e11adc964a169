from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import make_paused_run, make_runs

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
