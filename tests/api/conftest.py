import pytest
from django.test import Client

from accounts.models import ApiKey
from tests.openapi_conformance import documented_answers  # noqa: F401 (autouse: every answer checked)


def _client_for(user) -> Client:
    _, raw = ApiKey.issue(user=user, name="tests")
    client = Client(headers={"Authorization": f"Bearer {raw}"}, enforce_csrf_checks=True)
    client.raw_key = raw
    return client


@pytest.fixture
def api(reviewer) -> Client:
    """A test client whose every request carries a reviewer's bearer key (and CSRF is enforced)."""
    return _client_for(reviewer)


@pytest.fixture
def viewer_api(viewer) -> Client:
    return _client_for(viewer)


@pytest.fixture
def lead_api(lead) -> Client:
    return _client_for(lead)


@pytest.fixture
def ops_api(ops) -> Client:
    return _client_for(ops)


@pytest.fixture
def admin_api(admin_user) -> Client:
    return _client_for(admin_user)
