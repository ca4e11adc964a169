"""The audit trail is read-only everywhere, the admin included, even for a superuser."""

import pytest

from review.models import AuditEvent


@pytest.fixture
def event(run, reviewer):
    return AuditEvent.objects.create(run=run, user=reviewer, action="update", changes={"rating": [None, "fail"]})


def test_the_admin_lists_events_but_offers_no_add_change_or_delete(client, admin_user, event):
    client.force_login(admin_user)
    listing = client.get("/admin/review/auditevent/")
    assert listing.status_code == 200 and event.run_id in listing.content.decode()
    assert client.get("/admin/review/auditevent/add/").status_code == 403
    response = client.post("/admin/review/auditevent/add/", {"run": event.run_id, "action": "forged", "via": "web"})
    assert response.status_code == 403
    assert client.post(f"/admin/review/auditevent/{event.pk}/change/", {"action": "edited"}).status_code == 403
    assert client.post(f"/admin/review/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post("/admin/review/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk],
                                                      "post": "yes"})
    assert bulk.status_code in (200, 302)
    event.refresh_from_db()
    assert event.action == "update" and AuditEvent.objects.count() == 1


def test_the_model_refuses_a_change_or_a_delete(event):
    event.action = "edited"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    event.refresh_from_db()
    assert event.action == "update"
