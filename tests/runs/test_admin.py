"""The Django admin cannot write the sampling history around runs.services (issue 21 d): a rate
row added there would leave stored sampled flags and counts stale."""

import pytest

from runs.models import SamplingRateChange
from tests.factories import make_automation

pytestmark = pytest.mark.django_db


def test_the_admin_cannot_add_change_or_delete_rate_history(admin_client):
    automation = make_automation(rate_bp=1500)
    before = list(SamplingRateChange.objects.values_list("pk", "new_bp"))
    assert admin_client.get("/admin/runs/samplingratechange/add/").status_code == 403
    response = admin_client.post("/admin/runs/samplingratechange/add/", {
        "automation": automation.pk, "old_bp": 1500, "new_bp": 500, "effective_at_0": "2020-01-01",
        "effective_at_1": "00:00:00", "reason": "around the service"})
    assert response.status_code == 403
    change = before[0][0]
    assert admin_client.post(f"/admin/runs/samplingratechange/{change}/delete/", {"post": "yes"}).status_code == 403
    assert list(SamplingRateChange.objects.values_list("pk", "new_bp")) == before
    # The list stays readable, and the automation's page shows the history read-only.
    assert admin_client.get("/admin/runs/samplingratechange/").status_code == 200
    page = admin_client.get(f"/admin/runs/automation/{automation.pk}/change/")
    assert page.status_code == 200 and b"samplingratechange_set-TOTAL_FORMS" not in page.content
