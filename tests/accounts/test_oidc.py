"""Roles from the provider's groups claim, and the SSO settings (accounts/oidc.py, docs/sso.md).
The sign-in itself is tested end to end against a real provider in tests/browser/test_sso.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from accounts.oidc import roles_from_claims, roles_sync

ROOT = Path(__file__).resolve().parents[2]


def test_groups_map_to_roles_and_unknown_groups_are_ignored(settings):
    settings.LOUPE_OIDC_ROLE_MAP = {"loupe-reviewers": "reviewer", "platform": "ops"}
    assert roles_from_claims({"groups": ["loupe-reviewers", "platform", "staff"]}) == {"reviewer", "ops"}
    assert roles_from_claims({"groups": "platform"}) == {"ops"}
    assert roles_from_claims({"groups": [{"odd": 1}, None]}) == set() and roles_from_claims({}) == set()


def test_without_a_map_groups_named_like_the_roles_count(settings):
    settings.LOUPE_OIDC_ROLE_MAP = {}
    settings.LOUPE_OIDC_GROUPS_CLAIM = "roles"
    assert roles_from_claims({"roles": ["lead", "admins"], "groups": ["ops"]}) == {"lead"}


@pytest.mark.django_db
def test_roles_sync_adds_and_removes_only_loupe_roles(settings):
    settings.LOUPE_OIDC_ROLE_MAP = {}
    user = User.objects.create_user("pat")
    user.groups.create(name="unrelated")
    roles_sync(user, {"groups": ["reviewer", "lead"]})
    assert set(user.groups.values_list("name", flat=True)) == {"reviewer", "lead", "unrelated"}
    roles_sync(user, {"groups": ["lead"]})
    assert set(user.groups.values_list("name", flat=True)) == {"lead", "unrelated"}


def _check(**env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "check"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env})


@pytest.mark.parametrize(("env", "message"), [
    ({"LOUPE_LOCAL_PASSWORDS": "false"}, "LOUPE_LOCAL_PASSWORDS=false needs LOUPE_OIDC_ISSUER"),
    ({"LOUPE_OIDC_ISSUER": "https://idp.example"}, "needs LOUPE_OIDC_CLIENT_ID and LOUPE_OIDC_CLIENT_SECRET"),
    ({"LOUPE_OIDC_ISSUER": "https://idp.example", "LOUPE_OIDC_CLIENT_ID": "c", "LOUPE_OIDC_CLIENT_SECRET": "s",
      "LOUPE_OIDC_ROLE_MAP": "admins=root"}, "LOUPE_OIDC_ROLE_MAP takes group=role pairs"),
])
def test_bad_sso_settings_stop_the_start_naming_the_variable(tmp_path, env, message):
    done = _check(LOUPE_VAR_DIR=str(tmp_path), **env)
    assert done.returncode != 0 and message in done.stderr


@pytest.mark.django_db
def test_sign_out_without_sso_ends_the_session_and_returns_to_the_sign_in_page(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("sam", password="x"))
    answer = client.post("/accounts/logout/")
    assert answer.status_code == 302 and answer["Location"].endswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/accounts/logout/").status_code == 405  # sign-out is a POST (CSRF-protected form)


@pytest.mark.django_db
def test_the_sso_urls_are_404_when_sso_is_off(client):
    assert client.get("/accounts/oidc/login/").status_code == 404
    assert client.get("/accounts/oidc/callback/?code=x&state=y").status_code == 404
