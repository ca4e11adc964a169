"""Tests driving Loupe's API with the official SDK 0.20.x (the "reviews" generation).

They run only in the second virtualenv (.venv-sdk020, requirements-sdk020.txt, made by
bin/test): the main one pins SDK 0.9.1, whose package has the same name. Anywhere else the
modules here are not collected at all (not skipped: there is nothing to run them with)."""

from importlib.metadata import PackageNotFoundError, version

import pytest
from django.contrib.auth.models import Group, User

from tests.openapi_conformance import documented_answers  # noqa: F401 (autouse: every answer checked)


def _sdk_version() -> str:
    try:
        return version("eigenpal")
    except PackageNotFoundError:
        return ""


SDK_020 = _sdk_version().startswith("0.20.")
if not SDK_020:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
def key_user(transactional_db) -> User:
    # Made here: a transactional test flushes the role groups the migration created.
    user = User.objects.create_user("sam", email="sam@example.com", password="pw")
    user.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    return user


@pytest.fixture
def raw_key(key_user) -> str:
    from accounts.models import ApiKey

    return ApiKey.issue(user=key_user, name="sdk020")[1]


@pytest.fixture
def sdk(live_server, raw_key):
    """The SDK as a user configures it: the key and Loupe's root URL, nothing else."""
    from eigenpal import EigenpalClient

    client = EigenpalClient(api_key=raw_key, base_url=live_server.url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def http(sdk):
    """The SDK's own httpx client (base URL and key set), for raw JSON checked against the models."""
    return sdk._http
