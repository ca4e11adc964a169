"""The pane shows a run's latest changes; the whole history loads on demand (web/panes.py
HISTORY_SHOWN, web/run_pane.py run_history)."""

import pytest

from review.services import review_update
from web.panes import HISTORY_SHOWN

pytestmark = pytest.mark.django_db


def _edits(run, user, count: int) -> None:
    for n in range(count):
        review_update(run=run, changes={"body": f"note number {n}"}, user=user, action="note")


def test_the_pane_shows_the_latest_changes_and_links_to_the_rest(client, reviewer, run):
    _edits(run, reviewer, HISTORY_SHOWN + 3)
    client.force_login(reviewer)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    history = page[page.index('id="audit-body"'):]
    assert history.count("<li>") == HISTORY_SHOWN
    assert f"note number {HISTORY_SHOWN + 2}" in history and "note number 0" not in history
    assert f'href="/runs/{run.pk}/history/"' in history


def test_a_short_history_has_no_link(client, reviewer, run):
    _edits(run, reviewer, 2)
    client.force_login(reviewer)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "note number 1" in page and "/history/" not in page


def test_the_whole_history_loads_as_a_fragment_or_a_page(client, viewer, reviewer, run):
    _edits(run, reviewer, HISTORY_SHOWN + 3)
    client.force_login(viewer)
    fragment = client.get(f"/runs/{run.pk}/history/", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="audit-body">') and fragment.count("<li>") == HISTORY_SHOWN + 3
    page = client.get(f"/runs/{run.pk}/history/").content.decode()
    assert "<html" in page and "note number 0" in page and "Show the whole history" not in page


def test_history_escapes_what_reviewers_typed(client, reviewer, run):
    review_update(run=run, changes={"body": '<script>alert("x")</script>'}, user=reviewer, action="note<b>")
    client.force_login(reviewer)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    history = page[page.index('id="audit-body"'):]
    assert "<script>alert" not in history and "note&lt;b&gt;" in history
    assert f"<strong>{reviewer.username}</strong>" in history and "just now" in history


def test_the_history_builder_escapes_every_user_supplied_string():
    from types import SimpleNamespace

    from django.utils import timezone

    from web.panes import history_html

    bad = '<b x="1">&'
    event = SimpleNamespace(action=bad, username=bad, via=bad, created_at=timezone.now(), describe=lambda: [bad, bad])
    html = history_html([event])
    assert "<b " not in html and 'x="1"' not in html and html.count("&lt;b x=&quot;1&quot;&gt;&amp;") == 5
