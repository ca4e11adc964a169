"""web/queue_list.py's row HTML, built in Python: markup in every user-supplied string it shows
comes out escaped."""

from django.utils import timezone

from backends.base import RunInfo
from runs.models import Automation, AutomationKind
from web.queue_list import QueueRow

BAD = '<b x="1">&'
ESCAPED = "&lt;b x=&quot;1&quot;&gt;&amp;"


def test_every_user_supplied_string_in_a_queue_row_is_escaped():
    automation = Automation(kind=AutomationKind.WORKFLOW, slug=BAD, name=BAD)
    run = RunInfo(id=BAD, automation=automation, status=BAD, created_at=timezone.now(), sampled=True,
                  sample_bucket=0, chip=BAD, output_preview=BAD)
    html = QueueRow(run=run, url="/runs/" + BAD, created_iso=BAD, created_title=BAD, created_ago=BAD,
                    status_label=BAD, chip_label=BAD, holder=BAD).html()
    assert "<b " not in html and 'x="1"' not in html
    assert html.count(ESCAPED) >= 10
