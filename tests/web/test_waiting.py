"""The Waiting inbox and the task page (web/waiting.py) over the local backend."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from humanreview.models import Task
from humanreview.services import policy_set, task_confirm_field
from runs.models import Run
from tests.factories import make_automation, make_paused_run

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture
def task(automation):
    return Task.objects.get(run=make_paused_run(automation))


def test_the_inbox_lists_pending_tasks_oldest_first_with_deadline_flags(reviewer_client, automation, ops):
    policy_set(automation=automation, user=ops, deadline_minutes=60, warning_minutes=30)
    first = Task.objects.get(run=make_paused_run(automation))
    second = Task.objects.get(run=make_paused_run(automation))
    other = Task.objects.get(run=make_paused_run(make_automation("workflows.other")))
    Task.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=3),
                                            deadline_at=timezone.now() - timedelta(hours=2))
    Task.objects.filter(pk=second.pk).update(deadline_at=timezone.now() + timedelta(minutes=10))
    page = reviewer_client.get("/waiting/").content.decode()
    rows = re.findall(r'data-task="(\d+)" class="([^"]*)"', page)
    assert [int(pk) for pk, _ in rows][:1] == [first.pk] and len(rows) == 3
    assert dict(rows)[str(first.pk)] == "is-overdue" and dict(rows)[str(second.pk)] == "is-due-soon"
    assert "3 h ago" in page and "Overdue" in page and "Due soon" in page
    only = reviewer_client.get(f"/waiting/?automation={other.automation_id}").content.decode()
    assert re.findall(r'data-task="(\d+)"', only) == [str(other.pk)]
    assert reviewer_client.get("/waiting/count/").content.decode().count(">3<") == 1


def test_the_task_page_puts_required_fields_first_with_their_reason(reviewer_client, task):
    page = reviewer_client.get(f"/waiting/{task.pk}/").content.decode()
    paths = re.findall(r'class="hr-field[^"]*"[^>]*data-path="([^"]+)"', page)
    assert paths[:2] == ["/vendor/iban", "/total"]
    assert "low confidence" in page and "confidence 0.41" in page
    assert "2 required fields left to confirm" in page and 'id="hr-approve" disabled' in page
    assert 'id="claim"' in page and "Claimed by you" in page
    # The cursor starts in the first required field.
    assert re.search(r'name="value" value="DE89370400440532013000"[^>]*autofocus', page)


def _confirm(client, task, path, value, version, key="k"):
    return client.post(f"/waiting/{task.pk}/confirm/", {"path": path, "value": value, "version": version,
                                                       "key": key}, headers=HX)


def test_confirming_moves_the_cursor_to_the_next_required_field(reviewer_client, task):
    answer = _confirm(reviewer_client, task, "/vendor/iban", "DE00", 1)
    html = answer.content.decode()
    assert answer.status_code == 200 and "1 required field left" in html
    assert re.search(r'name="value" value="1234.5"[^>]*autofocus', html)
    answer = _confirm(reviewer_client, task, "/total", "1243.5", 2, key="k2")
    assert "every required field confirmed" in answer.content.decode()
    assert Task.objects.get(pk=task.pk).draft_data["total"] == 1243.5  # typed as the number it was


def test_a_conflict_shows_what_changed_and_keeps_the_input(reviewer_client, task, lead):
    task_confirm_field(task_id=task.pk, user=lead, path="/vendor/iban", value="DE11", expected_version=1,
                       idempotency_key="x")
    answer = _confirm(reviewer_client, task, "/total", "999.99", 1)
    html = answer.content.decode()
    assert answer["X-Loupe-Status"] == "409" and 'id="hr-conflict"' in html
    assert "/vendor/iban</span> is now <strong class=\"mono\">DE11" in html and "(leo)" in html
    assert re.search(r'name="value" value="999.99"[^>]*autofocus', html) and "your input, not saved yet" in html


def test_a_value_of_the_wrong_type_is_refused_next_to_the_field(reviewer_client, task):
    answer = _confirm(reviewer_client, task, "/total", "twelve", 1)
    html = answer.content.decode()
    assert answer["X-Loupe-Status"] == "400" and "Expected a number" in html and 'value="twelve"' in html
    # Without htmx: the whole page, the refusal's status, the input kept.
    answer = reviewer_client.post(f"/waiting/{task.pk}/confirm/", {"path": "/total", "value": "twelve", "version": 1})
    assert answer.status_code == 400 and 'value="twelve"' in answer.content.decode()


def test_approve_is_refused_until_every_required_field_is_confirmed(reviewer_client, task):
    answer = reviewer_client.post(f"/waiting/{task.pk}/approve/", {"version": 1}, headers=HX)
    assert answer["X-Loupe-Status"] == "400" and "/vendor/iban is required" in answer.content.decode()
    _confirm(reviewer_client, task, "/vendor/iban", "DE00", 1)
    _confirm(reviewer_client, task, "/total", "1", 2, key="k2")
    answer = reviewer_client.post(f"/waiting/{task.pk}/approve/", {"version": 3}, headers=HX)
    assert answer.status_code == 204 and answer["HX-Redirect"].startswith("/waiting/?decided=")
    assert Run.objects.get(pk=task.run_id).status == "running"


def test_reject_asks_for_a_reason(reviewer_client, task):
    answer = reviewer_client.post(f"/waiting/{task.pk}/reject/", {"version": 1, "reason": " "}, headers=HX)
    assert answer["X-Loupe-Status"] == "400" and "Say why" in answer.content.decode()
    answer = reviewer_client.post(f"/waiting/{task.pk}/reject/", {"version": 1, "reason": "Wrong vendor"})
    assert answer.status_code == 302
    run = Run.objects.get(pk=task.run_id)
    assert run.status == "failed" and run.error == "Wrong vendor"


def test_a_viewer_sees_the_task_but_cannot_decide(client, viewer, task):
    client.force_login(viewer)
    page = client.get(f"/waiting/{task.pk}/").content.decode()
    assert "readonly" in page and 'id="hr-approve"' not in page
    assert client.post(f"/waiting/{task.pk}/approve/", {"version": 1}).status_code == 403


def test_a_paused_run_links_to_its_task_from_the_queue_and_the_pane(reviewer_client, task):
    queue = reviewer_client.get(f"/queue/?automation={task.automation.ref}&scope=all&chip=all").content.decode()
    assert f'href="/waiting/run/{task.run_id}/"' in queue
    assert 'id="run-waiting"' in reviewer_client.get(f"/runs/{task.run_id}/").content.decode()
    assert reviewer_client.get(f"/waiting/run/{task.run_id}/")["Location"] == f"/waiting/{task.pk}/"
    assert reviewer_client.get("/waiting/run/run_nope/").status_code == 404


def test_inbox_rows_escape_what_the_automation_sent(reviewer_client):
    automation = make_automation("workflows.esc", name='<img src=x onerror="alert(1)">')
    make_paused_run(automation, sourceLabel="<script>alert(2)</script>")
    page = reviewer_client.get("/waiting/").content.decode()
    assert "<script>alert(2)" not in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert '<img src=x onerror="alert(1)">' not in page and "&lt;img src=x" in page


def test_the_nav_count_stops_counting_past_its_cap(reviewer_client, automation, monkeypatch):
    from humanreview import queries

    for _ in range(3):
        make_paused_run(automation)
    assert queries.pending_count(cap=2) == (2, True) and queries.pending_count(cap=3) == (3, False)
    monkeypatch.setattr(queries.pending_count, "__defaults__", (2,))
    assert ">2+<" in reviewer_client.get("/waiting/count/").content.decode()
