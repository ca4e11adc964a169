"""Sign-in throttling (accounts/throttle.py, django-axes): per account and per address, a clear
message on the sign-in page, the lockouts audited for admins, and unlocking by an admin."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

LOGIN = "/accounts/login/"


@pytest.fixture
def limit(settings) -> int:
    return settings.AXES_FAILURE_LIMIT


@pytest.fixture
def maya(db) -> User:
    return User.objects.create_user("maya", password="right-password")


def _sign_in(username: str, password: str, address: str = "10.0.0.1"):
    """A fresh browser (no session) from `address`; the response to the sign-in form."""
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password})


def _signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def test_forty_wrong_passwords_then_the_right_one_does_not_sign_in(maya, limit):
    statuses = [_sign_in("maya", f"guess-{i}").status_code for i in range(40)]
    assert statuses[:limit - 1] == [200] * (limit - 1)  # the form again, "enter a correct..."
    assert set(statuses[limit - 1:]) == {429}
    response = _sign_in("maya", "right-password")
    assert not _signed_in(response) and response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-ins" in page and "an admin can unlock it" in page
    assert 'value="maya"' in page  # the typed user name is kept
    assert int(response["Retry-After"]) > 0
    call_command("axes_reset_username", "maya")  # an admin unlocks the account
    assert _signed_in(_sign_in("maya", "right-password"))


def test_per_account_from_many_addresses(maya, limit):
    for i in range(limit):
        _sign_in("maya", "guess", address=f"10.0.1.{i + 1}")
    assert not _signed_in(_sign_in("maya", "right-password", address="10.9.9.9"))
    User.objects.create_user("sam", password="sams-password")
    assert _signed_in(_sign_in("sam", "sams-password", address="10.9.9.9"))  # only maya is locked


def test_per_address_across_many_accounts(maya, limit):
    for i in range(limit):
        _sign_in(f"user{i}", "guess", address="10.0.2.1")
    assert not _signed_in(_sign_in("maya", "right-password", address="10.0.2.1"))
    assert _signed_in(_sign_in("maya", "right-password", address="10.0.2.2"))


def test_lockouts_are_audited_for_admins_who_unlock_in_the_admin(maya, limit):
    for _ in range(limit + 2):
        _sign_in("maya", "guess", address="10.0.3.1")
    assert AccessFailureLog.objects.filter(username="maya", locked_out=True).exists()
    admin = Client()
    admin.force_login(User.objects.create_superuser("ada", "ada@example.com", "pw"))
    failures = admin.get("/admin/axes/accessfailurelog/")
    assert failures.status_code == 200 and "maya" in failures.content.decode()
    attempts = admin.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200 and "maya" in attempts.content.decode()
    # unlock: the admin deletes the account's access attempts
    ids = [str(pk) for pk in AccessAttempt.objects.filter(username="maya").values_list("pk", flat=True)]
    response = admin.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids,
                                                        "post": "yes"})
    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    assert _signed_in(_sign_in("maya", "right-password", address="10.0.3.1"))


def test_the_audit_is_not_for_everyone(maya):
    viewer = Client()
    viewer.force_login(maya)
    assert viewer.get("/admin/axes/accessfailurelog/").status_code == 302  # to the admin's sign-in


def test_a_wrong_password_below_the_limit_says_the_usual(maya):
    response = _sign_in("maya", "guess")
    assert response.status_code == 200 and "Too many" not in response.content.decode()


def test_the_test_clients_login_still_works(maya, limit):
    for _ in range(limit + 1):
        assert not Client().login(username="maya", password="guess")  # no request: not throttled
    assert Client().login(username="maya", password="right-password")
