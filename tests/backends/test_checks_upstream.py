"""`manage.py check --deploy` asks the upstream which generation it speaks."""

from backends.checks import upstream_generation
from tests.proxy import proxy_settings


def test_the_deploy_check_names_the_generation(live_server, transactional_db, settings):
    proxy_settings(settings, live_server.url, "auto")
    [message] = upstream_generation()
    assert message.id == "loupe.I001" and "reviews generation" in message.msg and "(/v1/)" in message.msg


def test_the_deploy_check_reports_a_wrong_base_url(live_server, transactional_db, settings):
    proxy_settings(settings, live_server.url + "/api/v1", "auto")
    [message] = upstream_generation()
    assert message.id == "loupe.E002" and "No EigenPal API answers at EIGENPAL_BASE_URL" in message.msg


def test_the_deploy_check_reports_an_unreachable_upstream(transactional_db, settings):
    proxy_settings(settings, "http://127.0.0.1:9", "feedback")
    settings.EIGENPAL_MAX_RETRIES = 0
    [message] = upstream_generation()
    assert message.id == "loupe.E002" and "Could not connect" in message.msg


def test_local_mode_asks_nothing(settings):
    settings.LOUPE_BACKEND = "backends.local.LocalBackend"
    assert upstream_generation() == []
