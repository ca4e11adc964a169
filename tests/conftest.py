import os
import sqlite3
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection

from tests.factories import make_automation, make_run
from tests.proxy import proxy_settings
from tests.services import migrated_postgres_template, migrated_sqlite_template, sqlite_copy


@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    """The migrated SQLite file the test databases and subprocess tests copy (tests/services.py)."""
    return migrated_sqlite_template()


@pytest.fixture(scope="session")
def migrated_sqlite(sqlite_template):
    """`migrated_sqlite(path)` puts a migrated Loupe database at path (a SQLite file), as
    `manage.py migrate` would, from the run's template."""
    return lambda path: sqlite_copy(sqlite_template, path)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request):
    """pytest-django's hook before it makes the test databases: each worker's test database starts
    as a copy of one migrated database, and Django's migrate then finds every migration applied
    (a worker's setup took 4-7 s of migrating beside the other workers here, 1 s with the copy).
    On PostgreSQL the copy is CREATE DATABASE ... TEMPLATE (tests/services.py); SQLite's
    in-memory test database gets the template file's pages by SQLite's backup API, through a
    connection held open for the session (an in-memory database lives while one is open)."""
    from django.conf import settings as django_settings
    from django.db.backends.sqlite3.creation import DatabaseCreation

    default = django_settings.DATABASES["default"]
    if default["ENGINE"] == "django.db.backends.postgresql":
        default.setdefault("TEST", {})["TEMPLATE"] = migrated_postgres_template(default)
        yield
        return
    template, held = request.getfixturevalue("sqlite_template"), []
    create = DatabaseCreation._create_test_db

    def from_template(creation, *args, **kwargs):
        name = create(creation, *args, **kwargs)
        if creation.is_in_memory_db(name) and creation.connection.alias == "default":
            held.append(sqlite3.connect(name, uri=True))
            source = sqlite3.connect(template)
            source.backup(held[-1])
            source.close()
        return name

    DatabaseCreation._create_test_db = from_template
    yield
    DatabaseCreation._create_test_db = create
    for connection_ in held:
        connection_.close()


# What post_migrate makes again after every flush, row for row: kept instead of deleted and made.
KEPT_BY_POST_MIGRATE = {"django_content_type", "auth_permission"}


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():
    """On PostgreSQL, a transactional test (live server, browser, competing transactions) ends
    with Django's flush, which TRUNCATEs every table: a new file for each of the ~60 tables, ~260
    indexes and the run table's partitions, 0.3-0.45 s a test here, although a test fills a few
    tables with a few rows. The flush deletes the rows of the tables that hold any instead (one
    transaction, the foreign keys deferred to its end as Django declares them) and leaves the
    same empty database; post_migrate then runs as before. A flush that resets sequences or
    cascades keeps Django's SQL. SQLite's flush is DELETE already. Set on the class: a browser
    test's thread runs Playwright's event loop, where Django hands out other connection objects."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(ops, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return truncate(ops, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        quoted = [ops.quote_name(table) for table in tables if table not in KEPT_BY_POST_MIGRATE]
        with ops.connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(f"(SELECT {i} FROM {name} LIMIT 1)" for i, name in enumerate(quoted)))
            filled = [quoted[i] for (i,) in cursor.fetchall()]
        return ["SET CONSTRAINTS ALL DEFERRED", *(f"DELETE FROM {name}" for name in filled)]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty per-process cache: the API's per-minute counters (rate
    limit, bad keys per address) do not leak from one test into the next."""
    from django.core.cache import cache

    from api.support import CacheBreaker

    cache.clear()
    CacheBreaker.reset()


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
BACKEND_VARIANTS = ("local", "eigenpal", "eigenpal-reviews")
PROXY_VARIANTS = ("eigenpal", "eigenpal-reviews")


def _backend_params(variants) -> list:
    return [pytest.param(v, marks=PROXIED) if v in PROXY_VARIANTS else v for v in BACKEND_VARIANTS if v in variants]


@pytest.fixture(params=_backend_params(BACKEND_VARIANTS))
def backend(request, settings) -> str:
    """Runs a page test three times: against Loupe's own database (local), and in proxy mode,
    where the pages talk real HTTP to a live Loupe serving its API (pytest-django's live_server)
    with the data the test made: once in the feedback generation (SDK 0.9 routes), once in the
    reviews generation (SDK 0.20 routes under /v1, the upstream's feedback routes switched off).
    Both sides share the test database, so assertions on models check what the upstream stored.
    A test whose behaviour does not depend on the backend says `@pytest.mark.backends("local",
    reason=...)` (pytest_generate_tests)."""
    if request.param != "local":
        proxy_settings(settings, request.getfixturevalue("live_server").url,
                       "reviews" if request.param == "eigenpal-reviews" else "feedback")
    return request.param


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """`@pytest.mark.backends("local", reason=...)`: a test taking `backend` runs against the
    variants named only. Proxy variants are for tests whose behaviour depends on the backend
    (docs/testing.md); `reason` says why the others are left out. Applied as a parametrize mark,
    which pytest puts before the fixture's own params."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is None:
        return
    if ("backend" not in metafunc.fixturenames or not marker.args or not set(marker.args) <= set(BACKEND_VARIANTS)
            or not marker.kwargs.get("reason")):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: @pytest.mark.backends names variants of "
                                f"{BACKEND_VARIANTS} and gives a reason, on a test that uses the backend fixture")
    metafunc.definition.add_marker(pytest.mark.parametrize("backend", _backend_params(marker.args), indirect=True))


# Proxy-mode tests: the pages and the client talk HTTP to a live Loupe, so what they store goes
# through its API, which the API's own tests check on PostgreSQL directly.
PROXY_PATHS = ("tests/backends/eigenpal/",)


def _proxy_mode(item) -> bool:
    variant = getattr(item, "callspec", None) and item.callspec.params.get("backend")
    return (variant in PROXY_VARIANTS or item.get_closest_marker("proxy") is not None
            or item.nodeid.startswith(PROXY_PATHS))


DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}


def _uses_no_database(item) -> bool:
    """Neither a database fixture (directly or through another fixture) nor the django_db marker,
    nor a skipif (tests that start programs on PostgreSQL themselves skip on SQLite by vendor)."""
    return (not any(item.iter_markers("django_db")) and not any(item.iter_markers("skipif"))
            and not any(item.iter_markers("postgres")) and not DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def _runs_on_sqlite_only(item) -> bool:
    """What the PostgreSQL pass leaves to the SQLite pass: tests marked `once` (their subprocesses
    bring their own databases), every proxy-mode test (_proxy_mode) and the tests that touch no
    database at all (_uses_no_database)."""
    return item.get_closest_marker("once") is not None or _proxy_mode(item) or _uses_no_database(item)


def _runs_on_postgres_only(item) -> bool:
    """What the SQLite pass leaves to the PostgreSQL pass when bin/test runs one (it sets
    LOUPE_BROWSER_ON_POSTGRES=1): the browser tests of Loupe's own database, driven once, on the
    database deployments use (docs/testing.md). Proxy-mode browser tests stay here."""
    return (os.environ.get("LOUPE_BROWSER_ON_POSTGRES") == "1" and item.get_closest_marker("browser") is not None
            and not _proxy_mode(item))


def _mark_browser_tests(items) -> None:
    """Every test that drives Chromium (it uses the `browser` fixture of tests/browser/conftest.py)
    carries the marker `browser`, whether or not its module says so."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)


def pytest_collection_modifyitems(config, items):
    """Most tests run in both passes; some run in one only, where the database can change what
    they check (docs/testing.md): the SQLite pass leaves the browser tests of the local database
    to the PostgreSQL pass (when there is one), the PostgreSQL pass leaves the `once`,
    proxy-mode and database-free tests to the SQLite pass. Deselected tests are counted in
    pytest's summary."""
    _mark_browser_tests(items)
    drop_if = _runs_on_sqlite_only if connection.vendor == "postgresql" else _runs_on_postgres_only
    keep, drop = [], []
    for item in items:
        (drop if drop_if(item) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
