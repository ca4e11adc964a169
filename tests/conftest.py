import pytest
from django.contrib.auth.models import Group, User

from tests.factories import make_automation, make_run
from tests.proxy import proxy_settings


def _user(username: str, *roles: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="pw", email=f"{username}@example.com",
                                    is_superuser=superuser, is_staff=superuser)
    for role in roles:
        # get_or_create: transactional tests (live server) flush the groups the migration made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def reviewer(db) -> User:
    return _user("rita", "reviewer")


@pytest.fixture
def lead(db) -> User:
    return _user("leo", "lead")


@pytest.fixture
def ops(db) -> User:
    return _user("otto", "ops")


@pytest.fixture
def viewer(db) -> User:
    """Signed in, no role: may read everything, change nothing."""
    return _user("vera")


@pytest.fixture
def admin_user(db) -> User:
    return _user("ada", superuser=True)


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def automation(db):
    return make_automation()


@pytest.fixture
def run(automation):
    return make_run(automation)


@pytest.fixture(params=["local", pytest.param("eigenpal", marks=pytest.mark.django_db(transaction=True))])
def backend(request, settings) -> str:
    """Runs a page test twice: against Loupe's own database (local), and in proxy mode, where the
    pages talk real HTTP to a live Loupe serving its API (pytest-django's live_server) with the
    data the test made. Both sides share the test database, so assertions on models check what
    the upstream stored."""
    if request.param == "eigenpal":
        proxy_settings(settings, request.getfixturevalue("live_server").url)
    return request.param
