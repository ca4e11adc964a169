from datetime import timedelta

import pytest
from django.utils import timezone

from review.services import review_update, review_verdict
from runs.models import Automation
from tests.factories import INVOICE_OUTPUT, make_automation, make_runs

URL = "/backlog/"


def _data(n_automations: int, n_runs: int, user):
    for a in range(n_automations):
        automation = make_automation(f"workflows.flow-{a}")
        runs = make_runs(n_runs, automation)
        for i, run in enumerate(runs[: n_runs // 2]):
            review_verdict(run=run, verdict="pass" if i % 3 else "fail", user=user)
        expected = {**INVOICE_OUTPUT, "total": 1.0}
        review_update(run=runs[-1], changes={"expected": expected, "rating": "fail", "status": "open"}, user=user)


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_any_signed_in_user_sees_the_page(client, viewer, reviewer):
    _data(1, 6, reviewer)
    client.force_login(viewer)
    response = client.get(URL)
    content = response.content.decode()
    assert response.status_code == 200 and 'id="backlog-summary"' in content and "Open backlog" in content


def test_page_has_charts_with_text_equivalents(client, lead, reviewer):
    _data(1, 6, reviewer)
    client.force_login(lead)
    content = client.get(URL).content.decode()
    assert content.count("<svg") >= 2 and content.count("<figcaption") == 2 and "Data table" in content


def test_most_corrected_fields_are_listed(client, lead, reviewer):
    _data(1, 6, reviewer)
    client.force_login(lead)
    assert "<code>/total</code>" in client.get(URL).content.decode()


def test_htmx_request_returns_the_detail_fragment(client, lead, reviewer):
    _data(2, 4, reviewer)
    client.force_login(lead)
    response = client.get(URL, {"automation": "workflows.flow-1"}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="backlog-detail"') and "Flow 1" in content


def test_selecting_one_automation_shows_its_threshold_line(client, lead, reviewer):
    _data(2, 4, reviewer)
    client.force_login(lead)
    assert "step-down threshold 95%" in client.get(URL, {"automation": "workflows.flow-0"}).content.decode()


def test_unknown_automation_falls_back_to_all(client, lead, reviewer):
    _data(1, 4, reviewer)
    client.force_login(lead)
    assert "All automations" in client.get(URL, {"automation": "nope"}).content.decode()


def test_empty_install_says_so(client, lead):
    client.force_login(lead)
    assert b"No automations yet" in client.get(URL).content


def test_post_is_not_allowed(client, lead):
    client.force_login(lead)
    assert client.post(URL).status_code == 405


@pytest.mark.parametrize("size", [(1, 4), (4, 12)])
def test_query_count_does_not_grow_with_data(client, lead, reviewer, django_assert_num_queries, size):
    _data(*size, reviewer)
    client.force_login(lead)
    # +6 weighted estimates of the summary (rate schedules, the daily run, stratum and review
    # rollups, the partial days' whole hours from the hourly rollup and the rest of their hours from the runs:
    # here the automation was created today, mid-hour; insights/periods.py), +3 the per-version
    # estimates of the automation shown in detail (its rate schedule, the per-version rollup, the
    # runs of the day its creation split: insights/versions.py), +1 the human review tasks
    # waiting (count, oldest, overdue). The automation is made yesterday at 12:30, so the day its
    # creation split has whole hours on both sides whatever the time the test runs (created in a
    # day's first or last hour, a side has none and the hourly rollup is not read: one query fewer).
    created = timezone.localtime().replace(hour=12, minute=30) - timedelta(days=1)
    automation = Automation.objects.get(slug="flow-0")
    Automation.objects.filter(pk=automation.pk).update(created_at=created)
    automation.rate_changes.update(effective_at=created)
    with django_assert_num_queries(18):
        client.get(URL, {"automation": "workflows.flow-0"})


@pytest.mark.parametrize("size", [(1, 4), (4, 12)])
def test_fragment_query_count_does_not_grow_with_data(client, lead, reviewer, django_assert_num_queries, size):
    _data(*size, reviewer)
    client.force_login(lead)
    with django_assert_num_queries(11):  # +3: the per-version estimates of the detail (as above)
        client.get(URL, {"automation": "workflows.flow-0"}, HTTP_HX_REQUEST="true")


def test_the_backlog_shows_tasks_waiting_for_a_person(client, lead, automation, ops):
    from datetime import timedelta

    from django.utils import timezone

    from humanreview.models import Task
    from tests.factories import make_paused_run

    late, _ = (Task.objects.get(run=make_paused_run(automation)) for _ in range(2))
    Task.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(hours=5),
                                           deadline_at=timezone.now() - timedelta(hours=1))
    client.force_login(lead)
    content = client.get(URL).content.decode()
    assert "2</strong> tasks waiting" in content and "5 h ago" in content and "1 overdue" in content
