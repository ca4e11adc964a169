"""Deploy settings (docs/security.md): each check starts a fresh process with a production-like
environment, because settings are read once at start-up."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.once  # runs in the SQLite pass only (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
KEY = "k" * 20 + "-production-secret-" + "z" * 30


def _env(tmp_path, **extra) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("SECRET_KEY", "LOUPE_DEMO", "DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_URL",
                          "DJANGO_ALLOW_ASYNC_UNSAFE")}  # set by the browser tests, refused by check --deploy
    env.update({"LOUPE_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **extra})
    return env


def _manage(tmp_path, *args, **extra):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=120)


def _settings(tmp_path, *names, **extra) -> dict:
    code = ("import json, django; django.setup(); from django.conf import settings as s; "
            f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_check_deploy_is_clean_with_a_production_environment(tmp_path):
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING",
                   SECRET_KEY=KEY, LOUPE_HTTPS="true", ALLOWED_HOSTS="loupe.example.com")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_without_https_check_deploy_names_what_is_missing(tmp_path):
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=KEY,
                   ALLOWED_HOSTS="loupe.example.com")
    assert done.returncode != 0 and "SECURE_HSTS_SECONDS" in done.stderr + done.stdout


def test_a_missing_secret_key_stops_start_up_with_a_clear_message(tmp_path):
    done = _manage(tmp_path, "check")
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr and "docs/security.md" in done.stderr
    assert not (tmp_path / "secret-key").exists()


def test_debug_and_the_demo_get_a_random_key_kept_for_the_install(tmp_path):
    first = _settings(tmp_path, "SECRET_KEY", LOUPE_DEMO="1")["SECRET_KEY"]
    again = _settings(tmp_path, "SECRET_KEY", DEBUG="true")["SECRET_KEY"]
    assert first == again and len(first) >= 50 and "insecure" not in first
    assert (tmp_path / "secret-key").stat().st_mode & 0o077 == 0
    assert _settings(tmp_path / "other", "SECRET_KEY", LOUPE_DEMO="1")["SECRET_KEY"] != first


def test_loupe_https_turns_on_every_switch_and_each_can_be_set_alone(tmp_path):
    names = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
             "SECURE_PROXY_SSL_HEADER")
    off = _settings(tmp_path, *names, SECRET_KEY=KEY)
    assert off == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0, "SESSION_COOKIE_SECURE": False,
                   "CSRF_COOKIE_SECURE": False, "SECURE_PROXY_SSL_HEADER": None}
    on = _settings(tmp_path, *names, SECRET_KEY=KEY, LOUPE_HTTPS="true")
    assert on == {"SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31_536_000, "SESSION_COOKIE_SECURE": True,
                  "CSRF_COOKIE_SECURE": True, "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}
    alone = _settings(tmp_path, *names, SECRET_KEY=KEY, LOUPE_HTTPS="true", SECURE_SSL_REDIRECT="false",
                      LOUPE_PROXY_SSL_HEADER="false")
    assert alone["SECURE_SSL_REDIRECT"] is False and alone["SECURE_PROXY_SSL_HEADER"] is None
    assert alone["SECURE_HSTS_SECONDS"] == 31_536_000
    assert _settings(tmp_path, "SECURE_HSTS_SECONDS", SECRET_KEY=KEY, SECURE_HSTS_SECONDS="60") == {
        "SECURE_HSTS_SECONDS": 60}


def test_https_redirect_and_hsts_on_a_request(client, settings):
    settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS = True, 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/accounts/login/").status_code == 301
    response = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200 and response["Strict-Transport-Security"].startswith("max-age=3600")


@pytest.mark.django_db
def test_demo_refuses_an_address_beyond_loopback_unless_asked():
    with pytest.raises(CommandError, match="--public"):
        call_command("demo", "0.0.0.0:8080", "--no-serve", "--runs", "5", stdout=io.StringIO())


@pytest.mark.django_db
def test_demo_beyond_loopback_when_asked_warns(settings):
    err = io.StringIO()
    call_command("demo", "0.0.0.0:8080", "--public", "--no-serve", "--runs", "5", stdout=io.StringIO(), stderr=err)
    assert "WARNING" in err.getvalue() and "demo / demo" in err.getvalue()
