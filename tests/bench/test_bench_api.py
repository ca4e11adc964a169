from io import StringIO

import pytest
from django.core.management import call_command

from review.services import review_update
from tests.factories import make_runs

pytestmark = pytest.mark.django_db


def test_bench_api_prints_the_list_and_the_health_next_to_the_bare_page(automation, reviewer):
    runs = make_runs(3, automation)
    review_update(run=runs[0], changes={"rating": "pass", "status": "resolved"}, user=reviewer)
    out = StringIO()
    call_command("bench_api", repeat=2, stdout=out)
    text = out.getvalue()
    assert "bare Django page" in text and "review health, 30 days by day" in text and "3 runs" in text
