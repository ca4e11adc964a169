import pytest
from django.urls import reverse

from runs.models import Automation, SamplingRateChange
from tests.factories import make_automation, make_run, make_runs

URL = "/sampling/"


def _rate_url(automation):
    return reverse("sampling_rate", args=[automation.ref])


def _post(client, automation, rate="5", reason="Pass rate is high", **headers):
    prefix = f"rate-{automation.pk}"
    return client.post(_rate_url(automation), {f"{prefix}-rate_percent": rate, f"{prefix}-reason": reason}, **headers)


def test_anonymous_is_sent_to_login(client, automation):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_page_shows_each_automation_with_rate_and_history(client, viewer, automation):
    make_automation("agents.triage", rate_bp=500)
    client.force_login(viewer)
    response = client.get(URL)
    assert response.status_code == 200
    assert b"Triage" in response.content and b"Initial rate" in response.content and b"100%" in response.content


def test_viewer_sees_no_forms(client, viewer, automation):
    client.force_login(viewer)
    assert b"Save rate" not in client.get(URL).content


def test_ops_sees_the_labelled_rate_form(client, ops, automation):
    client.force_login(ops)
    content = client.get(URL).content.decode()
    assert "Sampling rate (%)" in content and "Reason" in content and "Save rate" in content


def test_ops_changes_the_rate_and_is_redirected(client, ops, automation):
    client.force_login(ops)
    response = _post(client, automation, rate="12.5")
    assert response.status_code == 302 and response["Location"].startswith(URL)
    assert Automation.objects.get(pk=automation.pk).sampling_rate_bp == 1250


def test_rate_change_is_in_the_history_with_who_and_why(client, ops, automation):
    client.force_login(ops)
    _post(client, automation, rate="5", reason="Quiet month")
    change = SamplingRateChange.objects.filter(automation=automation).first()
    assert (change.old_bp, change.new_bp, change.reason, change.changed_by) == (10_000, 500, "Quiet month", ops)


def test_htmx_post_returns_the_card_fragment(client, ops, automation):
    client.force_login(ops)
    response = _post(client, automation, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200 and f'id="sampling-{automation.pk}"' in content
    assert "sampling rate set to 5%" in content and "<html" not in content


@pytest.mark.parametrize(("rate", "message"), [
    ("100.5", "less than or equal to 100"), ("-1", "greater than or equal to 0"),
    ("12.25", "steps of 0.1"), ("abc", "Enter a number"), ("100", "already the rate"),
])
def test_invalid_rate_keeps_the_input_with_a_message(client, ops, automation, rate, message):
    client.force_login(ops)
    response = _post(client, automation, rate=rate, reason="my typed reason")
    content = response.content.decode()
    assert response.status_code == 200 and message in content and "my typed reason" in content
    assert Automation.objects.get(pk=automation.pk).sampling_rate_bp == 10_000


def test_reason_is_required(client, ops, automation):
    client.force_login(ops)
    response = _post(client, automation, rate="5", reason="  ", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"This field is required" in response.content


def test_reviewer_may_not_change_the_rate(client, reviewer, automation):
    client.force_login(reviewer)
    response = _post(client, automation)
    assert response.status_code == 403 and b"ops role" in response.content


def test_get_on_the_rate_endpoint_is_not_allowed(client, ops, automation):
    client.force_login(ops)
    assert client.get(_rate_url(automation)).status_code == 405


def test_unknown_automation_is_404(client, ops):
    client.force_login(ops)
    assert client.post("/sampling/workflows.nope/rate/", {}).status_code == 404


def test_ops_sets_the_step_down_threshold(client, ops, automation):
    client.force_login(ops)
    url = reverse("sampling_threshold", args=[automation.ref])
    response = client.post(url, {f"threshold-{automation.pk}-threshold_percent": "97.5"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and Automation.objects.get(pk=automation.pk).step_down_threshold == 0.975


def test_invalid_threshold_keeps_the_input(client, ops, automation):
    client.force_login(ops)
    url = reverse("sampling_threshold", args=[automation.ref])
    response = client.post(url, {f"threshold-{automation.pk}-threshold_percent": "120"})
    assert response.status_code == 200 and b'value="120"' in response.content


def test_suggestion_offers_a_one_click_step_down(client, ops, reviewer):
    from review.services import review_verdict

    automation = make_automation("workflows.steady", rate_bp=1500)
    automation.step_down_threshold = 0.5
    automation.save()
    # Enough sampled runs for the interval to clear the threshold, whatever ids the factory
    # hands out at this point of the session (sampling hashes the id).
    passed = 0
    while passed < 8:
        run = make_run(automation)
        if run.sampled:
            review_verdict(run=run, verdict="pass", user=reviewer)
            passed += 1
    client.force_login(ops)
    assert b"Step down to 5%" in client.get(URL).content


def test_page_query_count_does_not_grow_with_automations(client, ops, django_assert_max_num_queries):
    for n in range(5):
        make_runs(3, make_automation(f"workflows.w{n}"))
    client.force_login(ops)
    # +4 for the weighted estimate: rate schedules, the daily rollups, the partial days' whole
    # hours from the hourly rollup and the parts of an hour from the runs (insights/periods.py)
    with django_assert_max_num_queries(11):
        client.get(URL)
