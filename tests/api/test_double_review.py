"""Double review by API (docs/rules.md#double-review): the share on GET / PUT sampling, with its
history and a 400 naming the field; human-human agreement on GET .../agreement."""

import json

import pytest
from django.contrib.auth.models import User

from review.double import second_submit, second_take
from runs.models import Automation
from tests.factories import INVOICE_OUTPUT, make_automation
from tests.review.double_helpers import double_automation, first_reviewed

pytestmark = pytest.mark.django_db


def _put(client, automation, body, **headers):
    return client.put(f"/api/v1/automations/{automation.ref}/sampling", json.dumps(body),
                      content_type="application/json", headers=headers)


def test_ops_set_the_double_review_share_with_a_reason_recorded_in_the_history(ops_api):
    automation = make_automation("workflows.api-double")
    assert ops_api.get(f"/api/v1/automations/{automation.ref}/sampling").json()["doubleReviewShare"] == 0
    put = _put(ops_api, automation, {"doubleReviewShare": 12.5, "reason": "measure agreement"}, **{"If-Match": '"1"'})
    assert put.status_code == 200, put.json()
    body = put.json()
    assert body["doubleReviewShare"] == 12.5 and put["ETag"] == '"2"'
    assert body["history"][0]["doubleReviewShare"] == 12.5 and body["history"][0]["reason"] == "measure agreement"
    assert body["defaultRate"] == 100  # untouched
    assert Automation.objects.get(pk=automation.pk).double_review_bp == 1250


@pytest.mark.parametrize("value", [-1, 100.5, "ten", True, None])
def test_a_bad_share_is_a_400_naming_it_and_nothing_is_saved(ops_api, value):
    automation = make_automation("workflows.api-double-bad")
    put = _put(ops_api, automation, {"doubleReviewShare": value, "reason": "x"})
    assert put.status_code == 400, put.json()
    assert put.json()["issues"][0]["field"] == "doubleReviewShare"
    assert Automation.objects.get(pk=automation.pk).sampling_version == 1


def test_a_reviewer_cannot_set_the_share(api):
    automation = make_automation("workflows.api-double-role")
    assert _put(api, automation, {"doubleReviewShare": 10, "reason": "x"}).status_code == 403


def test_agreement_reports_kappa_and_field_agreement(api):
    automation = double_automation("workflows.api-agree")
    first, second = User.objects.create_user("a1"), User.objects.create_user("a2")
    verdicts = [("pass", "pass")] * 8 + [("fail", "fail")] * 4 + [("pass", "fail")] * 2
    for index, (one, two) in enumerate(verdicts):
        expected = {**INVOICE_OUTPUT, "total": 1.0} if one == "fail" else None
        run = first_reviewed(automation, first, verdict=one, expected=expected)
        second_take(run_id=run.pk, user=second)
        second_doc = {**INVOICE_OUTPUT, "total": 1.0 if index % 2 else 2.0} if two == "fail" else None
        second_submit(run_id=run.pk, user=second, verdict=two, expected=second_doc)
    body = api.get(f"/api/v1/automations/{automation.ref}/agreement").json()
    assert body["pairs"] == 14
    assert body["verdicts"]["pass"] == {"pass": 8, "fail": 2, "partial": 0}
    assert body["observedAgreement"] == pytest.approx(12 / 14)
    # kappa = (po - pe) / (1 - pe), pe = (10*8 + 4*6) / 14^2
    pe = (10 * 8 + 4 * 6) / 196
    assert body["kappa"] == pytest.approx((12 / 14 - pe) / (1 - pe))
    assert body["kappaInterval"]["low"] < body["kappa"] < body["kappaInterval"]["high"] <= 1
    total = next(f for f in body["fields"] if f["path"] == "/total")
    assert total["corrected"] == 6 and 0 < total["alike"] < 6
    assert body["disputed"] >= 2 and body["awaitingAdjudication"] == body["disputed"]


def test_agreement_of_an_unknown_automation_is_a_404(api):
    assert api.get("/api/v1/automations/workflows.nope/agreement").status_code == 404
