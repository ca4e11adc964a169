"""Proxy mode: the Waiting inbox and the task page over an upstream's /v1/human-reviews
(backends/eigenpal/human_reviews.py), against a live Loupe in this process serving only the
reviews generation. The upstream's 409 and its faults keep what the reviewer typed."""

import re

import httpx
import pytest

from backends.eigenpal import EigenpalBackend
from backends.eigenpal.client import metered
from humanreview.models import Task
from humanreview.services import task_confirm_field
from review.models import AuditEvent
from runs.models import Run
from tests.factories import make_automation, make_paused_run
from tests.proxy import Faults, install_backend

HX = {"HX-Request": "true"}


@pytest.fixture
def task(reviews_proxy):
    return Task.objects.get(run=make_paused_run(make_automation("workflows.invoices", name="Invoices")))


def _confirm(client, task, path, value, version, key="k1", headers=HX):
    return client.post(f"/waiting/{task.pk}/confirm/", {"path": path, "value": value, "version": version,
                                                       "key": key}, headers=headers)


def test_the_inbox_lists_the_upstream_tasks_oldest_first_in_one_call(reviews_proxy, reviewer_client):
    automation = make_automation("workflows.invoices", name="Invoices")
    first, second = (Task.objects.get(run=make_paused_run(automation)) for _ in range(2))
    reviewer_client.get("/waiting/")  # the generation probe and the automations list, once a process
    with metered() as meter:
        page = reviewer_client.get("/waiting/").content.decode()
    assert re.findall(r'data-task="(\d+)"', page) == [str(first.pk), str(second.pk)]
    assert 'id="proxy-note"' in page and "Invoices" in page and "0 / 2" in page
    assert [r.split("?")[0].rsplit(" ", 1)[-1].split("/", 3)[-1] for r in meter.requests] == ["v1/human-reviews"]
    assert reviewer_client.get("/waiting/count/").content.decode().count(">2<") == 1
    only = reviewer_client.get(f"/waiting/?automation={automation.pk}").content.decode()
    assert len(re.findall(r'data-task="', only)) == 2
    assert re.findall(r'data-task="', reviewer_client.get("/waiting/?automation=999").content.decode()) == []


def test_the_task_page_shows_required_fields_and_the_run_beside_them(task, reviewer_client):
    page = reviewer_client.get(f"/waiting/{task.pk}/").content.decode()
    paths = re.findall(r'class="hr-field[^"]*"[^>]*data-path="([^"]+)"', page)
    assert paths[:2] == ["/vendor/iban", "/total"]
    assert "low confidence" in page and "2 required fields left to confirm" in page
    assert task.run_id in page and "Claimed by you" in page  # a local claim keyed by the run id
    assert reviewer_client.get("/waiting/nope/").status_code == 404


def test_confirm_writes_upstream_and_the_audit_names_the_reviewer(task, reviewer_client, reviewer):
    answer = _confirm(reviewer_client, task, "/vendor/iban", "DE00", 1)
    html = answer.content.decode()
    assert answer.status_code == 200 and answer["X-Loupe-Status"] == "200"
    assert "1 required field left" in html and "✓ confirmed by rita" in html
    task.refresh_from_db()
    assert (task.version, task.draft_data["vendor"]["iban"]) == (2, "DE00")
    event = AuditEvent.objects.get(run_id=task.run_id)
    assert (event.user, event.action, event.changes["path"]) == (reviewer, "human_review.confirm", "/vendor/iban")
    # The typed text is read as the type machineData has there: a number stays a number.
    _confirm(reviewer_client, task, "/total", "1250", 2, key="k2")
    task.refresh_from_db()
    assert task.draft_data["total"] == 1250 and task.confirmed_count == 2


def test_approve_is_refused_while_required_fields_are_open_then_resumes_the_run(task, reviewer_client):
    refused = reviewer_client.post(f"/waiting/{task.pk}/approve/", {"version": 1}, headers=HX)
    html = refused.content.decode()
    assert refused["X-Loupe-Status"] == "400" and "/vendor/iban is required and not confirmed yet" in html
    assert Task.objects.get(pk=task.pk).status == "pending"
    _confirm(reviewer_client, task, "/vendor/iban", "DE00", 1)
    _confirm(reviewer_client, task, "/total", "1234.5", 2, key="k2")
    done = reviewer_client.post(f"/waiting/{task.pk}/approve/", {"version": 3}, headers=HX)
    assert done.status_code == 204 and done["HX-Redirect"] == f"/waiting/?decided={task.pk}"
    assert Task.objects.get(pk=task.pk).status == "approved" and Run.objects.get(pk=task.run_id).status == "running"


def test_reject_sends_the_reason_and_fails_the_run(task, reviewer_client):
    done = reviewer_client.post(f"/waiting/{task.pk}/reject/", {"version": 1, "reason": "Not our invoice",
                                                              "key": "r1"}, headers=HX)
    assert done.status_code == 204
    run = Run.objects.get(pk=task.run_id)
    assert (run.status, run.error, Task.objects.get(pk=task.pk).status) == ("failed", "Not our invoice", "rejected")
    assert AuditEvent.objects.get(run_id=task.run_id, action="human_review.reject").changes["reason"] == \
        "Not our invoice"


def test_an_upstream_409_keeps_the_typed_value_and_shows_what_changed(task, reviewer_client, ops):
    task_confirm_field(task_id=task.pk, user=ops, path="/vendor/iban", value="DE11", expected_version=1)
    answer = _confirm(reviewer_client, task, "/vendor/iban", "DE22-mine", 1)
    html = answer.content.decode()
    assert answer.status_code == 200 and answer["X-Loupe-Status"] == "409"
    assert 'id="hr-conflict"' in html and "DE11" in html and "(olga)" in html.replace(ops.username, "olga")
    assert 'value="DE22-mine"' in html and "your input, not saved yet" in html
    assert 'name="version" value="2"' in html  # sending again goes on top of the current version
    assert Task.objects.get(pk=task.pk).draft_data["vendor"]["iban"] == "DE11"


def test_an_upstream_503_keeps_the_fields_on_the_page_and_says_so(task, reviewer_client):
    faults = Faults("reviews").fail("PUT", "/human-reviews/", 503, always=True)
    install_backend(EigenpalBackend(transport=faults, sleep=lambda _: None))
    answer = _confirm(reviewer_client, task, "/vendor/iban", "DE33-typed", 1)
    html = answer.content.decode()
    # htmx: nothing of the fields is swapped (their input stays as typed); a banner goes above them.
    assert answer.status_code == 200 and answer["HX-Retarget"] == "#hr-fault" and answer["HX-Reswap"] == "innerHTML"
    assert "Not saved" in html and "HTTP 503" in html and "still in its field" in html
    assert sum("PUT" in line for line in faults.log) == 3  # the idempotency key lets the client retry
    # Without htmx: the retry page with the typed value in a form that sends it again.
    plain = _confirm(reviewer_client, task, "/vendor/iban", "DE33-typed", 1, headers={})
    assert plain.status_code == 502 and "DE33-typed" in plain.content.decode()
    assert Task.objects.get(pk=task.pk).version == 1


def test_a_paused_run_shows_as_waiting_in_the_queue_and_pane_and_links_its_task(task, reviewer_client):
    queue = reviewer_client.get("/queue/?automation=workflows.invoices&scope=all&chip=all").content.decode()
    row = re.search(rf'<tr data-run="{task.run_id}".*?</tr>', queue, re.S).group(0)
    assert "status-waiting" in row and "Waiting for a person" in row and "chip-unreviewed" not in row
    pane = reviewer_client.get(f"/runs/{task.run_id}/").content.decode()
    assert 'id="run-waiting"' in pane and 'id="run-chip"' not in pane
    # The link finds the task through the run's execution.humanReview, upstream.
    assert reviewer_client.get(f"/waiting/run/{task.run_id}/")["Location"] == f"/waiting/{task.pk}/"
    Task.objects.filter(pk=task.pk).update(status="approved")
    assert reviewer_client.get(f"/waiting/run/{task.run_id}/").status_code == 404


@pytest.mark.parametrize("fault", [502, httpx.ReadTimeout])
def test_a_reject_that_meets_a_fault_keeps_the_reason_on_the_page(task, reviewer_client, fault):
    faults = Faults("reviews").fail("POST", "/reject", fault, always=True)
    install_backend(EigenpalBackend(transport=faults, sleep=lambda _: None))
    answer = reviewer_client.post(f"/waiting/{task.pk}/reject/", {"version": 1, "reason": "Wrong vendor",
                                                                "key": "r1"}, headers=HX)
    html = answer.content.decode()
    assert answer["HX-Retarget"] == "#hr-fault" and "Not saved" in html  # the reason stays in its textarea
    assert ("HTTP 502" in html) if fault == 502 else ("did not answer" in html and "may or may not" in html)
    assert Task.objects.get(pk=task.pk).status == "pending"
    plain = reviewer_client.post(f"/waiting/{task.pk}/reject/", {"version": 1, "reason": "Wrong vendor",
                                                               "key": "r1"})
    assert plain.status_code == 502 and re.search(r"<label[^>]*>Reason</label>\s*<textarea[^>]*>Wrong vendor<",
                                                  plain.content.decode())
