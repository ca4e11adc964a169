import pytest
from django.test import Client

from accounts.models import ApiKey
from tests.openapi_conformance import watching


@pytest.fixture(autouse=True)
def documented_answers():
    """Every API answer a test here gets must be the one the OpenAPI document describes
    (tests/openapi_conformance.py): the test fails at teardown otherwise, listing what differs."""
    with watching() as problems:
        yield problems
    if problems:
        pytest.fail("answers the OpenAPI document does not describe:\n" + "\n".join(dict.fromkeys(problems)),
                    pytrace=False)


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
