import pytest
from django.contrib.auth.models import Group, User
from django.db import connection

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


PROXIED = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["local", pytest.param("eigenpal", marks=PROXIED),
                        pytest.param("eigenpal-reviews", marks=PROXIED)])
def backend(request, settings) -> str:
    """Runs a page test three times: against Loupe's own database (local), and in proxy mode,
    where the pages talk real HTTP to a live Loupe serving its API (pytest-django's live_server)
    with the data the test made: once in the feedback generation (SDK 0.9 routes), once in the
    reviews generation (SDK 0.20 routes under /v1, the upstream's feedback routes switched off).
    Both sides share the test database, so assertions on models check what the upstream stored."""
    if request.param != "local":
        proxy_settings(settings, request.getfixturevalue("live_server").url,
                       "reviews" if request.param == "eigenpal-reviews" else "feedback")
    return request.param


PROXY_VARIANTS = ("eigenpal", "eigenpal-reviews")


def pytest_collection_modifyitems(config, items):
    """In the PostgreSQL pass, run only what depends on the database: tests marked `once` (their
    subprocesses bring their own SQLite databases) and the proxy-mode variants of page tests
    (the pages talk HTTP to the live Loupe; the API they call is tested on PostgreSQL directly)
    ran in the SQLite pass and are deselected here, counted in pytest's summary."""
    if connection.vendor != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        variant = getattr(item, "callspec", None) and item.callspec.params.get("backend")
        (drop if item.get_closest_marker("once") or variant in PROXY_VARIANTS else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
